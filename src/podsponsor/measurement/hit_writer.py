"""Group commit for prefix hits: many concurrent requests, one transaction, and an answer only once it is durable.

A request hands its hit to `record` and waits. One writer task takes everything waiting (up to `batch_rows`;
lingering `batch_wait` for more when the batch is small and no other batch is in flight) and commits it in one
transaction; while that commit runs, the next batch gathers, and with `connections` > 1 it is sent on another
connection without waiting for the first commit (their WAL flushes then overlap). Each request is released when its
batch is committed — or, when the database is away (a connection error or a commit slower than `commit_timeout`),
once the batch is fsynced to the spill file. A maintenance task probes the database while it is away, replays the
spill in order when it is back, and keeps day partitions created ahead. Only if both the database and the spill fail
is the request told so (it answers 503): nothing is acknowledged that is not durable. Hits recorded before their
show was known pass through `resolve` (when set) before they are stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import make_conninfo

from podsponsor.measurement import hit_repository as repository
from podsponsor.measurement.hit_models import Hit
from podsponsor.measurement.spill import Segment, Spill

log = logging.getLogger(__name__)

# What "the database is away" looks like: it refused or dropped the connection, or did not answer in time.
UNREACHABLE = (psycopg.OperationalError, psycopg.InterfaceError, TimeoutError, OSError)
DAYS_AHEAD = 2
MAINTENANCE = "maintenance"
# A TCP peer that vanished is noticed by the kernel within seconds, not the default two hours.
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3}
T = TypeVar("T")
Resolver = Callable[[list[Hit]], Awaitable[list[Hit]]]


class HitWriter:
    def __init__(
        self,
        conninfo: str,
        spill: Spill,
        *,
        batch_rows: int = 500,
        batch_wait: float = 0.001,
        connections: int = 2,
        commit_timeout: float = 2.0,
        probe_interval: float = 1.0,
        replay_rows: int = 2000,
    ) -> None:
        self.conninfo = conninfo
        self.spill = spill
        self.batch_rows = batch_rows
        self.batch_wait = batch_wait
        self.commit_timeout = commit_timeout
        self.probe_interval = probe_interval
        self.replay_rows = replay_rows
        self.available = True
        # Fills in the show of hits that have none and leaves out those not to be stored; None leaves it to storing.
        self.resolve: Resolver | None = None
        self._queue: list[tuple[Hit, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._days: set[date] = set()
        self._conns: dict[str, AsyncConnection | None] = {MAINTENANCE: None}
        self._free: asyncio.Queue[str] = asyncio.Queue()
        for n in range(connections):
            self._conns[f"writer-{n}"] = None
            self._free.put_nowait(f"writer-{n}")
        self._tasks: list[asyncio.Task[None]] = []
        self._flushing: set[asyncio.Task[None]] = set()
        self._abandoned: set[asyncio.Future[Any]] = set()
        self._stopping = False
        # Outages seen, and in which one each slot's connection was opened: one opened before the last outage may
        # be dead without knowing it (a reset arrives only when it is next used), so it is replaced instead of tried.
        self._outages = 0
        self._opened: dict[str, int] = {}

    async def start(self) -> None:
        try:
            await self._on(MAINTENANCE, self._keep_partitions_ahead)
        except UNREACHABLE as exc:
            self._mark_unavailable(exc)
            await self._discard(MAINTENANCE)
        self._tasks = [asyncio.create_task(self._write_loop()), asyncio.create_task(self._maintain_loop())]

    async def stop(self) -> None:
        """Commit (or spill) whatever is still waiting, then close."""
        self._stopping = True
        self._wake.set()
        writer, maintenance = self._tasks
        await writer
        await asyncio.gather(*self._flushing)
        maintenance.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await maintenance
        for slot in self._conns:
            await self._discard(slot)
        await asyncio.to_thread(self.spill.close)

    async def record(self, hit: Hit) -> None:
        """Returns once `hit` is committed or spilled; raises OSError when it could be neither."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((hit, future))
        self._wake.set()
        await future

    async def _write_loop(self) -> None:
        while not (self._stopping and not self._queue):
            await self._wake.wait()
            slot = await self._free.get()
            # Linger only when no batch is in flight: otherwise this one goes at once and commits while the next
            # gathers (one batch of every waiting request left the server idle for each commit, the database for
            # the rest of the time).
            if self.batch_wait and not self._flushing and 0 < len(self._queue) < self.batch_rows and not self._stopping:
                await asyncio.sleep(self.batch_wait)
            batch = self._take()
            if not batch:
                self._free.put_nowait(slot)
                continue
            task = asyncio.create_task(self._flush(batch, slot))
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)

    def _take(self) -> list[tuple[Hit, asyncio.Future[None]]]:
        batch, self._queue = self._queue[: self.batch_rows], self._queue[self.batch_rows :]
        if not self._queue and not self._stopping:
            self._wake.clear()
        return batch

    async def _flush(self, batch: list[tuple[Hit, asyncio.Future[None]]], slot: str) -> None:
        failure: Exception | None = None
        try:
            await self._settle([hit for hit, _ in batch], slot)
        except Exception as exc:  # the waiting requests fail (503, 500): nothing is acknowledged that is not durable
            log.exception("hits could be neither committed nor spilled; their requests fail")
            failure = exc
        for _, future in batch:
            if not future.done():
                future.set_result(None) if failure is None else future.set_exception(failure)

    async def _settle(self, hits: list[Hit], slot: str) -> None:
        try:
            committed = await self._commit(hits, slot)
        finally:
            self._free.put_nowait(slot)
        if not committed:
            await asyncio.to_thread(self.spill.append, hits)

    async def _commit(self, hits: list[Hit], slot: str) -> bool:
        """True when committed. False sends the batch to the spill: the database is away, or it refused the batch
        (the replay then sets the batch aside for inspection if it is refused again)."""
        if not self.available:
            return False
        try:
            await self._on(slot, partial(self._store, hits=hits))
        except UNREACHABLE as exc:
            self._mark_unavailable(exc)
            await self._discard(slot)
            return False
        except Exception:
            log.exception("storing a batch of %d hits failed; it goes to the spill", len(hits))
            await self._discard(slot)
            return False
        return True

    async def _store(self, conn: AsyncConnection, hits: list[Hit], replay: bool = False) -> None:
        if self.resolve is not None and any(hit.tenant_id is None for hit in hits):
            hits = await self.resolve(hits)
            if not hits:
                return
        first = min(hit.ts for hit in hits).astimezone(UTC).date()
        last = max(hit.ts for hit in hits).astimezone(UTC).date()
        days = {first + timedelta(days=n) for n in range((last - first).days + 1)}
        if not days <= self._days:
            await repository.ensure_partitions(conn, first, last)
            self._days |= days
        unknown = await repository.insert_hits(conn, hits, replay=replay)
        if unknown:
            log.warning("dropped %d hits whose prefix token matches no show", len(unknown))

    async def _maintain_loop(self) -> None:
        while True:
            await asyncio.sleep(self.probe_interval)
            try:
                await self._maintain()
            except UNREACHABLE as exc:
                self._mark_unavailable(exc)
                await self._discard(MAINTENANCE)
            except Exception:
                log.exception("prefix hit maintenance failed; retrying")
                await self._discard(MAINTENANCE)

    async def _maintain(self) -> None:
        await self._on(MAINTENANCE, repository.ping)
        if not self.available:
            log.warning("the database answers again: hits are stored directly and the spill is replayed")
            self.available = True
        await self._on(MAINTENANCE, self._keep_partitions_ahead)
        if await asyncio.to_thread(self.spill.pending):
            await asyncio.to_thread(self.spill.seal)
            await self._replay()

    async def _keep_partitions_ahead(self, conn: AsyncConnection) -> None:
        today = datetime.now(UTC).date()
        wanted = {today + timedelta(days=n) for n in range(-1, DAYS_AHEAD + 1)}
        if not wanted <= self._days:
            await repository.ensure_partitions(conn, min(wanted), max(wanted))
            self._days |= wanted

    async def _replay(self) -> None:
        while (segment := await asyncio.to_thread(self.spill.claim_next)) is not None:
            try:
                replayed = await self._replay_segment(segment)
            except UNREACHABLE:
                await asyncio.to_thread(segment.release)
                raise
            except psycopg.Error:
                target = await asyncio.to_thread(segment.reject)
                log.exception("the database refuses spilled hits; the segment is set aside at %s", target)
                continue
            await asyncio.to_thread(segment.finish)
            log.warning("replayed %d spilled hits from %s", replayed, segment.path.name)

    async def _replay_segment(self, segment: Segment) -> int:
        replayed = 0
        while hits := await asyncio.to_thread(segment.read, self.replay_rows):
            await self._on(MAINTENANCE, partial(self._store, hits=hits, replay=True), patience=5)
            replayed += len(hits)
        if segment.skipped:
            log.warning("%s had %d unreadable lines (a write cut short)", segment.path.name, segment.skipped)
        return replayed

    async def _on(self, slot: str, operation: Callable[[AsyncConnection], Awaitable[T]], patience: float = 1) -> T:
        """`operation` on the slot's connection, given `commit_timeout` times `patience` seconds. Past that, the
        connection is abandoned to finish or fail in the background (psycopg's own cancellation would wait up to
        10 s more for a server that may never answer) and TimeoutError says the outcome is unknown: callers spill,
        and the replay's inserts are idempotent."""
        conn = await self._connection(slot)
        task = asyncio.ensure_future(operation(conn))
        done, _ = await asyncio.wait({task}, timeout=self.commit_timeout * patience)
        if task in done:
            return task.result()
        self._conns[slot] = None
        self._abandoned.add(task)
        task.add_done_callback(lambda finished: self._close_abandoned(finished, conn))
        raise TimeoutError(f"no answer from the database within {self.commit_timeout * patience:.1f} s")

    def _close_abandoned(self, task: asyncio.Future[Any], conn: AsyncConnection) -> None:
        self._abandoned.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: its outcome no longer matters
        closing = asyncio.ensure_future(conn.close())
        self._abandoned.add(closing)
        closing.add_done_callback(self._abandoned.discard)

    async def _connection(self, slot: str) -> AsyncConnection:
        current = self._conns[slot]
        if current is not None and not current.closed:
            if self._opened[slot] == self._outages:
                return current
            await self._discard(slot)
        conninfo = make_conninfo(self.conninfo, connect_timeout=max(1, round(self.commit_timeout)), **KEEPALIVE)
        conn = await asyncio.wait_for(AsyncConnection.connect(conninfo, autocommit=True), self.commit_timeout)
        self._conns[slot], self._opened[slot] = conn, self._outages
        return conn

    async def _discard(self, slot: str) -> None:
        conn, self._conns[slot] = self._conns[slot], None
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 1)

    def _mark_unavailable(self, exc: BaseException) -> None:
        if self.available:
            log.warning("the database is unreachable (%s): hits go to the spill file", type(exc).__name__)
            self._outages += 1
        self.available = False
