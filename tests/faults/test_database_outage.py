"""A 30 s database outage under redirect load: every request is still answered 302, hits are stored again within
10 s of the database's return, and once the spill is replayed every answered hit is stored, once.

The app reaches PostgreSQL through the fault proxy, which either stops forwarding (a blackhole: connections hang
until the writer's commit timeout gives up on them) or resets every connection and refuses new ones.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from bench.redirect import make_show

from tests.factories.fault_proxy import FaultProxy
from tests.faults.conftest import Cluster, app_process
from tests.faults.redirect_load import (
    RECOVERY_DEADLINE,
    Fault,
    now,
    ready_after,
    report,
    set_aside,
    settled,
    spilled,
    stored_after,
    under_load,
)

BEFORE, OUTAGE, AFTER = 5.0, 30.0, 10.0


async def outage(
    proxy: FaultProxy, kind: str, base: str, owner_url: str, podcast_id: str
) -> tuple[Fault, float | None]:
    """The fault, BEFORE seconds into the load, for OUTAGE seconds; then how long until hits are stored again and
    until the API's connection pool reaches the database again."""
    await asyncio.sleep(BEFORE)
    began = time.perf_counter()
    if kind == "blackhole":
        proxy.blackhole()
    else:
        proxy.reset()
    await asyncio.sleep(OUTAGE)
    proxy.restore()
    ended, since = time.perf_counter(), now()
    recovery, pool_back = await asyncio.gather(stored_after(owner_url, podcast_id, since), ready_after(base))
    return Fault(began, ended, recovery), pool_back


@dataclass
class ProxiedApp:
    base: str
    proxy: FaultProxy
    data_dir: Path  # where its spill is


@pytest.fixture(scope="module")
def proxied_app(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxiedApp]:
    """One app for both faults (it takes seconds to start): each test measures a show of its own."""
    proxy = FaultProxy(cluster.urls.app)
    data_dir = tmp_path_factory.mktemp("outage")
    try:
        with app_process(cluster, data_dir, "faults-outage.log", proxy, PREFIX_COMMIT_TIMEOUT_SECONDS="0.5") as base:
            yield ProxiedApp(base, proxy, data_dir)
    finally:
        proxy.close()


@pytest.mark.parametrize("kind", ["blackhole", "reset"])
async def test_the_redirect_answers_through_a_30_s_outage_recovers_within_10_s_and_stores_every_answered_hit(
    kind: str, proxied_app: ProxiedApp, cluster: Cluster
) -> None:
    base, proxy, data_dir, owner = proxied_app.base, proxied_app.proxy, proxied_app.data_dir, cluster.urls.owner
    podcast_id, token = make_show(owner)
    # The show is looked up (and cached), and the writer connected, before the load starts.
    async with httpx.AsyncClient(base_url=base) as client:
        assert (await client.get(f"/p/{token}/media.example.com/warm.mp3")).status_code == 302
    load, (fault, pool_back) = await under_load(
        base, token, BEFORE + OUTAGE + AFTER, outage(proxy, kind, base, owner, podcast_id)
    )
    stored = await settled(owner, podcast_id, data_dir, load.answered + 1)
    report(kind, load, stored - 1, fault, api_ready_s=pool_back and round(pool_back, 2))
    assert (load.errors, dict(load.failures)) == (0, {}), "every request is answered 302 through the outage"
    assert load.answered == load.scheduled
    assert fault.recovery is not None, f"no hit was stored within {RECOVERY_DEADLINE:g} s of the database's return"
    assert pool_back is not None, "the API's connection pool did not reach the database again"
    assert not spilled(data_dir) and not set_aside(data_dir), "the spill is replayed, and none of it refused"
    assert stored - 1 == load.answered, "every answered hit is stored, once"
