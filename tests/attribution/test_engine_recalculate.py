"""Recalculation against the database: exposures read as delivery counts them, matches and credits stored as a run
with its paths, a second run replacing the first one's credits while both runs stay, the lookback from the sponsor
or the campaign's default model, a failed run recorded, and the nightly queueing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from podsponsor.attribution import tasks
from podsponsor.attribution.credit import InvalidModel
from podsponsor.auth.subject import system_subject
from podsponsor.db.engine import Database
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.flags import service as flags
from podsponsor.jobs.app import run_worker
from tests.attribution.engine_world import (
    at,
    conversion_source,
    convert,
    credits_by_io,
    listen,
    recalc,
    rows,
    set_lookback,
    visit,
)
from tests.bookings.delivery_world import Booking, Show, book, show
from tests.jobs.conftest import new_tenant

TODAY = datetime.now(UTC).date()
START, END = TODAY - timedelta(days=20), TODAY + timedelta(days=9)


@dataclass
class World:
    tenant: uuid.UUID
    a: Show
    b: Show
    first: Booking  # on show A's first episode, with a promo code
    second: Booking  # on show B's first episode, same campaign
    source: uuid.UUID
    code: str


async def _world() -> World:
    tenant = await new_tenant()
    a = await show(tenant, [START, START + timedelta(days=1)], title="Show A")
    b = await show(tenant, [START], title="Show B")
    code = f"SLEEP{uuid.uuid4().hex[:6].upper()}"
    first = await book(tenant, a, START, END, placed=[0], promo_code=code)
    second = await book(tenant, b, START, END, placed=[0], sponsor_id=first.sponsor, campaign_id=first.campaign)
    return World(tenant, a, b, first, second, await conversion_source(tenant, first.sponsor), code)


async def _convert(world: World, day_offset: int, **fields: Any) -> str:
    when = at(START + timedelta(days=day_offset))
    return str(await convert(world.tenant, world.source, world.first.sponsor, when, **fields))


async def test_a_recalculation_matches_credits_and_keeps_paths(db: Database) -> None:
    w = await _world()
    await listen(
        w.tenant, w.a.id, w.a.episodes[0], at(START + timedelta(days=2)), "h2", agent="android", device="Android Phone"
    )
    await listen(
        w.tenant, w.b.id, w.b.episodes[0], at(START + timedelta(days=5)), "h2", agent="android", device="Android Phone"
    )
    await visit(w.tenant, w.second.io, at(START + timedelta(days=6)), "h9")
    promo = await _convert(w, 7, promo_codes=[w.code.lower()])
    household = await _convert(w, 8, ip_hash="h2", ua_family="Android")
    vanity = await _convert(w, 8, ip_hash="h9", ua_family="iOS")
    unmatched = await _convert(w, 8, ip_hash="h2", ua_family="iOS")  # an iPhone: not the household's Android
    await _convert(w, -3, promo_codes=[w.code])  # before the first flight day: not considered

    run = await recalc(w.tenant, w.first.campaign)

    assert run.status == "completed" and run.finished_at is not None
    assert run.stats["conversions_considered"] == 4
    assert run.stats["matched"] == {"promo_code": 1, "vanity": 1, "household": 1}
    assert run.stats["unmatched"] == 1
    assert (run.stats["lookback_days"], run.stats["lookback_from"]) == (30, "sponsor")
    first, second = str(w.first.io), str(w.second.io)
    assert await credits_by_io(w.tenant, w.first.campaign, "linear") == {
        (promo, first): 1.0,
        (household, first): 0.5,
        (household, second): 0.5,
        (vanity, second): 1.0,
    }
    assert (await credits_by_io(w.tenant, w.first.campaign, "first_touch"))[(household, first)] == 1.0
    assert (await credits_by_io(w.tenant, w.first.campaign, "last_touch"))[(household, second)] == 1.0
    assert unmatched not in {conversion for conversion, _ in await credits_by_io(w.tenant, w.first.campaign, "linear")}

    models = await rows(
        w.tenant,
        "SELECT model, is_default, lookback_days, half_life_days FROM attribution_models "
        "WHERE campaign_id = :c ORDER BY model",
        c=w.first.campaign,
    )
    assert [(m.model, m.is_default) for m in models if m.is_default] == [("linear", True)]
    assert {m.model for m in models} == {
        "first_touch",
        "last_touch",
        "linear",
        "time_decay",
        "position_based",
        "custom",
    }
    assert {m.lookback_days for m in models} == {30}
    assert [m.half_life_days for m in models if m.model == "time_decay"] == [7.0]

    paths = {
        str(p.conversion_id): p
        for p in await rows(w.tenant, "SELECT * FROM attribution_paths WHERE run_id = :run", run=run.id)
    }
    assert {c: p.match_type for c, p in paths.items()} == {
        promo: "promo_code",
        household: "household",
        vanity: "vanity",
    }
    assert paths[household].household == "h2"
    assert [(t["io_id"], t["episode_id"], t["kind"]) for t in paths[household].touchpoints] == [
        (first, str(w.a.episodes[0]), "download"),
        (second, str(w.b.episodes[0]), "download"),
    ]
    assert paths[household].touchpoints[0]["at"].startswith((START + timedelta(days=2)).isoformat())
    assert [t["kind"] for t in paths[promo].touchpoints] == ["promo_code"]
    assert [t["kind"] for t in paths[vanity].touchpoints] == ["vanity_click"]

    events = await rows(
        w.tenant,
        "SELECT payload FROM events WHERE type = 'attribution.recalculated' AND subject_id = :c",
        c=w.first.campaign,
    )
    assert [e.payload["run_id"] for e in events] == [str(run.id)]
    assert events[0].payload["matched"] == {"promo_code": 1, "vanity": 1, "household": 1}


async def test_recalculating_again_replaces_the_credits_and_keeps_the_runs(db: Database) -> None:
    w = await _world()
    await listen(w.tenant, w.a.id, w.a.episodes[0], at(START + timedelta(days=2)), "h1")
    household = await _convert(w, 4, ip_hash="h1", ua_family="iOS")
    await _convert(w, 5, promo_codes=[w.code])

    first_run = await recalc(w.tenant, w.first.campaign)
    before = await credits_by_io(w.tenant, w.first.campaign, "time_decay")
    # A late-counted download (a log import) joins the household's path before the next run.
    await listen(w.tenant, w.b.id, w.b.episodes[0], at(START + timedelta(days=3)), "h1")
    second_run = await recalc(w.tenant, w.first.campaign)
    again = await recalc(w.tenant, w.first.campaign)

    runs = await rows(
        w.tenant,
        "SELECT id, status FROM attribution_runs WHERE campaign_id = :c ORDER BY started_at",
        c=w.first.campaign,
    )
    assert [(r.id, r.status) for r in runs] == [
        (first_run.id, "completed"),
        (second_run.id, "completed"),
        (again.id, "completed"),
    ]
    stored = await rows(
        w.tenant,
        "SELECT run_id, count(*) AS n FROM attribution_credits WHERE campaign_id = :c GROUP BY run_id",
        c=w.first.campaign,
    )
    # The household's two touchpoints: one row under first and last touch, two under the other four; the promo
    # code's own touchpoint: one under each of the six.
    assert [(r.run_id, r.n) for r in stored] == [(again.id, 1 + 1 + 4 * 2 + 6)]
    paths = await rows(
        w.tenant, "SELECT DISTINCT run_id FROM attribution_paths WHERE campaign_id = :c", c=w.first.campaign
    )
    assert [p.run_id for p in paths] == [again.id]
    assert before[(household, str(w.first.io))] == 1.0
    after = await credits_by_io(w.tenant, w.first.campaign, "time_decay")
    assert after[(household, str(w.first.io))] + after[(household, str(w.second.io))] == pytest.approx(1.0)
    assert after[(household, str(w.second.io))] > after[(household, str(w.first.io))]  # the newer touchpoint
    models = await rows(
        w.tenant, "SELECT count(*) AS n FROM attribution_models WHERE campaign_id = :c", c=w.first.campaign
    )
    assert models[0].n == 6  # the default set is made once


async def test_exposures_are_the_downloads_delivery_counts(db: Database) -> None:
    w = await _world()
    day = at(START + timedelta(days=3))
    # Show A's second episode is not booked: its downloads expose nobody to the order.
    await listen(w.tenant, w.a.id, w.a.episodes[1], day, "unbooked")
    # Where the host logs counted the episode on a day, the prefix's downloads of that day do not count.
    await listen(w.tenant, w.a.id, w.a.episodes[0], day, "logged", source="logs")
    await listen(w.tenant, w.a.id, w.a.episodes[0], day + timedelta(hours=1), "prefix only")
    await listen(w.tenant, w.a.id, w.a.episodes[0], day + timedelta(days=1), "next day")
    # Before the flight: the order's spot did not run yet.
    await listen(w.tenant, w.a.id, w.a.episodes[0], at(START - timedelta(days=1)), "too early")
    converted = {
        name: await _convert(w, 6, ip_hash=name)
        for name in ("unbooked", "logged", "prefix only", "next day", "too early")
    }

    run = await recalc(w.tenant, w.first.campaign)

    credited = {conversion for conversion, _ in await credits_by_io(w.tenant, w.first.campaign, "linear")}
    assert {name for name, c in converted.items() if c in credited} == {"logged", "next day"}
    assert run.stats["exposures_in_lookback"] == 2


async def test_the_lookback_is_the_sponsors_until_the_default_model_sets_another(db: Database) -> None:
    w = await _world()
    await set_lookback(w.tenant, w.first.sponsor, 7)
    await listen(w.tenant, w.a.id, w.a.episodes[0], at(START + timedelta(days=1)), "h1")
    converted = await _convert(w, 11, ip_hash="h1")

    run = await recalc(w.tenant, w.first.campaign)
    assert run.stats["lookback_days"] == 7
    assert await credits_by_io(w.tenant, w.first.campaign, "linear") == {}

    await rows(
        w.tenant,
        "UPDATE attribution_models SET lookback_days = 14 WHERE campaign_id = :c AND is_default RETURNING id",
        c=w.first.campaign,
    )
    run = await recalc(w.tenant, w.first.campaign)
    assert (run.stats["lookback_days"], run.stats["lookback_from"]) == (14, "campaign model")
    assert await credits_by_io(w.tenant, w.first.campaign, "linear") == {(converted, str(w.first.io)): 1.0}


async def test_a_failing_recalculation_is_kept_as_a_failed_run(db: Database) -> None:
    w = await _world()
    await recalc(w.tenant, w.first.campaign)
    await rows(
        w.tenant,
        'UPDATE attribution_models SET weights = \'{"by": "position", "weights": [-1]}\' '
        "WHERE campaign_id = :c AND model = 'custom' RETURNING id",
        c=w.first.campaign,
    )

    with pytest.raises(InvalidModel):
        await tasks.recalculate(tenant_id=str(w.tenant), campaign_id=str(w.first.campaign), trigger="api")

    runs = await rows(
        w.tenant,
        "SELECT status, trigger, error FROM attribution_runs WHERE campaign_id = :c ORDER BY started_at",
        c=w.first.campaign,
    )
    assert [(r.status, r.trigger) for r in runs] == [("completed", "test"), ("failed", "api")]
    assert "weight" in runs[1].error


async def test_the_nightly_job_queues_campaigns_whose_results_can_change_and_a_worker_runs_them(db: Database) -> None:
    w = await _world()
    await _convert(w, 3, promo_codes=[w.code])
    quiet = await book(w.tenant, w.a, START, END, placed=[1])  # its sponsor has no conversions
    settled = await book(
        w.tenant, w.b, START - timedelta(days=200), START - timedelta(days=100), placed=[0], sponsor_id=w.first.sponsor
    )

    for _ in range(2):  # a second pass finds the job already waiting
        async with tenant_transaction(w.tenant) as session:
            await tasks.queue_tenant_recalculations(session, w.tenant)

    queued = await rows(
        w.tenant,
        "SELECT args->>'campaign_id' AS campaign, args->>'trigger' AS trigger FROM procrastinate_jobs "
        "WHERE task_name = 'attribution.recalculate' AND args->>'tenant_id' = :t AND status = 'todo'",
        t=str(w.tenant),
    )
    assert [(q.campaign, q.trigger) for q in queued] == [(str(w.first.campaign), "schedule")]
    assert str(quiet.campaign) not in {q.campaign for q in queued}
    assert str(settled.campaign) not in {q.campaign for q in queued}

    await run_worker(queues=["attribution"], wait=False)

    runs = await rows(
        w.tenant, "SELECT trigger, stats FROM attribution_runs WHERE campaign_id = :c", c=w.first.campaign
    )
    assert [(r.trigger, r.stats["matched"]["promo_code"]) for r in runs] == [("schedule", 1)]


async def test_a_workspace_without_attribution_queues_nothing(db: Database) -> None:
    w = await _world()
    await _convert(w, 3, promo_codes=[w.code])
    async with tenant_transaction(w.tenant) as session:
        await flags.set_flag(session, system_subject(w.tenant), "ENABLE_ATTRIBUTION", False)

    async with tenant_transaction(w.tenant) as session:
        await tasks.queue_tenant_recalculations(session, w.tenant)

    queued = await rows(
        w.tenant,
        "SELECT id FROM procrastinate_jobs WHERE task_name = 'attribution.recalculate' AND args->>'tenant_id' = :t",
        t=str(w.tenant),
    )
    assert queued == []
