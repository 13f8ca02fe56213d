"""A campaign to report on: sponsor and campaign made through the API, two IOs on two shows, the downloads that are
their impressions (and the households' exposures), the sponsor's conversions, and attribution recalculated through
the API and a worker.

Known figures (flights START..END, 30 days; the report day is day 21 of them):
- IO 1 on "Morning Brief": goal 1,000, 8 downloads by 8 households → spend 8 x 1,000 cents;
- IO 2 on a show titled like a spreadsheet formula: goal 1,000, 12 downloads (one household, and an office behind
  one address with 11 user agents) → spend 12 x 1,000 cents;
- expected by the report day under even pacing: 1,000 x 21 ÷ 30 = 700 each.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from podsponsor.jobs.app import run_worker
from tests.attribution.engine_world import at, conversion_source, convert, listen, visit
from tests.bookings.delivery_world import Booking, book, show
from tests.factories.identity import Tenant

TODAY = datetime.now(UTC).date()
START, END = TODAY - timedelta(days=20), TODAY + timedelta(days=9)
CPM = 1_000_000  # 1,000 USD per thousand: each download costs 1,000 cents
GOAL = 1_000
FORMULA_SHOW = '=HYPERLINK("http://evil.example","Show B")'


@dataclass
class World:
    campaign_id: uuid.UUID
    campaign_name: str
    sponsor_id: uuid.UUID
    sponsor_name: str
    first: Booking
    second: Booking


def api_json(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def advertisers_sponsor(tenant: Tenant) -> tuple[uuid.UUID, str]:
    with tenant.client("advertiser") as api:
        found = api_json(api.get("/api/v1/sponsors"))["items"][0]
    return uuid.UUID(found["id"]), str(found["name"])


def new_campaign(tenant: Tenant, sponsor_id: uuid.UUID | None, name: str) -> tuple[uuid.UUID, uuid.UUID, str]:
    with tenant.client() as api:
        if sponsor_id is None:
            fields = {"name": f"Sleepwell {uuid.uuid4().hex[:6]}", "industry": "sleep"}
            sponsor = api_json(api.post("/api/v1/sponsors", json=fields), 201)
            sponsor_id = uuid.UUID(sponsor["id"])
        sponsor_name = api_json(api.get(f"/api/v1/sponsors/{sponsor_id}"))["name"]
        body: dict[str, Any] = {"sponsor_id": str(sponsor_id), "name": name, "stage": "won", "value_cents": 2_000_000}
        campaign = api_json(api.post("/api/v1/campaigns", json=body), 201)
    return uuid.UUID(campaign["id"]), sponsor_id, str(sponsor_name)


async def report_world(tenant: Tenant, *, sponsor_id: uuid.UUID | None = None, calculate: bool = True) -> World:
    tenant_id = uuid.UUID(tenant.id)
    name = f"Spring launch {uuid.uuid4().hex[:6]}"
    campaign_id, sponsor_id, sponsor_name = new_campaign(tenant, sponsor_id, name)
    a = await show(tenant_id, [START], title="Morning Brief")
    b = await show(tenant_id, [START], title=FORMULA_SHOW)
    code = f"SPRING{uuid.uuid4().hex[:6].upper()}"
    same: dict[str, Any] = {"sponsor_id": sponsor_id, "campaign_id": campaign_id, "cpm_cents": CPM, "goal": GOAL}
    first = await book(tenant_id, a, START, END, placed=[0], promo_code=code, **same)
    second = await book(tenant_id, b, START, END, placed=[0], **same)
    tag = uuid.uuid4().hex[:6]

    def day(n: int) -> datetime:
        return at(START + timedelta(days=n))

    def home(n: int) -> str:
        return f"h{n}-{tag}"

    android = {"agent": "android", "device": "Android Phone"}
    await listen(tenant_id, a.id, a.episodes[0], day(2), home(1))
    await listen(tenant_id, a.id, a.episodes[0], day(3), home(2), **android)
    for n in range(3, 9):
        await listen(tenant_id, a.id, a.episodes[0], day(1), home(n))
    await listen(tenant_id, b.id, b.episodes[0], day(6), home(2), **android)
    for agent in range(11):
        await listen(tenant_id, b.id, b.episodes[0], day(4), f"office-{tag}", agent=f"agent-{agent}")
    await visit(tenant_id, second.io, day(7), home(9))
    source = await conversion_source(tenant_id, sponsor_id)
    orders: tuple[tuple[datetime, dict[str, Any]], ...] = (
        (day(5), {"promo_codes": [code.lower()], "value_cents": 10_000}),
        (day(4), {"ip_hash": home(1), "ua_family": "iOS", "value_cents": 2_000}),
        (day(8), {"ip_hash": home(2), "ua_family": "Android", "value_cents": 4_000}),
        (day(9), {"ip_hash": home(9), "ua_family": "iOS", "value_cents": 3_000}),
    )
    for when, fields in orders:
        await convert(tenant_id, source, sponsor_id, when, **fields)
    if calculate:
        with tenant.client("sales") as api:
            api_json(api.post(f"/api/v1/attribution/campaigns/{campaign_id}/recalculate"), 202)
        await run_worker(queues=["attribution"], wait=False)
    return World(campaign_id, name, sponsor_id, sponsor_name, first, second)


def report_path(world: World, format: str = "json") -> str:
    return f"/api/v1/reports/campaigns/{world.campaign_id}?format={format}"


def elapsed_days(today: date = TODAY) -> int:
    return (today - START).days + 1
