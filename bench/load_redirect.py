"""An open-loop load on the prefix redirect: requests sent at a fixed arrival rate, whatever the server answers.

The app runs as `podsponsor serve` runs it (that command, one uvicorn worker, its default loop, HTTP parser and
logging, PODSPONSOR_ENV=prod), with the hit writer committing every hit before its 302, on the embedded PostgreSQL or
DATABASE_URL's server. Request n is due at start + n / rate and is sent then on an idle keep-alive connection (a new
one when none is idle, up to --max-connections), never later because an earlier answer is slow: a slow server builds a
backlog instead of slowing the load. Latency is counted from the request's due time, not from when it was written,
so time spent queued behind a slow answer is in it (no coordinated omission). The generator's own lateness — due
time to the moment its task ran, before any wait for a connection — is reported apart as the generator lag.

The generator is raw asyncio streams on uvloop in this process (the server is another process). Measured at
1,000 req/s against a bare Starlette 302 on this 2-core machine (load average 5.6), it used 12% of a core with a lag
p99 of 3 ms (16% and 4 ms on the default asyncio loop); an httpx AsyncClient used 44% of a core at 250 req/s, fell
behind at 500 req/s (a whole core, 210 answers/s, p99 6 s) and had not sent 3 s of 1,000 req/s after 100 s.

Listeners: 20,000 addresses (a fifth IPv6), each with its podcast app's user agent, asking for 60 episodes (newest
most) with a probe range, a full range, no range, or HEAD; the app sits behind TRUSTED_PROXIES=127.0.0.1/32 and reads
the listener from X-Forwarded-For, as behind a load balancer (`--direct`: no trusted proxy and no header, every hit
from 127.0.0.1). Once the run is over, the hits stored for the show since it started are counted in
download_requests and `lost` = 302s answered - hits stored. `--breakdown` numbers each request in a Referer, cuts each
latency where the server recorded the hit (before: generator, sockets, the server's event loop; after: the group
commit and the answer's way back) and samples what the app's database sessions wait on.

Usage: python bench/load_redirect.py [--rate 1000] [--seconds 60] [--direct] [--breakdown]   (embedded PostgreSQL, or
DATABASE_URL). Last line: {"bench": "load_redirect", "rate", "seconds", "achieved_rate", "p50_ms", "p90_ms", "p99_ms",
"max_ms", "errors", "lost", "generator_lag_p99_ms", ...}; errors are answers other than 302, connection errors and
timeouts (no answer 10 s after the due time).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import psycopg
import uvloop

from bench._db import ROOT, bench_database
from bench.redirect import cpu_seconds, listeners, make_show
from podsponsor.db import bootstrap
from podsponsor.db.urls import libpq_conninfo

DATABASE = "podsponsor_bench_load_redirect"
MAX_CONNECTIONS = 512
TIMEOUT = 10.0  # a request unanswered this long after its due time is an error
# uvicorn closes a keep-alive connection idle for 5 s: one idle longer than this is not reused, so the race between
# that close and a new request is never counted against the server.
IDLE_REUSE = 4.0
EPISODES = 60
# Podcast apps as they name themselves, weighted roughly as they share downloads.
USER_AGENTS: tuple[tuple[str, int], ...] = (
    ("AppleCoreMedia/1.0.0.20E247 (iPhone; U; CPU OS 16_4 like Mac OS X; en_us)", 30),
    ("Podcasts/1650.20 CFNetwork/1408.0.4 Darwin/22.5.0", 10),
    ("Spotify/8.8.40 iOS/16.5 (iPhone14,5)", 12),
    ("Spotify/8.8.42 Android/33 (SM-G991B)", 8),
    ("Overcast/3.0 (+http://overcast.fm/; iOS podcast app)", 5),
    ("Pocket Casts/7.40.1 (Android 13)", 4),
    ("CastBox/8.45.1-221103129 (Linux;Android 12) ExoPlayerLib/2.10.4", 3),
    ("AntennaPod/3.0.2", 3),
    ("PodcastAddict/v5 - Dalvik/2.1.0 (Linux; U; Android 13; Pixel 7 Build/TQ3A.230605.012)", 4),
    ("Castro 2023.7/1221", 2),
    ("Deezer/7.0.28.2 (Android; 13; Mobile; fr) samsung SM-A536B", 2),
    ("iTunes/12.12.9 (Macintosh; OS X 13.4) AppleWebKit/615.2.9.10.4", 2),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 "
        "Safari/537.36",
        5,
    ),
)
# (method, Range header): a player probes, then fetches the file; some ask HEAD first.
ASKS: tuple[tuple[tuple[str, str | None], int], ...] = (
    (("GET", "bytes=0-1"), 30),
    (("GET", "bytes=0-"), 40),
    (("GET", None), 20),
    (("GET", "bytes=1048576-"), 5),
    (("HEAD", None), 5),
)
HOSTS = (
    "media.example.com/show",
    "traffic.example-host.com/secure/show",
    "dts.podtrac.com/redirect.mp3/cdn.example.net",
)
# The page of a web player, numbered per request with --breakdown.
PLAYER = "https://player.example.com/listen?n="


class Request(NamedTuple):
    payload: bytes
    head: bool


def listener_requests(
    token: str, count: int, *, forwarded: bool, listener_count: int = 20_000, seed: int = 11, numbered: bool = False
) -> list[Request]:
    """`count` requests for the show of `token`, drawn from `listener_count` listeners, ready to write. `numbered`
    puts each request's number in its Referer (a web player's page), so its stored hit can be told apart."""
    rng = random.Random(seed)
    addresses = listeners(listener_count)
    agents = rng.choices([ua for ua, _ in USER_AGENTS], [w for _, w in USER_AGENTS], k=listener_count)
    hosts = [HOSTS[n % len(HOSTS)] for n in range(listener_count)]
    asks = [ask for ask, _ in ASKS]
    ask_weights = [w for _, w in ASKS]
    episode_weights = [1 / (k + 1) for k in range(EPISODES)]
    made = []
    for n, listener, (method, range_header), episode in zip(
        range(count),
        rng.choices(range(listener_count), k=count),
        rng.choices(asks, ask_weights, k=count),
        rng.choices(range(EPISODES, 0, -1), episode_weights, k=count),
        strict=True,
    ):
        query = "?from=feed" if episode % 3 == 0 else ""
        lines = [
            f"{method} /p/{token}/{hosts[listener]}/ep{episode}.mp3{query} HTTP/1.1",
            "Host: measure.example.com",
            f"User-Agent: {agents[listener]}",
            "Accept: */*",
        ]
        if range_header:
            lines.append(f"Range: {range_header}")
        if numbered:
            lines.append(f"Referer: {PLAYER}{n}")
        if forwarded:
            lines.append(f"X-Forwarded-For: {addresses[listener]}")
        made.append(Request(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), method == "HEAD"))
    return made


@dataclass
class Load:
    rate: float
    scheduled: int = 0
    answered: int = 0  # 302s
    failures: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # from due time to the end of the answer (or the failure)
    lags: list[float] = field(default_factory=list)  # due time to the moment the generator started the request
    started: float = 0.0  # the first request's due time (perf_counter); request n is due at started + n / rate
    finished: float = 0.0  # the last answer or failure
    connections: int = 0  # opened during the run
    answered_at: dict[int, float] = field(default_factory=dict)  # request number → end of its 302
    wall_offset: float = 0.0  # time.time() - time.perf_counter() during the run

    @property
    def errors(self) -> int:
        return sum(self.failures.values())

    @property
    def achieved_rate(self) -> float:
        span = self.finished - self.started
        return self.answered / span if span > 0 else 0.0

    def latency_ms(self, q: float) -> float:
        return _percentile(self.latencies, q) * 1000

    def lag_ms(self, q: float) -> float:
        return _percentile(self.lags, q) * 1000


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.idle_since = time.perf_counter()


class Generator:
    """Sends requests at their due times over a keep-alive pool; a request that finds no idle connection opens one,
    or waits for one once `max_connections` are open (that wait is in its latency, not in the generator lag)."""

    def __init__(
        self, host: str, port: int, *, max_connections: int = MAX_CONNECTIONS, answer_within: float = TIMEOUT
    ) -> None:
        self.host, self.port = host, port
        self.max_connections, self.answer_within = max_connections, answer_within
        self._idle: deque[_Connection] = deque()
        self._open = 0
        self._waiters: deque[asyncio.Future[_Connection | None]] = deque()

    async def run(self, requests: list[Request], rate: float) -> Load:
        load = Load(rate)
        interval = 1.0 / rate
        pending: set[asyncio.Task[None]] = set()
        load.started = start = time.perf_counter() + 0.01
        load.wall_offset = time.time() - time.perf_counter()
        for n, request in enumerate(requests):
            due = start + n * interval
            if due > time.perf_counter():
                # Everything already due goes at once: the loop's timers are coarser than 1 ms.
                await asyncio.sleep(due - time.perf_counter())
            task = asyncio.create_task(self._send(n, request, due, load))
            pending.add(task)
            task.add_done_callback(pending.discard)
        load.scheduled = len(requests)
        if pending:
            await asyncio.wait(pending)
        return load

    def close(self) -> None:
        while self._idle:
            self._idle.popleft().writer.close()
        self._open = 0

    async def _send(self, n: int, request: Request, due: float, load: Load) -> None:
        began = time.perf_counter()
        load.lags.append(began - due)
        connection: _Connection | None = None
        try:
            async with asyncio.timeout(due + self.answer_within - began):
                connection = await self._acquire(load)
                connection.writer.write(request.payload)
                status, length, closing = _head(await connection.reader.readuntil(b"\r\n\r\n"))
                if length and not request.head:
                    await connection.reader.readexactly(length)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            load.finished = ended = time.perf_counter()
            load.latencies.append(ended - due)
            load.failures[type(exc).__name__] += 1
            if connection is not None:
                self._discard(connection)
            return
        load.finished = ended = time.perf_counter()
        load.latencies.append(ended - due)
        if status == 302:
            load.answered += 1
            load.answered_at[n] = ended
        else:
            load.failures[f"HTTP {status}"] += 1
        if closing:
            self._discard(connection)
        else:
            self._release(connection)

    async def _acquire(self, load: Load) -> _Connection:
        while self._idle:
            connection = self._idle.popleft()
            if time.perf_counter() - connection.idle_since < IDLE_REUSE and not connection.reader.at_eof():
                return connection
            self._discard(connection)
        if self._open >= self.max_connections:
            waiter: asyncio.Future[_Connection | None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                handed = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._hand_on(waiter.result())
                raise
            if handed is not None:
                return handed
        return await self._connect(load)

    async def _connect(self, load: Load) -> _Connection:
        self._open += 1
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except BaseException:
            self._open -= 1
            self._hand_on(None)
            raise
        load.connections += 1
        return _Connection(reader, writer)

    def _release(self, connection: _Connection) -> None:
        connection.idle_since = time.perf_counter()
        self._hand_on(connection)

    def _discard(self, connection: _Connection) -> None:
        connection.writer.close()
        self._open -= 1
        self._hand_on(None)

    def _hand_on(self, connection: _Connection | None) -> None:
        """A connection came free (or, with None, room for a new one): the longest waiter gets it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        if connection is not None:
            self._idle.append(connection)


def _head(head: bytes) -> tuple[int, int, bool]:
    """(status, Content-Length, whether the server closes the connection) of a response head."""
    status, length, closing = int(head[9:12]), 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            closing = True
    return status, length, closing


async def drive(
    host: str,
    port: int,
    requests: list[Request],
    rate: float,
    *,
    max_connections: int = MAX_CONNECTIONS,
    answer_within: float = TIMEOUT,
) -> Load:
    """`requests` sent to host:port at `rate` per second, open loop."""
    generator = Generator(host, port, max_connections=max_connections, answer_within=answer_within)
    try:
        return await generator.run(requests, rate)
    finally:
        generator.close()


def stored_since(owner_url: str, podcast_id: str, since: datetime) -> int:
    """Hits stored for the show from `since` on, read as the owner role (which sees past row-level security)."""
    return commits_since(owner_url, podcast_id, since)[0]


def commits_since(owner_url: str, podcast_id: str, since: datetime) -> tuple[int, int]:
    """(hits, transactions that stored them) for the show from `since` on: a row's xmin is the id of the transaction
    that inserted it, so the second count is the number of group commits."""
    with psycopg.connect(libpq_conninfo(owner_url)) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT xmin::text) FROM download_requests WHERE podcast_id = %s AND ts >= %s",
            [podcast_id, since],
        ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def arrivals(owner_url: str, podcast_id: str, since: datetime) -> dict[int, float]:
    """Request number → when the server recorded its hit (its `ts`, taken as the redirect handles the request), in
    seconds since the epoch, for requests sent `numbered`."""
    with psycopg.connect(libpq_conninfo(owner_url)) as conn:
        rows = conn.execute(
            "SELECT referer, ts FROM download_requests WHERE podcast_id = %s AND ts >= %s AND referer LIKE %s",
            [podcast_id, since, PLAYER + "%"],
        ).fetchall()
    return {int(referer[len(PLAYER) :]): ts.timestamp() for referer, ts in rows}


@dataclass
class Breakdown:
    """Each answered request's latency cut where the redirect recorded its hit: before (the generator, the sockets,
    the server's event loop getting to it) and after (waiting for its group commit, the answer's way back); and what
    the database sessions were waiting on meanwhile."""

    before: list[float]
    after: list[float]
    waits: WaitSampler

    @classmethod
    def of(cls, load: Load, recorded: dict[int, float], waits: WaitSampler) -> Breakdown:
        before, after = [], []
        for n, ended in load.answered_at.items():
            if n in recorded:
                arrived = recorded[n] - load.wall_offset
                before.append(arrived - (load.started + n / load.rate))
                after.append(ended - arrived)
        return cls(before, after, waits)

    def slowest_share(self) -> tuple[float, float]:
        """Mean (before, after), in seconds, over the slowest 1% of requests."""
        ranked = sorted(zip(self.before, self.after, strict=True), key=lambda pair: pair[0] + pair[1])
        tail = ranked[-max(1, len(ranked) // 100) :] if ranked else [(0.0, 0.0)]
        return sum(b for b, _ in tail) / len(tail), sum(a for _, a in tail) / len(tail)


class WaitSampler(threading.Thread):
    """What the app's busy database sessions wait on, sampled every 10 ms (as the admin role, which sees every
    session's wait event): `IO:WalSync` is a commit waiting for the disk to flush the WAL, `CPU` is none."""

    def __init__(self, admin_url: str) -> None:
        super().__init__(daemon=True)
        self.admin_url = admin_url
        self.samples: Counter[str] = Counter()
        self.longest: dict[str, float] = {}  # wait → the oldest transaction seen waiting on it, in seconds
        self._finished = threading.Event()

    def run(self) -> None:
        with psycopg.connect(libpq_conninfo(self.admin_url), autocommit=True) as conn:
            while not self._finished.wait(0.01):
                for wait, age in conn.execute(
                    "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU'),"
                    " coalesce(extract(epoch FROM clock_timestamp() - xact_start)::float8, 0)"
                    " FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'"
                    " AND state = 'active'",
                    [DATABASE],
                ):
                    self.samples[wait] += 1
                    self.longest[wait] = max(self.longest.get(wait, 0.0), age)

    def finish(self) -> None:
        self._finished.set()
        self.join()


def settled_hits(owner_url: str, podcast_id: str, since: datetime, answered: int, patience: float = 30.0) -> int:
    """The hits stored once the writer is done: each 302 waits for its commit, but a batch spilled while the database
    was slow is only replayed a second or more later, so the count is read until it reaches `answered` or stops
    growing for 5 s."""
    deadline = time.monotonic() + patience
    stored, still_since = stored_since(owner_url, podcast_id, since), time.monotonic()
    while stored < answered and time.monotonic() < deadline and time.monotonic() - still_since < 5:
        time.sleep(0.5)
        now = stored_since(owner_url, podcast_id, since)
        if now != stored:
            stored, still_since = now, time.monotonic()
    return stored


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], int]:
    """`podsponsor serve` on a free port, once /health answers."""
    port = _free_port()
    command = [sys.executable, "-m", "podsponsor.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process, port
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"`podsponsor serve` did not start; see {log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)  # the writer commits (or spills) what is still waiting
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def backends(owner_url: str) -> list[int]:
    """The app's PostgreSQL backends (its runtime role's sessions on the bench database)."""
    with psycopg.connect(libpq_conninfo(owner_url)) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND usename <> current_user", [DATABASE]
        ).fetchall()
    return [row[0] for row in rows]


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def server_warnings(log: Path, skip: int) -> list[str]:
    """Messages at warning or above in the server's JSON log past its first `skip` lines."""
    found = []
    for line in log.read_text(errors="replace").splitlines()[skip:]:
        try:
            entry = json.loads(line)
        except ValueError:
            found.append(line[:200])  # uvicorn's own lines and tracebacks are not JSON
            continue
        if isinstance(entry, dict) and entry.get("level") in {"warning", "error", "critical"}:
            found.append(str(entry.get("msg"))[:200])
    return found


@dataclass
class Cpu:
    """Seconds of CPU used during the measured run."""

    server: float
    database: float
    generator: float


@dataclass
class Outcome:
    load: Load
    stored: int
    commits: int
    cpu: Cpu
    warnings: list[str]
    load_average: tuple[float, float]  # 1-minute, before the warm-up and after the run
    breakdown: Breakdown | None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=1000.0, help="requests per second (fixed arrival rate)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the measured run")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds at the same rate before measuring")
    parser.add_argument("--listeners", type=int, default=20_000, help="distinct listener addresses")
    parser.add_argument("--max-connections", type=int, default=MAX_CONNECTIONS, help="keep-alive pool size cap")
    parser.add_argument("--direct", action="store_true", help="no trusted proxy: every hit from 127.0.0.1")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="number each request in its Referer and cut each latency where the server recorded the hit",
    )
    args = parser.parse_args()
    admin, urls = bench_database(DATABASE)
    data_dir = tempfile.mkdtemp(prefix="podsponsor-bench-load-redirect-")  # the spill, if any, goes with the database
    try:
        outcome = measure(admin, urls.owner, data_dir, args)
    finally:
        bootstrap.drop_database(admin, DATABASE)
        shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(report(outcome, args)))


def measure(admin_url: str, owner_url: str, data_dir: str, args: argparse.Namespace) -> Outcome:
    forwarded = not args.direct
    podcast_id, token = make_show(owner_url)
    warmup = listener_requests(
        token, round(args.rate * args.warmup), forwarded=forwarded, listener_count=args.listeners, seed=3
    )
    measured = listener_requests(
        token,
        round(args.rate * args.seconds),
        forwarded=forwarded,
        listener_count=args.listeners,
        numbered=args.breakdown,
    )
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    log = artifacts / "bench-load-redirect-app.log"
    env = {**os.environ, "PODSPONSOR_ENV": "prod", "PODSPONSOR_DATA_DIR": data_dir}
    if forwarded:
        env["TRUSTED_PROXIES"] = "127.0.0.1/32"
    process, port = serve(env, log)
    load_before = os.getloadavg()[0]
    try:
        generator = Generator("127.0.0.1", port, max_connections=args.max_connections)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(generator.run(warmup, args.rate))
            log_lines = len(log.read_text(errors="replace").splitlines())
            since = datetime.now(UTC)
            database = backends(owner_url)
            before = Cpu(cpu_seconds([process.pid]), cpu_seconds(database), own_cpu())
            waits = WaitSampler(admin_url)
            if args.breakdown:
                waits.start()
            load = runner.run(generator.run(measured, args.rate))
            if args.breakdown:
                waits.finish()
            cpu = Cpu(
                cpu_seconds([process.pid]) - before.server,
                cpu_seconds(database) - before.database,
                own_cpu() - before.generator,
            )
            generator.close()
        load_after = os.getloadavg()[0]
        stored = settled_hits(owner_url, podcast_id, since, load.answered)
        commits = commits_since(owner_url, podcast_id, since)[1]
        breakdown = Breakdown.of(load, arrivals(owner_url, podcast_id, since), waits) if args.breakdown else None
    finally:
        stop(process)
    warnings = server_warnings(log, log_lines)
    return Outcome(load, stored, commits, cpu, warnings, (load_before, load_after), breakdown)


def report(outcome: Outcome, args: argparse.Namespace) -> dict[str, object]:
    """Prints the human table and returns the last line's figures."""
    load, cpu = outcome.load, outcome.cpu
    span = load.finished - load.started
    per_request = 1e6 / max(load.answered, 1)
    where = (
        "direct, every hit from 127.0.0.1" if args.direct else f"behind a trusted proxy, {args.listeners:,} listeners"
    )
    print(f"open-loop load on the prefix redirect: {load.rate:,.0f} req/s for {args.seconds:g} s, {where}")
    print(f"  requests      scheduled {load.scheduled:,}  answered 302 {load.answered:,}  errors {load.errors:,}")
    for kind, count in load.failures.most_common():
        print(f"                {kind}: {count:,}")
    print(f"  achieved      {load.achieved_rate:,.1f} 302/s over {span:.2f} s (first due time to last answer)")
    print("  latency ms    from each request's due time (backlog included)")
    print(
        f"                p50 {load.latency_ms(0.5):7.2f}  p90 {load.latency_ms(0.9):7.2f}"
        f"  p99 {load.latency_ms(0.99):7.2f}  p99.9 {load.latency_ms(0.999):7.2f}  max {load.latency_ms(1):7.2f}"
    )
    print(
        f"  generator lag p50 {load.lag_ms(0.5):7.2f}  p99 {load.lag_ms(0.99):7.2f}  max {load.lag_ms(1):7.2f}"
        f"  (due time to the request's start; {load.connections:,} connections opened)"
    )
    if outcome.breakdown is not None:
        before, after = outcome.breakdown.slowest_share()
        print(
            f"  until the hit was recorded  p50 {_percentile(outcome.breakdown.before, 0.5) * 1000:7.2f}"
            f"  p99 {_percentile(outcome.breakdown.before, 0.99) * 1000:7.2f}  (generator, sockets, server's loop)"
        )
        print(
            f"  from then to the answer     p50 {_percentile(outcome.breakdown.after, 0.5) * 1000:7.2f}"
            f"  p99 {_percentile(outcome.breakdown.after, 0.99) * 1000:7.2f}  (group commit, the answer's way back)"
        )
        print(
            f"  slowest 1%: {before * 1000:.2f} ms before the hit was recorded, {after * 1000:.2f} ms after, on average"
        )
        waits = outcome.breakdown.waits
        seen = ", ".join(
            f"{wait} {count} (longest {waits.longest[wait] * 1000:.0f} ms)"
            for wait, count in waits.samples.most_common(5)
        )
        print(f"  busy database sessions, 10 ms samples: {seen or 'none seen'}")
    lost = load.answered - outcome.stored
    print(f"  hits stored   {outcome.stored:,} for {load.answered:,} answered: lost {lost:,}")
    print(f"  group commits {outcome.commits:,}, {outcome.stored / max(outcome.commits, 1):.1f} hits each on average")
    print(
        f"  CPU           server {cpu.server / span:.0%} of a core ({cpu.server * per_request:.0f} µs/request),"
        f" database backends {cpu.database / span:.0%} ({cpu.database * per_request:.0f} µs/request),"
        f" generator {cpu.generator / span:.0%}"
    )
    print(
        f"  load average  {outcome.load_average[0]:.2f} before, {outcome.load_average[1]:.2f} after (2 cores, shared)"
    )
    print(f"  server log    {len(outcome.warnings)} warnings or errors during the run")
    for message in outcome.warnings[:5]:
        print(f"                {message}")
    return {
        "bench": "load_redirect",
        "rate": load.rate,
        "seconds": args.seconds,
        "achieved_rate": round(load.achieved_rate, 1),
        "p50_ms": round(load.latency_ms(0.5), 2),
        "p90_ms": round(load.latency_ms(0.9), 2),
        "p99_ms": round(load.latency_ms(0.99), 2),
        "max_ms": round(load.latency_ms(1), 2),
        "errors": load.errors,
        "lost": lost,
        "answered": load.answered,
        "stored": outcome.stored,
        "commits": outcome.commits,
        "generator_lag_p99_ms": round(load.lag_ms(0.99), 2),
        "server_cpu_us": round(cpu.server * per_request),
        "database_cpu_us": round(cpu.database * per_request),
        "generator_cpu_share": round(cpu.generator / span, 3),
        "connections": load.connections,
        "server_warnings": len(outcome.warnings),
        "load_average": round(outcome.load_average[1], 2),
    }


if __name__ == "__main__":
    main()
