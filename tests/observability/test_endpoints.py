"""Operational endpoints: liveness, readiness, Prometheus metrics, request ids and JSON logs."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from podsponsor.app import create_app
from podsponsor.config import Settings
from podsponsor.db import engine, migrate
from podsponsor.db.bootstrap import DatabaseUrls
from tests.factories.app_server import serve_app
from tests.factories.identity import make_tenant


def test_health_answers(anon: httpx.Client) -> None:
    response = anon.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_reports_the_migration_at_head(anon: httpx.Client) -> None:
    response = anon.get("/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["migration"] == migrate.head_revision()


def test_metrics_label_requests_by_route_template(server: str, anon: httpx.Client) -> None:
    tenant = make_tenant(server)
    with tenant.client() as api:
        show = api.post("/api/v1/podcasts", json={"title": "Metered Show"}).json()
        assert api.get(f"/api/v1/podcasts/{show['id']}").status_code == 200
    text = anon.get("/metrics").text
    assert 'podsponsor_http_requests_total{method="GET",route="/api/v1/podcasts/{podcast_id}",status="200"}' in text
    assert show["id"] not in text
    assert 'podsponsor_http_request_duration_seconds_bucket{le="0.1",method="GET",route="/health"}' in text


def test_unknown_paths_share_one_metrics_label(anon: httpx.Client) -> None:
    for _ in range(3):
        assert anon.get(f"/no-such-page-{uuid.uuid4().hex}").status_code == 404
    text = anon.get("/metrics").text
    assert 'route="unmatched",status="404"' in text
    assert "no-such-page" not in text


def test_metrics_carry_pool_and_job_gauges(anon: httpx.Client) -> None:
    text = anon.get("/metrics").text
    assert 'podsponsor_db_pool_connections{state="checked_out"}' in text
    assert 'podsponsor_db_pool_connections{state="idle"}' in text
    for status in ("todo", "doing", "succeeded", "failed"):
        assert f'podsponsor_jobs{{status="{status}"}}' in text


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", "/api/v1/podcasts", 401),
        ("GET", "/nowhere", 404),
        ("POST", "/api/v1/auth/signup", 422),
    ],
)
def test_every_response_carries_a_request_id(anon: httpx.Client, method: str, path: str, status: int) -> None:
    response = anon.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == status
    assert len(response.headers["x-request-id"]) == 32


def test_a_sane_incoming_request_id_is_echoed_and_a_wild_one_replaced(anon: httpx.Client) -> None:
    assert anon.get("/health", headers={"X-Request-ID": "lb-7f3a-42"}).headers["x-request-id"] == "lb-7f3a-42"
    replaced = anon.get("/health", headers={"X-Request-ID": "x" * 500}).headers["x-request-id"]
    assert replaced != "x" * 500
    assert len(replaced) == 32


@pytest.fixture(scope="module")
def logged_server(database: DatabaseUrls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The app served exactly as the `server` fixture serves it, but logging to a file of its own: the shared
    test-artifacts/server.log is rewritten by any other test session running in the same checkout."""
    log = tmp_path_factory.mktemp("logs") / "server.log"
    with serve_app(os.environ, log) as base:
        yield base, log


def test_the_server_log_is_json_lines_with_request_ids(logged_server: tuple[str, Path]) -> None:
    base, log = logged_server
    rid = f"trace-{uuid.uuid4().hex[:12]}"
    assert httpx.get(f"{base}/api/v1/podcasts", headers={"X-Request-ID": rid}, timeout=10).status_code == 401
    # The access line is written as the response completes; give the process a moment to flush it.
    deadline = time.monotonic() + 5
    while rid not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]
    assert all({"ts", "level", "logger", "msg"} <= entry.keys() for entry in entries)
    assert any(entry["logger"].startswith("uvicorn") for entry in entries)
    mine = [entry for entry in entries if entry.get("request_id") == rid]
    assert mine, "no log line carries the request id"
    assert mine[0]["status"] == 401
    assert mine[0]["route"] == "/api/v1/podcasts"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def unreachable_database(database: DatabaseUrls, settings: Settings) -> AsyncIterator[Settings]:
    """Settings whose runtime URL points at a closed port; the test process's own engine is put back after."""
    try:
        engine.get_database()
        configured = True
    except RuntimeError:
        configured = False
    await engine.dispose()
    yield Settings(DATABASE_APP_URL=f"postgresql://podsponsor_app@127.0.0.1:{_closed_port()}/nowhere")
    await engine.dispose()
    if configured:
        engine.configure(settings, database)


async def test_ready_is_503_when_the_database_is_unreachable(unreachable_database: Settings) -> None:
    app = create_app(unreachable_database)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://podsponsor.test") as client,
    ):
        ready = await client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["database"] == "unreachable"
        assert (await client.get("/health")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200
