"""The inventory calendar: cadence and expected episodes, booked and open slots per week, flight bookings, what an
advertiser may see, and the page."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from podsponsor.bookings.inventory import cadence, expected_days, monday
from podsponsor.bookings.models import AdUnit, InsertionOrder, IoPlacement
from podsponsor.catalog.models import Episode, Podcast
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.sales.models import Campaign, Sponsor
from tests.factories.identity import Tenant, make_tenant

TODAY = datetime.now(UTC).date()
THIS_MONDAY = monday(TODAY)


def test_cadence_is_the_median_gap_and_projection_starts_after_the_latest_release() -> None:
    weekly = [date(2026, 1, 5) + timedelta(days=7 * n) for n in range(6)] + [date(2026, 2, 12)]
    assert cadence(weekly) == 7
    assert cadence([date(2026, 1, 1)]) is None
    assert expected_days(date(2026, 3, 2), 7, date(2026, 3, 1), date(2026, 3, 31), date(2026, 3, 10)) == [
        date(2026, 3, 16),
        date(2026, 3, 23),
        date(2026, 3, 30),
    ]
    assert expected_days(None, 7, date(2026, 3, 1), date(2026, 3, 31), date(2026, 3, 1)) == []


async def _world(tenant: Tenant, advertiser_sponsor: str | None = None) -> dict[str, Any]:
    """A weekly show (releases on this week's and earlier Mondays, one scheduled next Monday), two ad units, and
    two sponsors: one booked into this Monday's mid-roll, one booked unassigned over next week."""
    tenant_id = uuid.UUID(tenant.id)
    async with tenant_transaction(tenant_id) as session:
        show = Podcast(tenant_id=tenant_id, title="Weekly Show")
        session.add(show)
        await session.flush()
        episodes = []
        for weeks_ago in range(-1, 6):
            day = THIS_MONDAY - timedelta(weeks=weeks_ago)
            episode = Episode(
                tenant_id=tenant_id,
                podcast_id=show.id,
                guid=f"w{weeks_ago}",
                title=f"Episode {10 - weeks_ago}",
                enclosure_url=f"https://cdn.example.com/{weeks_ago}.mp3",
                publish_date=datetime.combine(day, time(6), tzinfo=UTC),
            )
            session.add(episode)
            episodes.append(episode)
        pre = AdUnit(
            tenant_id=tenant_id,
            podcast_id=show.id,
            name="Pre-roll",
            position="pre",
            length_seconds=30,
            read_type="announcer",
            insertion="dynamic",
            rate_cpm_cents=1800,
        )
        mid = AdUnit(
            tenant_id=tenant_id,
            podcast_id=show.id,
            name="Mid-roll",
            position="mid",
            length_seconds=60,
            read_type="host_read",
            insertion="baked_in",
            rate_cpm_cents=2500,
        )
        acme = Sponsor(tenant_id=tenant_id, name="Acme Mattresses", industry="Sleep")
        other = Sponsor(tenant_id=tenant_id, name="Other Co", industry="Finance")
        session.add_all([pre, mid, acme, other])
        await session.flush()
        ios = {}
        for sponsor, number, unit, start, end in (
            (acme, "IO-2026-0001", mid, THIS_MONDAY, THIS_MONDAY + timedelta(days=6)),
            (other, "IO-2026-0002", pre, THIS_MONDAY + timedelta(days=7), THIS_MONDAY + timedelta(days=13)),
        ):
            campaign = Campaign(tenant_id=tenant_id, sponsor_id=sponsor.id, name=f"{sponsor.name} Q4")
            session.add(campaign)
            await session.flush()
            io = InsertionOrder(
                tenant_id=tenant_id,
                number=number,
                campaign_id=campaign.id,
                sponsor_id=sponsor.id,
                podcast_id=show.id,
                ad_unit_id=unit.id,
                flight_start=start,
                flight_end=end,
                impression_goal=10_000,
                pricing_model="cpm",
                cpm_cents=2500,
            )
            session.add(io)
            await session.flush()
            ios[number] = io.id
        this_monday_episode = episodes[1]
        session.add(
            IoPlacement(
                tenant_id=tenant_id,
                io_id=ios["IO-2026-0001"],
                ad_unit_id=mid.id,
                episode_id=this_monday_episode.id,
                industry="Sleep",
            )
        )
        return {"show": show.id, "pre": pre.id, "mid": mid.id, "ios": ios, "acme": acme.id, "other": other.id}


def _inventory(client: httpx.Client, show: uuid.UUID, **params: Any) -> Any:
    response = client.get(
        "/api/v1/inventory", params={"podcast_id": str(show), "start": THIS_MONDAY.isoformat(), "weeks": 3, **params}
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales", "advertiser"))


async def test_the_calendar_shows_booked_open_scheduled_and_expected_slots(db, tenant: Tenant) -> None:
    world = await _world(tenant)
    with tenant.client("sales") as client:
        body = _inventory(client, world["show"])
    assert body["cadence_days"] == 7
    this_week, next_week, third_week = body["weeks"]
    assert this_week["start"] == THIS_MONDAY.isoformat()
    (episode,) = this_week["episodes"]
    slots = {slot["ad_unit_id"]: slot for slot in episode["slots"]}
    assert slots[str(world["mid"])]["booked"] and slots[str(world["mid"])]["io_number"] == "IO-2026-0001"
    assert slots[str(world["mid"])]["sponsor"] == "Acme Mattresses"
    assert not slots[str(world["pre"])]["booked"]
    assert (this_week["booked"], this_week["open"]) == (1, 1)
    assert next_week["episodes"][0]["kind"] == "scheduled"
    assert [b["io_number"] for b in next_week["flight_bookings"]] == ["IO-2026-0002"]
    # No episode is scheduled two weeks out: the weekly cadence projects one.
    assert [e["kind"] for e in third_week["episodes"]] == ["expected"]
    assert third_week["open"] == 0
    assert body["sell_through"] == pytest.approx(1 / 4)


async def test_advertisers_see_that_a_slot_is_taken_but_not_by_whom(db, tenant: Tenant, server: str) -> None:
    world = await _world(tenant)
    with tenant.client("advertiser") as client:
        body = _inventory(client, world["show"])
    slot = next(s for s in body["weeks"][0]["episodes"][0]["slots"] if s["booked"])
    assert slot["sponsor"] is None and slot["io_id"] is None and slot["io_number"] is None
    assert body["weeks"][1]["flight_bookings"][0]["sponsor"] is None
    other = make_tenant(server)
    with other.client() as client:
        missing = client.get("/api/v1/inventory", params={"podcast_id": str(world["show"])})
        too_long = client.get("/api/v1/inventory", params={"podcast_id": str(world["show"]), "weeks": 99})
    assert missing.status_code == 404
    assert too_long.status_code in {404, 422}


async def test_the_inventory_page_lists_the_weeks(db, tenant: Tenant) -> None:
    world = await _world(tenant)
    with tenant.client() as client:
        page = client.get("/inventory", params={"podcast_id": str(world["show"]), "start": THIS_MONDAY.isoformat()})
    assert page.status_code == 200
    assert "IO-2026-0001" in page.text and "Acme Mattresses" in page.text
    assert 'id="inventory-weeks"' in page.text and "expected" in page.text
