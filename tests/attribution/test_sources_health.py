"""The sources page reports, per advertiser, the share of conversions whose household address was too shared to
match, from the latest attribution run of each of its campaigns."""

from __future__ import annotations

import json
import uuid

from podsponsor.db.bootstrap import DatabaseUrls
from tests.attribution.test_sources_page import row_of
from tests.attribution.world import add_source, add_sponsor, as_owner
from tests.bookings.booking_world import signed_in
from tests.factories.identity import make_tenant


def _run(database: DatabaseUrls, tenant_id: str, campaign_id: str, at: str, unusable: int, with_address: int) -> None:
    stats = {"unusable_households": unusable, "conversions_with_household": with_address}
    as_owner(
        database,
        "INSERT INTO attribution_runs (tenant_id, id, campaign_id, status, trigger, stats, started_at) "
        "VALUES (%s, %s, %s, 'completed', 'api', %s::jsonb, %s::timestamptz)",
        tenant_id,
        str(uuid.uuid4()),
        campaign_id,
        json.dumps(stats),
        at,
    )


def test_the_unusable_address_share_comes_from_each_campaigns_latest_run(server: str, database: DatabaseUrls) -> None:
    tenant = make_tenant(server, roles=("owner",))
    with tenant.client() as api:
        sponsor = add_sponsor(api)
        quiet = add_sponsor(api)
        source = add_source(api, sponsor, "pixel", name="Store pixel")
        unrun = add_source(api, quiet, "pixel", name="Quiet pixel")
        campaigns = [
            api.post("/api/v1/campaigns", json={"sponsor_id": sponsor, "name": f"Flight {n}"}).json()["id"]
            for n in range(2)
        ]
    # The first campaign's older run is superseded; its latest says 1 of 4, the second campaign's 9 of 16.
    _run(database, tenant.id, campaigns[0], "2026-11-01T00:00:00Z", 4, 4)
    _run(database, tenant.id, campaigns[0], "2026-11-02T00:00:00Z", 1, 4)
    _run(database, tenant.id, campaigns[1], "2026-11-02T00:00:00Z", 9, 16)
    with signed_in(server, tenant) as browser:
        markup = browser.get("/conversion-sources").text
    assert "50 %" in row_of(markup, source)  # (1 + 9) / (4 + 16)
    assert "badge--warn" not in markup.split(f'id="source-{source["id"]}"')[1].split("</tr>")[0]
    assert "50 %" not in row_of(markup, unrun) and "—" in row_of(markup, unrun)
    _run(database, tenant.id, campaigns[1], "2026-11-03T00:00:00Z", 16, 16)
    with signed_in(server, tenant) as browser:
        markup = browser.get("/conversion-sources").text
    row = markup.split(f'id="source-{source["id"]}"')[1].split("</tr>")[0]
    assert "85 %" in row_of(markup, source) and "badge--warn" in row  # (1 + 16) / (4 + 16)
