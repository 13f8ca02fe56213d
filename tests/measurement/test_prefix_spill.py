"""No acknowledged hit is lost: the writer spills to disk while the database is away and replays once it is back.

The writer is driven directly against an address where no database answers, then pointed at the real one; and end to
end, a second app process reaches PostgreSQL through a fault proxy (tests/factories/fault_proxy.py) this test cuts
and restores.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from podsponsor.db.bootstrap import DatabaseUrls
from podsponsor.db.tenancy import unscoped_transaction
from podsponsor.db.urls import libpq_conninfo
from podsponsor.measurement import hit_repository
from podsponsor.measurement import service as lists_service
from podsponsor.measurement.hit_models import Hit
from podsponsor.measurement.hit_writer import HitWriter
from podsponsor.measurement.prefix import Prefix
from podsponsor.measurement.spill import SUFFIX, Spill
from tests.conftest import ROOT
from tests.factories.app_server import serve_app
from tests.factories.fault_proxy import FaultProxy
from tests.measurement.reference_data import shared_file
from tests.measurement.test_prefix_redirect import LISTENER, expected_hash, hits, make_show

UNREACHABLE = "host=127.0.0.1 port=1 dbname=nowhere user=nobody"


def _show(database: DatabaseUrls) -> tuple[uuid.UUID, uuid.UUID, str]:
    """(tenant_id, podcast_id, prefix token) of a new show, made directly as the owner."""
    tenant_id, podcast_id = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(libpq_conninfo(database.owner)) as conn:
        conn.execute(
            "INSERT INTO tenants (id, name, slug, kind) VALUES (%s, 'Spill Co', %s, 'creator')",
            [tenant_id, f"spill-{tenant_id.hex[:10]}"],
        )
        row = conn.execute(
            "INSERT INTO podcasts (tenant_id, id, title) VALUES (%s, %s, 'Spilled') RETURNING prefix_token",
            [tenant_id, podcast_id],
        ).fetchone()
    assert row is not None
    return tenant_id, podcast_id, row[0]


def _hit(token: str, show: tuple[uuid.UUID, uuid.UUID] | None, n: int) -> Hit:
    return Hit(
        id=uuid.uuid4(),
        ts=datetime.now(UTC),
        token=token,
        tenant_id=show[0] if show else None,
        podcast_id=show[1] if show else None,
        method="GET",
        url=f"https://prefix.example.com/p/{token}/media.example.com/ep{n}.mp3",
        destination=f"https://media.example.com/ep{n}.mp3",
        range_header=None,
        user_agent="Overcast/3.0",
        referer=None,
        ip_hash=f"{n:064x}",
        country="NZ",
        datacenter=None,
        status=302,
    )


def _writer(conninfo: str, directory: Path, commit_timeout: float = 0.5, probe_interval: float = 0.05) -> HitWriter:
    return HitWriter(conninfo, Spill(directory), commit_timeout=commit_timeout, probe_interval=probe_interval)


def _segments(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*{SUFFIX}"))


async def _until(condition: Callable[[], bool], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def test_hits_spill_while_the_database_is_away_and_are_replayed_exactly_once(
    database: DatabaseUrls, tmp_path: Path
) -> None:
    tenant_id, podcast_id, token = _show(database)
    writer = _writer(UNREACHABLE, tmp_path)
    await writer.start()
    assert not writer.available
    sent = [_hit(token, (tenant_id, podcast_id), n) for n in range(40)]
    await asyncio.gather(*(writer.record(hit) for hit in sent))
    spilled = [line for path in _segments(tmp_path) for line in path.read_text().splitlines()]
    assert len(spilled) == 40, "every acknowledged hit is on disk"
    assert hits(database, str(podcast_id)) == []
    writer.conninfo = libpq_conninfo(database.app)  # the database comes back
    try:
        await _until(lambda: len(hits(database, str(podcast_id))) == 40 and not _segments(tmp_path))
        stored = hits(database, str(podcast_id))
        assert sorted(row["id"] for row in stored) == sorted(hit.id for hit in sent)
        assert {row["tenant_id"] for row in stored} == {tenant_id}
        assert writer.available
        fresh = _hit(token, (tenant_id, podcast_id), 99)
        await writer.record(fresh)
        assert not _segments(tmp_path), "with the database back, hits are committed, not spilled"
        assert len(hits(database, str(podcast_id))) == 41
    finally:
        await writer.stop()


async def test_a_replay_cut_short_does_not_duplicate(database: DatabaseUrls, tmp_path: Path) -> None:
    tenant_id, podcast_id, token = _show(database)
    sent = [_hit(token, (tenant_id, podcast_id), n) for n in range(30)]
    crashed = Spill(tmp_path)
    await asyncio.to_thread(crashed.append, sent)
    crashed.close()  # as the process's exit does: its segment is no longer locked
    # A previous replay committed the first half, then the process died before deleting the segment.
    async with await psycopg.AsyncConnection.connect(libpq_conninfo(database.app), autocommit=True) as conn:
        await hit_repository.insert_hits(conn, sent[:15], replay=True)
    writer = _writer(libpq_conninfo(database.app), tmp_path)
    await writer.start()
    try:
        await _until(lambda: not _segments(tmp_path))
        stored = hits(database, str(podcast_id))
        assert len(stored) == 30
        assert len({row["id"] for row in stored}) == 30
    finally:
        await writer.stop()


async def test_spilled_hits_of_an_unresolved_token_are_resolved_or_dropped_on_replay(
    database: DatabaseUrls, tmp_path: Path
) -> None:
    tenant_id, podcast_id, token = _show(database)
    writer = _writer(UNREACHABLE, tmp_path)
    await writer.start()
    # The show could not be looked up while the database was away: only the token is known.
    await writer.record(_hit(token, None, 1))
    await writer.record(_hit("NoSuchShowToken0", None, 2))
    writer.conninfo = libpq_conninfo(database.app)
    try:
        await _until(lambda: not _segments(tmp_path))
        stored = hits(database, str(podcast_id))
        assert [(row["tenant_id"], row["destination"]) for row in stored] == [
            (tenant_id, "https://media.example.com/ep1.mp3")
        ]
    finally:
        await writer.stop()


async def test_spilled_hits_of_a_tenant_with_measurement_off_are_dropped_on_replay(
    database: DatabaseUrls, db: object, tmp_path: Path
) -> None:
    measured, unmeasured = _show(database), _show(database)
    with psycopg.connect(libpq_conninfo(database.owner)) as conn:
        conn.execute(
            "INSERT INTO feature_flags (tenant_id, id, name, enabled) VALUES (%s, %s, %s, false)",
            [unmeasured[0], uuid.uuid4(), "ENABLE_PREFIX_MEASUREMENT"],
        )
    writer = _writer(UNREACHABLE, tmp_path)
    Prefix(writer)  # the app's resolver: each token's show, with its tenant's flag
    await writer.start()
    # Both tokens were first heard while the database was away, so whether they are measured was not known yet.
    for n, token in enumerate((measured[2], unmeasured[2], "NoSuchShowToken0"), 1):
        await writer.record(_hit(token, None, n))
    assert sum(len(p.read_text().splitlines()) for p in _segments(tmp_path)) == 3
    writer.conninfo = libpq_conninfo(database.app)
    try:
        await _until(lambda: not _segments(tmp_path))
        stored = hits(database, str(measured[1]))
        assert [(row["tenant_id"], row["destination"]) for row in stored] == [
            (measured[0], "https://media.example.com/ep1.mp3")
        ]
        assert hits(database, str(unmeasured[1])) == []
    finally:
        await writer.stop()


async def test_a_database_that_stops_answering_is_timed_out_into_the_spill(
    database: DatabaseUrls, tmp_path: Path
) -> None:
    tenant_id, podcast_id, token = _show(database)
    proxy = FaultProxy(database.app)
    writer = _writer(proxy.conninfo(database.app), tmp_path, commit_timeout=0.3, probe_interval=0.2)
    await writer.start()
    try:
        await writer.record(_hit(token, (tenant_id, podcast_id), 0))
        proxy.blackhole()  # connections stay open, and nothing comes back
        started = time.monotonic()
        await asyncio.gather(*(writer.record(_hit(token, (tenant_id, podcast_id), n)) for n in range(1, 11)))
        assert time.monotonic() - started < 3, "a hanging database must not hang the redirect"
        assert sum(len(p.read_text().splitlines()) for p in _segments(tmp_path)) == 10
        proxy.restore()
        await _until(lambda: len(hits(database, str(podcast_id))) == 11 and not _segments(tmp_path))
    finally:
        proxy.restore()
        await writer.stop()
        proxy.close()


async def test_after_an_outage_the_writer_replaces_its_connections_rather_than_spilling_again(
    database: DatabaseUrls, tmp_path: Path
) -> None:
    tenant_id, podcast_id, token = _show(database)
    show = (tenant_id, podcast_id)
    proxy = FaultProxy(database.app)
    writer = _writer(proxy.conninfo(database.app), tmp_path, probe_interval=0.1)
    await writer.start()
    try:
        for n in range(2):  # a batch on each writer connection: both are open
            await writer.record(_hit(token, show, n))
        proxy.reset()  # they die, and learn it only when next used
        await writer.record(_hit(token, show, 2))
        assert not writer.available and len(_segments(tmp_path)) == 1
        proxy.restore()
        await _until(lambda: writer.available and not _segments(tmp_path))
        await asyncio.gather(*(writer.record(_hit(token, show, n)) for n in (3, 4)))
        assert writer.available and not _segments(tmp_path), "no batch after the return goes to a dead connection"
        assert len(hits(database, str(podcast_id))) == 5
    finally:
        await writer.stop()
        proxy.close()


async def test_nothing_is_acknowledged_when_neither_the_database_nor_the_disk_takes_it(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    writer = _writer(UNREACHABLE, blocked / "spill")
    await writer.start()
    try:
        with pytest.raises(OSError):
            await writer.record(_hit("AnyToken12345678", None, 1))
    finally:
        await writer.stop()


def test_segments_replay_in_the_order_they_were_written(tmp_path: Path) -> None:
    spill = Spill(tmp_path)
    first = [_hit("TokenAAAAAAAAAAA", None, n) for n in range(3)]
    second = [_hit("TokenAAAAAAAAAAA", None, n) for n in range(3, 5)]
    spill.append(first)
    spill.seal()
    spill.append(second)
    spill.seal()
    with (tmp_path / _segments(tmp_path)[0].name).open("a") as torn:
        torn.write('{"id": "cut sho')  # a write a crash cut short: never acknowledged
    replayed = []
    while (segment := spill.claim_next()) is not None:
        replayed += [hit.id for hit in segment.read(100)]
        segment.finish()
    assert replayed == [hit.id for hit in first + second]
    assert not _segments(tmp_path)


def test_a_segment_another_process_is_writing_is_not_replayed(tmp_path: Path) -> None:
    writing = Spill(tmp_path)
    writing.append([_hit("TokenBBBBBBBBBBB", None, 1)])
    assert Spill(tmp_path).claim_next() is None, "the writer holds its segment locked"
    writing.seal()
    segment = Spill(tmp_path).claim_next()
    assert segment is not None
    segment.release()


# --- end to end: an app process whose database path this test cuts --------------------------------------------------


@pytest.fixture(scope="module")
async def datacenter_list(db: object) -> None:
    """The ipcat data-centre ranges, active in the database before the app starts (loading them again is a no-op)."""
    async with unscoped_transaction() as session:
        await lists_service.update_lists(session, [shared_file("datacenters")])


@pytest.fixture(scope="module")
def proxied_app(
    database: DatabaseUrls, datacenter_list: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, FaultProxy]]:
    """The app in its own process, its runtime database URL through the proxy, behind a trusted proxy (us)."""
    proxy = FaultProxy(database.app)
    env = {
        **os.environ,
        "DATABASE_APP_URL": proxy.url(database.app),
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "PODSPONSOR_DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "PREFIX_COMMIT_TIMEOUT_SECONDS": "1",
    }
    with serve_app(env, ROOT / "test-artifacts" / "prefix-server.log") as base:
        yield base, proxy
    proxy.close()


def test_a_trusted_proxy_forwarded_address_is_the_one_hashed(
    proxied_app: tuple[str, FaultProxy], database: DatabaseUrls, server: str
) -> None:
    base, _ = proxied_app
    show = make_show(server, "Behind A Proxy")
    forwarded = ("81.2.69.160", "2a00:1450:4001:81c::1", "2a00:1450:4001:81c::2, 127.0.0.1", "3.0.0.5")
    with httpx.Client(base_url=base, timeout=30) as client:
        for address in (*forwarded, *forwarded):  # the second time round, what is kept of each address
            response = client.get(f"/p/{show.token}/media.example.com/ep.mp3", headers={"X-Forwarded-For": address})
            assert response.status_code == 302
    stored = [(row["ip_hash"], row["country"], row["datacenter"]) for row in hits(database, show.id)]
    # Both IPv6 clients share a /64 (one household): the same listener key. The last one is an AWS address.
    assert stored == 2 * [
        (expected_hash("81.2.69.160"), "GB", None),
        (expected_hash("2a00:1450:4001:81c::"), "IE", None),
        (expected_hash("2a00:1450:4001:81c::"), "IE", None),
        (expected_hash("3.0.0.5"), "US", "Amazon AWS"),
    ]


def test_the_redirect_keeps_answering_with_the_database_cut_and_loses_nothing(
    proxied_app: tuple[str, FaultProxy], database: DatabaseUrls, server: str
) -> None:
    base, proxy = proxied_app
    seen, unseen = make_show(server, "Seen Before"), make_show(server, "First Heard In The Outage")
    with httpx.Client(base_url=base, timeout=30) as client:
        assert client.get(f"/p/{seen.token}/media.example.com/warm.mp3").status_code == 302
        proxy.reset()
        try:

            async def outage() -> list[int]:
                async with httpx.AsyncClient(base_url=base, timeout=30) as burst:
                    responses = await asyncio.gather(
                        *(
                            burst.get(f"/p/{show.token}/media.example.com/ep{n}.mp3", headers=LISTENER)
                            for n in range(30)
                            for show in (seen, unseen)
                        )
                    )
                return [r.status_code for r in responses]

            answered = asyncio.run(outage())
            assert answered == [302] * 60, "the redirect keeps answering while the database is away"
            assert len(hits(database, seen.id)) == 1
            assert hits(database, unseen.id) == []
        finally:
            proxy.restore()
    deadline = datetime.now(UTC) + timedelta(seconds=20)
    while (len(hits(database, seen.id)), len(hits(database, unseen.id))) != (31, 30):
        assert datetime.now(UTC) < deadline, "the spilled hits were not replayed"
        time.sleep(0.1)
    time.sleep(1.5)  # a second replay pass, had there been a duplicate to make
    assert (len(hits(database, seen.id)), len(hits(database, unseen.id))) == (31, 30)
    assert {row["method"] for row in hits(database, unseen.id)} == {"GET"}
