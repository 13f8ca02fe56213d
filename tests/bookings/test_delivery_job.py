"""The hourly delivery refresh under a controlled clock: scheduled → active → completed, active → makegood a day
after the last counting day (with its makegood row and event), the tolerance, baked-in orders judged after their
accrual window, and orders brought back to active by a bonus episode or an extended flight."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from podsponsor.auth.subject import Subject
from podsponsor.bookings import delivery, makegoods
from podsponsor.bookings.tasks import REFRESH_TASK, queue_delivery_refresh
from podsponsor.db.engine import Database
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.jobs.app import app, registered_tasks, run_worker
from podsponsor.jobs.enqueue import enqueue
from tests.bookings.delivery_world import book, downloads, io_row, rows, set_bookings_settings, show
from tests.jobs.conftest import job_status, new_tenant

D = date(2026, 3, 2)
FLIGHT_END = D + timedelta(days=4)


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


async def _refresh(tenant_id: uuid.UUID, day: date) -> delivery.Refresh:
    async with tenant_transaction(tenant_id) as session:
        return await delivery.refresh_tenant(session, tenant_id, now=noon(day))


async def _events(tenant_id: uuid.UUID, subject_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    found = await rows(
        tenant_id, "SELECT type, payload FROM events WHERE subject_id = :id ORDER BY at, type", id=subject_id
    )
    return [(row.type, row.payload) for row in found]


async def _makegoods(tenant_id: uuid.UUID, io_id: uuid.UUID) -> list[Any]:
    return await rows(
        tenant_id,
        "SELECT id, goal, delivered, shortfall_impressions, shortfall_cents, settled_at FROM makegoods "
        "WHERE io_id = :io ORDER BY created_at",
        io=io_id,
    )


async def test_an_order_becomes_active_when_its_flight_starts_and_completed_when_it_meets_its_goal(
    db: Database,
) -> None:
    tenant = await new_tenant()
    on = await show(tenant, [D])
    order = await book(tenant, on, D, FLIGHT_END, placed=[0], goal=20)

    before = await _refresh(tenant, D - timedelta(days=1))
    assert (before.refreshed, before.activated) == (0, [])
    assert (await io_row(tenant, order.io)).status == "scheduled"

    await downloads(tenant, on, 0, D, 10)
    first = await _refresh(tenant, D)
    assert (first.activated, first.completed) == ([order.io], [])
    io = await io_row(tenant, order.io)
    assert (io.status, io.delivered_impressions, io.delivery_updated_at) == ("active", 10, noon(D))
    assert io.status_changed_at == noon(D)

    await downloads(tenant, on, 0, D + timedelta(days=1), 12)
    second = await _refresh(tenant, D + timedelta(days=1))
    assert second.completed == [order.io]
    io = await io_row(tenant, order.io)
    assert (io.status, io.delivered_impressions, io.status_changed_at) == ("completed", 22, noon(D + timedelta(days=1)))
    assert await _events(tenant, order.io) == [
        ("io.activated", {"number": io.number, "flight_start": D.isoformat()}),
        ("io.delivered", {"number": io.number, "goal": 20, "delivered": 22, "within_tolerance": False}),
    ]
    assert (await _refresh(tenant, D + timedelta(days=2))).refreshed == 0  # completed orders are left alone
    assert await _makegoods(tenant, order.io) == []


async def test_an_order_under_goal_becomes_a_makegood_a_day_after_its_flight_ends(db: Database) -> None:
    tenant = await new_tenant()
    on = await show(tenant, [D])
    order = await book(tenant, on, D, FLIGHT_END, placed=[0], goal=100)
    await downloads(tenant, on, 0, D, 60)
    await downloads(tenant, on, 0, FLIGHT_END, 39)

    for day in (D, FLIGHT_END, FLIGHT_END + timedelta(days=1)):  # the last day, then the grace day
        assert (await _refresh(tenant, day)).makegoods == []
        assert (await io_row(tenant, order.io)).status == "active"
    judged = await _refresh(tenant, FLIGHT_END + timedelta(days=2))

    [makegood] = await _makegoods(tenant, order.io)
    assert judged.makegoods == [makegood.id]
    # The default tolerance is 0 %: one impression short is a makegood, valued at the order's $25 CPM.
    assert (makegood.goal, makegood.delivered, makegood.shortfall_impressions) == (100, 99, 1)
    assert (makegood.shortfall_cents, makegood.settled_at) == (3, None)
    io = await io_row(tenant, order.io)
    assert (io.status, io.status_changed_at) == ("makegood", noon(FLIGHT_END + timedelta(days=2)))
    kind, payload = (await _events(tenant, order.io))[-1]
    assert kind == "io.makegood"
    assert payload == {
        "number": io.number,
        "makegood_id": str(makegood.id),
        "goal": 100,
        "delivered": 99,
        "shortfall_impressions": 1,
        "shortfall_cents": 3,
        "tolerance_pct": 0.0,
    }
    assert (await _refresh(tenant, FLIGHT_END + timedelta(days=3))).refreshed == 0
    assert len(await _makegoods(tenant, order.io)) == 1


async def test_an_order_within_the_tolerance_completes_and_one_beyond_it_is_a_makegood(db: Database) -> None:
    tenant = await new_tenant()
    await set_bookings_settings(tenant, makegood_tolerance_pct=5)
    on = await show(tenant, [D, D])
    within = await book(tenant, on, D, FLIGHT_END, placed=[0], goal=100)
    beyond = await book(tenant, on, D, FLIGHT_END, placed=[1], goal=100)
    await downloads(tenant, on, 0, D, 95)
    await downloads(tenant, on, 1, D, 94)

    judged = await _refresh(tenant, FLIGHT_END + timedelta(days=2))

    assert judged.completed == [within.io]
    assert [m.shortfall_impressions for m in await _makegoods(tenant, beyond.io)] == [6]
    assert (await io_row(tenant, within.io)).status == "completed"
    assert (await _events(tenant, within.io))[-1][1]["within_tolerance"] is True
    assert (await _events(tenant, beyond.io))[-1][1]["tolerance_pct"] == 5.0


async def test_a_baked_in_order_is_judged_only_after_its_accrual_window(db: Database) -> None:
    tenant = await new_tenant()
    await set_bookings_settings(tenant, accrual_days=10)
    on = await show(tenant, [D])
    order = await book(tenant, on, D, FLIGHT_END, placed=[0], insertion="baked_in", goal=100)
    await downloads(tenant, on, 0, D, 50)

    after_flight = await _refresh(tenant, FLIGHT_END + timedelta(days=2))
    assert (after_flight.makegoods, (await io_row(tenant, order.io)).status) == ([], "active")
    await downloads(tenant, on, 0, D + timedelta(days=9), 30)  # the episode's tenth day: still accruing
    await downloads(tenant, on, 0, D + timedelta(days=10), 30)  # past the window
    assert (await _refresh(tenant, D + timedelta(days=10))).makegoods == []
    assert (await io_row(tenant, order.io)).delivered_impressions == 80

    await _refresh(tenant, D + timedelta(days=11))

    [makegood] = await _makegoods(tenant, order.io)
    assert (makegood.delivered, makegood.shortfall_impressions) == (80, 20)


async def test_an_order_whose_whole_flight_passed_unseen_is_activated_and_judged_in_one_refresh(db: Database) -> None:
    tenant = await new_tenant()
    on = await show(tenant, [D])
    order = await book(
        tenant, on, D, FLIGHT_END, placed=[0], goal=100, pricing_model="cpa", cpm_cents=None, cpa_cents=900
    )
    await downloads(tenant, on, 0, D, 10)

    judged = await _refresh(tenant, FLIGHT_END + timedelta(days=30))

    assert (judged.activated, len(judged.makegoods)) == ([order.io], 1)
    assert [kind for kind, _ in await _events(tenant, order.io)] == ["io.activated", "io.makegood"]
    [makegood] = await _makegoods(tenant, order.io)
    assert (makegood.shortfall_impressions, makegood.shortfall_cents) == (
        90,
        None,
    )  # a CPA order's shortfall has no price


async def test_a_bonus_episode_brings_the_order_back_and_it_completes_on_the_bonus_downloads(db: Database) -> None:
    tenant = await new_tenant()
    on = await show(tenant, [D, D + timedelta(days=8)])
    order = await book(tenant, on, D, FLIGHT_END, placed=[0], goal=100)
    await downloads(tenant, on, 0, D, 70)
    await _refresh(tenant, FLIGHT_END + timedelta(days=2))
    [makegood] = await _makegoods(tenant, order.io)
    settled_on = D + timedelta(days=7)
    seller = Subject(tenant_id=tenant, role="sales", kind="session", user_id=None)
    async with tenant_transaction(tenant) as session:
        await makegoods.settle(
            session,
            seller,
            makegood.id,
            makegoods.Settlement("bonus_episode", episode_id=on.episodes[1]),
            now=noon(settled_on),
        )
    assert (await io_row(tenant, order.io)).status == "active"
    await downloads(tenant, on, 1, D + timedelta(days=6), 50)  # before the settlement: not the sponsor's
    await downloads(tenant, on, 1, D + timedelta(days=8), 20)
    await downloads(tenant, on, 0, D + timedelta(days=8), 99)  # the booked episode after its flight

    still_short = await _refresh(tenant, D + timedelta(days=8))
    assert (still_short.completed, (await io_row(tenant, order.io)).delivered_impressions) == ([], 90)
    await downloads(tenant, on, 1, D + timedelta(days=9), 10)
    done = await _refresh(tenant, D + timedelta(days=9))

    assert done.completed == [order.io]
    assert (await io_row(tenant, order.io)).delivered_impressions == 100


async def test_an_extended_flight_is_judged_again_at_its_new_end_with_a_new_makegood(db: Database) -> None:
    tenant = await new_tenant()
    on = await show(tenant, [D])
    order = await book(tenant, on, D, FLIGHT_END, placed=[0], goal=100)
    await downloads(tenant, on, 0, D, 40)
    await _refresh(tenant, FLIGHT_END + timedelta(days=2))
    [first] = await _makegoods(tenant, order.io)
    new_end = FLIGHT_END + timedelta(days=10)
    seller = Subject(tenant_id=tenant, role="sales", kind="session")
    async with tenant_transaction(tenant) as session:
        await makegoods.settle(
            session,
            seller,
            first.id,
            makegoods.Settlement("extended_flight", extended_to=new_end),
            now=noon(FLIGHT_END + timedelta(days=3)),
        )
    await downloads(tenant, on, 0, new_end, 25)

    assert (await _refresh(tenant, new_end + timedelta(days=1))).makegoods == []
    again = await _refresh(tenant, new_end + timedelta(days=2))

    settled, second = await _makegoods(tenant, order.io)
    assert again.makegoods == [second.id]
    assert settled.settled_at is not None
    assert (second.delivered, second.shortfall_impressions) == (65, 35)


async def test_the_hourly_job_queues_one_refresh_per_tenant_with_live_orders(db: Database) -> None:
    assert "bookings.queue_delivery_refreshes" in registered_tasks()
    schedules = {task.task.name: task.cron for task in app.periodic_registry.periodic_tasks.values()}
    assert schedules["bookings.queue_delivery_refreshes"] == "17 * * * *"
    busy, idle = await new_tenant(), await new_tenant()
    on = await show(busy, [D])
    await book(busy, on, D, FLIGHT_END, placed=[0])
    for tenant in (busy, busy, idle):
        async with tenant_transaction(tenant) as session:
            await queue_delivery_refresh(session, tenant)
    query = (
        "SELECT args->>'tenant_id' AS tenant FROM procrastinate_jobs WHERE task_name = :task "
        "AND args->>'tenant_id' IN (:busy, :idle) AND status = 'todo'"
    )
    queued = await rows(busy, query, task=REFRESH_TASK, busy=str(busy), idle=str(idle))
    assert [row.tenant for row in queued] == [str(busy)]


async def test_a_worker_runs_the_refresh_job_as_of_now(db: Database) -> None:
    tenant = await new_tenant()
    today = datetime.now(UTC).date()
    on = await show(tenant, [today - timedelta(days=10)])
    order = await book(tenant, on, today - timedelta(days=10), today - timedelta(days=5), placed=[0], goal=10)
    await downloads(tenant, on, 0, today - timedelta(days=8), 12)
    queue, started = f"tests-delivery-{uuid.uuid4().hex[:8]}", datetime.now(UTC)
    async with tenant_transaction(tenant) as session:
        job = await enqueue(session, REFRESH_TASK, queue=queue, tenant_id=str(tenant))

    await run_worker(queues=[queue], wait=False)

    assert await job_status(job) == "succeeded"
    io = await io_row(tenant, order.io)
    assert (io.status, io.delivered_impressions) == ("completed", 12)
    assert io.delivery_updated_at is not None and io.delivery_updated_at >= started
