"""Attribution results over REST: a campaign of two orders with downloads, conversions and a vanity click written
into the database, recalculated through the API and a worker; the campaign's, each order's and each episode's
figures with their intervals and deterministic/modeled split, every model side by side, the date filter, the role
matrix (anonymous 401, no permission 403, another tenant or another sponsor 404) and the feature flag."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from podsponsor.db.engine import Database
from podsponsor.jobs.app import run_worker
from tests.attribution.engine_world import at, conversion_source, convert, listen, visit
from tests.bookings.delivery_world import Booking, Show, book, show
from tests.factories.identity import Tenant, make_tenant

TODAY = datetime.now(UTC).date()
START, END = TODAY - timedelta(days=20), TODAY + timedelta(days=9)
CPM = 1_000_000  # 1,000 USD per thousand: each download costs 1,000 cents
PROBLEMS = "https://podsponsor.dev/problems/"


@dataclass
class Campaign:
    id: uuid.UUID
    first: Booking  # show A, promo code: 8 downloads by 8 households
    second: Booking  # show B: 12 downloads by 2 households, one of them shared by 11 user agents
    a: Show
    b: Show


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales", "creator", "advertiser"))


@pytest.fixture(scope="module")
def other(server: str) -> Tenant:
    return make_tenant(server, roles=("owner",))


def _get(api: httpx.Client, path: str, status: int = 200, **params: Any) -> Any:
    response = api.get(path, params=params)
    assert response.status_code == status, response.text
    return response.json()


def _post(api: httpx.Client, path: str, status: int) -> Any:
    response = api.post(path)
    assert response.status_code == status, response.text
    return response.json()


def _advertisers_sponsor(tenant: Tenant) -> uuid.UUID:
    with tenant.client("advertiser") as api:
        return uuid.UUID(_get(api, "/api/v1/sponsors")["items"][0]["id"])


async def _campaign(tenant: Tenant, sponsor_id: uuid.UUID | None = None) -> Campaign:
    tenant_id = uuid.UUID(tenant.id)
    a = await show(tenant_id, [START], title="Show A")
    b = await show(tenant_id, [START], title="Show B")
    code = f"NAP{uuid.uuid4().hex[:6].upper()}"
    first = await book(tenant_id, a, START, END, placed=[0], promo_code=code, cpm_cents=CPM, sponsor_id=sponsor_id)
    same = {"sponsor_id": first.sponsor, "campaign_id": first.campaign, "cpm_cents": CPM}
    second = await book(tenant_id, b, START, END, placed=[0], **same)
    tag = uuid.uuid4().hex[:6]

    def day(n: int) -> datetime:
        return at(START + timedelta(days=n))

    def home(n: int) -> str:
        return f"h{n}-{tag}"

    android = {"agent": "android", "device": "Android Phone"}
    await listen(tenant_id, a.id, a.episodes[0], day(2), home(1))
    await listen(tenant_id, a.id, a.episodes[0], day(3), home(2), **android)
    for n in range(3, 9):
        await listen(tenant_id, a.id, a.episodes[0], day(1), home(n))
    await listen(tenant_id, b.id, b.episodes[0], day(6), home(2), **android)
    for agent in range(11):
        await listen(tenant_id, b.id, b.episodes[0], day(4), f"office-{tag}", agent=f"agent-{agent}")
    await visit(tenant_id, second.io, day(7), home(9))

    source = await conversion_source(tenant_id, first.sponsor)
    for when, fields in (
        (day(5), {"promo_codes": [code.lower()], "value_cents": 10_000}),
        (day(4), {"ip_hash": home(1), "ua_family": "iOS", "value_cents": 2_000}),
        (day(8), {"ip_hash": home(2), "ua_family": "Android", "value_cents": 4_000}),
        (day(8), {"ip_hash": home(3), "ua_family": "Android", "value_cents": 1_000}),  # an iPhone household
        (day(9), {"ip_hash": home(9), "ua_family": "iOS", "value_cents": 3_000}),
        (day(8), {"ip_hash": f"office-{tag}", "ua_family": "iOS", "value_cents": 1_000}),
    ):
        await convert(tenant_id, source, first.sponsor, when, **fields)
    return Campaign(first.campaign, first, second, a, b)


def _recalculate(tenant: Tenant, campaign: Campaign) -> None:
    with tenant.client("sales") as api:
        assert _post(api, f"/api/v1/attribution/campaigns/{campaign.id}/recalculate", 202)["queued"] is True
        again = _post(api, f"/api/v1/attribution/campaigns/{campaign.id}/recalculate", 202)
    assert again["queued"] is False


@pytest.fixture(scope="module")
async def campaign(tenant: Tenant, db: Database) -> Campaign:
    found = await _campaign(tenant, sponsor_id=_advertisers_sponsor(tenant))
    with tenant.client("sales") as api:
        problem = _get(api, f"/api/v1/attribution/campaigns/{found.id}", 404)
    assert problem["type"] == PROBLEMS + "attribution-not-calculated"
    _recalculate(tenant, found)
    await run_worker(queues=["attribution"], wait=False)
    return found


def _value(figure: dict[str, Any]) -> float:
    """The figure, checked to lie in its interval; a cost per conversion may be unbounded above (a resample of a
    few households can hold no conversion)."""
    low, value, high = figure["low"], figure["value"], figure["high"]
    assert low is not None and low <= value and (high is None or value <= high), figure
    return float(value)


def _split(split: dict[str, Any]) -> tuple[float, float, float]:
    return (
        pytest.approx(_value(split["total"])),
        pytest.approx(_value(split["deterministic"])),
        pytest.approx(_value(split["modeled"])),
    )


def _currency(rows: list[dict[str, Any]], currency: str = "USD") -> dict[str, Any]:
    return next(row for row in rows if row["currency"] == currency)


async def test_a_campaigns_results_with_intervals_split_by_kind_of_match(tenant: Tenant, campaign: Campaign) -> None:
    with tenant.client("sales") as api:
        body = _get(api, f"/api/v1/attribution/campaigns/{campaign.id}")

    assert (body["scope"], body["scope_id"], body["start"], body["end"]) == ("campaign", str(campaign.id), None, None)
    [run] = body["runs"]
    assert (run["model"], run["trigger"], run["lookback_days"]) == ("linear", "api", 30)
    assert run["conversions_considered"] == 6
    assert run["matched"] == {"promo_code": 1, "vanity": 1, "household": 2}
    assert run["unusable_ip_share"] == pytest.approx(1 / 5)  # the office, of five conversions with an address
    assert body["households_reached"] == 9  # eight on show A, the office on show B (one household on both)
    assert body["spend"] == [{"currency": "USD", "cents": 20_000}]
    # promo code 1 + vanity 1 deterministic; two households modeled
    assert _split(body["conversions"]) == (4, 2, 2)
    assert _split(_currency(body["revenue_cents"])) == (19_000, 13_000, 6_000)
    assert _split(_currency(body["cpa_cents"])) == (5_000, 10_000, 10_000)
    assert (
        body["conversions"]["total"]["high"] is not None
        and _currency(body["cpa_cents"])["deterministic"]["high"] is None
    )
    assert _split(_currency(body["roas"])) == (0.95, 0.65, 0.30)
    # Converting households among those reached: the two household matches; the vanity visitor was never exposed.
    assert body["households_converting"] == 2
    rate = body["conversion_rate"]
    assert rate["total"]["value"] == pytest.approx(2 / 9) and rate["modeled"]["value"] == pytest.approx(2 / 9)
    assert rate["deterministic"] == {"value": 0.0, "low": 0.0, "high": 0.0}
    assert body["interval"]["iterations"] == 1000 and body["interval"]["confidence"] == 0.95

    with tenant.client("advertiser") as api:
        assert _get(api, f"/api/v1/attribution/campaigns/{campaign.id}") == body  # seeded: the same interval


async def test_a_model_a_period_and_fewer_iterations(tenant: Tenant, campaign: Campaign) -> None:
    path = f"/api/v1/attribution/campaigns/{campaign.id}"
    with tenant.client("sales") as api:
        first = _get(api, path, model="first_touch", iterations=200)
        # From the flight's 7th day on: the conversions of the two-show household and of the vanity visitor.
        later = _get(api, path, start=(START + timedelta(days=6)).isoformat(), end=TODAY.isoformat())
        _get(api, path, 422, model="last_click")
        backwards = _get(api, path, 422, start=TODAY.isoformat(), end=START.isoformat())
        _get(api, path, 422, iterations=10)

    assert first["runs"][0]["model"] == "first_touch" and first["interval"]["iterations"] == 200
    assert _split(first["conversions"]) == (4, 2, 2)
    assert _split(later["conversions"]) == (2, 1, 1)
    # Reach counts the households exposed in the period: only the two-show household listened that late.
    assert later["households_reached"] == 1 and later["households_converting"] == 1
    assert backwards["errors"][0]["field"] == "end"


async def test_an_orders_and_an_episodes_results(tenant: Tenant, campaign: Campaign) -> None:
    with tenant.client("sales") as api:
        first = _get(api, f"/api/v1/attribution/ios/{campaign.first.io}")
        second = _get(api, f"/api/v1/attribution/ios/{campaign.second.io}")
        second_first_touch = _get(api, f"/api/v1/attribution/ios/{campaign.second.io}", model="first_touch")
        episode_a = _get(api, f"/api/v1/attribution/episodes/{campaign.a.episodes[0]}")
        episode_b = _get(api, f"/api/v1/attribution/episodes/{campaign.b.episodes[0]}")

    # Linear: the promo code and the show A household wholly, half of the household that heard both shows.
    assert _split(first["conversions"]) == (2.5, 1, 1.5)
    assert _split(_currency(first["revenue_cents"])) == (14_000, 10_000, 4_000)
    assert (first["households_reached"], first["spend"]) == (8, [{"currency": "USD", "cents": 8_000}])
    assert _split(_currency(first["cpa_cents"])) == (3_200, 8_000, 8_000 / 1.5)
    assert first["conversion_rate"]["total"]["value"] == pytest.approx(2 / 8)
    assert _split(second["conversions"]) == (1.5, 1, 0.5)
    assert second["households_reached"] == 2 and second["spend"][0]["cents"] == 12_000
    # First touch gives the two-show household wholly to show A.
    assert _split(second_first_touch["conversions"]) == (1, 1, 0)
    # An episode has the credit of its downloads: a promo code or a vanity visit names no episode.
    assert (episode_a["scope"], [r["campaign_id"] for r in episode_a["runs"]]) == ("episode", [str(campaign.id)])
    assert _split(episode_a["conversions"]) == (1.5, 0, 1.5)
    assert episode_a["households_reached"] == 8 and episode_a["spend"][0]["cents"] == 8_000
    assert _split(episode_b["conversions"]) == (0.5, 0, 0.5)
    assert episode_b["spend"][0]["cents"] == 12_000


async def test_every_model_side_by_side(tenant: Tenant, campaign: Campaign) -> None:
    with tenant.client("advertiser") as api:
        body = _get(api, f"/api/v1/attribution/campaigns/{campaign.id}/models", iterations=100)

    models = {m["model"]: m for m in body["models"]}
    assert set(models) == {"first_touch", "last_touch", "linear", "time_decay", "position_based", "custom"}
    assert [m for m, found in models.items() if found["is_default"]] == ["linear"]
    assert models["time_decay"]["half_life_days"] == 7.0
    assert body["households_reached"] == 9 and body["run"]["matched"]["household"] == 2
    first, second = str(campaign.first.io), str(campaign.second.io)
    for name, expected in {"first_touch": (3, 1), "last_touch": (2, 2), "linear": (2.5, 1.5)}.items():
        found = {io["io_id"]: io["conversions"] for io in models[name]["by_io"]}
        assert (found[first], found[second]) == pytest.approx(expected), name
        assert _split(models[name]["conversions"]) == (4, 2, 2)  # every model spreads each whole conversion
    decayed = {io["io_id"]: io for io in models["time_decay"]["by_io"]}
    # The two-show household heard show A 5 days and show B 2 days before buying: 2^(-2/7) against 2^(-5/7).
    newer = 1 / (1 + 2 ** (-3 / 7))
    assert (decayed[first]["modeled"], decayed[second]["modeled"]) == pytest.approx((2 - newer, newer))
    assert decayed[first]["revenue_cents"]["USD"] + decayed[second]["revenue_cents"]["USD"] == pytest.approx(19_000)


async def test_who_may_read_and_recalculate(
    tenant: Tenant, other: Tenant, campaign: Campaign, anon: httpx.Client, db: Database
) -> None:
    path = f"/api/v1/attribution/campaigns/{campaign.id}"
    stranger = await _campaign(tenant)  # another sponsor's campaign in the same workspace
    assert _get(anon, path, 401)["status"] == 401
    with tenant.client("creator") as api:
        assert _get(api, path, 403)["status"] == 403
    with tenant.client("advertiser") as api:
        assert _get(api, path, 200)["scope_id"] == str(campaign.id)
        assert _get(api, f"/api/v1/attribution/campaigns/{stranger.id}", 404)["status"] == 404
        assert _get(api, f"/api/v1/attribution/campaigns/{stranger.id}/models", 404)["status"] == 404
        assert _get(api, f"/api/v1/attribution/ios/{stranger.first.io}", 404)["status"] == 404
        _post(api, path + "/recalculate", 403)
    with other.client("owner") as api:
        for found in (path, path + "/models", f"/api/v1/attribution/ios/{campaign.first.io}"):
            _get(api, found, 404)
        _get(api, f"/api/v1/attribution/episodes/{campaign.a.episodes[0]}", 404)
        _post(api, path + "/recalculate", 404)
    with tenant.client("sales") as api:
        _get(api, f"/api/v1/attribution/campaigns/{uuid.uuid4()}", 404)
        _post(api, f"/api/v1/attribution/campaigns/{uuid.uuid4()}/recalculate", 404)


async def test_an_advertiser_sees_an_episode_only_through_its_own_campaigns(
    tenant: Tenant, campaign: Campaign, db: Database
) -> None:
    stranger = await _campaign(tenant)
    _recalculate(tenant, stranger)
    await run_worker(queues=["attribution"], wait=False)
    path = f"/api/v1/attribution/episodes/{stranger.a.episodes[0]}"

    with tenant.client("sales") as api:
        assert [r["campaign_id"] for r in _get(api, path)["runs"]] == [str(stranger.id)]
    with tenant.client("advertiser") as api:
        hidden = _get(api, path)
    assert hidden["runs"] == [] and hidden["conversions"]["total"]["value"] == 0


async def test_the_feature_flag_hides_attribution(tenant: Tenant, campaign: Campaign) -> None:
    path = f"/api/v1/attribution/campaigns/{campaign.id}"
    with tenant.client("owner") as api:
        assert api.put("/api/v1/feature-flags/ENABLE_ATTRIBUTION", json={"enabled": False}).status_code == 200
        try:
            _get(api, path, 404)
            _post(api, path + "/recalculate", 404)
        finally:
            assert api.put("/api/v1/feature-flags/ENABLE_ATTRIBUTION", json={"enabled": None}).status_code == 200
        _get(api, path, 200)
