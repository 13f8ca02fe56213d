"""Open-loop load on the prefix redirect while a fault plays out, and what the fault tests measure of it.

The requests and the generator are bench/load_redirect.py's: request n is due at start + n / RATE whatever the server
answers, and its latency counts from that due time. RATE is low because the 2-core CI machine runs the generator, the
app and PostgreSQL together; what is tested is that every request is answered and every answer's hit is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import httpx
import psycopg
from bench.load_redirect import Generator, Load, listener_requests

from podsponsor.db.urls import libpq_conninfo
from podsponsor.measurement.spill import REJECTED, SUFFIX

RATE = 150.0
RECOVERY_DEADLINE = 10.0  # seconds from the database's return until hits are stored again
SETTLE_DEADLINE = 60.0  # for the spill to be replayed once the load is over
T = TypeVar("T")


@dataclass
class Fault:
    """When a fault began and ended (perf_counter), and how long until hits were stored again after it ended."""

    began: float
    ended: float
    recovery: float | None  # None: not within RECOVERY_DEADLINE


async def under_load(base: str, token: str, seconds: float, fault: Awaitable[T]) -> tuple[Load, T]:
    """RATE requests a second for `seconds` on the show of `token`, while `fault` runs."""
    address = urlsplit(base)
    assert address.hostname and address.port
    requests = listener_requests(token, round(RATE * seconds), forwarded=True, listener_count=2_000)
    generator = Generator(address.hostname, address.port, max_connections=256)
    loading = asyncio.ensure_future(generator.run(requests, RATE))
    try:
        outcome = await fault
        return await loading, outcome
    finally:
        if not loading.done():  # the fault failed: stop sending
            loading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loading
        generator.close()


async def stored_after(
    owner_url: str, podcast_id: str, since: datetime, within: float = RECOVERY_DEADLINE
) -> float | None:
    """Seconds until a hit recorded after `since` is stored for the show, or None when none is within `within`. A
    connection per look: the database may still be on its way back."""
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < within:
        try:
            async with await psycopg.AsyncConnection.connect(
                libpq_conninfo(owner_url), autocommit=True, connect_timeout=2
            ) as conn:
                cursor = await conn.execute(
                    "SELECT 1 FROM download_requests WHERE podcast_id = %s AND ts > %s LIMIT 1", [podcast_id, since]
                )
                if await cursor.fetchone():
                    return elapsed
        except psycopg.OperationalError:
            pass
        await asyncio.sleep(0.1)
    return None


def stored(owner_url: str, podcast_id: str) -> int:
    with psycopg.connect(libpq_conninfo(owner_url)) as conn:
        row = conn.execute("SELECT count(*) FROM download_requests WHERE podcast_id = %s", [podcast_id]).fetchone()
    return int(row[0]) if row else 0


def spilled(data_dir: Path) -> list[Path]:
    """Segments waiting for replay, across the app's spill directories."""
    return sorted((data_dir / "spill").glob(f"*/*{SUFFIX}"))


def set_aside(data_dir: Path) -> list[Path]:
    """Segments the replay refused (kept for inspection: hits not stored)."""
    return sorted((data_dir / "spill").glob(f"*/{REJECTED}/*"))


async def settled(owner_url: str, podcast_id: str, data_dir: Path, answered: int) -> int:
    """The show's stored hits once the spill is replayed: read until the spill is empty and every answered hit is
    in, or SETTLE_DEADLINE passes."""
    deadline = time.monotonic() + SETTLE_DEADLINE
    while True:
        count = await asyncio.to_thread(stored, owner_url, podcast_id)
        if (count >= answered and not spilled(data_dir)) or time.monotonic() > deadline:
            return count
        await asyncio.sleep(0.25)


async def ready_after(base: str, within: float = RECOVERY_DEADLINE) -> float | None:
    """Seconds until /ready answers 200 (the API's connection pool reaches the database again), or None."""
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        while (elapsed := time.monotonic() - started) < within:
            try:
                if (await client.get("/ready")).status_code == 200:
                    return elapsed
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    return None


def latencies_ms(load: Load, began: float, ended: float) -> tuple[list[float], list[float]]:
    """Each answered request's latency (from its due time), split by whether it was due during [began, ended]."""
    during: list[float] = []
    outside: list[float] = []
    for n, answered_at in load.answered_at.items():
        due = load.started + n / load.rate
        (during if began <= due <= ended else outside).append((answered_at - due) * 1000)
    return during, outside


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else 0.0


def report(name: str, load: Load, stored_hits: int, fault: Fault, **more: object) -> None:
    """The run's figures, printed as one JSON line (pytest -s shows it)."""
    during, outside = latencies_ms(load, fault.began, fault.ended)
    figures: dict[str, object] = {
        "fault": name,
        "rate": load.rate,
        "scheduled": load.scheduled,
        "answered": load.answered,
        "stored": stored_hits,
        "errors": load.errors,
        "failures": dict(load.failures),
        "fault_seconds": round(fault.ended - fault.began, 1),
        "p50_ms_during": percentile(during, 0.5),
        "p99_ms_during": percentile(during, 0.99),
        "p50_ms_outside": percentile(outside, 0.5),
        "p99_ms_outside": percentile(outside, 0.99),
        "recovery_s": None if fault.recovery is None else round(fault.recovery, 2),
        **more,
    }
    print(json.dumps(figures))


def now() -> datetime:
    return datetime.now(UTC)
