"""A campaign to validate: promo-code buyers who also listened (household matching finds the code's IO for four of
them, the wrong IO for the fifth), listeners who never bought, and buyers and listeners the campaign never reached."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tests.attribution.engine_world import at, conversion_source, convert, listen
from tests.bookings.delivery_world import Booking, book, show

TODAY = datetime.now(UTC).date()
START, END = TODAY - timedelta(days=20), TODAY + timedelta(days=9)


@dataclass
class ValidationWorld:
    tenant: uuid.UUID
    campaign: uuid.UUID
    first: Booking  # show A, with the promo code
    second: Booking  # show B
    tag: str

    def home(self, name: str) -> str:
        return f"{name}-{self.tag}"


async def validation_world(tenant_id: uuid.UUID, sponsor_id: uuid.UUID | None = None) -> ValidationWorld:
    a = await show(tenant_id, [START, START + timedelta(days=1)], title="Show A")
    b = await show(tenant_id, [START], title="Show B")
    code = f"NAP{uuid.uuid4().hex[:6].upper()}"
    first = await book(tenant_id, a, START, END, placed=[0], promo_code=code, sponsor_id=sponsor_id)
    second = await book(tenant_id, b, START, END, placed=[0], sponsor_id=first.sponsor, campaign_id=first.campaign)
    world = ValidationWorld(tenant_id, first.campaign, first, second, uuid.uuid4().hex[:6])
    source = await conversion_source(tenant_id, first.sponsor)

    def day(n: int) -> datetime:
        return at(START + timedelta(days=n))

    for n in range(1, 5):  # heard show A, bought with its code: household matching agrees with the code
        await listen(tenant_id, a.id, a.episodes[0], day(2), world.home(f"p{n}"))
        await convert(tenant_id, source, first.sponsor, day(5), promo_codes=[code], ip_hash=world.home(f"p{n}"))
    # heard only show B, bought with show A's code: household matching would credit the wrong IO
    await listen(tenant_id, b.id, b.episodes[0], day(2), world.home("q1"))
    await convert(tenant_id, source, first.sponsor, day(5), promo_codes=[code], ip_hash=world.home("q1"))
    for n in range(1, 11):  # exposed, never bought
        await listen(tenant_id, a.id, a.episodes[0], day(3), world.home(f"n{n}"))
    for n in range(1, 11):  # show A's audience, on the episode the ad did not run in
        await listen(tenant_id, a.id, a.episodes[1], day(3), world.home(f"u{n}"))
    await convert(tenant_id, source, first.sponsor, day(6), ip_hash=world.home("u1"), ua_family="iOS")
    return world
