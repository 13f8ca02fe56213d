"""A large file is imported by a worker: answered 202 at once, then progress moves until the import completes."""

from __future__ import annotations

import threading
from datetime import date, timedelta

from podsponsor.jobs.app import run_worker
from tests.factories.identity import Tenant
from tests.metrics.conftest import API, canonical, daily, make_show, upload

ROWS = 120_000


def _big_file(episodes: list[str]) -> bytes:
    start = date(2010, 1, 1)
    return canonical(
        (start + timedelta(days=n // 40), episodes[n % 4], f"job{n // 4 % 10}", n % 5000, n % 4000, 0.5, 0.1, 1, 99)
        for n in range(ROWS)
    )


async def test_a_large_file_runs_as_a_job_with_progress(db, network: Tenant) -> None:
    show = make_show(network, ["Job A", "Job B", "Job C", "Job D"], show_title="Job show")
    content = _big_file([e["id"] for e in show.episodes])
    assert len(content) > 5 * 1024 * 1024
    with network.client("ops") as api:
        accepted = upload(api, content, name="big.csv")
        assert accepted.status_code == 202, accepted.text
        import_id = accepted.json()["id"]
        assert (accepted.json()["status"], accepted.json()["progress"]) == ("pending", 0)

        seen: list[tuple[str, float, int]] = []
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                state = api.get(f"{API}/status/{import_id}").json()
                seen.append((state["status"], state["progress"], state["rows_processed"]))
                done.wait(0.02)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            await run_worker(wait=False, queues=["metrics"])
        finally:
            done.set()
            watcher.join()

        final = api.get(f"{API}/status/{import_id}").json()
        assert (final["status"], final["progress"], final["error_count"]) == ("completed", 1, 0)
        assert final["rows_total"] == final["rows_processed"] == final["rows_inserted"] == ROWS
        assert final["last_sync_watermark"] == (date(2010, 1, 1) + timedelta(days=(ROWS - 1) // 40)).isoformat()
        moving = [(progress, rows) for status, progress, rows in seen if status == "processing" and 0 < progress < 1]
        assert moving, f"no progress was reported while the import ran: {seen[:5]} … {seen[-5:]}"
        assert all(rows > 0 for _, rows in moving)
        assert api.get("/api/v1/metrics/daily", params={"podcast_id": show.podcast_id}).json()["total"] == ROWS
        assert daily(api, episode_id=show.episode(0)["id"], source="job0", limit=1)[0]["downloads"] is not None
