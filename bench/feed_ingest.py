"""Feed ingestion end to end vs parsing the same bytes with lxml alone.

A 5,000-item feed is served by a local HTTP server; each run imports it as a new show (fetch over HTTP with the
SSRF-safe client, parse, upsert every episode in one transaction). The baseline parses the same bytes with
`lxml.etree.fromstring` in the same process. Prints `items_per_s` and `ratio_vs_lxml` as its last line.
Usage: python bench/feed_ingest.py [--items 5000] [--runs 5]   (embedded PostgreSQL, or DATABASE_URL)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lxml import etree
from tests.factories.feed_server import FeedServer, synthetic_feed

from bench._db import bench_database


async def run(items: int, runs: int) -> dict[str, object]:
    admin, urls = bench_database("podsponsor_bench_feeds")
    os.environ["OUTBOUND_ALLOW_HOSTS"] = "127.0.0.1"
    from podsponsor.auth.schemas import SignupIn
    from podsponsor.auth.service import signup
    from podsponsor.auth.subject import system_subject
    from podsponsor.catalog import feed_refresh
    from podsponsor.config import get_settings
    from podsponsor.db import bootstrap, engine
    from podsponsor.db.tenancy import tenant_transaction

    engine.configure(get_settings(), urls)
    tenant_id = uuid.uuid4()
    async with tenant_transaction(tenant_id) as session:
        await signup(
            session,
            tenant_id,
            SignupIn(workspace_name="Bench Network", email="bench@example.com", password="bench-password-123"),
        )
    subject = system_subject(tenant_id)
    server = FeedServer()
    body = synthetic_feed(items, title="Bench Show")
    ours, lxml_only = [], []
    try:
        for n in range(runs):
            url = server.put(f"bench-{n}", body)
            started = time.perf_counter()
            report = await feed_refresh.import_show(subject, url)
            ours.append(time.perf_counter() - started)
            assert report.episodes_created == items, report
            started = time.perf_counter()
            etree.fromstring(body)
            lxml_only.append(time.perf_counter() - started)
    finally:
        server.stop()
        await engine.dispose()
        bootstrap.drop_database(admin, "podsponsor_bench_feeds")
    ours_s, lxml_s = statistics.median(ours), statistics.median(lxml_only)
    print(f"feed of {items} items, {len(body) / 1e6:.1f} MB, median of {runs} runs")
    print(f"  end to end (fetch + parse + upsert): {ours_s * 1000:8.1f} ms  {items / ours_s:10.0f} items/s")
    print(f"  lxml.etree.fromstring only:          {lxml_s * 1000:8.1f} ms  {items / lxml_s:10.0f} items/s")
    return {
        "bench": "feed_ingest",
        "items": items,
        "items_per_s": round(items / ours_s),
        "lxml_items_per_s": round(items / lxml_s),
        "ratio_vs_lxml": round(lxml_s / ours_s, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.items, args.runs))))


if __name__ == "__main__":
    main()
