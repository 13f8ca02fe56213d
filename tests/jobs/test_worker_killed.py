"""A worker killed mid-job loses no job and runs none twice to visible effect: `podsponsor worker` processes running
the real counting job (`measurement.count_day`) against the test database.

The job is made to stall deterministically inside its transaction: the test holds a row lock on the day's
`metrics_daily` row, so the job blocks on it after it has already replaced the day's downloads and tallies
(uncommitted). The worker is then killed with SIGKILL; its transaction never commits. A second worker, started once
the first one's heartbeat is older than the stalled timeout, puts the job back in the queue and runs it: the day ends
counted exactly once. A worker that is alive and beating keeps its long-running job: recovery never takes it.
Measured here: the time from the kill to the job's success on the second worker, written to
test-artifacts/stalled-job-recovery.txt.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text

from podsponsor.catalog.models import Episode, Podcast
from podsponsor.db.bootstrap import DatabaseUrls
from podsponsor.db.engine import Database
from podsponsor.db.tenancy import tenant_transaction, unscoped_transaction
from podsponsor.db.urls import libpq_conninfo
from podsponsor.jobs.enqueue import enqueue
from podsponsor.jobs.stalled import recover_stalled_jobs
from podsponsor.measurement import counting_job
from tests.conftest import ARTIFACTS, ROOT
from tests.jobs.conftest import new_tenant

PODSPONSOR = Path(sys.executable).parent / "podsponsor"
# Short, so the test is quick; a beat every 2 s leaves a live worker two spare beats on a busy machine.
STALLED_TIMEOUT = 6.0
DAY = datetime.now(UTC).date() - timedelta(days=datetime.now(UTC).date().weekday() + 14)
AUDIO = "cdn.example.com/killed/ep1.mp3"
APP_UA = "AppleCoreMedia/1.0.0.20E247 (iPhone; U; CPU OS 16_4 like Mac OS X; en_us)"
# One request each from ten players behind one address: ten downloads (IAB: user agents tell listeners apart).
FIRST_AGENTS = 6
ALL_AGENTS = 10


# The counted day ------------------------------------------------------------------------------------------------------


async def _hits(tenant_id: uuid.UUID, podcast_id: uuid.UUID, agents: range) -> None:
    async with tenant_transaction(tenant_id) as session:
        for n in agents:
            await session.execute(
                text(
                    "INSERT INTO download_requests (id, tenant_id, ts, podcast_id, method, url, destination, "
                    "user_agent, ip_hash, country, status) VALUES (:id, :tenant_id, :ts, :podcast_id, 'GET', :url, "
                    ":destination, :user_agent, 'listener-a', 'US', 302)"
                ),
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tenant_id,
                    "ts": datetime.combine(DAY, clock(8, n), tzinfo=UTC),
                    "podcast_id": podcast_id,
                    "url": f"/p/token/{AUDIO}",
                    "destination": f"https://{AUDIO}",
                    "user_agent": f"{APP_UA} v{n}",
                },
            )


async def _counted_day() -> uuid.UUID:
    """A workspace whose DAY was counted with six listeners, after which four more came: counting it again gives
    ten downloads."""
    tenant_id = await new_tenant()
    async with tenant_transaction(tenant_id) as session:
        show = Podcast(tenant_id=tenant_id, title="Killed worker show")
        session.add(show)
        await session.flush()
        session.add(
            Episode(
                tenant_id=tenant_id,
                podcast_id=show.id,
                guid="ep-1",
                title="Episode one",
                enclosure_url=f"https://{AUDIO}",
                enclosure_destination_url=f"https://{AUDIO}",
                enclosure_bytes=60_000_000,
                duration_seconds=3600,
                publish_date=datetime.combine(DAY - timedelta(days=3), clock(6), tzinfo=UTC),
            )
        )
        await session.execute(
            text("SELECT measurement_ensure_hit_partitions(:first, :last)"),
            {"first": DAY - timedelta(days=2), "last": DAY + timedelta(days=3)},
        )
        podcast_id = show.id
    await _hits(tenant_id, podcast_id, range(FIRST_AGENTS))
    async with tenant_transaction(tenant_id) as session:
        await counting_job.count_day(session, tenant_id, DAY, trigger="cli")
    await _hits(tenant_id, podcast_id, range(FIRST_AGENTS, ALL_AGENTS))
    return tenant_id


async def _queue_count(tenant_id: uuid.UUID, queue: str) -> int:
    async with tenant_transaction(tenant_id) as session:
        return await enqueue(
            session,
            counting_job.COUNT_TASK,
            queue=queue,
            lock=f"count:{tenant_id}:{DAY.isoformat()}",
            tenant_id=str(tenant_id),
            day=DAY.isoformat(),
            trigger="schedule",
        )


async def _day(tenant_id: uuid.UUID) -> dict[str, Any]:
    """What a reader of the day sees: its downloads (and the runs they came from), metrics and count runs."""
    async with tenant_transaction(tenant_id) as session:
        downloads = (await session.execute(text("SELECT run_id FROM downloads WHERE day = :d"), {"d": DAY})).all()
        metrics = (
            await session.execute(
                text("SELECT source, downloads, listeners FROM metrics_daily WHERE day = :d ORDER BY source"),
                {"d": DAY},
            )
        ).all()
        tallied = await session.scalar(
            text("SELECT sum(requests) FROM download_tallies WHERE day = :d AND reason = 'counted'"), {"d": DAY}
        )
        runs = (
            await session.execute(
                text("SELECT id, status FROM count_runs WHERE day = :d ORDER BY started_at"), {"d": DAY}
            )
        ).all()
    return {
        "downloads": len(downloads),
        "download_runs": {row.run_id for row in downloads},
        "metrics": [tuple(row) for row in metrics],
        "counted": int(tallied or 0),
        "runs": [(row.id, row.status) for row in runs],
    }


# The queue and the database's sessions --------------------------------------------------------------------------------


async def _job(job_id: int) -> dict[str, Any]:
    async with unscoped_transaction() as session:
        row = (
            await session.execute(
                text(
                    "SELECT status::text AS status, attempts, worker_id, "
                    "extract(epoch FROM now() - (SELECT max(at) FROM procrastinate_events "
                    "WHERE job_id = j.id AND type = 'started')) AS running_for "
                    "FROM procrastinate_jobs j WHERE id = :id"
                ),
                {"id": job_id},
            )
        ).one()
        # The job's state transitions ('scheduled' is not one: it records when a retry may run).
        events = await session.scalars(
            text(
                "SELECT type::text FROM procrastinate_events WHERE job_id = :id AND type <> 'scheduled' ORDER BY at, id"
            ),
            {"id": job_id},
        )
        return {**row._mapping, "events": list(events)}


async def _silent_for(worker_id: int) -> float | None:
    """Seconds since the worker's last beat; None once its row is gone (pruned by another worker)."""
    async with unscoped_transaction() as session:
        value = await session.scalar(
            text("SELECT extract(epoch FROM now() - last_heartbeat) FROM procrastinate_workers WHERE id = :id"),
            {"id": worker_id},
        )
        return None if value is None else float(value)


async def _waiting_on(holder_pid: int) -> list[Any]:
    """The sessions blocked by the holder's lock. The worker connects as the runtime role, as the test does, so
    its wait and query are visible here."""
    async with unscoped_transaction() as session:
        return list(
            await session.execute(
                text(
                    "SELECT pid, wait_event_type, query FROM pg_stat_activity "
                    "WHERE CAST(:holder AS integer) = ANY(pg_blocking_pids(pid))"
                ),
                {"holder": holder_pid},
            )
        )


async def _backend_alive(pid: int) -> bool:
    async with unscoped_transaction() as session:
        return bool(await session.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": pid}))


async def _doing_in(queue: str) -> int:
    async with unscoped_transaction() as session:
        count = await session.scalar(
            text("SELECT count(*) FROM procrastinate_jobs WHERE queue_name = :q AND status = 'doing'"), {"q": queue}
        )
        return int(count or 0)


@asynccontextmanager
async def _row_lock(database: DatabaseUrls, tenant_id: uuid.UUID) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """The day's metrics row locked FOR UPDATE from the test's own connection, until rolled back."""
    conn = await psycopg.AsyncConnection.connect(libpq_conninfo(database.app))
    try:
        await conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
        locked = await conn.execute(
            "SELECT id FROM metrics_daily WHERE day = %s AND source = 'prefix' FOR UPDATE", [DAY]
        )
        assert len(await locked.fetchall()) == 1
        yield conn
    finally:
        await conn.rollback()
        await conn.close()


async def _until(check: Callable[[], Awaitable[Any]], seconds: float, what: str, log: Path | None = None) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := await check():
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}" + (f"\n{_read(log)}" if log else ""))


def _read(log: Path) -> str:
    return log.read_text()


# The worker processes ---------------------------------------------------------------------------------------------


async def _worker(queue: str, log: Path) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR", "/tmp"),
        "JOB_STALLED_TIMEOUT_SECONDS": str(STALLED_TIMEOUT),
    }
    with log.open("ab") as sink:
        return await asyncio.create_subprocess_exec(
            str(PODSPONSOR), "worker", "--queues", queue, env=env, cwd=ROOT, stdout=sink, stderr=sink
        )


async def _stop(process: asyncio.subprocess.Process) -> int | None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 60)
        except TimeoutError:
            process.kill()
            await process.wait()
            return None
    return process.returncode


async def _blocked_job(holder: psycopg.AsyncConnection[Any], job_id: int, log: Path) -> int:
    """Wait until the job's transaction is blocked on the holder's row lock: the pid of the job's backend."""
    waiting = await _until(lambda: _waiting_on(holder.info.backend_pid), 90, "the job to block on the lock", log)
    assert len(waiting) == 1
    [(pid, wait_event_type, query)] = waiting
    assert wait_event_type == "Lock"
    assert query.lstrip().upper().startswith("DELETE FROM METRICS_DAILY"), query
    job = await _job(job_id)
    assert job["status"] == "doing" and job["worker_id"] is not None
    return int(pid)


# The tests ------------------------------------------------------------------------------------------------------------


async def test_a_job_whose_worker_is_killed_mid_transaction_is_run_again_once_and_counts_the_day_once(
    db: Database, database: DatabaseUrls, tmp_path: Path
) -> None:
    tenant_id = await _counted_day()
    before = await _day(tenant_id)
    assert (before["downloads"], before["metrics"]) == (FIRST_AGENTS, [("prefix", FIRST_AGENTS, FIRST_AGENTS)])
    queue = f"tests-killed-{uuid.uuid4().hex[:8]}"
    first_log, second_log = tmp_path / "first-worker.log", tmp_path / "second-worker.log"
    first = await _worker(queue, first_log)
    second: asyncio.subprocess.Process | None = None
    try:
        job_id = await _queue_count(tenant_id, queue)
        async with _row_lock(database, tenant_id) as holder:
            backend = await _blocked_job(holder, job_id, first_log)
            first_worker = (await _job(job_id))["worker_id"]
            first.kill()
            assert await asyncio.wait_for(first.wait(), 30) == -signal.SIGKILL
            killed_at = time.monotonic()
        # The lock released, the dead client's backend finds its client gone and rolls back.
        await _until(lambda: _not(_backend_alive(backend)), 60, "the killed worker's backend to end")
        assert await _day(tenant_id) == before, "the killed run's writes were rolled back"
        assert (await _job(job_id))["status"] == "doing", "nothing has taken the job back yet"

        await _until(lambda: _stale(first_worker), 60, "the killed worker's heartbeat to go stale")
        stale_at = time.monotonic()
        second = await _worker(queue, second_log)
        done = await _until(lambda: _status_is(job_id, "succeeded"), 120, "the job to succeed again", second_log)
        succeeded_at = time.monotonic()
        assert done["attempts"] == 2, "one retry, one run to the end"
        assert done["worker_id"] not in (None, first_worker)
        assert done["events"] == ["deferred", "started", "deferred_for_retry", "started", "succeeded"]
        assert await _doing_in(queue) == 0
    finally:
        for process in (first, second):
            if process is not None:
                await _stop(process)

    after = await _day(tenant_id)
    assert after["downloads"] == ALL_AGENTS, "the day's downloads, exactly once"
    assert after["metrics"] == [("prefix", ALL_AGENTS, ALL_AGENTS)]
    assert after["counted"] == ALL_AGENTS
    assert [status for _, status in after["runs"]] == ["completed", "completed"], "the baseline and the job's run"
    assert after["download_runs"] == {after["runs"][-1][0]}
    recovered = [line for line in _read(second_log).splitlines() if "stalled job retried" in line]
    assert any(f'"job_id": {job_id}' in line for line in recovered), _read(second_log)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "stalled-job-recovery.txt").write_text(
        f"kill -9 of a worker mid-job → the job succeeded on a second worker: {succeeded_at - killed_at:.1f} s "
        f"(stalled timeout {STALLED_TIMEOUT:.0f} s; heartbeat gone stale after {stale_at - killed_at:.1f} s, "
        f"then the second worker's start-up, recovery and the count: {succeeded_at - stale_at:.1f} s)\n"
    )


async def test_a_live_worker_keeps_its_long_job_however_often_recovery_runs(
    db: Database, database: DatabaseUrls, tmp_path: Path
) -> None:
    tenant_id = await _counted_day()
    queue = f"tests-live-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    worker = await _worker(queue, log)
    try:
        job_id = await _queue_count(tenant_id, queue)
        async with _row_lock(database, tenant_id) as holder:
            await _blocked_job(holder, job_id, log)
            owner = (await _job(job_id))["worker_id"]
            rounds = 0
            # Recovery, as every worker runs it, again and again until the job has run twice the stalled timeout.
            while (job := await _job(job_id))["running_for"] < 2 * STALLED_TIMEOUT:
                recovered = await recover_stalled_jobs(STALLED_TIMEOUT)
                assert job_id not in {stalled.id for stalled in recovered}
                rounds += 1
                await asyncio.sleep(0.5)
            assert (job["status"], job["worker_id"], job["attempts"]) == ("doing", owner, 0)
            assert rounds >= 2
        done = await _until(lambda: _status_is(job_id, "succeeded"), 60, "the job to finish", log)
        assert done["attempts"] == 1, "one run, to the end"
        assert done["events"] == ["deferred", "started", "succeeded"]
    finally:
        assert await _stop(worker) == 0, _read(log)
    after = await _day(tenant_id)
    assert (after["downloads"], after["metrics"]) == (ALL_AGENTS, [("prefix", ALL_AGENTS, ALL_AGENTS)])
    assert [status for _, status in after["runs"]] == ["completed", "completed"]


async def _not(check: Awaitable[bool]) -> bool:
    return not await check


async def _stale(worker_id: int) -> bool:
    silent = await _silent_for(worker_id)
    return silent is None or silent > STALLED_TIMEOUT


async def _status_is(job_id: int, status: str) -> dict[str, Any] | None:
    job = await _job(job_id)
    return job if job["status"] == status else None
