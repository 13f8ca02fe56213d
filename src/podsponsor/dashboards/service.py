"""The three dashboards: the creator's (pacing, sponsor revenue, makegoods, downloads, episode lifecycle), the
advertiser's for one sponsor (audience fit, projected CPM, inventory, campaign results) and ad ops' (pipeline
forecast, win/loss, metrics imports, measurement and attribution health).

Each takes the caller's subject, the period (`scope.period`, which validates `from`/`to`) and returns every card
with its numbers and how each is computed; the caller owns the transaction. docs/dashboards.md states each number.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import Subject
from podsponsor.dashboards import advertiser, advertiser_results, creator, creator_revenue, ops_health, ops_pipeline
from podsponsor.dashboards.schemas import Card, Dashboard, DashboardKind
from podsponsor.dashboards.scope import Period, features, sponsor_for

FLAG = "ENABLE_NEW_DASHBOARD_CARDS"


async def creator_dashboard(session: AsyncSession, subject: Subject, scope: Period) -> Dashboard:
    booked = await creator.booked_deliveries(session, subject, scope)
    cards = [
        await creator.pacing_card(session, subject, scope, booked),
        await creator_revenue.revenue_card(session, subject, scope, booked),
        await creator.makegoods_card(session, subject, scope),
        await creator.downloads_card(session, subject, scope),
        await creator.lifecycle_card(session, subject, scope),
    ]
    return _dashboard("creator", scope, cards)


async def advertiser_dashboard(
    session: AsyncSession, subject: Subject, scope: Period, sponsor_id: uuid.UUID | None = None
) -> Dashboard:
    """For an advertiser user, their own sponsor (another is 404); anyone else names the sponsor."""
    sponsor = await sponsor_for(session, subject, sponsor_id)
    enabled = await features(session, subject)
    cards = [
        await advertiser.audience_fit_card(session, subject, sponsor, enabled),
        await advertiser.projected_cpm_card(session, subject, scope),
        await advertiser.inventory_card(session, subject, scope),
        await advertiser_results.campaign_results_card(session, subject, sponsor, scope, enabled),
    ]
    return _dashboard("advertiser", scope, cards, sponsor.id)


async def ops_dashboard(session: AsyncSession, subject: Subject, scope: Period) -> Dashboard:
    enabled = await features(session, subject)
    cards = [
        await ops_pipeline.pipeline_card(session, subject, scope, enabled),
        await ops_pipeline.win_loss_card(session, subject, scope, enabled),
        await ops_health.etl_card(session, subject, scope),
        await ops_health.measurement_card(session, subject, scope),
        await ops_health.attribution_card(session, subject, scope, enabled),
    ]
    return _dashboard("ops", scope, cards)


def _dashboard(kind: DashboardKind, scope: Period, cards: list[Card], sponsor_id: uuid.UUID | None = None) -> Dashboard:
    return Dashboard(
        dashboard=kind,
        start=scope.start,
        end=scope.end,
        as_of=scope.as_of,
        sponsor_id=sponsor_id,
        generated_at=datetime.now(UTC),
        cards=cards,
    )
