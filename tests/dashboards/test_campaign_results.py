"""Campaign results on the advertiser's dashboard once attribution has run: conversions, CPA and ROAS with their 95 %
intervals, equal to the attribution results endpoint's for the same period."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from podsponsor.attribution import recalculate
from podsponsor.attribution.models import Conversion, ConversionSource
from podsponsor.db.engine import Database
from podsponsor.db.tenancy import tenant_transaction
from tests.bookings.delivery_world import book, downloads, show
from tests.dashboards.world import TODAY, card, dashboard, figure, table
from tests.factories.identity import Tenant, make_tenant

START = TODAY - timedelta(days=10)


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "advertiser"))


@pytest.fixture(scope="module")
async def campaign(db: Database, tenant: Tenant) -> uuid.UUID:
    tenant_id = uuid.UUID(tenant.id)
    with tenant.client("advertiser") as api:
        sponsor = uuid.UUID(api.get("/api/v1/sponsors").json()["items"][0]["id"])
    shows = await show(tenant_id, [START])
    order = await book(tenant_id, shows, START, TODAY + timedelta(days=10), sponsor_id=sponsor, promo_code="DREAM10")
    await downloads(tenant_id, shows, 0, START + timedelta(days=1), 400)
    async with tenant_transaction(tenant_id) as session:
        source = ConversionSource(tenant_id=tenant_id, sponsor_id=sponsor, kind="api", name="Shop", token="tok-results")
        session.add(source)
        await session.flush()
        for n, code in enumerate(("DREAM10", "DREAM10", "OTHER")):
            session.add(
                Conversion(
                    tenant_id=tenant_id,
                    source_id=source.id,
                    sponsor_id=sponsor,
                    order_id=f"order-{n}",
                    occurred_at=datetime.combine(START + timedelta(days=2), time(12), tzinfo=UTC),
                    value_cents=4000,
                    currency="USD",
                    promo_codes=[code],
                )
            )
    async with tenant_transaction(tenant_id) as session:
        await recalculate.recalculate(session, tenant_id, order.campaign, now=datetime.now(UTC), trigger="api")
    return order.campaign


async def test_results_match_the_attribution_endpoint(campaign: uuid.UUID, tenant: Tenant) -> None:
    with tenant.client("advertiser") as api:
        results = card(dashboard(api, "advertiser"), "campaign_results")
        start = (TODAY - timedelta(days=29)).isoformat()
        own: dict[str, Any] = api.get(
            f"/api/v1/attribution/campaigns/{campaign}", params={"start": start, "end": TODAY.isoformat()}
        ).json()
    [row] = table(results, "campaigns")
    # 400 downloads at a $25 CPM: $10 spent; two orders with the order's promo code, $40 each.
    assert (row["delivered"], row["spend_cents"]) == (400, 1000)
    assert row["conversions"] == own["conversions"]["total"]["value"] == 2
    assert (row["conversions_low"], row["conversions_high"]) == (
        own["conversions"]["total"]["low"],
        own["conversions"]["total"]["high"],
    )
    assert row["cpa_cents"] == round(own["cpa_cents"][0]["total"]["value"]) == 500
    assert row["roas"] == own["roas"][0]["total"]["value"] == 8.0
    assert (row["roas_low"], row["roas_high"]) == (own["roas"][0]["total"]["low"], own["roas"][0]["total"]["high"])
    assert row["reach"] == own["households_reached"]
    assert figure(results, "Delivered") == 400
    conversions = next(f for f in results["figures"] if f["label"].startswith("Conversions"))
    assert (conversions["value"], conversions["low"], conversions["high"]) == (
        2,
        own["conversions"]["total"]["low"],
        own["conversions"]["total"]["high"],
    )
