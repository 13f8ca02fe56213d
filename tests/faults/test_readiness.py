"""A database that accepts connections and never answers: the readiness probe still answers, 503 within seconds, and
the API is ready again once the database answers."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from podsponsor.observability.service import READY_TIMEOUT_SECONDS
from tests.factories.fault_proxy import FaultProxy
from tests.faults.conftest import Cluster, app_process
from tests.faults.redirect_load import ready_after


@pytest.fixture(scope="module")
def blackholed(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FaultProxy]]:
    proxy = FaultProxy(cluster.urls.app)
    try:
        with app_process(cluster, tmp_path_factory.mktemp("ready"), "faults-ready.log", proxy) as base:
            yield base, proxy
    finally:
        proxy.close()


async def _probe(client: httpx.AsyncClient) -> tuple[int, float, dict[str, str]]:
    started = time.monotonic()
    response = await client.get("/ready")
    return response.status_code, time.monotonic() - started, response.json()


async def test_readiness_answers_503_while_the_database_is_silent_and_200_once_it_is_back(
    blackholed: tuple[str, FaultProxy],
) -> None:
    base, proxy = blackholed
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        assert (await client.get("/ready")).status_code == 200  # a pooled connection exists, and will hang
        proxy.blackhole()
        try:
            # Both a pooled connection (its ping hangs) and a new one (its handshake hangs) are given up on.
            probes = [await _probe(client) for _ in range(3)]
        finally:
            proxy.restore()
    for status, seconds, report in probes:
        assert (status, report["status"]) == (503, "unavailable"), report
        assert seconds < READY_TIMEOUT_SECONDS + 5, f"the probe took {seconds:.1f} s"
    assert await ready_after(base) is not None, "ready again within 10 s of the database answering"
