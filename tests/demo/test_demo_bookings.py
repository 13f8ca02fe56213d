"""Demo bookings and deal histories: generated without a database the same way every time, loaded once with their
delivery from the demo's counted downloads, and never breaking a rule the bookings service enforces."""

from __future__ import annotations

import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from itertools import combinations, pairwise
from typing import Any

import httpx
import pytest
from sqlalchemy import FromClause, func, select

from podsponsor.auth.subject import system_subject
from podsponsor.bookings import codes, delivery
from podsponsor.bookings.models import AdUnit, InsertionOrder, IoPlacement, Makegood
from podsponsor.bookings.schemas import IoIn
from podsponsor.bookings.service import PRICE_FIELDS, PRICES_BY_MODEL
from podsponsor.catalog.models import Episode, Podcast
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.demo import DEMO_PASSWORD, DemoSummary, demo_tenant_ids, generate, load_demo_data
from podsponsor.demo.bookings import BookingRows, generate_bookings
from podsponsor.demo.generate import TenantRows
from podsponsor.demo.listening import LISTENING_DAYS
from podsponsor.events.models import Event
from podsponsor.sales.deals import allowed_moves
from podsponsor.sales.models import Campaign, DealStageChange, Sponsor
from tests.web.conftest import browser, submit

Row = dict[str, Any]
NOW = datetime(2026, 11, 22, 11, 30, tzinfo=UTC)
LIVE = ("scheduled", "active")


@pytest.fixture(scope="module")
async def summary(db: Any) -> DemoSummary:
    return await load_demo_data(seed=42)


@pytest.fixture(scope="module")
async def tenant_ids(summary: DemoSummary) -> dict[str, uuid.UUID]:
    return await demo_tenant_ids()


@pytest.fixture(scope="module")
def workspaces() -> list[TenantRows]:
    return generate(42)


def audience_of(rows: TenantRows) -> dict[uuid.UUID, float]:
    """Downloads per day as the loader would find them: shows differing tenfold."""
    return {podcast["id"]: 8.0 + 17 * index for index, podcast in enumerate(rows.podcasts)}


async def table_rows(session: Any, table: FromClause) -> list[Row]:
    return [dict(row) for row in (await session.execute(select(table))).mappings()]


# What every demo booking must obey -----------------------------------------------------------------------------------


def broken_rules(
    ios: list[Row], placements: list[Row], units: list[Row], episodes: list[Row], sponsors: list[Row]
) -> list[str]:
    """The booking rules of docs/bookings.md that these rows break, one line each (none: every rule holds)."""
    orders, unit_of, episode_of = _by_id(ios), _by_id(units), _by_id(episodes)
    industry_of = {sponsor["id"]: sponsor["industry"] for sponsor in sponsors}
    problems = [f"slot {slot} held {n} times" for slot, n in Counter(_slots(placements)).items() if n > 1]
    in_episode: dict[uuid.UUID, dict[uuid.UUID, Row]] = defaultdict(dict)
    for placement in placements:
        io, episode = orders[placement["io_id"]], episode_of[placement["episode_id"]]
        in_episode[episode["id"]][io["id"]] = io
        published = episode["publish_date"].astimezone(UTC).date()
        if io["status"] == "cancelled":
            problems.append(f"{io['number']}: cancelled but holds a slot")
        if placement["ad_unit_id"] != io["ad_unit_id"] or episode["podcast_id"] != io["podcast_id"]:
            problems.append(f"{io['number']}: a slot of another ad unit or show")
        if not placement["bonus"] and not io["flight_start"] <= published <= io["flight_end"]:
            problems.append(f"{io['number']}: books an episode published {published}, outside its flight")
        if placement["industry"] != industry_of[io["sponsor_id"]]:
            problems.append(f"{io['number']}: slot's industry is not its sponsor's")
    for held in in_episode.values():
        for first, second in combinations(held.values(), 2):
            rivals = first["sponsor_id"] != second["sponsor_id"] and (
                industry_of[first["sponsor_id"]].lower() == industry_of[second["sponsor_id"]].lower()
            )
            if rivals and not (first["separation_waived"] or second["separation_waived"]):
                problems.append(f"{first['number']} and {second['number']}: competitors in one episode")
    for io in ios:
        problems += [f"{io['number']}: {problem}" for problem in _terms_broken(io, unit_of[io["ad_unit_id"]])]
    kept = [io for io in ios if io["status"] != "cancelled"]
    for workspace, codes_held in _grouped(kept, "promo_code").items():
        problems += [f"promo code {code} used {n} times in {workspace}" for code, n in codes_held.items() if n > 1]
    slugs = Counter(io["vanity_slug"].lower() for io in kept if io["vanity_slug"])
    problems += [f"vanity slug {slug} used {n} times" for slug, n in slugs.items() if n > 1]
    return problems


def _by_id(rows: Iterable[Row]) -> dict[uuid.UUID, Row]:
    return {row["id"]: row for row in rows}


def _slots(placements: Iterable[Row]) -> Iterable[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]:
    return ((p["tenant_id"], p["ad_unit_id"], p["episode_id"]) for p in placements)


def _grouped(ios: list[Row], column: str) -> dict[uuid.UUID, Counter[str]]:
    grouped: dict[uuid.UUID, Counter[str]] = defaultdict(Counter)
    for io in ios:
        if io[column]:
            grouped[io["tenant_id"]][io[column].lower()] += 1
    return grouped


def _terms_broken(io: Row, unit: Row) -> list[str]:
    problems = []
    if unit["podcast_id"] != io["podcast_id"]:
        problems.append("its ad unit is another show's")
    needed = PRICES_BY_MODEL[io["pricing_model"]]
    if any((io[name] is not None) != (name in needed) for name in PRICE_FIELDS):
        problems.append(f"prices do not fit pricing model {io['pricing_model']}")
    if io["promo_code"] and not codes.is_promo_code(io["promo_code"]):
        problems.append(f"promo code {io['promo_code']} breaks {codes.PROMO_RULE}")
    if io["vanity_slug"] and not (codes.is_vanity_slug(io["vanity_slug"]) and io["landing_url"]):
        problems.append(f"vanity slug {io['vanity_slug']} is malformed or has no landing page")
    # Everything the booking form and API validate field by field.
    fields = set(IoIn.model_fields) - {"episode_ids", "generate_promo_code", "generate_vanity_slug"}
    IoIn.model_validate({name: io[name] for name in fields})
    return problems


def deal_history_broken(
    campaigns: list[Row], changes: list[Row], seller_of: Mapping[uuid.UUID, uuid.UUID]
) -> list[str]:
    """Each deal's history: created a lead at its creation time, moves a seller may make, strictly later each time,
    ending in its stage at its stage_changed_at, all by its seller."""
    history: dict[uuid.UUID, list[Row]] = defaultdict(list)
    for change in changes:
        history[change["campaign_id"]].append(change)
    problems = []
    for deal in campaigns:
        moves = sorted(history[deal["id"]], key=lambda c: c["changed_at"])
        name = deal["name"]
        if not moves or (moves[0]["from_stage"], moves[0]["to_stage"]) != (None, "lead"):
            problems.append(f"{name}: does not start with its creation as a lead")
            continue
        if moves[0]["changed_at"] != deal["created_at"]:
            problems.append(f"{name}: created at {moves[0]['changed_at']}, not {deal['created_at']}")
        if (moves[-1]["to_stage"], moves[-1]["changed_at"]) != (deal["stage"], deal["stage_changed_at"]):
            problems.append(f"{name}: history ends in {moves[-1]['to_stage']}, the deal is {deal['stage']}")
        for before, after in pairwise(moves):
            if not before["changed_at"] < after["changed_at"]:
                problems.append(f"{name}: two moves at {after['changed_at']}")
            if after["from_stage"] != before["to_stage"]:
                problems.append(f"{name}: moved from {after['from_stage']} while in {before['to_stage']}")
            elif after["to_stage"] not in allowed_moves(after["from_stage"], reopen=False):
                problems.append(f"{name}: {after['from_stage']} → {after['to_stage']} is not a seller's move")
        if any(move["changed_by"] != seller_of[deal["id"]] for move in moves):
            problems.append(f"{name}: moved by someone else than its seller")
    return problems


# Without the database ------------------------------------------------------------------------------------------------


def test_same_inputs_give_the_same_bookings_and_another_seed_differs(workspaces: list[TenantRows]) -> None:
    for rows in workspaces:
        first = generate_bookings(rows, 42, NOW, audience_of(rows))
        second = generate_bookings(generate(42)[workspaces.index(rows)], 42, NOW, audience_of(rows))
        assert first == second
        assert repr(first) == repr(second)
        other = generate_bookings(rows, 7, NOW, audience_of(rows))
        assert [io["flight_start"] for io in other.ios] != [io["flight_start"] for io in first.ios]


def test_generated_bookings_cover_every_case_and_break_no_rule(workspaces: list[TenantRows]) -> None:
    booked = {rows.slug: generate_bookings(rows, 42, NOW, audience_of(rows)) for rows in workspaces}
    ios = [io for b in booked.values() for io in b.ios]
    placements = [p for b in booked.values() for p in b.placements]
    units = [u for b in booked.values() for u in b.ad_units]
    episodes = [e for rows in workspaces for e in rows.episodes]
    sponsors = [s for rows in workspaces for s in rows.sponsors]
    assert broken_rules(ios, placements, units, episodes, sponsors) == []
    assert 180 <= len(ios) <= 220
    assert len(booked["northwind"].ios) > 3 * len(booked["maple-pine"].ios)
    assert {"scheduled", "active", "completed", "makegood"} <= {io["status"] for io in ios}
    kinds = {m["settlement"] for b in booked.values() for m in b.makegoods}
    assert kinds == {"bonus_episode", "extended_flight", "credit", None}
    assert {aim.kind for b in booked.values() for aim in b.aims.values()} == {"pacing", "delivered"}
    pricing = Counter(io["pricing_model"] for io in ios)
    assert pricing["cpm"] > len(ios) / 2 and {"flat", "hybrid", "cpa"} <= pricing.keys()
    campaigns = {deal["id"]: deal for rows in workspaces for deal in rows.campaigns}
    for io in ios:
        made, deal = io["created_at"], campaigns[io["campaign_id"]]
        assert deal["stage_changed_at"] <= made < min(NOW, datetime.combine(io["flight_start"], time(), UTC))
        assert deal["stage"] == "won" or (deal["stage"] == "negotiation" and io["status"] in ("scheduled", "cancelled"))
        assert io["status_changed_at"] <= NOW
    assigned = {p["io_id"] for p in placements if not p["bonus"]}
    assert len(assigned) > len(ios) / 2, "most orders have their episodes assigned"
    assert any(io["id"] not in assigned and io["status"] != "cancelled" for io in ios), "some are unassigned"
    for rows in workspaces:
        per_show = _ad_units_per_show(booked[rows.slug])
        assert per_show.keys() == {p["id"] for p in rows.podcasts} and all(2 <= n <= 4 for n in per_show.values())


def _ad_units_per_show(booked: BookingRows) -> Counter[uuid.UUID]:
    return Counter(unit["podcast_id"] for unit in booked.ad_units)


def test_generated_past_orders_tell_a_consistent_story(workspaces: list[TenantRows]) -> None:
    first_counted = NOW.date() - timedelta(days=LISTENING_DAYS)
    for rows in workspaces:
        booked = generate_bookings(rows, 42, NOW, audience_of(rows))
        makegoods = {m["io_id"]: m for m in booked.makegoods}
        bonus_slots = {(p["io_id"], p["episode_id"]) for p in booked.placements if p["bonus"]}
        for io in booked.ios:
            makegood = makegoods.get(io["id"])
            if io["status"] in ("completed", "makegood"):
                assert io["flight_end"] < first_counted, "set here only when no counted download is its"
            if io["status"] == "completed":
                assert io["delivered_impressions"] >= io["impression_goal"]
            if makegood is None:
                assert io["status"] != "makegood"
                continue
            assert makegood["shortfall_impressions"] == makegood["goal"] - makegood["delivered"] > 0
            settlement = makegood["settlement"]
            assert io["status"] == ("makegood" if settlement in (None, "credit") else "completed"), io["number"]
            if settlement == "bonus_episode":
                assert (io["id"], makegood["bonus_episode_id"]) in bonus_slots
            if settlement == "extended_flight":
                assert io["flight_end"] == makegood["extended_to"] > makegood["settled_at"].date() > io["flight_start"]
            if settlement == "credit":
                assert makegood["credit_cents"] is not None


def test_every_generated_deal_has_a_consistent_stage_history(workspaces: list[TenantRows]) -> None:
    for rows in workspaces:
        seller_of = {deal["id"]: deal["seller_id"] for deal in rows.campaigns}
        assert deal_history_broken(rows.campaigns, rows.stage_changes, seller_of) == []
        moves = Counter(len([c for c in rows.stage_changes if c["campaign_id"] == d["id"]]) for d in rows.campaigns)
        assert max(moves) >= 5, "some deals went the whole way"
        assert any(
            c["from_stage"] in ("qualified", "proposal", "negotiation")
            and c["to_stage"] in ("lead", "qualified", "proposal")
            and ["lead", "qualified", "proposal", "negotiation"].index(c["to_stage"])
            < ["lead", "qualified", "proposal", "negotiation"].index(c["from_stage"])
            for c in rows.stage_changes
        ), "some deal stepped back a stage"


# Loaded --------------------------------------------------------------------------------------------------------------


async def test_loaded_bookings_break_no_rule(tenant_ids: dict[str, uuid.UUID]) -> None:
    loaded: dict[str, list[Row]] = defaultdict(list)
    for tenant_id in tenant_ids.values():
        async with tenant_transaction(tenant_id) as session:
            for key, model in (
                ("ios", InsertionOrder),
                ("placements", IoPlacement),
                ("units", AdUnit),
                ("episodes", Episode),
                ("sponsors", Sponsor),
            ):
                loaded[key] += await table_rows(session, model.__table__)
    assert loaded["placements"], "orders hold episode slots"
    assert broken_rules(**loaded) == []


async def test_loaded_orders_are_mostly_northwinds_in_every_status(
    summary: DemoSummary, tenant_ids: dict[str, uuid.UUID]
) -> None:
    assert 180 <= summary.ios <= 220
    statuses: dict[str, Counter[str]] = {}
    for slug, tenant_id in tenant_ids.items():
        async with tenant_transaction(tenant_id) as session:
            by_status = select(InsertionOrder.status, func.count()).group_by(InsertionOrder.status)
            statuses[slug] = Counter({status: n for status, n in await session.execute(by_status)})
            units = Counter((await session.scalars(select(AdUnit.podcast_id))).all())
            shows = set((await session.scalars(select(Podcast.id))).all())
        assert units.keys() == shows and all(2 <= n <= 4 for n in units.values())
    assert sum(statuses["northwind"].values()) > 3 * sum(statuses["maple-pine"].values())
    assert {"scheduled", "active", "completed", "makegood"} <= statuses["northwind"].keys()


async def test_live_orders_pace_ahead_on_pace_and_behind(tenant_ids: dict[str, uuid.UUID]) -> None:
    today = datetime.now(UTC).date()
    pacings = []
    async with tenant_transaction(tenant_ids["northwind"]) as session:
        running = select(InsertionOrder.id).where(
            InsertionOrder.status == "active", InsertionOrder.flight_start <= today, InsertionOrder.flight_end > today
        )
        subject = system_subject(tenant_ids["northwind"])
        for io_id in (await session.scalars(running)).all():
            found = await delivery.io_delivery(session, subject, io_id, today=today)
            # The refresh at load stored what the delivery service finds now.
            assert found.io.delivered_impressions == found.delivered > 0
            assert found.io.delivery_updated_at is not None
            assert found.pacing is not None
            pacings.append(float(found.pacing))
    assert len(pacings) >= 15
    assert sum(p > 1.08 for p in pacings) >= 3, pacings
    assert sum(0.93 <= p <= 1.07 for p in pacings) >= 3, pacings
    assert sum(p < 0.9 for p in pacings) >= 3, pacings


async def test_the_delivery_job_judged_the_orders_that_ended(tenant_ids: dict[str, uuid.UUID]) -> None:
    today = datetime.now(UTC).date()
    judged_by_job: Counter[str] = Counter()
    for tenant_id in tenant_ids.values():
        async with tenant_transaction(tenant_id) as session:
            subject = system_subject(tenant_id)
            for io in (await session.scalars(select(InsertionOrder).where(InsertionOrder.status.in_(LIVE)))).all():
                found = await delivery.io_delivery(session, subject, io.id, today=today)
                assert today < found.judged_from, f"{io.number} should have been judged"
            outcomes = select(Event.type).where(
                Event.type.in_(("io.delivered", "io.makegood")), Event.actor_user_id.is_(None), Event.at > _day(today)
            )
            judged_by_job.update((await session.scalars(outcomes)).all())
    assert judged_by_job["io.delivered"] >= 1 and judged_by_job["io.makegood"] >= 1, judged_by_job


def _day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=1)


_io_of = (InsertionOrder.tenant_id == Makegood.tenant_id) & (InsertionOrder.id == Makegood.io_id)


async def test_loaded_makegoods_are_settled_by_each_kind(tenant_ids: dict[str, uuid.UUID]) -> None:
    kinds: Counter[str | None] = Counter()
    for tenant_id in tenant_ids.values():
        async with tenant_transaction(tenant_id) as session:
            rows = (await session.execute(select(Makegood, InsertionOrder).join(InsertionOrder, _io_of))).all()
            for makegood, io in rows:
                kinds[makegood.settlement] += 1
                assert makegood.shortfall_impressions == makegood.goal - makegood.delivered > 0
                if makegood.settlement is None:
                    assert io.status == "makegood"
    assert {"bonus_episode", "extended_flight", "credit", None} <= kinds.keys()


async def test_loaded_deals_have_consistent_histories(tenant_ids: dict[str, uuid.UUID]) -> None:
    for tenant_id in tenant_ids.values():
        async with tenant_transaction(tenant_id) as session:
            campaigns = await table_rows(session, Campaign.__table__)
            changes = await table_rows(session, DealStageChange.__table__)
        seller_of = {deal["id"]: deal["seller_id"] for deal in campaigns}
        assert len(changes) > 2 * len(campaigns)
        assert deal_history_broken(campaigns, changes, seller_of) == []


async def test_loading_again_adds_no_bookings(tenant_ids: dict[str, uuid.UUID]) -> None:
    models = (AdUnit, InsertionOrder, IoPlacement, Makegood, DealStageChange, Event)

    async def counts() -> list[int]:
        found = []
        for tenant_id in tenant_ids.values():
            async with tenant_transaction(tenant_id) as session:
                found += [await session.scalar(select(func.count()).select_from(m)) or 0 for m in models]
        return found

    before = await counts()
    await load_demo_data(seed=42)
    assert await counts() == before


def test_demo_seller_browses_the_orders(server: str, summary: DemoSummary, tenant_ids: dict[str, uuid.UUID]) -> None:
    with browser(server) as client:
        fields = {"email": "sales@northwind.example", "password": DEMO_PASSWORD, "workspace": "northwind"}
        assert submit(client, "/login", "/login", fields).status_code == 303
        listing = client.get("/io")
        assert listing.status_code == 200, listing.text
        numbers = re.findall(r"IO-20\d\d-\d{4}", listing.text)
        assert len(set(numbers)) >= 20
        for status in ("scheduled", "active", "completed", "makegood", "cancelled"):
            page = client.get("/io", params={"status": status})
            assert page.status_code == 200, page.text
            ids = re.findall(r'href="/io/([0-9a-f-]{36})"', page.text)
            assert ids or status == "cancelled", f"no {status} orders listed"
            for io_id in ids[:3]:
                detail = client.get(f"/io/{io_id}")
                assert detail.status_code == 200, detail.text
                assert f">{status.capitalize()}<" in detail.text


def test_demo_advertiser_sees_only_its_own_orders(server: str, summary: DemoSummary) -> None:
    with browser(server) as client:
        fields = {"email": "advertiser@northwind.example", "password": DEMO_PASSWORD, "workspace": "northwind"}
        assert submit(client, "/login", "/login", fields).status_code == 303
        listing = client.get("/io")
        assert listing.status_code == 200, listing.text
        shown = set(re.findall(r'href="/io/([0-9a-f-]{36})"', listing.text))
    token = httpx.post(
        f"{server}/api/v1/auth/token",
        json={"email": "owner@northwind.example", "password": DEMO_PASSWORD, "workspace": "northwind"},
        timeout=30,
    ).json()["access_token"]
    me = httpx.post(
        f"{server}/api/v1/auth/token",
        json={"email": "advertiser@northwind.example", "password": DEMO_PASSWORD, "workspace": "northwind"},
        timeout=30,
    ).json()["access_token"]
    sponsor = httpx.get(f"{server}/api/v1/me", headers={"Authorization": f"Bearer {me}"}, timeout=30).json()
    everything = httpx.get(
        f"{server}/api/v1/io",
        params={"sponsor_id": sponsor["sponsor_id"], "limit": 100},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert everything.status_code == 200, everything.text
    own = {io["id"] for io in everything.json()["items"]}
    assert shown and shown <= own
