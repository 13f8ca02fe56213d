"""Checking a campaign's attribution against ground truth, and its incrementality (lift).

- **Promo-code truth**: a conversion confirmed by a promo code is known to belong to the code's order. The model is
  asked, with the code (and vanity visits) hidden, what its household matching alone would credit: the share of
  those conversions' credit that lands on the code's order is its accuracy (the truth being 1).
- **Holdout**: a seeded random share of the exposed households is held out; the attributed conversions per exposed
  household of the others predict the held-out households' count, which is then compared with what they did
  (1 - |predicted - observed| ÷ observed, floored at 0). Matching treats each conversion on its own, so leaving the
  held-out households' conversions out of the training figures is the same as hiding them from the model.
- **Lift**: exposed households' conversion rate against unexposed households' seen in the same places (the
  sponsor's conversions and pixel events, the shows' audience), matched by country and device family strata and
  reweighted to the exposed households' mix; lift = exposed ÷ unexposed - 1. It is modeled, never deterministic.

Every interval is a seeded 95 % percentile bootstrap over households (see `intervals`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal

import numpy as np
import polars as pl
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.attribution import engine_repository as runs
from podsponsor.attribution import recalculate as recalculation
from podsponsor.attribution import ua
from podsponsor.attribution import validation_repository as repository
from podsponsor.attribution.credit import ModelSpec, credit
from podsponsor.attribution.engine import CLICKED_SCHEMA, MatchSettings, match_pairs
from podsponsor.attribution.intervals import (
    ITERATIONS,
    SEED,
    Estimate,
    Floats,
    Sample,
    estimate,
    percentile_interval,
    resampled_totals,
)
from podsponsor.attribution.models import AttributionModel, AttributionValidation
from podsponsor.attribution.results import NotCalculated
from podsponsor.auth.subject import Subject
from podsponsor.bookings import delivery
from podsponsor.errors import ValidationFailed
from podsponsor.sales import service as sales

GroundTruth = Literal["promo_code", "holdout"]
DEFAULT_HOLDOUT_FRACTION: Final = 0.2
VALIDATIONS_LISTED: Final = 50
UNKNOWN: Final = "unknown"


@dataclass(frozen=True)
class Holdout:
    """The held-out households: the ones named, or a seeded random `fraction` of the exposed households."""

    households: Sequence[str] | None = None
    fraction: float = DEFAULT_HOLDOUT_FRACTION
    seed: int = SEED


@dataclass(frozen=True)
class Check:
    """One validation's figures: `predicted` against `actual` over `sample_size` conversions or households."""

    sample_size: int
    predicted: float
    actual: float
    accuracy: Estimate
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Stratum:
    country: str
    family: str
    exposed: int
    exposed_converting: int
    unexposed: int
    unexposed_converting: int


@dataclass(frozen=True)
class Lift:
    """Exposed against matched unexposed households' conversion rates; rates and lift over the strata both have."""

    exposed_households: int
    exposed_rate: float | None
    unexposed_households: int
    unexposed_rate: float | None
    lift: Estimate
    coverage: float | None  # exposed households in a stratum with unexposed ones ÷ every exposed household
    strata: list[Stratum]
    iterations: int = ITERATIONS
    seed: int = SEED


# The figures ----------------------------------------------------------------------------------------------------------


def promo_code_check(
    truth: pl.DataFrame, credited: pl.DataFrame, *, iterations: int = ITERATIONS, seed: int = SEED
) -> Check:
    """`truth`: (conversion_id, household, io_id) of each promo-confirmed conversion and its code's order;
    `credited`: (conversion_id, io_id, credit) of household matching alone. Accuracy = the share of their credit on
    the right order, over households."""
    conversions = truth.select("conversion_id").n_unique()
    if conversions == 0:
        raise ValidationFailed(
            "the campaign has no conversions confirmed by a promo code to validate against",
            errors=[{"field": "ground_truth", "value": "promo_code", "reason": "no promo-code conversions"}],
        )
    right = (
        credited.join(truth.select("conversion_id", "io_id").unique(), on=["conversion_id", "io_id"], how="inner")
        .group_by("conversion_id")
        .agg(pl.col("credit").sum().alias("right"))
    )
    unit = pl.coalesce(pl.col("household"), pl.lit("conversion:") + pl.col("conversion_id")).alias("unit")
    per_conversion = truth.group_by("conversion_id").agg(pl.col("household").first()).with_columns(unit)
    per_conversion = per_conversion.join(right, on="conversion_id", how="left").with_columns(
        pl.col("right").fill_null(0)
    )
    units = (
        per_conversion.group_by("unit").agg(pl.len().cast(pl.Float64).alias("n"), pl.col("right").sum()).sort("unit")
    )
    sample = Sample(units.select("n", "right").to_numpy().astype(np.float64), 0, np.zeros(2))
    point, draws = sample.totals(), resampled_totals(sample, iterations, seed)
    accuracy = estimate(point, draws, lambda t: t[:, 1] / t[:, 0])
    share = float(point[1] / point[0])
    matched_ids = credited["conversion_id"].unique().to_list()
    household_matched = per_conversion.filter(pl.col("conversion_id").is_in(matched_ids)).height
    details = {
        "households": units.height,
        "household_matched": household_matched,
        "credit_on_right_io": float(point[1]),
        "iterations": iterations,
        "seed": seed,
    }
    return Check(conversions, share, 1.0, accuracy, details)


def held_out(exposed: Sequence[str], holdout: Holdout) -> list[str]:
    """The held-out households among `exposed`: the named ones that were exposed, or a seeded random fraction."""
    if holdout.households is not None:
        named = set(holdout.households)
        return sorted(h for h in exposed if h in named)
    ordered = sorted(exposed)
    if not ordered:
        return []
    size = min(len(ordered) - 1, max(1, round(holdout.fraction * len(ordered))))
    chosen = np.random.default_rng(holdout.seed).choice(len(ordered), size=size, replace=False)
    return sorted(ordered[i] for i in chosen)


def holdout_check(
    exposed: Sequence[str],
    attributed: dict[str, float],
    holdout: Sequence[str],
    *,
    iterations: int = ITERATIONS,
    seed: int = SEED,
) -> Check:
    """`attributed`: conversions credited per household. The others' attributed conversions per household, times
    the held-out households, predict the held-out households' conversions."""
    held = set(holdout)
    training = [h for h in sorted(set(exposed)) if h not in held]
    if not held or not training:
        raise ValidationFailed(
            "a holdout needs exposed households both in and out of it",
            errors=[{"field": "holdout", "value": len(held), "reason": f"of {len(set(exposed))} exposed households"}],
        )
    train, hold = _households(training, attributed), _households(sorted(held), attributed)
    point = np.concatenate([train.totals(), hold.totals()])
    draws = np.hstack([resampled_totals(train, iterations, seed), resampled_totals(hold, iterations, seed + 1)])
    if point[3] <= 0:
        raise ValidationFailed(
            "the held-out households have no attributed conversions to compare with: hold out more of them",
            errors=[{"field": "holdout", "value": len(held), "reason": "no attributed conversions among them"}],
        )

    def predicted(t: Floats) -> Floats:
        return t[:, 1] / t[:, 0] * t[:, 2]

    def accuracy(t: Floats) -> Floats:
        return np.maximum(0.0, 1 - np.abs(predicted(t) - t[:, 3]) / t[:, 3])

    found = estimate(point, draws, accuracy)
    details = {
        "holdout_households": len(held),
        "training_households": len(training),
        "training_conversions": float(point[1]),
        "predicted_interval": _pair(estimate(point, draws, predicted)),
        "iterations": iterations,
        "seed": seed,
    }
    return Check(len(held), float(predicted(point[np.newaxis, :])[0]), float(point[3]), found, details)


def _households(households: Sequence[str], attributed: dict[str, float]) -> Sample:
    """Households as bootstrap units of (1, their attributed conversions); those without any as one category."""
    converting = [attributed[h] for h in households if attributed.get(h, 0.0) > 0]
    units = np.array([[1.0, value] for value in converting], dtype=np.float64).reshape(-1, 2)
    return Sample(units, len(households) - len(converting), np.array([1.0, 0.0]))


def _pair(found: Estimate) -> dict[str, float | None]:
    return {"value": found.value, "low": found.low, "high": found.high}


def lift_of(households: pl.DataFrame, *, iterations: int = ITERATIONS, seed: int = SEED) -> Lift:
    """`households`: one row each with `exposed`, `converted` (booleans), `country` and `family`. Unexposed
    households are reweighted to the exposed ones' mix of strata; strata without both are left out of both rates."""
    cells = households.group_by("country", "family").agg(
        pl.col("exposed").sum().alias("n_e"),
        (pl.col("exposed") & pl.col("converted")).sum().alias("c_e"),
        (~pl.col("exposed")).sum().alias("n_u"),
        (~pl.col("exposed") & pl.col("converted")).sum().alias("c_u"),
    )
    cells = cells.sort("country", "family")
    strata = [Stratum(*row) for row in cells.select("country", "family", "n_e", "c_e", "n_u", "c_u").iter_rows()]
    both = cells.filter((pl.col("n_e") > 0) & (pl.col("n_u") > 0))
    exposed_total = int(cells["n_e"].sum()) if cells.height else 0
    unexposed_total = int(cells["n_u"].sum()) if cells.height else 0
    if both.is_empty():
        return Lift(
            exposed_total, None, unexposed_total, None, Estimate(None, None, None), None, strata, iterations, seed
        )
    n_e, c_e = both["n_e"].to_numpy().astype(np.float64), both["c_e"].to_numpy().astype(np.float64)
    n_u, c_u = both["n_u"].to_numpy().astype(np.float64), both["c_u"].to_numpy().astype(np.float64)
    weights = n_e / n_e.sum()

    def rates(converting_e: Floats, converting_u: Floats) -> tuple[Floats, Floats]:
        return converting_e.sum(axis=-1) / n_e.sum(), (weights * converting_u / n_u).sum(axis=-1)

    exposed_rate, unexposed_rate = rates(c_e, c_u)
    # Resampling a stratum's households with replacement draws its converting ones from a binomial: the outcome is
    # one yes or no per household, so this is the household bootstrap, stratified by exposure and stratum.
    rng = np.random.default_rng(seed)
    drawn_e = rng.binomial(n_e.astype(np.int64), c_e / n_e, size=(iterations, len(n_e))).astype(np.float64)
    drawn_u = rng.binomial(n_u.astype(np.int64), c_u / n_u, size=(iterations, len(n_u))).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        point = float(exposed_rate / unexposed_rate - 1) if unexposed_rate > 0 else None
        resampled_e, resampled_u = rates(drawn_e, drawn_u)
        low, high = percentile_interval(resampled_e / resampled_u - 1)
    return Lift(
        exposed_total,
        float(exposed_rate),
        unexposed_total,
        float(unexposed_rate),
        Estimate(point, low, high),
        float(n_e.sum() / exposed_total),
        strata,
        iterations,
        seed,
    )


def strata_of(sightings: pl.DataFrame, exposed: set[str], converted: set[str]) -> pl.DataFrame:
    """One row per household sighted: its country and device family (the first known, exposures read first),
    whether it was exposed and whether it converted."""
    pairs = sightings.select("device", "device_category").unique()
    families = pairs.with_columns(
        pl.Series("device_family", [ua.device_family(d, c) for d, c in pairs.iter_rows()], dtype=pl.Utf8)
    )
    named = sightings.join(families, on=["device", "device_category"], how="left", nulls_equal=True)
    named = named.with_columns(pl.coalesce("ua_family", "device_family").alias("family"))
    per = named.group_by("household", maintain_order=True).agg(
        pl.col("country").drop_nulls().first(), pl.col("family").drop_nulls().first()
    )
    return per.filter(pl.col("household").is_not_null()).select(
        "household",
        pl.col("country").fill_null(UNKNOWN),
        pl.col("family").fill_null(UNKNOWN),
        pl.col("household").is_in(list(exposed)).alias("exposed"),
        pl.col("household").is_in(list(converted)).alias("converted"),
    )


# The service ----------------------------------------------------------------------------------------------------------


async def _model(session: AsyncSession, tenant_id: uuid.UUID, campaign_id: uuid.UUID, name: str) -> AttributionModel:
    models = await runs.models(session, tenant_id, campaign_id)
    if not models:
        raise NotCalculated("the campaign has no attribution models yet: recalculate it to create the default set")
    found = next((m for m in models if m.model == name), None)
    if found is None:
        raise ValidationFailed(
            f"the campaign has no {name!r} model",
            errors=[{"field": "model", "value": name, "reason": f"one of {', '.join(m.model for m in models)}"}],
        )
    return found


async def validate(
    session: AsyncSession,
    subject: Subject,
    campaign_id: uuid.UUID,
    *,
    model: str,
    ground_truth: GroundTruth,
    holdout: Holdout | None,
    today: date,
    iterations: int = ITERATIONS,
) -> AttributionValidation:
    """Validate the campaign's `model` against `ground_truth` and store the outcome."""
    campaign = await sales.get_campaign(session, subject, campaign_id)
    chosen = await _model(session, subject.tenant_id, campaign.id, model)
    if ground_truth == "promo_code":
        found = await _promo_code(session, subject, campaign.id, campaign.sponsor_id, chosen, today, iterations)
    else:
        found = await _holdout(session, subject, campaign.id, chosen, holdout or Holdout(), today, iterations)
    validation = AttributionValidation(
        tenant_id=subject.tenant_id,
        campaign_id=campaign.id,
        model=chosen.model,
        ground_truth=ground_truth,
        sample_size=found.sample_size,
        predicted=found.predicted,
        actual=found.actual,
        accuracy=found.accuracy.value if found.accuracy.value is not None else 0.0,
        ci_low=found.accuracy.low,
        ci_high=found.accuracy.high,
        details=found.details,
        created_by=subject.user_id,
    )
    await repository.add(session, validation)
    return validation


async def _promo_code(
    session: AsyncSession,
    subject: Subject,
    campaign_id: uuid.UUID,
    sponsor_id: uuid.UUID,
    model: AttributionModel,
    today: date,
    iterations: int,
) -> Check:
    models = await runs.models(session, subject.tenant_id, campaign_id)
    settings = MatchSettings(recalculation.default_model(models).lookback_days)
    scopes = await delivery.campaign_scopes(session, subject, campaign_id, today=today)
    window = recalculation.Window.of(scopes, settings.lookback_days)
    if window is None:
        return promo_code_check(_no_truth(), pl.DataFrame(), iterations=iterations)
    inputs = await recalculation.read(session, subject.tenant_id, scopes, sponsor_id, window, settings)
    matched = match_pairs(inputs.conversions, inputs.seen, inputs.clicked, inputs.ios, settings).touchpoints
    truth = matched.filter(pl.col("match_type") == "promo_code").select("conversion_id", "household", "io_id").unique()
    # The same conversions with their codes unknown and no vanity visit: what household matching alone makes of them.
    confirmed = inputs.conversions.filter(pl.col("conversion_id").is_in(truth["conversion_id"].unique().to_list()))
    blind = confirmed.with_columns(pl.col("promo_codes").list.head(0))
    touchpoints = match_pairs(blind, inputs.seen, pl.DataFrame(schema=CLICKED_SCHEMA), inputs.ios, settings).touchpoints
    spec = ModelSpec.of(model.model, model.half_life_days, model.weights)
    credited = credit(touchpoints, spec).select("conversion_id", "io_id", "credit")
    return promo_code_check(truth, credited, iterations=iterations)


def _no_truth() -> pl.DataFrame:
    return pl.DataFrame(schema={"conversion_id": pl.Utf8(), "household": pl.Utf8(), "io_id": pl.Utf8()})


async def _holdout(
    session: AsyncSession,
    subject: Subject,
    campaign_id: uuid.UUID,
    model: AttributionModel,
    holdout: Holdout,
    today: date,
    iterations: int,
) -> Check:
    run = await runs.latest_run(session, subject.tenant_id, campaign_id)
    if run is None:
        raise NotCalculated("no attribution has been calculated for this campaign yet: recalculate it first")
    scopes = recalculation.scope_rows(await delivery.campaign_scopes(session, subject, campaign_id, today=today))
    sightings = await repository.exposed_households(session, subject.tenant_id, scopes)
    exposed = sorted(set(sightings["household"].drop_nulls().to_list()))
    units = await runs.credited_units(session, subject.tenant_id, [(run.id, model.model)])
    per_household = (
        units.filter(pl.col("household").is_not_null()).group_by("household").agg(pl.col("conversions").sum())
    )
    attributed = {str(h): float(c) for h, c in per_household.iter_rows()}
    chosen = held_out(exposed, holdout)
    found = holdout_check(exposed, attributed, chosen, iterations=iterations, seed=holdout.seed)
    how = {"named": len(holdout.households)} if holdout.households is not None else {"fraction": holdout.fraction}
    return Check(
        found.sample_size,
        found.predicted,
        found.actual,
        found.accuracy,
        found.details | how | {"run_id": str(run.id)},
    )


async def list_validations(
    session: AsyncSession, subject: Subject, campaign_id: uuid.UUID, limit: int = VALIDATIONS_LISTED
) -> list[AttributionValidation]:
    campaign = await sales.get_campaign(session, subject, campaign_id)
    return await repository.validations(session, subject.tenant_id, campaign.id, limit)


async def lift(
    session: AsyncSession, subject: Subject, campaign_id: uuid.UUID, *, today: date, iterations: int = ITERATIONS
) -> Lift:
    """The campaign's lift over its window (from its first flight day to a lookback after its last counted day)."""
    campaign = await sales.get_campaign(session, subject, campaign_id)
    sponsor = await sales.get_sponsor(session, subject, campaign.sponsor_id)
    models = await runs.models(session, subject.tenant_id, campaign.id)
    lookback = recalculation.default_model(models).lookback_days if models else sponsor.attribution_lookback_days
    scopes = await delivery.campaign_scopes(session, subject, campaign.id, today=today)
    window = recalculation.Window.of(scopes, lookback)
    if window is None:
        return lift_of(strata_of(_no_sightings(), set(), set()), iterations=iterations)
    exposures = await repository.exposed_households(session, subject.tenant_id, recalculation.scope_rows(scopes))
    shows = sorted({scope.io.podcast_id for scope in scopes})
    # The shows' audience over the flights (the conversions' window runs a lookback past them).
    flights_end = datetime.combine(max(s.io.flight_end for s in scopes) + timedelta(days=1), time(), tzinfo=UTC)
    listeners = await repository.audience(session, subject.tenant_id, shows, window.start, flights_end)
    seen, converted = await repository.sponsor_sightings(
        session, subject.tenant_id, sponsor.id, window.start, window.end
    )
    exposed = set(exposures["household"].drop_nulls().to_list())
    households = strata_of(pl.concat([exposures, listeners, seen]), exposed, converted)
    return lift_of(households, iterations=iterations)


def _no_sightings() -> pl.DataFrame:
    return pl.DataFrame(schema=repository.SIGHTING_SCHEMA)
