"""The prefix redirect under load vs a bare Starlette 302 on the same server settings, in the same run.

Both run under uvicorn (1 worker, uvloop + httptools, no access log) on loopback; a small keep-alive HTTP/1.1 load
generator (raw asyncio streams: httpx would be the bottleneck) sends the same requests, with a podcast app's user
agent, a Range header and the listener's address in X-Forwarded-For (10,000 addresses, a fifth IPv6; the prefix
runs behind TRUSTED_PROXIES=127.0.0.1/32, as behind a load balancer), to each. The prefix records every request
with group commit before answering; afterwards the rows stored are compared with the 302s answered (`lost` = 0).
Usage: python bench/redirect.py [--requests 20000] [--concurrency 128] [--rounds 2]   (embedded PostgreSQL, or
DATABASE_URL). Last line: {"bench": "redirect", "req_per_s", "ratio_vs_starlette", "p99_ms", "lost", ...}, with the
median CPU per request of the prefix's server process and database backends and of the Starlette server, in µs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import psycopg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench._db import ROOT, bench_database
from podsponsor.db import bootstrap
from podsponsor.db.urls import libpq_conninfo

# Its own name: other benchmarks provision and drop theirs on the same server, possibly at the same time.
DATABASE = "podsponsor_bench_redirect"
USER_AGENT = "AppleCoreMedia/1.0.0.20E247 (iPhone; U; CPU OS 16_4 like Mac OS X; en_us)"
TIME_LIMIT = 60.0


async def bare_redirect(request: Request) -> Response:
    rest = request.path_params["rest"]
    return Response(status_code=302, headers={"Location": f"https://{rest}", "Cache-Control": "private, no-cache"})


bare_app = Starlette(routes=[Route("/p/{token}/{rest:path}", bare_redirect, methods=["GET", "HEAD"])])


@dataclass
class Run:
    answered: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    server_cpu: float = 0.0  # seconds of CPU the server process used
    database_cpu: float = 0.0  # seconds of CPU its PostgreSQL backends used (local server only)

    def cpu_us(self, seconds: float) -> float:
        return seconds / self.answered * 1e6 if self.answered else 0.0

    @property
    def req_per_s(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def listeners(count: int = 10_000) -> list[str]:
    rng = random.Random(7)
    return [
        f"2001:db8:{rng.randrange(65536):x}:{rng.randrange(65536):x}::{rng.randrange(65536):x}"
        if n % 5 == 0
        else f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        for n in range(count)
    ]


LISTENERS = listeners()


async def _connection(port: int, token: str, quota: list[int], run: Run, deadline: float) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    try:
        while quota[0] > 0 and time.perf_counter() < deadline:
            quota[0] -= 1
            n += 1
            request = (
                f"GET /p/{token}/media.example.com/show/ep{n % 50}.mp3?from=feed HTTP/1.1\r\nHost: bench.local\r\n"
                f"User-Agent: {USER_AGENT}\r\nRange: bytes=0-1\r\nAccept: */*\r\n"
                f"X-Forwarded-For: {LISTENERS[quota[0] % len(LISTENERS)]}\r\n\r\n"
            ).encode()
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            run.latencies.append(time.perf_counter() - started)
            if head.startswith(b"HTTP/1.1 302"):
                run.answered += 1
            else:
                run.failed += 1
    finally:
        writer.close()


async def drive(port: int, token: str, requests: int, concurrency: int) -> Run:
    run, quota = Run(), [requests]
    started = time.perf_counter()
    deadline = started + TIME_LIMIT
    await asyncio.gather(*(_connection(port, token, quota, run, deadline) for _ in range(concurrency)))
    run.seconds = time.perf_counter() - started
    return run


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(target: list[str], env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        *target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--no-proxy-headers",
    ]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/p/x/y", timeout=1)
            return process, port
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{target} did not start; see {log}")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (0 for a process this machine does not run)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def backends(owner_url: str) -> list[int]:
    with psycopg.connect(libpq_conninfo(owner_url)) as conn:
        rows = conn.execute(
            # The app's sessions (other roles' rows show their pid, not their backend_type).
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND usename <> current_user",
            [DATABASE],
        ).fetchall()
    return [row[0] for row in rows]


def measured(port: int, token: str, args: argparse.Namespace, server: int, database: list[int]) -> Run:
    server_before, database_before = cpu_seconds([server]), cpu_seconds(database)
    run = asyncio.run(drive(port, token, args.requests, args.concurrency))
    run.server_cpu = cpu_seconds([server]) - server_before
    run.database_cpu = cpu_seconds(database) - database_before
    return run


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)  # the app flushes its last batch on shutdown
    process.wait(30)


def make_show(owner_url: str) -> tuple[str, str]:
    tenant_id, podcast_id = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(libpq_conninfo(owner_url)) as conn:
        conn.execute(
            "INSERT INTO tenants (id, name, slug, kind) VALUES (%s, 'Bench', %s, 'creator')",
            [tenant_id, f"bench-{tenant_id.hex[:8]}"],
        )
        row = conn.execute(
            "INSERT INTO podcasts (tenant_id, id, title) VALUES (%s, %s, 'Bench Show') RETURNING prefix_token",
            [tenant_id, podcast_id],
        ).fetchone()
    assert row is not None
    return str(podcast_id), str(row[0])


def stored(owner_url: str, podcast_id: str) -> int:
    with psycopg.connect(libpq_conninfo(owner_url)) as conn:
        row = conn.execute("SELECT count(*) FROM download_requests WHERE podcast_id = %s", [podcast_id]).fetchone()
    return int(row[0]) if row else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20000, help="requests per measured round and target")
    parser.add_argument("--concurrency", type=int, default=128, help="connections kept busy (closed loop)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    admin, urls = bench_database(DATABASE)
    podcast_id, token = make_show(urls.owner)
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    data_dir = tempfile.mkdtemp(prefix="podsponsor-bench-redirect-")  # the spill, if any, goes with the database
    env = {
        **os.environ,
        "LOG_LEVEL": "WARNING",
        "PODSPONSOR_DATA_DIR": data_dir,
        "TRUSTED_PROXIES": "127.0.0.1/32",
    }
    app, app_port = serve(["--factory", "podsponsor.app:build"], env, artifacts / "bench-redirect-app.log")
    bare, bare_port = serve(["bench.redirect:bare_app"], env, artifacts / "bench-redirect-starlette.log")
    ours: list[Run] = []
    baseline: list[Run] = []
    try:
        warm = [asyncio.run(drive(port, token, 2000, args.concurrency)) for port in (app_port, bare_port)]
        database = backends(urls.owner)
        for _ in range(args.rounds):
            ours.append(measured(app_port, token, args, app.pid, database))
            baseline.append(measured(bare_port, token, args, bare.pid, []))
    finally:
        stop(app)
        stop(bare)
    answered = warm[0].answered + sum(r.answered for r in ours)
    lost = answered - stored(urls.owner, podcast_id)
    bootstrap.drop_database(admin, DATABASE)
    shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(report(ours, baseline, lost, args)))


def report(ours: list[Run], baseline: list[Run], lost: int, args: argparse.Namespace) -> dict[str, object]:
    rate, base_rate = statistics.median(r.req_per_s for r in ours), statistics.median(r.req_per_s for r in baseline)
    best, base_best = max(ours, key=lambda r: r.req_per_s), max(baseline, key=lambda r: r.req_per_s)
    print(f"{args.requests} requests x {args.rounds} rounds, {args.concurrency} connections, 1 uvicorn worker each")
    for name, runs in (("prefix (records every hit)", ours), ("bare Starlette 302", baseline)):
        for n, run in enumerate(runs, 1):
            print(
                f"  {name:28} round {n}: {run.req_per_s:8.0f} req/s  p50 {run.percentile_ms(0.5):6.2f} ms"
                f"  p99 {run.percentile_ms(0.99):6.2f} ms  CPU/request: server {run.cpu_us(run.server_cpu):5.0f} us"
                f" + database {run.cpu_us(run.database_cpu):4.0f} us  failed {run.failed}"
            )
    ours_cpu = statistics.median(r.cpu_us(r.server_cpu + r.database_cpu) for r in ours)
    base_cpu = statistics.median(r.cpu_us(r.server_cpu) for r in baseline)
    print(f"  median ratio prefix / Starlette: {rate / base_rate:.3f}; hits lost: {lost}")
    print(f"  CPU per request, Starlette / prefix (server + database): {base_cpu / ours_cpu:.3f}")
    print(f"  load average while measuring (other processes share these cores): {os.getloadavg()[0]:.1f}")
    return {
        "bench": "redirect",
        "req_per_s": round(rate),
        "ratio_vs_starlette": round(rate / base_rate, 3),
        "p50_ms": round(best.percentile_ms(0.5), 2),
        "p99_ms": round(best.percentile_ms(0.99), 2),
        "starlette_req_per_s": round(base_rate),
        "starlette_p99_ms": round(base_best.percentile_ms(0.99), 2),
        "cpu_ratio_vs_starlette": round(base_cpu / ours_cpu, 3),
        "server_cpu_us": round(statistics.median(r.cpu_us(r.server_cpu) for r in ours)),
        "database_cpu_us": round(statistics.median(r.cpu_us(r.database_cpu) for r in ours)),
        "starlette_cpu_us": round(base_cpu),
        "load_average": round(os.getloadavg()[0], 1),
        "lost": lost,
        "failed": sum(r.failed for r in ours),
    }


if __name__ == "__main__":
    main()
