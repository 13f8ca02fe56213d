"""The deal pipeline's rules: which moves a deal may make and who may make them, what a move records, a workspace's
stage probabilities, and the board, forecast and win/loss built on them.

Stages run lead → qualified → proposal → negotiation → won | lost. An open deal moves forward any number of
stages, back one, or to lost; a won or lost deal is closed, and only owners and admins move it again (a reopen or
a corrected outcome). Advertiser users see only their own sponsor's deals, as everywhere in sales.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth import service as auth
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.errors import Conflict, Forbidden, NotFound, ValidationFailed
from podsponsor.events import service as events
from podsponsor.sales import deal_repository
from podsponsor.sales.deal_schemas import (
    CLOSED_STAGES,
    OPEN_STAGES,
    PIPELINE,
    BoardColumn,
    BoardOut,
    DealCard,
    DealFilters,
    DealOut,
    DealSettingsIn,
    DealSettingsOut,
    ForecastBucket,
    ForecastMonth,
    ForecastOut,
    ForecastTotal,
    MoneyTotal,
    StageChangeOut,
    StageMoveIn,
    StageProbabilities,
    WinLossBy,
    WinLossGroup,
    WinLossOut,
    WinLossValue,
)
from podsponsor.sales.models import DealStageChange
from podsponsor.sales.service import _only_sponsor as only_sponsor_of

SETTINGS_KEY: Final = "sales"
PROBABILITIES_KEY: Final = "stage_probabilities"
DEFAULT_PROBABILITIES: Final[Mapping[str, Decimal]] = {
    "lead": Decimal("0.100"),
    "qualified": Decimal("0.250"),
    "proposal": Decimal("0.500"),
    "negotiation": Decimal("0.750"),
    "won": Decimal("1.000"),
    "lost": Decimal("0.000"),
}
BOARD_LIMIT: Final = 50
FORECAST_MONTHS_MAX: Final = 24
WIN_LOSS_DAYS_MAX: Final = 3660
NO_SELLER: Final = "No seller"


class IllegalDealMove(ValidationFailed):
    type = "illegal-deal-move"
    title = "The deal cannot move that way"


class ReopenNotAllowed(Forbidden):
    type = "deal-reopen-forbidden"
    title = "Only owners and admins reopen won or lost deals"


class DealMovedMeanwhile(Conflict):
    type = "deal-moved-meanwhile"
    title = "The deal has moved since you looked"


# Moves ---------------------------------------------------------------------------------------------------------------


def may_reopen(subject: Subject) -> bool:
    return subject.can(Permission.TENANT_ADMIN)


def allowed_moves(stage: str, *, reopen: bool) -> list[str]:
    """Where a deal in `stage` may go, in pipeline order; `reopen` lets a closed deal go anywhere else."""
    if stage in CLOSED_STAGES:
        return [other for other in PIPELINE if other != stage] if reopen else []
    index = OPEN_STAGES.index(stage)
    return [*OPEN_STAGES[max(index - 1, 0) : index], *OPEN_STAGES[index + 1 :], *CLOSED_STAGES]


def moves_for(subject: Subject, stage: str) -> list[str]:
    """The moves this caller may make: none for those who only read."""
    if not subject.can(Permission.SALES_WRITE):
        return []
    return allowed_moves(stage, reopen=may_reopen(subject))


def check_move(subject: Subject, current: str, target: str) -> None:
    allowed = allowed_moves(current, reopen=may_reopen(subject))
    where: dict[str, Any] = {"from": current, "to": target, "allowed": allowed}
    if target == current:
        raise IllegalDealMove(f"the deal is already in {current}", **where)
    if current in CLOSED_STAGES and not allowed:
        raise ReopenNotAllowed(f"the deal is {current}; only owners and admins move a won or lost deal", **where)
    if target not in allowed:
        raise IllegalDealMove(
            f"a deal in {current} cannot move to {target}: it moves forward any number of stages, back one stage, "
            f"or to lost; from {current} it may move to {', '.join(allowed)}",
            **where,
        )


async def move(session: AsyncSession, subject: Subject, campaign_id: uuid.UUID, data: StageMoveIn) -> DealOut:
    """Move a deal, recording who, when, from, to and why, and the `deal.stage_changed` event."""
    deal = await deal_repository.lock_deal(session, subject.tenant_id, campaign_id, only_sponsor_of(subject))
    if deal is None:
        raise NotFound("no such deal")
    if data.from_stage is not None and data.from_stage != deal.stage:
        raise DealMovedMeanwhile(
            f"the deal is in {deal.stage} now, not {data.from_stage}; look at it again before moving it",
            stage=deal.stage,
        )
    check_move(subject, deal.stage, data.stage)
    moved_at = datetime.now(UTC)
    change = DealStageChange(
        tenant_id=subject.tenant_id,
        campaign_id=deal.id,
        from_stage=deal.stage,
        to_stage=data.stage,
        changed_by=subject.user_id,
        changed_at=moved_at,
        note=data.note,
    )
    await deal_repository.add(session, change)
    previous, deal.stage, deal.stage_changed_at = deal.stage, data.stage, moved_at
    await session.flush()
    await events.record(
        session,
        subject,
        "deal.stage_changed",
        subject_type="campaign",
        subject_id=deal.id,
        payload={"from": previous, "to": data.stage},
    )
    return await get_deal(session, subject, deal.id)


# Stage probabilities -------------------------------------------------------------------------------------------------


async def stage_probabilities(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, Decimal]:
    """The workspace's probabilities over the defaults; won and lost stay 1 and 0 whatever is stored."""
    tenant = await auth.get_tenant(session, tenant_id)
    stored = ((tenant.settings or {}).get(SETTINGS_KEY) or {}).get(PROBABILITIES_KEY) or {}
    merged = dict(DEFAULT_PROBABILITIES)
    for stage in OPEN_STAGES:
        value = stored.get(stage)
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
            merged[stage] = Decimal(str(value)).quantize(Decimal("0.001"))
    return merged


def _probabilities_out(values: Mapping[str, Decimal]) -> StageProbabilities:
    return StageProbabilities(**{stage: float(value) for stage, value in values.items()})


async def deal_settings(session: AsyncSession, subject: Subject) -> DealSettingsOut:
    current = await stage_probabilities(session, subject.tenant_id)
    return DealSettingsOut(
        stage_probabilities=_probabilities_out(current), defaults=_probabilities_out(DEFAULT_PROBABILITIES)
    )


async def update_settings(session: AsyncSession, subject: Subject, data: DealSettingsIn) -> DealSettingsOut:
    """Replace the workspace's stage probabilities (a stage left out goes back to its default). Deals with their
    own probability keep it; the others are weighted anew from now on."""
    before = await stage_probabilities(session, subject.tenant_id)
    given = data.stage_probabilities.model_dump(exclude_none=True)
    after = {stage: given.get(stage, float(DEFAULT_PROBABILITIES[stage])) for stage in OPEN_STAGES}
    tenant = await auth.get_tenant(session, subject.tenant_id)
    settings = tenant.settings or {}
    # New dicts, so the JSONB column is seen as changed.
    tenant.settings = {**settings, SETTINGS_KEY: {**(settings.get(SETTINGS_KEY) or {}), PROBABILITIES_KEY: after}}
    await session.flush()
    await events.record(
        session,
        subject,
        "sales.settings_changed",
        subject_type="tenant",
        subject_id=subject.tenant_id,
        payload={
            PROBABILITIES_KEY: {
                "before": {stage: float(before[stage]) for stage in OPEN_STAGES},
                "after": after,
            }
        },
    )
    return await deal_settings(session, subject)


# Reading deals -------------------------------------------------------------------------------------------------------


async def _people(session: AsyncSession, subject: Subject) -> dict[uuid.UUID, str]:
    return {user.id: user.display_name or user.email for user in await auth.list_users(session, subject)}


async def sellers(session: AsyncSession, subject: Subject) -> list[tuple[uuid.UUID, str]]:
    """Who may own a deal: the workspace's users other than advertisers, by name."""
    users = [user for user in await auth.list_users(session, subject) if user.role != "advertiser"]
    named = [(user.id, user.display_name or user.email) for user in users]
    return sorted(named, key=lambda pair: pair[1].lower())


def _card(row: Row[Any], subject: Subject, people: Mapping[uuid.UUID, str], now: datetime) -> DealCard:
    deal = row[0]
    own = deal.probability is not None and deal.stage in OPEN_STAGES
    return DealCard(
        id=deal.id,
        name=deal.name,
        stage=deal.stage,
        sponsor_id=deal.sponsor_id,
        sponsor_name=row.sponsor_name,
        seller_id=deal.seller_id,
        seller_name=people.get(deal.seller_id) if deal.seller_id else None,
        value_cents=deal.value_cents,
        currency=deal.currency,
        probability=float(row.probability_used),
        probability_source="deal" if own else "stage",
        weighted_value_cents=int(row.weighted_value_cents),
        expected_close=deal.expected_close,
        stage_changed_at=deal.stage_changed_at,
        days_in_stage=max((now - deal.stage_changed_at).days, 0),
        moves=moves_for(subject, deal.stage),
    )


async def get_deal(session: AsyncSession, subject: Subject, campaign_id: uuid.UUID) -> DealOut:
    probabilities = await stage_probabilities(session, subject.tenant_id)
    row = await deal_repository.deal_card(
        session, subject.tenant_id, campaign_id, only_sponsor_of(subject), probabilities
    )
    if row is None:
        raise NotFound("no such deal")
    people = await _people(session, subject)
    card = _card(row, subject, people, datetime.now(UTC))
    history = [
        StageChangeOut(
            from_stage=change.from_stage,
            to_stage=change.to_stage,
            changed_by=change.changed_by,
            changed_by_name=people.get(change.changed_by) if change.changed_by else None,
            changed_at=change.changed_at,
            # Why a deal moved is the seller's own business, like the deal's notes.
            note="" if subject.is_advertiser else change.note,
        )
        for change in await deal_repository.history(session, subject.tenant_id, campaign_id)
    ]
    notes = "" if subject.is_advertiser else row[0].notes
    return DealOut(**card.model_dump(), notes=notes, history=history)


def _money(rows: Iterable[Row[Any]]) -> list[MoneyTotal]:
    return [
        MoneyTotal(
            currency=row.currency,
            value_cents=int(row.value_cents),
            weighted_value_cents=int(row.weighted_value_cents),
        )
        for row in rows
    ]


async def board(session: AsyncSession, subject: Subject, filters: DealFilters, per_stage: int) -> BoardOut:
    """A column per stage: how many deals match, their totals, and the `per_stage` most recently moved."""
    if not 1 <= per_stage <= 200:
        raise ValidationFailed(
            "limit is the number of deals per stage, 1 to 200",
            errors=[{"field": "limit", "value": per_stage, "reason": "must be between 1 and 200"}],
        )
    probabilities = await stage_probabilities(session, subject.tenant_id)
    only = only_sponsor_of(subject)
    rows = await deal_repository.board_cards(session, subject.tenant_id, only, filters, probabilities, per_stage)
    totals = await deal_repository.stage_totals(session, subject.tenant_id, only, filters, probabilities)
    people = await _people(session, subject)
    now = datetime.now(UTC)
    cards: dict[str, list[DealCard]] = defaultdict(list)
    for row in rows:
        cards[row[0].stage].append(_card(row, subject, people, now))
    by_stage: dict[str, list[Row[Any]]] = defaultdict(list)
    for total in totals:
        by_stage[total.stage].append(total)
    columns = [
        BoardColumn(
            stage=stage,
            probability=float(probabilities[stage]),
            count=sum(int(total.deals) for total in by_stage[stage]),
            totals=_money(by_stage[stage]),
            deals=cards[stage],
        )
        for stage in PIPELINE
    ]
    return BoardOut(columns=columns, limit=per_stage)


# Forecast ------------------------------------------------------------------------------------------------------------


@dataclass
class _Tally:
    deals: int = 0
    open_deals: int = 0
    won_deals: int = 0
    money: dict[str, list[int]] = field(default_factory=dict)

    def add(self, row: Row[Any]) -> None:
        self.deals += row.deals
        if row.won:
            self.won_deals += row.deals
        else:
            self.open_deals += row.deals
        value, weighted, won = self.money.setdefault(row.currency, [0, 0, 0])
        self.money[row.currency] = [
            value + int(row.value_cents),
            weighted + int(row.weighted_value_cents),
            won + (int(row.value_cents) if row.won else 0),
        ]

    def totals(self) -> list[ForecastTotal]:
        return [
            ForecastTotal(currency=currency, value_cents=value, weighted_value_cents=weighted, won_value_cents=won)
            for currency, (value, weighted, won) in sorted(self.money.items())
        ]


def month_starts(first: date, months: int) -> list[date]:
    starts = []
    year, month = first.year, first.month
    for _ in range(months):
        starts.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return starts


async def forecast(
    session: AsyncSession, subject: Subject, months: int, filters: DealFilters, *, today: date | None = None
) -> ForecastOut:
    """Value times probability, summed by expected close month from this month on: open deals at their
    probability, won deals at 100 %, lost deals not at all. Open deals past their month or without one are
    counted apart."""
    if not 1 <= months <= FORECAST_MONTHS_MAX:
        raise ValidationFailed(
            f"months is how many months to forecast, 1 to {FORECAST_MONTHS_MAX}",
            errors=[{"field": "months", "value": months, "reason": f"must be between 1 and {FORECAST_MONTHS_MAX}"}],
        )
    first = (today or datetime.now(UTC).date()).replace(day=1)
    starts = month_starts(first, months)
    probabilities = await stage_probabilities(session, subject.tenant_id)
    rows = await deal_repository.forecast_totals(
        session, subject.tenant_id, only_sponsor_of(subject), filters, probabilities
    )
    by_month = {start: _Tally() for start in starts}
    overdue, unscheduled = _Tally(), _Tally()
    for row in rows:
        if row.month in by_month:
            by_month[row.month].add(row)
        elif not row.won and row.month is None:
            unscheduled.add(row)
        elif not row.won and row.month < first:
            overdue.add(row)
    return ForecastOut(
        months=[
            ForecastMonth(
                month=start.strftime("%Y-%m"),
                deals=tally.deals,
                open_deals=tally.open_deals,
                won_deals=tally.won_deals,
                totals=tally.totals(),
            )
            for start, tally in by_month.items()
        ],
        overdue=ForecastBucket(deals=overdue.deals, totals=overdue.totals()),
        unscheduled=ForecastBucket(deals=unscheduled.deals, totals=unscheduled.totals()),
        stage_probabilities=_probabilities_out(probabilities),
    )


# Win / loss ----------------------------------------------------------------------------------------------------------


@dataclass
class _Outcomes:
    key: str | None
    label: str
    won: int = 0
    lost: int = 0
    money: dict[str, list[int]] = field(default_factory=dict)

    def add(self, outcome: str, currency: str, deals: int, value_cents: int) -> None:
        won, lost = self.money.setdefault(currency, [0, 0])
        if outcome == "won":
            self.won += deals
            self.money[currency] = [won + value_cents, lost]
        else:
            self.lost += deals
            self.money[currency] = [won, lost + value_cents]

    def out(self) -> WinLossGroup:
        closed = self.won + self.lost
        return WinLossGroup(
            key=self.key,
            label=self.label,
            won_deals=self.won,
            lost_deals=self.lost,
            win_rate=round(self.won / closed, 4) if closed else None,
            values=[
                WinLossValue(currency=currency, won_value_cents=won, lost_value_cents=lost)
                for currency, (won, lost) in sorted(self.money.items())
            ],
        )


def _check_period(start: date, end: date) -> None:
    if end < start or (end - start).days >= WIN_LOSS_DAYS_MAX:
        raise ValidationFailed(
            f"the period runs from start to end (inclusive), at most {WIN_LOSS_DAYS_MAX} days",
            errors=[{"field": "end", "value": end.isoformat(), "reason": "before start, or too far after it"}],
        )


async def win_loss(session: AsyncSession, subject: Subject, by: WinLossBy, start: date, end: date) -> WinLossOut:
    """Deals closed from `start` to `end` (UTC days, inclusive), grouped: won and lost counts and values, and the
    win rate. A deal closed twice in the period (reopened) counts once, with its last outcome."""
    _check_period(start, end)
    rows = await deal_repository.closed_deals(
        session,
        subject.tenant_id,
        only_sponsor_of(subject),
        datetime.combine(start, time(), UTC),
        datetime.combine(end + timedelta(days=1), time(), UTC),
        by,
    )
    people = await _people(session, subject) if by == "seller" else {}
    groups: dict[str | None, _Outcomes] = {}
    total = _Outcomes(None, "All closed deals")
    for row in rows:
        group = groups.get(row.key) or groups.setdefault(row.key, _Outcomes(row.key, _label(by, row, people)))
        group.add(row.outcome, row.currency, int(row.deals), int(row.value_cents))
        total.add(row.outcome, row.currency, int(row.deals), int(row.value_cents))
    return WinLossOut(by=by, start=start, end=end, groups=_ordered(by, groups.values()), total=total.out())


def _label(by: WinLossBy, row: Row[Any], people: Mapping[uuid.UUID, str]) -> str:
    if by == "sponsor":
        return str(row.sponsor_name)
    if by == "seller":
        return people.get(uuid.UUID(row.key), "Former user") if row.key else NO_SELLER
    return str(row.key)


def _ordered(by: WinLossBy, groups: Iterable[_Outcomes]) -> list[WinLossGroup]:
    if by == "month":
        return [group.out() for group in sorted(groups, key=lambda group: group.key or "")]
    # The busiest first; ties by name, so the order never flips between two requests.
    ranked: Sequence[_Outcomes] = sorted(groups, key=lambda group: (-(group.won + group.lost), group.label.lower()))
    return [group.out() for group in ranked]
