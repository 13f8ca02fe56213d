"""bench/load_redirect.py kept working: its open-loop generator at a small rate against the test server, every 302 a
stored hit; against a server that falls behind, latency counted from each request's due time; refused connections
counted as errors."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from urllib.parse import urlsplit

from bench.load_redirect import Request, drive, listener_requests, settled_hits

from podsponsor.db.bootstrap import DatabaseUrls
from tests.factories.app_server import free_port
from tests.measurement.test_prefix_redirect import hits, make_show

FOUND = b"HTTP/1.1 302 Found\r\nlocation: https://media.example.com/ep1.mp3\r\ncontent-length: 0\r\n\r\n"


async def test_a_small_open_loop_load_is_answered_and_every_hit_stored(server: str, database: DatabaseUrls) -> None:
    show = make_show(server, "Load Smoke Show")
    address = urlsplit(server)
    assert address.hostname is not None and address.port is not None
    since = datetime.now(UTC)

    load = await drive(address.hostname, address.port, listener_requests(show.token, 100, forwarded=False), 50)

    assert (load.scheduled, load.answered, load.errors) == (100, 100, 0)
    assert len(load.latencies) == len(load.lags) == 100
    # 100 requests due 20 ms apart: the run lasts about 2 s whatever the answers take.
    assert 1.9 < load.finished - load.started < 10
    assert settled_hits(database.owner, show.id, since, load.answered) == 100
    stored = hits(database, show.id)
    assert len({hit["user_agent"] for hit in stored}) > 3
    assert {hit["method"] for hit in stored} <= {"GET", "HEAD"}
    assert len({hit["destination"] for hit in stored}) > 10


async def test_latency_counts_from_the_due_time_when_the_server_falls_behind() -> None:
    """One connection to a server taking 40 ms a request, 50 requests due 20 ms apart: each answer takes 40 ms once
    sent, but request n waits for the n before it, so it is answered about 20n + 40 ms after its due time."""
    busy = asyncio.Lock()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                async with busy:
                    await asyncio.sleep(0.04)
                writer.write(FOUND)
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()

    slow = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = slow.sockets[0].getsockname()[1]
    requests = [Request(b"GET /p/token1234/media.example.com/ep1.mp3 HTTP/1.1\r\nHost: t\r\n\r\n", False)] * 50
    async with slow:
        load = await drive("127.0.0.1", port, requests, 50, max_connections=1)

    assert (load.answered, load.errors, load.connections) == (50, 0, 1)
    assert load.latency_ms(0.5) > 400
    assert load.latency_ms(0.99) > 800
    # The wait for the busy connection is the server's backlog, not the generator's lateness.
    assert load.lag_ms(0.5) < 100


async def test_refused_connections_are_errors() -> None:
    requests = [Request(b"GET /p/token1234/media.example.com/ep1.mp3 HTTP/1.1\r\nHost: t\r\n\r\n", False)] * 5

    load = await drive("127.0.0.1", free_port(), requests, 50)

    assert (load.answered, load.errors) == (0, 5)
    assert load.failures.keys() <= {"ConnectionRefusedError", "OSError"}
