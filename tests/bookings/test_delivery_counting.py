"""Delivered impressions from the counted downloads: booked episodes inside the flight, a whole show for an unassigned
order, baked-in spots accruing after the flight, one source per episode and day, downloads counted by the real
counting job, cancelled orders, and who may see an order's delivery."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from podsponsor.auth.subject import Subject, system_subject
from podsponsor.bookings import delivery
from podsponsor.db.engine import Database
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import NotFound
from tests.bookings.delivery_world import Show, book, downloads, set_bookings_settings, set_io, show
from tests.jobs.conftest import new_tenant
from tests.measurement.test_counting_job import APP_UA, MONDAY, _count, _hits, _show, at

D = date(2026, 3, 2)  # the flight's first day
FLIGHT_END = D + timedelta(days=4)
AFTER = D + timedelta(days=60)


async def _delivery(tenant_id: uuid.UUID, io_id: uuid.UUID, today: date) -> delivery.IoDelivery:
    async with tenant_transaction(tenant_id) as session:
        return await delivery.io_delivery(session, system_subject(tenant_id), io_id, today=today)


async def test_booked_dynamic_episodes_count_only_inside_the_flight(db: Database) -> None:
    tenant = await new_tenant()
    on = await show(tenant, [D - timedelta(days=10), D])
    order = await book(tenant, on, D, FLIGHT_END, placed=[0], goal=100)
    await downloads(tenant, on, 0, D - timedelta(days=1), 5)  # before the flight
    await downloads(tenant, on, 0, D, 10)
    await downloads(tenant, on, 0, D + timedelta(days=2), 7)
    await downloads(tenant, on, 0, FLIGHT_END + timedelta(days=1), 3)  # after it
    await downloads(tenant, on, 1, D, 100)  # an episode the order is not in

    found = await _delivery(tenant, order.io, AFTER)

    assert (found.delivered, found.counts_until) == (17, FLIGHT_END)
    assert [(d.day, d.delivered, d.cumulative) for d in found.daily] == [
        (D, 10, 10),
        (D + timedelta(days=1), 0, 10),
        (D + timedelta(days=2), 7, 17),
        (D + timedelta(days=3), 0, 17),
        (FLIGHT_END, 0, 17),
    ]
    assert [d.expected for d in found.daily] == [20, 40, 60, 80, 100]
    assert (found.expected, found.pacing_pct) == (100, 17.0)
    assert (found.spend.cents, found.ecpm_cents) == (43, 2529)  # 17 at a $25 CPM = 42.5 cents, rounded half up
    mid_flight = await _delivery(tenant, order.io, D + timedelta(days=1))
    assert (mid_flight.delivered, mid_flight.expected, mid_flight.pacing_pct) == (10, 40, 25.0)
    assert len(mid_flight.daily) == 2
    before = await _delivery(tenant, order.io, D - timedelta(days=1))
    assert (before.delivered, before.expected, before.pacing_pct, before.daily) == (0, 0, None, [])


async def test_an_unassigned_dynamic_order_counts_every_episode_of_its_show_inside_the_flight(db: Database) -> None:
    tenant = await new_tenant()
    on = await show(tenant, [D - timedelta(days=300), D + timedelta(days=1)])
    elsewhere = await show(tenant, [D], title="Another show")
    order = await book(
        tenant, on, D, FLIGHT_END, placed=None, goal=100, pricing_model="flat", flat_cents=40_000, cpm_cents=None
    )
    await downloads(tenant, on, 0, D, 4)  # the back catalogue carries the dynamic spot too
    await downloads(tenant, on, 1, D + timedelta(days=1), 6)
    await downloads(tenant, on, 1, FLIGHT_END + timedelta(days=1), 50)
    await downloads(tenant, elsewhere, 0, D, 70)

    found = await _delivery(tenant, order.io, AFTER)

    assert found.delivered == 10
    # Flat per episode: the one episode the show released in the flight.
    assert (found.aired, found.spend.cents, found.ecpm_cents) == (1, 40_000, 4_000_000)
    assert (await _delivery(tenant, order.io, D)).aired == 0


async def test_baked_in_spots_keep_accruing_for_the_accrual_window_after_release(db: Database) -> None:
    tenant = await new_tenant()
    released = D + timedelta(days=1)
    on = await show(tenant, [released, released])
    baked = await book(tenant, on, D, FLIGHT_END, placed=[0], insertion="baked_in")
    dynamic = await book(tenant, on, D, FLIGHT_END, placed=[1], insertion="dynamic")
    for episode in (0, 1):
        await downloads(tenant, on, episode, released, 10)
        await downloads(tenant, on, episode, released + timedelta(days=20), 5)
        await downloads(tenant, on, episode, released + timedelta(days=29), 2)  # day 30 of the episode: the last
        await downloads(tenant, on, episode, released + timedelta(days=30), 1)

    baked_found = await _delivery(tenant, baked.io, AFTER)
    assert (baked_found.delivered, baked_found.counts_until) == (17, released + timedelta(days=29))
    assert baked_found.daily[-1].day == released + timedelta(days=29)
    assert (await _delivery(tenant, dynamic.io, AFTER)).delivered == 10

    await set_bookings_settings(tenant, accrual_days=10)
    shorter = await _delivery(tenant, baked.io, AFTER)
    assert (shorter.delivered, shorter.counts_until) == (10, released + timedelta(days=9))


async def test_a_baked_in_unassigned_order_counts_the_episodes_released_in_its_flight(db: Database) -> None:
    tenant = await new_tenant()
    on = await show(tenant, [D - timedelta(days=3), D + timedelta(days=2), FLIGHT_END + timedelta(days=1)])
    order = await book(tenant, on, D, FLIGHT_END, placed=None, insertion="baked_in")
    await downloads(tenant, on, 0, D, 40)  # released before the flight: recorded without the spot
    await downloads(tenant, on, 1, D + timedelta(days=2), 8)
    await downloads(tenant, on, 1, D + timedelta(days=25), 3)
    await downloads(tenant, on, 2, FLIGHT_END + timedelta(days=1), 20)  # released after the flight

    found = await _delivery(tenant, order.io, AFTER)

    assert (found.delivered, found.counts_until) == (11, D + timedelta(days=31))


async def test_where_prefix_and_logs_both_counted_an_episode_day_only_the_logs_count(db: Database) -> None:
    tenant = await new_tenant()
    on = await show(tenant, [D, D])
    order = await book(tenant, on, D, FLIGHT_END, placed=[0, 1])
    await downloads(tenant, on, 0, D, 10, "prefix")
    await downloads(tenant, on, 0, D, 8, "logs")
    await downloads(tenant, on, 0, D + timedelta(days=1), 5, "prefix")
    await downloads(tenant, on, 1, D, 3, "prefix")  # the other episode had no logs that day

    found = await _delivery(tenant, order.io, AFTER)

    assert [(d.day, d.delivered) for d in found.daily[:2]] == [(D, 11), (D + timedelta(days=1), 5)]
    assert found.delivered == 16


async def test_downloads_counted_by_the_counting_job_are_delivered_impressions(db: Database) -> None:
    tenant = await new_tenant()
    podcast_id, episode_id = await _show(tenant)
    on = Show(podcast_id, [episode_id])
    order = await book(tenant, on, MONDAY, MONDAY + timedelta(days=1), placed=[0], goal=10)
    await _hits(
        tenant,
        podcast_id,
        [
            {"ts": at(MONDAY - timedelta(days=1), 9)},  # the day before the flight
            {"ts": at(MONDAY, 8), "ip_hash": "listener-a"},
            {"ts": at(MONDAY, 9), "ip_hash": "listener-a"},  # the same listener again: one download
            {"ts": at(MONDAY, 10), "ip_hash": "listener-b"},
            {"ts": at(MONDAY, 11), "ip_hash": "listener-c", "user_agent": "FeedFetcher-crawler/2.0"},  # a bot
            {"ts": at(MONDAY + timedelta(days=1), 7), "ip_hash": "listener-d", "user_agent": APP_UA},
            {"ts": at(MONDAY + timedelta(days=1), 8), "ip_hash": "listener-e", "method": "HEAD"},
        ],
    )
    for day in (MONDAY - timedelta(days=1), MONDAY, MONDAY + timedelta(days=1)):
        await _count(tenant, day)

    found = await _delivery(tenant, order.io, MONDAY + timedelta(days=5))

    assert [(d.day, d.delivered) for d in found.daily] == [(MONDAY, 2), (MONDAY + timedelta(days=1), 1)]
    assert found.delivered == 3


async def test_a_cancelled_order_stops_counting_on_the_day_it_was_cancelled(db: Database) -> None:
    tenant = await new_tenant()
    on = await show(tenant, [D])
    order = await book(tenant, on, D, FLIGHT_END, placed=[0])
    await downloads(tenant, on, 0, D, 10)
    await downloads(tenant, on, 0, D + timedelta(days=1), 10)
    await downloads(tenant, on, 0, D + timedelta(days=2), 10)
    await set_io(
        tenant,
        order.io,
        status="cancelled",
        status_changed_at=datetime.combine(D + timedelta(days=1), datetime.min.time(), UTC),
    )

    assert (await _delivery(tenant, order.io, AFTER)).delivered == 20


async def test_an_order_is_not_found_by_another_sponsors_advertiser_or_another_tenant(db: Database) -> None:
    tenant, other = await new_tenant(), await new_tenant()
    on = await show(tenant, [D])
    order = await book(tenant, on, D, FLIGHT_END, placed=[0])
    await downloads(tenant, on, 0, D, 10)
    own = Subject(tenant_id=tenant, role="advertiser", kind="session", sponsor_id=order.sponsor)
    stranger = Subject(tenant_id=tenant, role="advertiser", kind="session", sponsor_id=uuid.uuid4())
    async with tenant_transaction(tenant) as session:
        assert (await delivery.io_delivery(session, own, order.io, today=AFTER)).delivered == 10
        with pytest.raises(NotFound):
            await delivery.io_delivery(session, stranger, order.io, today=AFTER)
        with pytest.raises(NotFound):
            await delivery.campaign_delivery(session, stranger, order.campaign, today=AFTER)
    async with tenant_transaction(other) as session:
        with pytest.raises(NotFound):
            await delivery.io_delivery(session, system_subject(other), order.io, today=AFTER)
