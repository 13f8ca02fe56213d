"""Long-running commands as processes: the worker, the one-command demo, and a stale embedded server."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg

from podsponsor.db.bootstrap import DatabaseUrls
from podsponsor.db.urls import libpq_conninfo
from tests.cli.conftest import PODSPONSOR, alive, embedded_env, gone, podsponsor, postmaster_pid
from tests.conftest import ROOT

DEFER_PRUNE = """
SELECT (procrastinate_defer_jobs_v1(ARRAY[ROW(%s, 'jobs.prune_finished', 0, NULL, NULL,
        '{"timestamp": 0}'::jsonb, NULL)::procrastinate_job_to_defer_v1]))[1]
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(args: list[str], env: dict[str, str], output: Path) -> subprocess.Popen[bytes]:
    with output.open("wb") as sink:
        return subprocess.Popen([str(PODSPONSOR), *args], env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _announced(log: Path) -> bool:
    return "is running at" in log.read_text()


def _job_succeeded(conninfo: str, job_id: int) -> bool:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute("SELECT status::text FROM procrastinate_jobs WHERE id = %s", [job_id]).fetchone()
    return row is not None and row[0] == "succeeded"


def _defer_prune(conninfo: str, queue: str) -> int:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute(DEFER_PRUNE, [queue]).fetchone()
    assert row is not None
    return int(row[0])


def _stop(process: subprocess.Popen[bytes], sig: signal.Signals) -> int:
    process.send_signal(sig)
    return process.wait(timeout=60)


def test_the_worker_command_runs_jobs_and_stops_cleanly_on_sigterm(
    cli_env: dict[str, str], database: DatabaseUrls, tmp_path: Path
) -> None:
    queue = f"cli-{uuid.uuid4().hex[:8]}"
    worker = _start(["worker", "--queues", queue], cli_env, tmp_path / "worker.log")
    try:
        job_id = _defer_prune(libpq_conninfo(database.owner), queue)
        _wait_until(lambda: _job_succeeded(libpq_conninfo(database.owner), job_id), 60, "the worker to run the job")
    finally:
        code = _stop(worker, signal.SIGTERM)
    assert code == 0, (tmp_path / "worker.log").read_text()


def _first_login(output: str) -> dict[str, str]:
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:4] == ["workspace", "role", "e-mail", "password"])
    workspace, role, email, password = lines[header + 2].split()
    return {"workspace": workspace, "role": role, "email": email, "password": password}


def test_the_demo_serves_and_works_then_stops_cleanly_and_reuses_its_data(embedded_data: Path) -> None:
    env = embedded_env(str(embedded_data))
    pgdata = embedded_data / "pgdata"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = embedded_data.parent / "demo.log"
    demo = _start(["demo", "--port", str(port)], env, log)
    try:
        _wait_until(lambda: _announced(log) or demo.poll() is not None, 180, "the demo to announce itself")
        assert _ready(base)
        assert demo.poll() is None, log.read_text()
        login = _first_login(log.read_text())
        token = httpx.post(
            f"{base}/api/v1/auth/token", json={k: login[k] for k in ("workspace", "email", "password")}, timeout=30
        )
        assert token.status_code == 200, token.text
        owner = f"host={pgdata} user=podsponsor_owner dbname=podsponsor"
        job_id = _defer_prune(owner, "default")
        _wait_until(lambda: _job_succeeded(owner, job_id), 60, "the demo's worker to run a job")
        server_pid = postmaster_pid(pgdata)
    finally:
        code = _stop(demo, signal.SIGINT)
    assert code == 0, log.read_text()
    assert server_pid is not None
    assert gone(server_pid)

    again = _start(["demo", "--port", str(port)], env, log)
    try:
        _wait_until(lambda: _announced(log) or again.poll() is not None, 120, "the second demo to announce itself")
        assert _ready(base)
        assert again.poll() is None, log.read_text()
        assert "already in the database" in log.read_text()
        assert _first_login(log.read_text()) == login
    finally:
        code = _stop(again, signal.SIGTERM)
    assert code == 0, log.read_text()
    assert postmaster_pid(pgdata) is None


def test_a_taken_port_stops_the_demo_with_a_clear_message_and_releases_the_database(embedded_data: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = podsponsor("demo", "--port", str(port), env=embedded_env(str(embedded_data)), timeout=180)
    assert result.returncode == 1
    assert f"error: the web server could not start on 127.0.0.1:{port}" in result.stderr
    assert "is running at" not in result.stdout
    assert postmaster_pid(embedded_data / "pgdata") is None


def test_doctor_finds_a_stale_embedded_server_and_stops_it(embedded_data: Path) -> None:
    env = embedded_env(str(embedded_data))
    pgdata = embedded_data / "pgdata"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from podsponsor.db import embedded; "
            "embedded.start(Path(sys.argv[1])); print('up', flush=True); time.sleep(600)",
            str(pgdata),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "up"
    holder.kill()
    holder.wait()
    server_pid = postmaster_pid(pgdata)
    assert server_pid is not None

    found = podsponsor("doctor", env=env)
    assert found.returncode == 1
    assert "✗ embedded PostgreSQL: a server runs on" in found.stdout
    assert "fix: podsponsor doctor --stop-stale" in found.stdout
    assert alive(server_pid)

    fixed = podsponsor("doctor", "--stop-stale", env=env)
    assert "✓ embedded PostgreSQL: stopped a stale server" in fixed.stdout, fixed.stdout + fixed.stderr
    assert gone(server_pid)
    assert postmaster_pid(pgdata) is None
    assert json.loads((pgdata / ".handle_pids.json").read_text()) == []
