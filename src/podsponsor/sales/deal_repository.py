"""Every deal pipeline query: the locked deal, its history, the board, the forecast and the closed deals.

Deleted deals are hidden; `only_sponsor` narrows every query to one sponsor (advertiser users). Weighted values are
computed here, in SQL, so the board's cards and its column totals and the forecast use one formula.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    DateTime,
    Numeric,
    Row,
    Select,
    String,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.sales.deal_schemas import CLOSED_STAGES, DealFilters, WinLossBy
from podsponsor.sales.models import Campaign, DealStageChange, Sponsor

# A result row of any shape (SQLAlchemy 2.1 types rows by their columns).
AnyRow = Row[*tuple[Any, ...]]


async def add(session: AsyncSession, row: Any) -> None:
    session.add(row)
    await session.flush()


async def lock_deal(
    session: AsyncSession, tenant_id: uuid.UUID, campaign_id: uuid.UUID, only_sponsor: uuid.UUID | None
) -> Campaign | None:
    """The deal, locked until the transaction ends: two moves of one deal run one after the other."""
    query = select(Campaign).where(
        Campaign.tenant_id == tenant_id, Campaign.id == campaign_id, Campaign.deleted_at.is_(None)
    )
    if only_sponsor is not None:
        query = query.where(Campaign.sponsor_id == only_sponsor)
    locked = query.with_for_update(of=Campaign).execution_options(populate_existing=True)
    return await session.scalar(locked)


async def history(session: AsyncSession, tenant_id: uuid.UUID, campaign_id: uuid.UUID) -> Sequence[DealStageChange]:
    rows = await session.scalars(
        select(DealStageChange)
        .where(DealStageChange.tenant_id == tenant_id, DealStageChange.campaign_id == campaign_id)
        # The creation row first even when a move shares its timestamp.
        .order_by(DealStageChange.changed_at, DealStageChange.from_stage.is_not(None), DealStageChange.id)
    )
    return rows.all()


def probability_used(probabilities: Mapping[str, Decimal]) -> ColumnElement[Decimal]:
    """An open deal's own probability, else its stage's; a closed deal always its stage's (won 1, lost 0)."""
    by_stage = case(
        {stage: literal(value, Numeric(4, 3)) for stage, value in probabilities.items()}, value=Campaign.stage
    )
    return case((Campaign.stage.in_(CLOSED_STAGES), by_stage), else_=func.coalesce(Campaign.probability, by_stage))


def _weighted(probability: ColumnElement[Decimal]) -> ColumnElement[int]:
    return cast(func.round(Campaign.value_cents * probability), BigInteger)


def _deals(tenant_id: uuid.UUID, only_sponsor: uuid.UUID | None, filters: DealFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Campaign.tenant_id == tenant_id,
        Campaign.deleted_at.is_(None),
        Sponsor.deleted_at.is_(None),
    ]
    if only_sponsor is not None:
        conditions.append(Campaign.sponsor_id == only_sponsor)
    if filters.sponsor_id is not None:
        conditions.append(Campaign.sponsor_id == filters.sponsor_id)
    if filters.seller_id is not None:
        conditions.append(Campaign.seller_id == filters.seller_id)
    if filters.q:
        conditions.append(
            or_(Campaign.name.icontains(filters.q, autoescape=True), Sponsor.name.icontains(filters.q, autoescape=True))
        )
    return conditions


def _sponsor_of_deal() -> ColumnElement[bool]:
    return (Sponsor.tenant_id == Campaign.tenant_id) & (Sponsor.id == Campaign.sponsor_id)


def _cards(probabilities: Mapping[str, Decimal]) -> Select[Campaign, str, Decimal, int]:
    probability = probability_used(probabilities)
    return select(
        Campaign,
        Sponsor.name.label("sponsor_name"),
        probability.label("probability_used"),
        _weighted(probability).label("weighted_value_cents"),
    ).join(Sponsor, _sponsor_of_deal())


async def deal_card(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    campaign_id: uuid.UUID,
    only_sponsor: uuid.UUID | None,
    probabilities: Mapping[str, Decimal],
) -> AnyRow | None:
    """(campaign, sponsor_name, probability_used, weighted_value_cents) of one deal."""
    query = _cards(probabilities).where(*_deals(tenant_id, only_sponsor, DealFilters()), Campaign.id == campaign_id)
    return (await session.execute(query)).first()


async def board_cards(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    only_sponsor: uuid.UUID | None,
    filters: DealFilters,
    probabilities: Mapping[str, Decimal],
    per_stage: int,
) -> Sequence[AnyRow]:
    """The `per_stage` most recently moved deals of each stage, as `deal_card` rows."""
    rank = (
        func.row_number()
        .over(partition_by=Campaign.stage, order_by=(Campaign.stage_changed_at.desc(), Campaign.id))
        .label("rank")
    )
    ranked = (
        select(Campaign.id, rank)
        .join(Sponsor, _sponsor_of_deal())
        .where(*_deals(tenant_id, only_sponsor, filters))
        .subquery()
    )
    query = (
        _cards(probabilities)
        .where(Campaign.tenant_id == tenant_id, Campaign.id.in_(select(ranked.c.id).where(ranked.c.rank <= per_stage)))
        .order_by(Campaign.stage, Campaign.stage_changed_at.desc(), Campaign.id)
    )
    return (await session.execute(query)).all()


async def stage_totals(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    only_sponsor: uuid.UUID | None,
    filters: DealFilters,
    probabilities: Mapping[str, Decimal],
) -> Sequence[AnyRow]:
    """(stage, currency, deals, value_cents, weighted_value_cents) over every matching deal."""
    weighted = _weighted(probability_used(probabilities))
    query = (
        select(
            Campaign.stage,
            Campaign.currency,
            func.count().label("deals"),
            func.sum(Campaign.value_cents).label("value_cents"),
            func.sum(weighted).label("weighted_value_cents"),
        )
        .join(Sponsor, _sponsor_of_deal())
        .where(*_deals(tenant_id, only_sponsor, filters))
        .group_by(Campaign.stage, Campaign.currency)
        .order_by(Campaign.currency)
    )
    return (await session.execute(query)).all()


async def forecast_totals(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    only_sponsor: uuid.UUID | None,
    filters: DealFilters,
    probabilities: Mapping[str, Decimal],
) -> Sequence[AnyRow]:
    """(month, currency, won, deals, value_cents, weighted_value_cents) of open and won deals, by close month.

    An open deal closes in its expected close month (null when it has none); a won deal in its expected close
    month, or the month it was won when it had none."""
    won_on = cast(func.timezone("UTC", Campaign.stage_changed_at), Date)
    close = case(
        (Campaign.stage == "won", func.coalesce(Campaign.expected_close, won_on)), else_=Campaign.expected_close
    )
    month = cast(func.date_trunc("month", cast(close, DateTime())), Date).label("month")
    won = (Campaign.stage == "won").label("won")
    query = (
        select(
            month,
            Campaign.currency,
            won,
            func.count().label("deals"),
            func.sum(Campaign.value_cents).label("value_cents"),
            func.sum(_weighted(probability_used(probabilities))).label("weighted_value_cents"),
        )
        .join(Sponsor, _sponsor_of_deal())
        .where(*_deals(tenant_id, only_sponsor, filters), Campaign.stage != "lost")
        .group_by(month, Campaign.currency, won)
        .order_by(month, Campaign.currency)
    )
    return (await session.execute(query)).all()


async def closed_deals(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    only_sponsor: uuid.UUID | None,
    start: datetime,
    end: datetime,
    by: WinLossBy,
) -> Sequence[AnyRow]:
    """(key, sponsor_name, outcome, currency, deals, value_cents) of deals closed in [start, end).

    A deal counts once, with the last close (won or lost) it had in the period; its value is today's."""
    last_close = (
        select(DealStageChange.campaign_id, DealStageChange.to_stage, DealStageChange.changed_at)
        .where(
            DealStageChange.tenant_id == tenant_id,
            DealStageChange.to_stage.in_(CLOSED_STAGES),
            DealStageChange.changed_at >= start,
            DealStageChange.changed_at < end,
        )
        .distinct(DealStageChange.campaign_id)
        .order_by(DealStageChange.campaign_id, DealStageChange.changed_at.desc(), DealStageChange.id)
        .subquery()
    )
    key: ColumnElement[Any]
    if by == "sponsor":
        key = cast(Campaign.sponsor_id, String)
    elif by == "seller":
        key = cast(Campaign.seller_id, String)
    else:
        key = func.to_char(func.timezone("UTC", last_close.c.changed_at), "YYYY-MM")
    query = (
        select(
            key.label("key"),
            func.min(Sponsor.name).label("sponsor_name"),
            last_close.c.to_stage.label("outcome"),
            Campaign.currency,
            func.count().label("deals"),
            func.sum(Campaign.value_cents).label("value_cents"),
        )
        .select_from(last_close)
        .join(Campaign, (Campaign.tenant_id == tenant_id) & (Campaign.id == last_close.c.campaign_id))
        .join(Sponsor, _sponsor_of_deal())
        .where(*_deals(tenant_id, only_sponsor, DealFilters()))
        .group_by(key, last_close.c.to_stage, Campaign.currency)
    )
    return (await session.execute(query)).all()
