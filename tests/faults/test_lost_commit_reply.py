"""A money-bearing create whose COMMIT reached the database but whose reply was lost: the app cannot know the outcome,
answers 503 (retry) at once rather than hang, and the client's retry with the same Idempotency-Key gets the object the
first attempt created; the database holds exactly one.

The app runs in a process of its own (nothing else commits through its proxy), and the proxy loses the reply of the
next COMMIT of a transaction that stored an idempotency key: the create's own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from podsponsor.db.urls import libpq_conninfo
from tests.attribution.world import add_source, add_sponsor
from tests.bookings.booking_world import add_deal, add_show, io_body, post_io
from tests.factories.fault_proxy import FaultProxy
from tests.factories.identity import Tenant, make_tenant
from tests.faults.conftest import Cluster, app_process

CREATE = b"INSERT INTO idempotency_keys"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def proxied(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FaultProxy]]:
    proxy = FaultProxy(cluster.urls.app)
    try:
        with app_process(cluster, tmp_path_factory.mktemp("data"), "faults-lost-commit.log", proxy) as base:
            yield base, proxy
    finally:
        proxy.close()


@pytest.fixture(scope="module")
def tenant(proxied: tuple[str, FaultProxy]) -> Tenant:
    return make_tenant(proxied[0])


def count(cluster: Cluster, sql: str, *params: object) -> int:
    """Rows as the owner role sees them (past row-level security)."""
    with psycopg.connect(libpq_conninfo(cluster.urls.owner)) as conn:
        row = conn.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def assert_try_again(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.headers["retry-after"]
    assert response.json()["type"] == "https://podsponsor.dev/problems/database-unavailable"


def retried(api: httpx.Client, send: Any, proxy: FaultProxy) -> tuple[httpx.Response, httpx.Response]:
    """The first attempt with its COMMIT reply lost, then the retry: (first, retry)."""
    lost = proxy.lose_next_commit_reply(after=CREATE)
    first = send()
    assert lost.is_set(), "the proxy saw no COMMIT of a create"
    return first, send()


def test_an_io_whose_commit_reply_was_lost_is_booked_once_and_the_retry_gets_it(
    proxied: tuple[str, FaultProxy], tenant: Tenant, cluster: Cluster
) -> None:
    _, proxy = proxied
    with tenant.client() as owner:
        body = io_body(add_show(owner), add_deal(owner))
        key = str(uuid.uuid4())
        first, retry = retried(owner, lambda: post_io(owner, body, key), proxy)
    assert_try_again(first)
    assert retry.status_code == 201, retry.text
    assert retry.headers["idempotent-replayed"] == "true", "the retry answers what the first attempt created"
    booked = "SELECT count(*) FROM insertion_orders WHERE tenant_id = %s AND campaign_id = %s"
    assert count(cluster, booked, tenant.id, body["campaign_id"]) == 1
    assert count(cluster, "SELECT count(*) FROM insertion_orders WHERE id = %s", retry.json()["id"]) == 1
    assert (
        count(cluster, "SELECT count(*) FROM idempotency_keys WHERE tenant_id = %s AND key = %s", tenant.id, key) == 1
    )


def test_a_conversion_whose_commit_reply_was_lost_is_recorded_once_and_the_retry_gets_it(
    proxied: tuple[str, FaultProxy], tenant: Tenant, cluster: Cluster
) -> None:
    _, proxy = proxied
    with tenant.client() as owner:
        source = add_source(owner, add_sponsor(owner), "api")
        body = {
            "source_id": source["id"],
            "order_id": f"ORD-{uuid.uuid4().hex[:8]}",
            "occurred_at": "2026-03-02T14:30:00+01:00",
            "value": "49.99",
            "currency": "usd",
        }
        key = str(uuid.uuid4())
        first, retry = retried(
            owner, lambda: owner.post("/api/v1/conversions", json=body, headers={"Idempotency-Key": key}), proxy
        )
    assert_try_again(first)
    assert retry.status_code == 201, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    assert count(cluster, "SELECT count(*) FROM conversions WHERE source_id = %s", source["id"]) == 1
    assert count(cluster, "SELECT count(*) FROM conversions WHERE id = %s", retry.json()["id"]) == 1
    assert count(cluster, "SELECT events_received FROM conversion_sources WHERE id = %s", source["id"]) == 1
