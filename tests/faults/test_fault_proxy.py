"""The fault proxy does to a PostgreSQL client what each fault says, and passes everything through once restored."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest

from podsponsor.db.urls import libpq_conninfo
from tests.factories.fault_proxy import FaultProxy
from tests.faults.conftest import Cluster


@pytest.fixture
def proxy(cluster: Cluster) -> Iterator[FaultProxy]:
    proxied = FaultProxy(cluster.admin)
    yield proxied
    proxied.close()


def connect(proxy: FaultProxy, cluster: Cluster, **options: object) -> psycopg.Connection:
    return psycopg.connect(proxy.conninfo(cluster.admin), connect_timeout=2, **options)  # type: ignore[arg-type]


def test_latency_delays_every_round_trip_and_restore_removes_it(proxy: FaultProxy, cluster: Cluster) -> None:
    with connect(proxy, cluster, autocommit=True) as conn:
        proxy.latency(0.3)
        started = time.monotonic()
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert time.monotonic() - started >= 0.6, "0.3 s each way"
        proxy.restore()
        assert conn.execute("SELECT 2").fetchone() == (2,)


def test_a_blackhole_leaves_clients_to_their_own_timeouts_and_restore_delivers_again(
    proxy: FaultProxy, cluster: Cluster
) -> None:
    with connect(proxy, cluster, autocommit=True) as conn:
        proxy.blackhole()
        with pytest.raises(psycopg.errors.ConnectionTimeout):
            connect(proxy, cluster)
        proxy.restore()
        assert conn.execute("SELECT 1").fetchone() == (1,), "an open connection outlives the blackhole"


def test_a_reset_breaks_open_connections_and_refuses_new_ones_until_restored(
    proxy: FaultProxy, cluster: Cluster
) -> None:
    conn = connect(proxy, cluster, autocommit=True)
    proxy.reset()
    with pytest.raises(psycopg.OperationalError):
        conn.execute("SELECT 1")
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError):
        connect(proxy, cluster)
    assert time.monotonic() - started < 2, "refused at once, not timed out"
    proxy.restore()
    with connect(proxy, cluster) as fresh:
        assert fresh.execute("SELECT 1").fetchone() == (1,)


def test_a_lost_commit_reply_is_the_marked_transactions_and_the_commit_took_effect(
    proxy: FaultProxy, cluster: Cluster
) -> None:
    with psycopg.connect(libpq_conninfo(cluster.admin), autocommit=True) as direct:
        direct.execute("DROP TABLE IF EXISTS proxied_commits; CREATE TABLE proxied_commits (x int)")
    with connect(proxy, cluster) as conn:
        conn.execute("INSERT INTO proxied_commits VALUES (%s)", [1], prepare=True)
        conn.commit()
        lost = proxy.lose_next_commit_reply(after=b"INSERT INTO proxied_commits")
        conn.execute("SELECT 1")
        conn.commit()  # not a marked transaction: its reply arrives
        assert not lost.is_set()
        # Prepared in the first transaction, the statement is now sent by name only: still recognised.
        conn.execute("INSERT INTO proxied_commits VALUES (%s)", [2], prepare=True)
        with pytest.raises(psycopg.OperationalError):
            conn.commit()
    assert lost.is_set()
    with psycopg.connect(libpq_conninfo(cluster.admin), autocommit=True) as direct:
        assert direct.execute("SELECT x FROM proxied_commits ORDER BY x").fetchall() == [(1,), (2,)]
        direct.execute("DROP TABLE proxied_commits")
