"""Attribution results of a campaign, an order or an episode under one model (or every model side by side): the
attributed conversions, revenue, cost per acquisition, return on ad spend and conversion rate, each with a 95 %
bootstrap interval over households and split into deterministic (promo code, vanity URL) and modeled (household)
matches. They are read from the campaign's latest run; spend comes from delivery, reach from the exposures.

- attributed conversions = Σ credit; revenue = Σ credit x value, per currency;
- CPA = spend ÷ attributed conversions and ROAS = revenue ÷ spend, in the spend's currency (spend to date, as
  delivery computes it, of the orders that are not cancelled; an episode's share of an order's spend is its share of
  the order's counted downloads);
- conversion rate = converting households ÷ household reach (distinct households exposed in the scope), where a
  converting household is a reached one with credit in the scope.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Literal

import numpy as np
import polars as pl
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.attribution import engine_repository as repository
from podsponsor.attribution import recalculate as recalculation
from podsponsor.attribution.engine import DETERMINISTIC
from podsponsor.attribution.engine_repository import Scopes
from podsponsor.attribution.intervals import (
    ITERATIONS,
    SEED,
    Estimate,
    Figure,
    Floats,
    Sample,
    estimate,
    resampled_totals,
)
from podsponsor.attribution.models import AttributionModel, AttributionRun
from podsponsor.auth.subject import Subject
from podsponsor.bookings import delivery
from podsponsor.catalog import service as catalog
from podsponsor.errors import NotFound, ValidationFailed
from podsponsor.sales import service as sales

Kind = Literal["campaign", "io", "episode"]
SPLITS: Final = ("total", "deterministic", "modeled")


class NotCalculated(NotFound):
    type = "attribution-not-calculated"
    title = "No attribution has been calculated yet"


@dataclass(frozen=True)
class Split:
    total: Estimate
    deterministic: Estimate
    modeled: Estimate


@dataclass(frozen=True)
class Figures:
    conversions: Split
    revenue: dict[str, Split]
    cpa: dict[str, Split]
    roas: dict[str, Split]
    conversion_rate: Split
    households_converting: int


@dataclass(frozen=True)
class Period:
    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise ValidationFailed(
                "the period ends before it starts",
                errors=[{"field": "end", "value": self.end.isoformat(), "reason": "must be on or after start"}],
            )

    @property
    def since(self) -> datetime | None:
        return datetime.combine(self.start, time(), tzinfo=UTC) if self.start else None

    @property
    def until(self) -> datetime | None:
        return datetime.combine(self.end + timedelta(days=1), time(), tzinfo=UTC) if self.end else None


@dataclass(frozen=True)
class RunUsed:
    run: AttributionRun
    model: AttributionModel


@dataclass
class Results:
    kind: Kind
    scope_id: uuid.UUID
    period: Period
    runs: list[RunUsed]
    reach: int
    spend: dict[str, int]
    figures: Figures
    iterations: int
    seed: int


@dataclass(frozen=True)
class IoCredit:
    """An order's share of the campaign's attributed conversions and revenue under one model (point figures)."""

    io_id: uuid.UUID
    number: str
    conversions: float
    deterministic: float
    modeled: float
    revenue_cents: dict[str, float]


@dataclass
class ModelResults:
    model: AttributionModel
    figures: Figures
    by_io: list[IoCredit] = field(default_factory=list)


@dataclass
class Comparison:
    campaign_id: uuid.UUID
    period: Period
    run: AttributionRun
    reach: int
    spend: dict[str, int]
    models: list[ModelResults] = field(default_factory=list)
    iterations: int = ITERATIONS
    seed: int = SEED


# The figures --------------------------------------------------------------------------------------------------------


def figures(
    units: pl.DataFrame,
    reach: int,
    reached: set[str],
    spend: dict[str, int],
    *,
    iterations: int = ITERATIONS,
    seed: int = SEED,
) -> Figures:
    """The figures of credited `units` (engine_repository.UNIT_SCHEMA rows) among `reach` households, of which
    `reached` are the credited ones exposed in the scope."""
    currencies = sorted(c for c in units["currency"].unique().to_list() if c is not None)
    columns = ["conv_det", "conv_mod"]
    columns += [f"rev_{split}_{c}" for c in currencies for split in ("det", "mod")]
    columns += ["reach", "hh_any", "hh_det", "hh_mod"]
    at = {name: i for i, name in enumerate(columns)}
    per_unit = _per_unit(units, currencies, reached)
    matrix = per_unit.select(columns).to_numpy().astype(np.float64) if per_unit.height else np.zeros((0, len(columns)))
    in_reach = int(per_unit["reach"].sum()) if per_unit.height else 0
    rest_values = np.zeros(len(columns))
    rest_values[at["reach"]] = 1.0
    sample = Sample(matrix, max(reach - in_reach, 0), rest_values)
    point, draws = sample.totals(), resampled_totals(sample, iterations, seed)

    def column(name: str) -> Figure:
        return lambda totals: totals[:, at[name]]

    def split(det: Figure, mod: Figure, then: Callable[[Floats], Floats] = lambda x: x) -> Split:
        return Split(
            estimate(point, draws, lambda t: then(det(t) + mod(t))),
            estimate(point, draws, lambda t: then(det(t))),
            estimate(point, draws, lambda t: then(mod(t))),
        )

    def per(cents: int) -> Callable[[Floats], Floats]:
        return lambda conversions: cents / conversions

    def over(cents: int) -> Callable[[Floats], Floats]:
        return lambda revenue: revenue / cents

    def of_reach(name: str) -> Estimate:
        return estimate(point, draws, lambda t: t[:, at[name]] / t[:, at["reach"]])

    conversions = (column("conv_det"), column("conv_mod"))
    revenue = {c: (column(f"rev_det_{c}"), column(f"rev_mod_{c}")) for c in currencies}
    paid = {c: cents for c, cents in spend.items() if cents > 0}
    return Figures(
        conversions=split(*conversions),
        revenue={c: split(*pair) for c, pair in revenue.items()},
        cpa={c: split(*conversions, then=per(cents)) for c, cents in paid.items()},
        roas={c: split(*revenue[c], then=over(cents)) for c, cents in paid.items() if c in revenue},
        # A household converting by both kinds of match counts once in the total.
        conversion_rate=Split(of_reach("hh_any"), of_reach("hh_det"), of_reach("hh_mod")),
        households_converting=int(point[at["hh_any"]]),
    )


def _per_unit(units: pl.DataFrame, currencies: Sequence[str], reached: set[str]) -> pl.DataFrame:
    """One row per household (or conversion without one) with its credited conversions and revenue by kind of
    match, and whether it is a reached household converting by each kind."""
    deterministic = pl.col("match_type").is_in(list(DETERMINISTIC))
    sums = [
        pl.col("conversions").filter(deterministic).sum().alias("conv_det"),
        pl.col("conversions").filter(~deterministic).sum().alias("conv_mod"),
    ]
    for c in currencies:
        revenue = pl.col("revenue_cents")
        sums.append(revenue.filter(deterministic & (pl.col("currency") == c)).sum().alias(f"rev_det_{c}"))
        sums.append(revenue.filter(~deterministic & (pl.col("currency") == c)).sum().alias(f"rev_mod_{c}"))
    # In a stable order: the same units must meet the same draws for the seed to give the same interval.
    grouped = units.group_by("unit", "household").agg(sums).sort("unit")
    reach = pl.col("household").is_in(list(reached)).fill_null(False).cast(pl.Float64)
    return grouped.with_columns(reach.alias("reach")).with_columns(
        (pl.col("reach") * ((pl.col("conv_det") + pl.col("conv_mod")) > 0)).alias("hh_any"),
        (pl.col("reach") * (pl.col("conv_det") > 0)).alias("hh_det"),
        (pl.col("reach") * (pl.col("conv_mod") > 0)).alias("hh_mod"),
    )


# Scopes ---------------------------------------------------------------------------------------------------------------


async def _latest(session: AsyncSession, subject: Subject, campaign_id: uuid.UUID) -> AttributionRun:
    run = await repository.latest_run(session, subject.tenant_id, campaign_id)
    if run is None:
        raise NotCalculated(
            "no attribution has been calculated for this campaign yet: "
            f"POST /api/v1/attribution/campaigns/{campaign_id}/recalculate"
        )
    return run


async def _model(
    session: AsyncSession, tenant_id: uuid.UUID, campaign_id: uuid.UUID, name: str | None
) -> AttributionModel:
    models = await repository.models(session, tenant_id, campaign_id)
    if not models:
        raise NotCalculated("the campaign has no attribution models yet: recalculate it to create the default set")
    if name is None:
        return recalculation.default_model(models)
    found = next((m for m in models if m.model == name), None)
    if found is None:
        raise ValidationFailed(
            f"the campaign has no {name!r} model",
            errors=[{"field": "model", "value": name, "reason": f"one of {', '.join(m.model for m in models)}"}],
        )
    return found


def _spend(deliveries: Sequence[delivery.IoDelivery], share: dict[str, float] | None = None) -> dict[str, int]:
    """Spend to date per currency of the orders that are not cancelled (each weighted by `share` when given)."""
    totals: dict[str, float] = {}
    for found in deliveries:
        if found.io.status == "cancelled":
            continue
        weight = 1.0 if share is None else share.get(str(found.io.id), 0.0)
        totals[found.io.currency] = totals.get(found.io.currency, 0.0) + found.spend.cents * weight
    return {currency: round(cents) for currency, cents in sorted(totals.items())}


async def _reach(
    session: AsyncSession,
    subject: Subject,
    scopes: Scopes,
    units: pl.DataFrame,
    period: Period,
    episode_id: uuid.UUID | None = None,
) -> tuple[int, set[str]]:
    households = [h for h in units["household"].unique().to_list() if h is not None]
    return await repository.reach(
        session, subject.tenant_id, scopes, households, episode_id=episode_id, start=period.start, end=period.end
    )


async def campaign_results(
    session: AsyncSession,
    subject: Subject,
    campaign_id: uuid.UUID,
    *,
    model: str | None,
    period: Period,
    today: date,
    iterations: int = ITERATIONS,
) -> Results:
    campaign = await sales.get_campaign(session, subject, campaign_id)
    run = await _latest(session, subject, campaign.id)
    chosen = await _model(session, subject.tenant_id, campaign.id, model)
    scopes = recalculation.scope_rows(await delivery.campaign_scopes(session, subject, campaign.id, today=today))
    units = await repository.credited_units(
        session, subject.tenant_id, [(run.id, chosen.model)], start=period.since, end=period.until
    )
    reach, reached = await _reach(session, subject, scopes, units, period)
    spend = _spend((await delivery.campaign_delivery(session, subject, campaign.id, today=today)).ios)
    found = figures(units, reach, reached, spend, iterations=iterations)
    return Results("campaign", campaign.id, period, [RunUsed(run, chosen)], reach, spend, found, iterations, SEED)


async def io_results(
    session: AsyncSession,
    subject: Subject,
    io_id: uuid.UUID,
    *,
    model: str | None,
    period: Period,
    today: date,
    iterations: int = ITERATIONS,
) -> Results:
    io = await delivery.get_io(session, subject, io_id)
    run = await _latest(session, subject, io.campaign_id)
    chosen = await _model(session, subject.tenant_id, io.campaign_id, model)
    scopes = await delivery.campaign_scopes(session, subject, io.campaign_id, today=today)
    rows = recalculation.scope_rows([scope for scope in scopes if scope.io.id == io.id])
    units = await repository.credited_units(
        session, subject.tenant_id, [(run.id, chosen.model)], io_id=io.id, start=period.since, end=period.until
    )
    reach, reached = await _reach(session, subject, rows, units, period)
    spend = _spend([await delivery.io_delivery(session, subject, io.id, today=today)])
    found = figures(units, reach, reached, spend, iterations=iterations)
    return Results("io", io.id, period, [RunUsed(run, chosen)], reach, spend, found, iterations, SEED)


async def episode_results(
    session: AsyncSession,
    subject: Subject,
    episode_id: uuid.UUID,
    *,
    model: str | None,
    period: Period,
    today: date,
    iterations: int = ITERATIONS,
) -> Results:
    """Over every campaign (the subject may see) whose current credits name the episode; each under `model`, or
    its own default model."""
    episode = await catalog.get_episode(session, subject, episode_id)
    used: list[RunUsed] = []
    episodes: list[tuple[uuid.UUID, uuid.UUID, date, date]] = []
    shows: list[tuple[uuid.UUID, uuid.UUID, date, date]] = []
    spend: dict[str, int] = {}
    for campaign_id in await repository.episode_campaigns(session, subject.tenant_id, episode.id):
        try:
            campaign = await sales.get_campaign(session, subject, campaign_id)
        except NotFound:
            continue  # another sponsor's campaign, for an advertiser user
        run = await repository.latest_run(session, subject.tenant_id, campaign.id)
        models = await repository.models(session, subject.tenant_id, campaign.id)
        chosen = next((m for m in models if m.model == model), None) if model else None
        if model is None and models:
            chosen = recalculation.default_model(models)
        if run is None or chosen is None:
            continue
        used.append(RunUsed(run, chosen))
        scopes = recalculation.scope_rows(await delivery.campaign_scopes(session, subject, campaign.id, today=today))
        mine = Scopes(scopes.only_episode(episode.id).episodes, [s for s in scopes.shows if s[1] == episode.podcast_id])
        episodes += mine.episodes
        shows += mine.shows
        for currency, cents in (await _episode_spend(session, subject, campaign.id, mine, episode.id, today)).items():
            spend[currency] = spend.get(currency, 0) + cents
    units = await repository.credited_units(
        session,
        subject.tenant_id,
        [(u.run.id, u.model.model) for u in used],
        episode_id=episode.id,
        start=period.since,
        end=period.until,
    )
    reach, reached = await _reach(session, subject, Scopes(episodes, shows), units, period, episode.id)
    found = figures(units, reach, reached, spend, iterations=iterations)
    return Results("episode", episode.id, period, used, reach, spend, found, iterations, SEED)


async def _episode_spend(
    session: AsyncSession, subject: Subject, campaign_id: uuid.UUID, scopes: Scopes, episode_id: uuid.UUID, today: date
) -> dict[str, int]:
    """The episode's share of each order's spend: its share of the order's counted downloads."""
    campaign = await delivery.campaign_delivery(session, subject, campaign_id, today=today)
    of_episode = await repository.downloads_per_io(session, subject.tenant_id, scopes, episode_id)
    share = {
        str(found.io.id): of_episode.get(str(found.io.id), 0) / found.delivered
        for found in campaign.ios
        if found.delivered
    }
    return _spend(campaign.ios, share)


async def compare_models(
    session: AsyncSession,
    subject: Subject,
    campaign_id: uuid.UUID,
    *,
    period: Period,
    today: date,
    iterations: int = ITERATIONS,
) -> Comparison:
    """Every model of the campaign side by side, over the same run, reach and spend."""
    campaign = await sales.get_campaign(session, subject, campaign_id)
    run = await _latest(session, subject, campaign.id)
    models = await repository.models(session, subject.tenant_id, campaign.id)
    scopes = recalculation.scope_rows(await delivery.campaign_scopes(session, subject, campaign.id, today=today))
    deliveries = (await delivery.campaign_delivery(session, subject, campaign.id, today=today)).ios
    spend = _spend(deliveries)
    per_model = {
        m.model: await repository.credited_units(
            session, subject.tenant_id, [(run.id, m.model)], start=period.since, end=period.until
        )
        for m in models
    }
    # Every model credits the same conversions, so the converting households are the same under each.
    every = pl.concat(per_model.values()) if per_model else pl.DataFrame(schema=repository.UNIT_SCHEMA)
    reach, reached = await _reach(session, subject, scopes, every, period)
    compared = Comparison(campaign.id, period, run, reach, spend, iterations=iterations)
    numbers = {str(found.io.id): found.io.number for found in deliveries}
    for m in models:
        per_io = await repository.credit_by_io(
            session, subject.tenant_id, run.id, m.model, start=period.since, end=period.until
        )
        found = figures(per_model[m.model], reach, reached, spend, iterations=iterations)
        compared.models.append(ModelResults(m, found, _by_io(per_io, numbers)))
    return compared


def _by_io(per_io: pl.DataFrame, numbers: dict[str, str]) -> list[IoCredit]:
    deterministic = pl.col("match_type").is_in(list(DETERMINISTIC))
    rows: list[IoCredit] = []
    for (io_id,), one in per_io.group_by("io_id", maintain_order=True):
        revenue = one.filter(pl.col("currency").is_not_null()).group_by("currency").agg(pl.col("revenue_cents").sum())
        rows.append(
            IoCredit(
                io_id=uuid.UUID(str(io_id)),
                number=numbers.get(str(io_id), ""),
                conversions=float(one["conversions"].sum()),
                deterministic=float(one.filter(deterministic)["conversions"].sum()),
                modeled=float(one.filter(~deterministic)["conversions"].sum()),
                revenue_cents=dict(sorted(revenue.iter_rows())),
            )
        )
    return rows


async def request_recalculation(session: AsyncSession, subject: Subject, campaign_id: uuid.UUID) -> bool:
    """Queue the campaign's recalculation; False when one is already waiting."""
    campaign = await sales.get_campaign(session, subject, campaign_id)
    return await recalculation.queue(session, subject.tenant_id, campaign.id, "api")
