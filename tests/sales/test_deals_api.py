"""The deal pipeline over REST: every move for sellers and admins, history and events, row locking, stage
probabilities, forecast arithmetic, win/loss, advertiser scoping, tenant isolation and the feature flag."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from podsponsor.db.tenancy import tenant_transaction
from tests.factories.identity import Tenant, make_tenant

STAGES = ("lead", "qualified", "proposal", "negotiation", "won", "lost")
# What a seller may do, written out rather than derived, so the rules are checked against the domain's words.
SELLER_MAY = {
    "lead": ("qualified", "proposal", "negotiation", "won", "lost"),
    "qualified": ("lead", "proposal", "negotiation", "won", "lost"),
    "proposal": ("qualified", "negotiation", "won", "lost"),
    "negotiation": ("proposal", "won", "lost"),
    "won": (),
    "lost": (),
}
PROBLEMS = "https://podsponsor.dev/problems/"


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "admin", "sales", "ops", "advertiser"))


@pytest.fixture(scope="module")
def other(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales"))


@pytest.fixture(scope="module")
def sponsor(tenant: Tenant) -> dict[str, Any]:
    with tenant.client("sales") as api:
        return add_sponsor(api)


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def add_sponsor(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = api.post("/api/v1/sponsors", json={"name": unique("Sponsor"), "industry": "beverages", **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


def add_deal(api: httpx.Client, sponsor_id: str, **fields: Any) -> dict[str, Any]:
    body = {"sponsor_id": sponsor_id, "name": unique("Deal"), "value_cents": 250_000, **fields}
    response = api.post("/api/v1/campaigns", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def move(api: httpx.Client, deal_id: str, stage: str, **fields: Any) -> httpx.Response:
    return api.patch(f"/api/v1/deals/{deal_id}/stage", json={"stage": stage, **fields})


def moved(api: httpx.Client, deal_id: str, stage: str, **fields: Any) -> dict[str, Any]:
    response = move(api, deal_id, stage, **fields)
    assert response.status_code == 200, response.text
    return dict(response.json())


def events_of(api: httpx.Client, kind: str, subject_id: str) -> list[dict[str, Any]]:
    events = api.get("/api/v1/events", params={"type": kind, "limit": 200}).json()["items"]
    return [e for e in events if e["subject_id"] == subject_id]


def card_of(board: dict[str, Any], deal_id: str) -> dict[str, Any]:
    found = [
        (column["stage"], deal) for column in board["columns"] for deal in column["deals"] if deal["id"] == deal_id
    ]
    assert len(found) == 1, f"deal {deal_id} is on the board {len(found)} times"
    stage, deal = found[0]
    assert deal["stage"] == stage
    return dict(deal)


def board_ids(board: dict[str, Any]) -> set[str]:
    return {deal["id"] for column in board["columns"] for deal in column["deals"]}


# Moves ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "target"), [(s, t) for s in STAGES for t in STAGES])
def test_a_seller_moves_a_deal_only_the_allowed_ways(
    tenant: Tenant, sponsor: dict[str, Any], start: str, target: str
) -> None:
    with tenant.client("sales") as api:
        deal = add_deal(api, sponsor["id"], stage=start)
        response = move(api, deal["id"], target)
        if target in SELLER_MAY[start]:
            assert response.status_code == 200, response.text
            assert response.json()["stage"] == target
            assert [(h["from_stage"], h["to_stage"]) for h in response.json()["history"]] == [
                (None, start),
                (start, target),
            ]
        else:
            problem = response.json()
            assert response.headers["content-type"].startswith("application/problem+json")
            if start in ("won", "lost") and target != start:
                assert response.status_code == 403, response.text
                assert problem["type"] == PROBLEMS + "deal-reopen-forbidden"
            else:
                assert response.status_code == 422, response.text
                assert problem["type"] == PROBLEMS + "illegal-deal-move"
            assert (problem["from"], problem["to"]) == (start, target)
            assert problem["allowed"] == list(SELLER_MAY[start])
        stage_now = api.get(f"/api/v1/campaigns/{deal['id']}").json()["stage"]
        assert stage_now == (target if target in SELLER_MAY[start] else start)


@pytest.mark.parametrize(
    ("role", "start", "target"),
    [("admin", s, t) for s in ("won", "lost") for t in STAGES if t != s] + [("owner", "won", "negotiation")],
)
def test_owners_and_admins_reopen_or_correct_a_closed_deal(
    tenant: Tenant, sponsor: dict[str, Any], role: str, start: str, target: str
) -> None:
    with tenant.client("sales") as sales:
        deal = add_deal(sales, sponsor["id"], stage=start)
    with tenant.client(role) as api:
        reopened = moved(api, deal["id"], target, note="the client came back")
    assert reopened["stage"] == target
    assert reopened["history"][-1]["changed_by"] == tenant.user_ids[role]
    assert reopened["history"][-1]["note"] == "the client came back"


def test_a_move_to_the_same_stage_is_refused_for_admins_too(tenant: Tenant, sponsor: dict[str, Any]) -> None:
    with tenant.client("admin") as api:
        for stage in ("proposal", "won"):
            deal = add_deal(api, sponsor["id"], stage=stage)
            response = move(api, deal["id"], stage)
            assert response.status_code == 422, response.text
            assert response.json()["detail"] == f"the deal is already in {stage}"


def test_only_sellers_owners_and_admins_move_deals(tenant: Tenant, sponsor: dict[str, Any], anon: httpx.Client) -> None:
    with tenant.client("sales") as sales:
        deal = add_deal(sales, sponsor["id"])
    for role in ("ops", "advertiser"):
        with tenant.client(role) as api:
            assert move(api, deal["id"], "qualified").status_code == 403
    assert move(anon, deal["id"], "qualified").status_code == 401
    with tenant.client("ops") as ops:
        assert ops.get(f"/api/v1/deals/{deal['id']}").json()["stage"] == "lead"
        assert ops.get(f"/api/v1/deals/{deal['id']}").json()["moves"] == []


def test_bad_move_requests_are_refused_with_the_field(tenant: Tenant, sponsor: dict[str, Any]) -> None:
    with tenant.client("sales") as api:
        deal = add_deal(api, sponsor["id"])
        for body in ({"stage": "pitch"}, {}, {"stage": "won", "note": "x" * 2001}, {"stage": "won", "by": "me"}):
            response = api.patch(f"/api/v1/deals/{deal['id']}/stage", json=body)
            assert response.status_code == 422, body
        assert move(api, str(uuid.uuid4()), "won").status_code == 404
        assert api.patch("/api/v1/deals/not-an-id/stage", json={"stage": "won"}).status_code == 422


def test_a_move_records_who_when_from_to_and_the_event(tenant: Tenant, sponsor: dict[str, Any]) -> None:
    with tenant.client("sales") as api:
        deal = add_deal(api, sponsor["id"], seller_id=tenant.user_ids["sales"])
        created = api.get(f"/api/v1/deals/{deal['id']}").json()
        assert [(h["from_stage"], h["to_stage"]) for h in created["history"]] == [(None, "lead")]
        assert created["history"][0]["changed_by"] == tenant.user_ids["sales"]

        first = moved(api, deal["id"], "proposal", note="budget confirmed")
        second = moved(api, deal["id"], "qualified")
        found = api.get(f"/api/v1/deals/{deal['id']}").json()
        campaign = api.get(f"/api/v1/campaigns/{deal['id']}").json()

    history = found["history"]
    assert [(h["from_stage"], h["to_stage"], h["note"]) for h in history] == [
        (None, "lead", ""),
        ("lead", "proposal", "budget confirmed"),
        ("proposal", "qualified", ""),
    ]
    times = [datetime.fromisoformat(h["changed_at"]) for h in history]
    assert times == sorted(times)
    assert {h["changed_by"] for h in history} == {tenant.user_ids["sales"]}
    assert history[1]["changed_at"] == first["stage_changed_at"]
    assert campaign["stage"] == "qualified"
    assert campaign["stage_changed_at"] == second["stage_changed_at"] == history[-1]["changed_at"]
    assert found["days_in_stage"] == 0

    with tenant.client() as owner:
        changes = events_of(owner, "deal.stage_changed", deal["id"])
    assert sorted(
        ((e["payload"], e["actor_user_id"], e["subject_type"]) for e in changes), key=lambda e: e[0]["to"]
    ) == [
        ({"from": "lead", "to": "proposal"}, tenant.user_ids["sales"], "campaign"),
        ({"from": "proposal", "to": "qualified"}, tenant.user_ids["sales"], "campaign"),
    ]


def test_a_refused_move_records_nothing(tenant: Tenant, sponsor: dict[str, Any]) -> None:
    with tenant.client("sales") as api:
        deal = add_deal(api, sponsor["id"], stage="negotiation")
        assert move(api, deal["id"], "lead").status_code == 422
        assert len(api.get(f"/api/v1/deals/{deal['id']}").json()["history"]) == 1
    with tenant.client() as owner:
        assert events_of(owner, "deal.stage_changed", deal["id"]) == []


def test_a_move_from_a_stale_view_is_a_conflict(tenant: Tenant, sponsor: dict[str, Any]) -> None:
    with tenant.client("sales") as api:
        deal = add_deal(api, sponsor["id"])
        moved(api, deal["id"], "proposal", from_stage="lead")
        stale = move(api, deal["id"], "qualified", from_stage="lead")
        assert stale.status_code == 409, stale.text
        assert stale.json()["stage"] == "proposal"
        assert api.get(f"/api/v1/deals/{deal['id']}").json()["stage"] == "proposal"


async def test_a_move_waits_for_the_deal_row_lock(db: Any, tenant: Tenant, sponsor: dict[str, Any]) -> None:
    """While another transaction holds the deal's row, a move waits, then sees what that transaction stored."""
    with tenant.client("sales") as api:
        deal = add_deal(api, sponsor["id"])
        async with tenant_transaction(uuid.UUID(tenant.id)) as session:
            lock = "SELECT id FROM campaigns WHERE id = :id FOR UPDATE"
            await session.execute(text(lock), {"id": deal["id"]})
            waiting = asyncio.create_task(asyncio.to_thread(move, api, deal["id"], "won", from_stage="lead"))
            await asyncio.sleep(1.0)
            assert not waiting.done(), "the move did not wait for the row lock"
            await session.execute(text("UPDATE campaigns SET stage = 'lost' WHERE id = :id"), {"id": deal["id"]})
        response = await waiting
    assert response.status_code == 409, response.text
    assert response.json()["stage"] == "lost"


# Reading: board and one deal -----------------------------------------------------------------------------------------


def test_the_board_has_a_column_per_stage_with_cards_and_totals(server: str) -> None:
    tenant = make_tenant(server, roles=("owner", "sales"))
    with tenant.client("sales") as api:
        sponsor = add_sponsor(api, name=unique("Brightside Coffee"))
        other_sponsor = add_sponsor(api)
        seller = tenant.user_ids["sales"]
        lead = add_deal(api, sponsor["id"], value_cents=100_000, seller_id=seller, expected_close="2031-03-15")
        own = add_deal(api, sponsor["id"], stage="proposal", value_cents=200_000, probability=0.3)
        won = add_deal(api, other_sponsor["id"], stage="negotiation", value_cents=50_000, probability=0.9)
        moved(api, won["id"], "won")
        add_deal(api, other_sponsor["id"], stage="lost", value_cents=70_000)
        add_deal(api, other_sponsor["id"], stage="lead", value_cents=1_000, currency="EUR")
        board = api.get("/api/v1/deals").json()

        assert [c["stage"] for c in board["columns"]] == list(STAGES)
        columns = {c["stage"]: c for c in board["columns"]}
        assert [c["probability"] for c in board["columns"]] == [0.1, 0.25, 0.5, 0.75, 1.0, 0.0]
        assert columns["lead"]["count"] == 2
        assert columns["lead"]["totals"] == [
            {"currency": "EUR", "value_cents": 1_000, "weighted_value_cents": 100},
            {"currency": "USD", "value_cents": 100_000, "weighted_value_cents": 10_000},
        ]
        card = card_of(board, lead["id"])
        assert card["sponsor_name"] == sponsor["name"]
        assert card["seller_id"] == seller
        assert card["seller_name"] == f"sales-{tenant.slug.removeprefix('net-')}@example.com"
        assert (card["probability"], card["probability_source"], card["weighted_value_cents"]) == (0.1, "stage", 10_000)
        assert card["expected_close"] == "2031-03-15"
        assert card["days_in_stage"] == 0
        assert card["moves"] == ["qualified", "proposal", "negotiation", "won", "lost"]
        own_card = card_of(board, own["id"])
        assert (own_card["probability"], own_card["probability_source"], own_card["weighted_value_cents"]) == (
            0.3,
            "deal",
            60_000,
        )
        # A won deal counts in full, whatever probability it carried while open.
        won_card = card_of(board, won["id"])
        assert (won_card["probability"], won_card["weighted_value_cents"], won_card["moves"]) == (1.0, 50_000, [])
        assert columns["lost"]["totals"] == [{"currency": "USD", "value_cents": 70_000, "weighted_value_cents": 0}]

        by_sponsor = api.get("/api/v1/deals", params={"sponsor_id": sponsor["id"]}).json()
        assert board_ids(by_sponsor) == {lead["id"], own["id"]}
        by_seller = api.get("/api/v1/deals", params={"seller_id": seller}).json()
        assert board_ids(by_seller) == {lead["id"]}
        by_text = api.get("/api/v1/deals", params={"q": "brightside"}).json()
        assert board_ids(by_text) == {lead["id"], own["id"]}
        assert board_ids(api.get("/api/v1/deals", params={"q": own["name"]}).json()) == {own["id"]}

        one_per_stage = api.get("/api/v1/deals", params={"limit": 1}).json()
        lead_column = next(c for c in one_per_stage["columns"] if c["stage"] == "lead")
        assert (lead_column["count"], len(lead_column["deals"])) == (2, 1)
        assert api.get("/api/v1/deals", params={"limit": 0}).status_code == 422
        assert api.get("/api/v1/deals", params={"limit": 201}).status_code == 422

    with tenant.client() as owner:
        assert card_of(owner.get("/api/v1/deals").json(), won["id"])["moves"] == [
            "lead",
            "qualified",
            "proposal",
            "negotiation",
            "lost",
        ]


def test_a_deleted_deal_leaves_the_board(tenant: Tenant, sponsor: dict[str, Any]) -> None:
    with tenant.client("sales") as api:
        deal = add_deal(api, sponsor["id"])
        assert api.delete(f"/api/v1/campaigns/{deal['id']}").status_code == 204
        assert deal["id"] not in board_ids(api.get("/api/v1/deals", params={"sponsor_id": sponsor["id"]}).json())
        assert api.get(f"/api/v1/deals/{deal['id']}").status_code == 404
        assert move(api, deal["id"], "won").status_code == 404


# Stage probabilities -------------------------------------------------------------------------------------------------


def test_owners_and_admins_set_the_stage_probabilities(server: str) -> None:
    tenant = make_tenant(server, roles=("owner", "admin", "sales"))
    defaults = {"lead": 0.1, "qualified": 0.25, "proposal": 0.5, "negotiation": 0.75, "won": 1.0, "lost": 0.0}
    with tenant.client("sales") as sales:
        sponsor = add_sponsor(sales)
        plain = add_deal(sales, sponsor["id"], value_cents=100_000)
        own = add_deal(sales, sponsor["id"], value_cents=100_000, probability=0.333)
        assert sales.get("/api/v1/deals/settings").status_code == 403
        assert sales.put("/api/v1/deals/settings", json={"stage_probabilities": {}}).status_code == 403
    with tenant.client("admin") as admin:
        assert admin.get("/api/v1/deals/settings").json() == {"stage_probabilities": defaults, "defaults": defaults}
        changed = admin.put("/api/v1/deals/settings", json={"stage_probabilities": {"lead": 0.2, "negotiation": 0.9}})
        assert changed.status_code == 200, changed.text
        expected = {**defaults, "lead": 0.2, "negotiation": 0.9}
        assert changed.json()["stage_probabilities"] == expected
        assert admin.get("/api/v1/deals/settings").json()["stage_probabilities"] == expected
        # What was read can be sent back as it is.
        round_trip = admin.put(
            "/api/v1/deals/settings", json={"stage_probabilities": changed.json()["stage_probabilities"]}
        )
        assert round_trip.status_code == 200, round_trip.text
        assert round_trip.json()["stage_probabilities"] == expected
        for refused in ({"won": 0.5}, {"lost": 0.1}, {"lead": 1.5}, {"lead": -0.1}, {"pitch": 0.3}, {"lead": "x"}):
            response = admin.put("/api/v1/deals/settings", json={"stage_probabilities": refused})
            assert response.status_code == 422, refused
        assert admin.get("/api/v1/deals/settings").json()["stage_probabilities"] == expected

    with tenant.client("sales") as sales:
        board = sales.get("/api/v1/deals").json()
        assert card_of(board, plain["id"])["weighted_value_cents"] == 20_000
        assert card_of(board, own["id"])["weighted_value_cents"] == 33_300
        assert next(c for c in board["columns"] if c["stage"] == "lead")["probability"] == 0.2

    with tenant.client() as owner:
        reset = owner.put("/api/v1/deals/settings", json={"stage_probabilities": {}})
        assert reset.json()["stage_probabilities"] == defaults
        changes = [e for e in owner.get("/api/v1/events", params={"type": "sales.settings_changed"}).json()["items"]]
    assert len(changes) == 3
    first = min(changes, key=lambda e: e["at"])["payload"]["stage_probabilities"]
    assert first["before"] == {"lead": 0.1, "qualified": 0.25, "proposal": 0.5, "negotiation": 0.75}
    assert first["after"] == {"lead": 0.2, "qualified": 0.25, "proposal": 0.5, "negotiation": 0.9}


# Forecast ------------------------------------------------------------------------------------------------------------


def _month(first: date, offset: int) -> date:
    index = first.year * 12 + first.month - 1 + offset
    return date(index // 12, index % 12 + 1, 1)


def test_the_forecast_weights_open_deals_and_counts_won_deals_in_full(server: str) -> None:
    tenant = make_tenant(server, roles=("owner", "sales"))
    this_month = datetime.now(UTC).date().replace(day=1)
    next_month, last_month, later = _month(this_month, 1), _month(this_month, -1), _month(this_month, 2)
    with tenant.client("sales") as api:
        sponsor = add_sponsor(api)["id"]

        def deal(stage: str, value: int, close: date | None, **fields: Any) -> None:
            add_deal(api, sponsor, stage=stage, value_cents=value, expected_close=close and close.isoformat(), **fields)

        deal("lead", 100_000, this_month.replace(day=28))  # 10 % of the stage: 10 000
        deal("proposal", 200_000, this_month, probability=0.3)  # its own 30 %: 60 000
        deal("proposal", 100_000, this_month, currency="EUR")  # 50 %, kept apart: 50 000 EUR
        deal("won", 90_000, None)  # won now, no expected close: this month, in full
        deal("lost", 70_000, this_month)  # never counted
        deal("negotiation", 300_000, next_month)  # 75 %: 225 000
        deal("won", 50_000, next_month, probability=0.2)  # won: in full whatever it carried
        deal("lead", 12_345, next_month, probability=0.333)  # 4 110.885, rounded to the cent: 4 111
        deal("qualified", 40_000, last_month)  # overdue: 25 % = 10 000
        deal("lead", 80_000, None)  # unscheduled: 8 000
        deal("won", 60_000, last_month)  # closed before the window: not in it, not overdue
        deal("lead", 500_000, later)  # beyond two months

        forecast = api.get("/api/v1/deals/forecast", params={"months": 2}).json()
        assert forecast["months"] == [
            {
                "month": this_month.strftime("%Y-%m"),
                "deals": 4,
                "open_deals": 3,
                "won_deals": 1,
                "totals": [
                    {"currency": "EUR", "value_cents": 100_000, "weighted_value_cents": 50_000, "won_value_cents": 0},
                    {
                        "currency": "USD",
                        "value_cents": 390_000,
                        "weighted_value_cents": 160_000,
                        "won_value_cents": 90_000,
                    },
                ],
            },
            {
                "month": next_month.strftime("%Y-%m"),
                "deals": 3,
                "open_deals": 2,
                "won_deals": 1,
                "totals": [
                    {
                        "currency": "USD",
                        "value_cents": 362_345,
                        "weighted_value_cents": 279_111,
                        "won_value_cents": 50_000,
                    }
                ],
            },
        ]
        usd = {"currency": "USD", "won_value_cents": 0}
        assert forecast["overdue"] == {
            "deals": 1,
            "totals": [{**usd, "value_cents": 40_000, "weighted_value_cents": 10_000}],
        }
        assert forecast["unscheduled"] == {
            "deals": 1,
            "totals": [{**usd, "value_cents": 80_000, "weighted_value_cents": 8_000}],
        }

        six = api.get("/api/v1/deals/forecast").json()["months"]
        assert [m["month"] for m in six] == [_month(this_month, i).strftime("%Y-%m") for i in range(6)]
        assert six[2]["totals"] == [
            {"currency": "USD", "value_cents": 500_000, "weighted_value_cents": 50_000, "won_value_cents": 0}
        ]
        assert six[3:] == [
            {"month": m["month"], "deals": 0, "open_deals": 0, "won_deals": 0, "totals": []} for m in six[3:]
        ]
        for months in (0, 25):
            assert api.get("/api/v1/deals/forecast", params={"months": months}).status_code == 422

    with tenant.client() as owner:
        owner.put("/api/v1/deals/settings", json={"stage_probabilities": {"lead": 0.5}})
    with tenant.client("sales") as api:
        forecast = api.get("/api/v1/deals/forecast", params={"months": 1}).json()
    usd_now = next(t for t in forecast["months"][0]["totals"] if t["currency"] == "USD")
    assert usd_now["weighted_value_cents"] == 160_000 - 10_000 + 50_000
    assert forecast["stage_probabilities"]["lead"] == 0.5


# Win / loss ----------------------------------------------------------------------------------------------------------


async def test_win_loss_by_sponsor_seller_and_month(db: Any, server: str) -> None:
    tenant = make_tenant(server, roles=("owner", "sales"))
    today = datetime.now(UTC).date()
    sales_id, owner_id = tenant.user_ids["sales"], tenant.user_ids["owner"]
    with tenant.client("sales") as api:
        first, second = add_sponsor(api, name=unique("Acme")), add_sponsor(api, name=unique("Zenith"))

        def closed(sponsor: dict[str, Any], value: int, outcome: str, seller: str | None) -> str:
            deal = add_deal(api, sponsor["id"], value_cents=value, seller_id=seller)
            moved(api, deal["id"], "proposal")
            moved(api, deal["id"], outcome)
            return str(deal["id"])

        closed(first, 100_000, "won", sales_id)
        closed(first, 200_000, "lost", sales_id)
        closed(second, 300_000, "won", owner_id)
        reopened = closed(second, 400_000, "won", None)
        long_ago = closed(second, 500_000, "won", sales_id)
        add_deal(api, second["id"], value_cents=900_000)  # still open
    with tenant.client() as owner:
        moved(owner, reopened, "negotiation")
        moved(owner, reopened, "lost")
    back_then = datetime.combine(today - timedelta(days=400), datetime.min.time(), UTC) + timedelta(hours=12)
    async with tenant_transaction(uuid.UUID(tenant.id)) as session:
        await session.execute(
            text("UPDATE deal_stage_changes SET changed_at = :at WHERE campaign_id = :id AND to_stage = 'won'"),
            {"at": back_then, "id": long_ago},
        )

    with tenant.client("sales") as api:
        by_sponsor = api.get("/api/v1/deals/win-loss").json()
        assert by_sponsor["by"] == "sponsor"
        assert (by_sponsor["start"], by_sponsor["end"]) == (
            (today - timedelta(days=364)).isoformat(),
            today.isoformat(),
        )
        assert [
            (g["key"], g["label"], g["won_deals"], g["lost_deals"], g["win_rate"]) for g in by_sponsor["groups"]
        ] == [
            (first["id"], first["name"], 1, 1, 0.5),
            (second["id"], second["name"], 1, 1, 0.5),
        ]
        assert by_sponsor["groups"][1]["values"] == [
            {"currency": "USD", "won_value_cents": 300_000, "lost_value_cents": 400_000}
        ]
        assert by_sponsor["total"] == {
            "key": None,
            "label": "All closed deals",
            "won_deals": 2,
            "lost_deals": 2,
            "win_rate": 0.5,
            "values": [{"currency": "USD", "won_value_cents": 400_000, "lost_value_cents": 600_000}],
        }

        by_seller = api.get("/api/v1/deals/win-loss", params={"by": "seller"}).json()["groups"]
        # The busiest first, then by name.
        assert [(g["key"], g["label"], g["won_deals"], g["lost_deals"]) for g in by_seller] == [
            (sales_id, f"sales-{tenant.slug.removeprefix('net-')}@example.com", 1, 1),
            (None, "No seller", 0, 1),
            (owner_id, "Olive Owner", 1, 0),
        ]
        assert next(g for g in by_seller if g["key"] is None)["win_rate"] == 0.0

        start = (today - timedelta(days=500)).isoformat()
        by_month = api.get("/api/v1/deals/win-loss", params={"by": "month", "start": start}).json()["groups"]
        assert [(g["key"], g["won_deals"], g["lost_deals"]) for g in by_month] == [
            (back_then.strftime("%Y-%m"), 1, 0),
            (today.strftime("%Y-%m"), 2, 2),
        ]
        assert by_month[0]["values"] == [{"currency": "USD", "won_value_cents": 500_000, "lost_value_cents": 0}]

        nothing = api.get("/api/v1/deals/win-loss", params={"start": "2001-01-01", "end": "2001-12-31"}).json()
        assert nothing["groups"] == []
        assert nothing["total"]["win_rate"] is None
        refused = [{"by": "industry"}, {"start": today.isoformat(), "end": (today - timedelta(days=1)).isoformat()}]
        refused.append({"start": "2001-01-01", "end": today.isoformat()})
        for params in refused:
            assert api.get("/api/v1/deals/win-loss", params=params).status_code == 422, params


# Who sees what -------------------------------------------------------------------------------------------------------


def test_an_advertiser_sees_only_their_sponsors_deals(tenant: Tenant, sponsor: dict[str, Any]) -> None:
    with tenant.client("advertiser") as advertiser:
        mine = advertiser.get("/api/v1/sponsors").json()["items"]
    assert len(mine) == 1
    own_sponsor = mine[0]["id"]
    with tenant.client("sales") as sales:
        own = add_deal(sales, own_sponsor, notes="they want the fall slots", value_cents=100_000)
        moved(sales, own["id"], "won", note="signed after the second call")
        theirs = add_deal(sales, sponsor["id"])

    with tenant.client("advertiser") as api:
        board = api.get("/api/v1/deals").json()
        assert own["id"] in board_ids(board)
        assert {d["sponsor_id"] for c in board["columns"] for d in c["deals"]} == {own_sponsor}
        assert board_ids(api.get("/api/v1/deals", params={"sponsor_id": sponsor["id"]}).json()) == set()
        assert api.get(f"/api/v1/deals/{theirs['id']}").status_code == 404
        seen = api.get(f"/api/v1/deals/{own['id']}").json()
        assert seen["notes"] == ""
        assert [h["note"] for h in seen["history"]] == ["", ""]
        assert seen["moves"] == []
        assert move(api, theirs["id"], "won").status_code == 403

        forecast = api.get("/api/v1/deals/forecast").json()
        this_month = forecast["months"][0]
        assert (this_month["deals"], this_month["won_deals"]) == (1, 1)
        win_loss = api.get("/api/v1/deals/win-loss", params={"by": "sponsor"}).json()
        assert [g["key"] for g in win_loss["groups"]] == [own_sponsor]
        assert api.get("/api/v1/deals/settings").status_code == 403


def test_another_workspaces_deal_is_not_found(tenant: Tenant, other: Tenant, sponsor: dict[str, Any]) -> None:
    with tenant.client("sales") as sales:
        deal = add_deal(sales, sponsor["id"])
    with other.client("sales") as api:
        assert api.get(f"/api/v1/deals/{deal['id']}").status_code == 404
        assert move(api, deal["id"], "qualified").status_code == 404
        assert deal["id"] not in board_ids(api.get("/api/v1/deals").json())
        assert api.get("/api/v1/deals/win-loss").json()["groups"] == []
    with other.client() as owner:
        assert move(owner, deal["id"], "won").status_code == 404
    with tenant.client("sales") as sales:
        assert sales.get(f"/api/v1/deals/{deal['id']}").json()["stage"] == "lead"


def test_every_deal_endpoint_is_not_found_while_the_pipeline_is_off(server: str, anon: httpx.Client) -> None:
    tenant = make_tenant(server, roles=("owner", "sales"))
    with tenant.client("sales") as sales:
        deal = add_deal(sales, add_sponsor(sales)["id"])
    with tenant.client() as owner:
        off = owner.put("/api/v1/feature-flags/ENABLE_DEAL_PIPELINE", json={"enabled": False})
        assert off.status_code == 200, off.text
        calls = [
            ("GET", "/api/v1/deals", None),
            ("GET", f"/api/v1/deals/{deal['id']}", None),
            ("PATCH", f"/api/v1/deals/{deal['id']}/stage", {"stage": "won"}),
            ("GET", "/api/v1/deals/forecast", None),
            ("GET", "/api/v1/deals/win-loss", None),
            ("GET", "/api/v1/deals/settings", None),
            ("PUT", "/api/v1/deals/settings", {"stage_probabilities": {}}),
        ]
        for method, path, body in calls:
            response = owner.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
        owner.put("/api/v1/feature-flags/ENABLE_DEAL_PIPELINE", json={"enabled": None})
        assert owner.get(f"/api/v1/deals/{deal['id']}").json()["stage"] == "lead"
    assert anon.get("/api/v1/deals").status_code == 401
