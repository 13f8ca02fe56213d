"""The rate limiter's two backends, proven alike: the limit, the window's end, concurrent hits, giving hits back.

The Redis backend runs against the machine's Redis (db 15). If that Redis does not answer, these tests fail: they
never skip, so a green run means the shared counters really were exercised.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as redis

from podsponsor.ratelimit.limiter import Backend, Limit, MemoryBackend, RateLimiter, RedisBackend

REDIS_URL = "redis://127.0.0.1:6379/15"
LIMITS = {"five": Limit(5, 60), "brief": Limit(3, 0.5), "off": None}


@pytest.fixture
async def redis_client() -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    assert await client.ping(), f"no Redis answers at {REDIS_URL}"
    yield client
    await client.aclose()


@pytest.fixture
def prefix(redis_client: redis.Redis) -> str:
    # Each test's own keys, so concurrent test runs sharing this Redis never meet.
    return f"test:{uuid.uuid4().hex}:"


@pytest.fixture(params=["memory", "redis"])
async def make_limiter(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[Callable[[], RateLimiter]]:
    """Limiters over one shared store: for Redis, each its own client, as two app processes would have."""
    made: list[RateLimiter] = []
    memory = MemoryBackend()

    def make() -> RateLimiter:
        backend: Backend = memory if request.param == "memory" else RedisBackend(REDIS_URL)
        limiter = RateLimiter(LIMITS, backend, prefix=prefix, keyer=lambda identity: identity)
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        await limiter.close()


async def test_the_limit_allows_exactly_its_count_then_says_when_to_retry(make_limiter) -> None:
    limiter = make_limiter()
    decisions = [await limiter.hit("five", "203.0.113.9") for _ in range(7)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 2
    assert [d.hits for d in decisions] == [1, 2, 3, 4, 5, 6, 7]
    assert all(d.retry_after == 0 for d in decisions[:5])
    assert all(0 < d.retry_after <= 60 for d in decisions[5:])
    # Another identity has its own window.
    assert (await limiter.hit("five", "198.51.100.7")).allowed


async def test_a_new_window_starts_when_the_last_one_ends(make_limiter) -> None:
    limiter = make_limiter()
    assert [(await limiter.hit("brief", "a")).allowed for _ in range(4)] == [True, True, True, False]
    await asyncio.sleep(0.6)
    fresh = await limiter.hit("brief", "a")
    assert fresh.allowed and fresh.hits == 1


async def test_fifty_concurrent_hits_let_exactly_the_limit_through(make_limiter) -> None:
    limiter = make_limiter()
    decisions = await asyncio.gather(*(limiter.hit("five", "burst") for _ in range(50)))
    assert sum(d.allowed for d in decisions) == 5
    assert sorted(d.hits for d in decisions) == list(range(1, 51))


async def test_two_processes_share_one_count(make_limiter) -> None:
    first, second = make_limiter(), make_limiter()
    decisions = await asyncio.gather(*(limiter.hit("five", "shared") for limiter in (first, second) * 25))
    assert sum(d.allowed for d in decisions) == 5


async def test_a_hit_given_back_frees_its_place_and_clearing_forgets_the_window(make_limiter) -> None:
    limiter = make_limiter()
    for _ in range(5):
        await limiter.hit("five", "k")
    await limiter.undo("five", "k")
    assert (await limiter.hit("five", "k")).allowed
    assert not (await limiter.hit("five", "k")).allowed
    await limiter.clear("five", "k")
    assert (await limiter.hit("five", "k")).hits == 1
    # Giving back more than was taken never goes below an empty window.
    await limiter.clear("five", "k")
    for _ in range(3):
        await limiter.undo("five", "k")
    assert [(await limiter.hit("five", "k")).allowed for _ in range(6)] == [True] * 5 + [False]


async def test_a_limit_switched_off_allows_everything(make_limiter) -> None:
    limiter = make_limiter()
    assert all([(await limiter.hit("off", "x")).allowed for _ in range(100)])


async def test_redis_holds_the_counter_with_the_window_as_its_expiry(redis_client: redis.Redis, prefix: str) -> None:
    limiter = RateLimiter(LIMITS, RedisBackend(REDIS_URL), prefix=prefix, keyer=lambda identity: identity)
    try:
        for _ in range(3):
            await limiter.hit("five", "203.0.113.9")
        key = limiter.key("five", "203.0.113.9")
        assert key == f"{prefix}rl:five:203.0.113.9"
        assert int(await redis_client.get(key)) == 3
        assert 0 < await redis_client.pttl(key) <= 60_000
    finally:
        await limiter.close()


async def test_keys_name_a_keyed_hash_never_the_address(settings, redis_client: redis.Redis, prefix: str) -> None:
    limiter = RateLimiter(LIMITS, RedisBackend(REDIS_URL), prefix=prefix)
    try:
        await limiter.hit("five", "203.0.113.9")
        keys = [key.decode() async for key in redis_client.scan_iter(match=f"{prefix}*")]
        assert len(keys) == 1 and "203.0.113" not in keys[0]
    finally:
        await limiter.close()


async def test_when_redis_stops_answering_each_process_still_limits() -> None:
    # Nothing listens on port 1: every Redis call fails at once.
    limiter = RateLimiter(LIMITS, RedisBackend("redis://127.0.0.1:1/0"), keyer=lambda identity: identity)
    try:
        decisions = [await limiter.hit("five", "203.0.113.9") for _ in range(6)]
        assert [d.allowed for d in decisions] == [True] * 5 + [False]
        await limiter.clear("five", "203.0.113.9")
        assert (await limiter.hit("five", "203.0.113.9")).allowed
    finally:
        await limiter.close()
