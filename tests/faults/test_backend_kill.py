"""`kill -9` of a PostgreSQL backend serving the app, under redirect load: the postmaster then resets every session
of the cluster and runs crash recovery. The redirect answers every request, hits are stored again within 10 s, the
API's connection pool reconnects, and every answered hit is stored, once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import psycopg
from bench.redirect import make_show

from podsponsor.db.urls import libpq_conninfo
from tests.conftest import RUNTIME_ROLE
from tests.faults.conftest import DATABASE, Cluster, app_process
from tests.faults.redirect_load import (
    RECOVERY_DEADLINE,
    Fault,
    now,
    ready_after,
    report,
    set_aside,
    settled,
    spilled,
    stored_after,
    under_load,
)

BEFORE, AFTER = 5.0, 15.0
APP_SESSIONS = (
    "SELECT pid, query FROM pg_stat_activity WHERE usename = %s AND datname = %s AND backend_type = 'client backend'"
)


def app_backends(admin_url: str) -> dict[int, str]:
    """pid → last statement of each session of the app's runtime role, as the superuser sees them."""
    with psycopg.connect(libpq_conninfo(admin_url), autocommit=True) as conn:
        return dict(conn.execute(APP_SESSIONS, [RUNTIME_ROLE, DATABASE]).fetchall())


async def kill_a_hit_writer_backend(cluster: Cluster, base: str, podcast_id: str) -> tuple[Fault, dict[str, object]]:
    """SIGKILL, BEFORE seconds into the load, to the backend that last stored hits; then how long until the database
    answers again, and from then until hits are stored again and /ready answers."""
    await asyncio.sleep(BEFORE)
    sessions = await asyncio.to_thread(app_backends, cluster.admin)
    writers = [pid for pid, query in sessions.items() if "download_requests" in query]
    assert writers, f"no backend of the app is storing hits: {sessions}"
    killed_at, since = time.perf_counter(), now()
    os.kill(writers[0], signal.SIGKILL)
    database_back = await asyncio.to_thread(answering_after, cluster.admin)
    recovery, pool_back = await asyncio.gather(stored_after(cluster.urls.owner, podcast_id, since), ready_after(base))
    after = await asyncio.to_thread(app_backends, cluster.admin) if database_back is not None else sessions
    survivors = set(sessions) & set(after)
    return Fault(killed_at, killed_at + (database_back or 0.0), recovery), {
        "database_back_s": database_back and round(database_back, 2),
        "api_ready_s": pool_back and round(pool_back, 2),
        "app_sessions_before": len(sessions),
        "app_sessions_surviving": len(survivors),
    }


def answering_after(admin_url: str, within: float = RECOVERY_DEADLINE) -> float | None:
    """Seconds until the cluster accepts a session again (the postmaster restarts after a backend's crash)."""
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < within:
        try:
            with psycopg.connect(libpq_conninfo(admin_url), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return elapsed
        except psycopg.OperationalError:
            time.sleep(0.05)
    return None


async def test_a_killed_backend_costs_the_redirect_no_answer_and_no_hit(cluster: Cluster, tmp_path: Path) -> None:
    owner = cluster.urls.owner
    podcast_id, token = make_show(owner)
    with app_process(cluster, tmp_path, "faults-backend-kill.log", PREFIX_COMMIT_TIMEOUT_SECONDS="0.5") as base:
        async with httpx.AsyncClient(base_url=base) as client:
            assert (await client.get(f"/p/{token}/media.example.com/warm.mp3")).status_code == 302
        load, (fault, seen) = await under_load(
            base, token, BEFORE + AFTER, kill_a_hit_writer_backend(cluster, base, podcast_id)
        )
        stored = await settled(owner, podcast_id, tmp_path, load.answered + 1)
    report("backend-kill", load, stored - 1, fault, **seen)
    assert seen["database_back_s"] is not None, f"the cluster did not come back:\n{cluster.log_tail()}"
    assert seen["app_sessions_surviving"] == 0, "the kill made the postmaster reset every session (the fault tested)"
    assert (load.errors, dict(load.failures)) == (0, {}), "every request is answered 302 through the crash"
    assert load.answered == load.scheduled
    assert fault.recovery is not None, f"no hit was stored within {RECOVERY_DEADLINE:g} s of the database's return"
    assert seen["api_ready_s"] is not None, "the API's connection pool did not reconnect"
    assert not spilled(tmp_path) and not set_aside(tmp_path), "the spill is replayed, and none of it refused"
    assert stored - 1 == load.answered, "every answered hit is stored, once"
