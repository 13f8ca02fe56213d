"""The webhook sender as it runs in production: `podsponsor worker` processes against the test database.

A worker killed with SIGKILL while a request is in flight loses no delivery: the cut-off attempt's transaction never
commits, so the delivery is still pending and the next worker sends it again (the receiver sees that webhook-id
twice: at least once, never zero times). Also measured here: the time from the API call that made an event to the
receiver getting its webhook, written to test-artifacts/webhook-latency.txt.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from podsponsor.db.bootstrap import DatabaseUrls
from tests.conftest import ARTIFACTS, ROOT
from tests.factories.identity import make_tenant
from tests.factories.webhook_receiver import receiving

PODSPONSOR = Path(sys.executable).parent / "podsponsor"
SHOWS = 5
HOLD_SECONDS = 8.0


def _worker(log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR", "/tmp"),
        "OUTBOUND_ALLOW_HOSTS": "127.0.0.1",
    }
    with log.open("ab") as sink:
        return subprocess.Popen(
            [str(PODSPONSOR), "worker", "--queues", "webhooks", "--concurrency", "2"],
            env=env,
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _settle(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_worker_killed_mid_delivery_loses_nothing(server: str, database: DatabaseUrls, tmp_path: Path) -> None:
    tenant = make_tenant(server)
    log = tmp_path / "worker.log"
    with receiving(200) as receiver, tenant.client() as api:
        created = api.post(
            "/api/v1/webhooks/endpoints", json={"url": receiver.url(), "event_types": ["podcast.created"]}
        )
        assert created.status_code == 201, created.text
        endpoint_id = created.json()["id"]
        first = _worker(log)
        second: subprocess.Popen[bytes] | None = None
        try:
            # A test event first: once it arrives, the worker is up and listening for new jobs.
            assert api.post(f"/api/v1/webhooks/endpoints/{endpoint_id}/test").status_code == 202
            _wait_until(lambda: len(receiver.received) == 1, 120, "the worker to start sending")
            receiver.hold_next(HOLD_SECONDS)
            made_at: dict[str, float] = {}
            for n in range(SHOWS):
                show = api.post("/api/v1/podcasts", json={"title": f"Killed Worker Show {n}"})
                assert show.status_code == 201, show.text
                made_at[show.json()["id"]] = time.time()
            assert receiver.held.wait(60), log.read_text()
            # At least once: on a busy machine the test message itself may arrive twice, so it is told apart by id.
            test_id = receiver.received[0].message_id
            first_show = next(r for r in receiver.received if r.message_id != test_id)
            held, held_since = first_show.message_id, first_show.at
            # The other deliveries go out meanwhile (the first request is held, not the sender).
            # Briefly, so that the kill surely lands while the held request is in flight even on a busy machine.
            _settle(lambda: len(set(receiver.message_ids())) == SHOWS + 1, HOLD_SECONDS / 4)
            assert time.time() - held_since < HOLD_SECONDS - 1, "the first request must still be in flight"
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            assert not any(_deliveries(api, endpoint_id, "succeeded", held)), "the cut-off attempt committed"

            second = _worker(log)
            _wait_until(lambda: len(_deliveries(api, endpoint_id, "succeeded")) == SHOWS, 120, "every delivery")
        finally:
            for process in (first, second):
                if process is not None and process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    process.wait(60)

        events = api.get("/api/v1/events", params={"type": "podcast.created", "limit": 50}).json()["items"]
        deliveries = _deliveries(api, endpoint_id)
    message_of_show = {e["subject_id"]: f"msg_{e['id'].replace('-', '')}" for e in events}
    assert set(message_of_show) == set(made_at)
    assert len(deliveries) == len(events) == SHOWS, "one delivery per event, none lost"
    assert {d["status"] for d in deliveries} == {"succeeded"}
    assert {d["message_id"] for d in deliveries} == set(message_of_show.values())
    seen = [message for message in receiver.message_ids() if message != test_id]
    assert set(seen) == set(message_of_show.values()), "the receiver got every message"
    assert seen.count(held) >= 2, "the delivery cut off by the kill was sent again, with the same webhook-id"
    _report_latency(receiver.received[1:], message_of_show, made_at, held)


def _deliveries(api: httpx.Client, endpoint_id: str, status: str | None = None, message: str | None = None) -> list:
    """The endpoint's deliveries of shows' events (not of the warm-up test event)."""
    params = {"limit": 50, **({"status": status} if status else {})}
    items = api.get(f"/api/v1/webhooks/endpoints/{endpoint_id}/deliveries", params=params).json()["items"]
    shows = [d for d in items if d["event_type"] == "podcast.created"]
    return [d for d in shows if message is None or d["message_id"] == message]


def _report_latency(received: list, message_of_show: dict[str, str], made_at: dict[str, float], held: str) -> None:
    """From the API's answer to the request that made the event to the webhook's arrival, first attempts only."""
    arrival: dict[str, float] = {}
    for request in received:
        arrival.setdefault(request.message_id, request.at)
    latencies = [
        (arrival[message] - made_at[show]) * 1000
        for show, message in message_of_show.items()
        if message != held and message in arrival
    ]
    assert latencies and all(value > -50 for value in latencies)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "webhook-latency.txt").write_text(
        f"event → webhook received, first attempts, one worker (ms): n={len(latencies)} "
        f"median={statistics.median(latencies):.0f} max={max(latencies):.0f}\n"
    )
