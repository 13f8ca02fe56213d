"""Fixed-window counters: the first hit on a key opens a window of the limit's length; every hit in it counts, and a
hit past the limit is refused until the window ends.

Each hit increments before it is judged, atomically (one Lua script in Redis; no await between read and write in
the process), so fifty concurrent attempts against a limit of five let exactly five through. Keys carry a keyed hash
of who is counted (an address, an e-mail), never the value itself.

With REDIS_URL the counters are shared by every app process. If Redis stops answering, each process counts on its
own until it answers again: a limit is then per process, never lifted.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as redis
from redis.exceptions import RedisError

from podsponsor.hashing import hash_text

log = logging.getLogger(__name__)

# Returns {hits in the window, milliseconds left in it}; the first hit of a window sets its expiry.
HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {count, left}
"""
# Gives a hit back (a sign-in that turned out right), keeping the window's expiry.
UNDO_SCRIPT = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
"""
REDIS_TIMEOUT_SECONDS = 0.5
# How often the in-process counters drop windows that have ended (in hits).
SWEEP_EVERY = 4096
# A Redis outage is logged at most this often per process.
OUTAGE_LOG_SECONDS = 60.0


@dataclass(frozen=True)
class Limit:
    """At most `count` hits per window of `seconds`."""

    count: int
    seconds: float

    @property
    def window_ms(self) -> int:
        return max(1, round(self.seconds * 1000))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    hits: int
    limit: int
    # Seconds until the window ends: when a refused caller may try again.
    retry_after: int


ALWAYS = Decision(allowed=True, hits=0, limit=0, retry_after=0)


class Backend(Protocol):
    async def hit(self, key: str, window_ms: int) -> tuple[int, int]:
        """Count one hit; (hits in the window including this one, milliseconds left in the window)."""
        ...

    async def undo(self, key: str) -> None: ...

    async def clear(self, key: str) -> None: ...

    async def close(self) -> None: ...


class MemoryBackend:
    """Counters in this process (one uvicorn worker): no await happens between reading and writing a counter."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[int, float]] = {}
        self._since_sweep = 0

    async def hit(self, key: str, window_ms: int) -> tuple[int, int]:
        now = self._clock()
        self._sweep(now)
        count, ends = self._windows.get(key, (0, 0.0))
        if ends <= now:
            count, ends = 0, now + window_ms / 1000
        self._windows[key] = (count + 1, ends)
        return count + 1, max(1, math.ceil((ends - now) * 1000))

    async def undo(self, key: str) -> None:
        count, ends = self._windows.get(key, (0, 0.0))
        if count > 0 and ends > self._clock():
            self._windows[key] = (count - 1, ends)

    async def clear(self, key: str) -> None:
        self._windows.pop(key, None)

    async def close(self) -> None:
        self._windows.clear()

    def _sweep(self, now: float) -> None:
        self._since_sweep += 1
        if self._since_sweep < SWEEP_EVERY:
            return
        self._since_sweep = 0
        for key in [key for key, (_, ends) in self._windows.items() if ends <= now]:
            del self._windows[key]


class RedisBackend:
    """Counters in Redis, shared by every process that uses the same URL and key prefix."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        self._hit = self.client.register_script(HIT_SCRIPT)
        self._undo = self.client.register_script(UNDO_SCRIPT)

    async def hit(self, key: str, window_ms: int) -> tuple[int, int]:
        count, left = await self._hit(keys=[key], args=[window_ms])
        return int(count), int(left)

    async def undo(self, key: str) -> None:
        await self._undo(keys=[key])

    async def clear(self, key: str) -> None:
        await self.client.delete(key)

    async def close(self) -> None:
        await self.client.aclose()


def keyed_hash(identity: str) -> str:
    """The default way a counted identity enters a key: the deployment's keyed hash, shortened."""
    return hash_text(identity)[:32]


class RateLimiter:
    """Named limits over one backend. A name whose limit is None (switched off) allows everything."""

    def __init__(
        self,
        limits: Mapping[str, Limit | None],
        backend: Backend,
        *,
        prefix: str = "podsponsor:",
        keyer: Callable[[str], str] = keyed_hash,
    ) -> None:
        self.limits = dict(limits)
        self.backend = backend
        self.prefix = prefix
        self._keyer = keyer
        self._local = backend if isinstance(backend, MemoryBackend) else MemoryBackend()
        self._outage_logged = -OUTAGE_LOG_SECONDS

    @property
    def shared(self) -> bool:
        return not isinstance(self.backend, MemoryBackend)

    def key(self, name: str, identity: str) -> str:
        return f"{self.prefix}rl:{name}:{self._keyer(identity)}"

    async def hit(self, name: str, identity: str) -> Decision:
        limit = self.limits.get(name)
        if limit is None:
            return ALWAYS
        key = self.key(name, identity)
        try:
            hits, left_ms = await self.backend.hit(key, limit.window_ms)
        except (RedisError, OSError) as exc:
            self._outage(exc)
            hits, left_ms = await self._local.hit(key, limit.window_ms)
        allowed = hits <= limit.count
        retry_after = 0 if allowed else max(1, math.ceil(left_ms / 1000))
        return Decision(allowed=allowed, hits=hits, limit=limit.count, retry_after=retry_after)

    async def undo(self, name: str, identity: str) -> None:
        """Give back one hit: the attempt it counted turned out to be no threat (a right password)."""
        if self.limits.get(name) is None:
            return
        key = self.key(name, identity)
        try:
            await self.backend.undo(key)
        except (RedisError, OSError) as exc:
            self._outage(exc)
            await self._local.undo(key)

    async def clear(self, name: str, identity: str) -> None:
        """Forget every hit of this window (a successful sign-in clears its account's failures)."""
        if self.limits.get(name) is None:
            return
        key = self.key(name, identity)
        try:
            await self.backend.clear(key)
        except (RedisError, OSError) as exc:
            self._outage(exc)
        await self._local.clear(key)

    async def close(self) -> None:
        await self.backend.close()
        if self._local is not self.backend:
            await self._local.close()

    def _outage(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._outage_logged >= OUTAGE_LOG_SECONDS:
            self._outage_logged = now
            log.warning("rate limits counted in this process: Redis did not answer (%s)", type(exc).__name__)
