"""Recalculating a campaign's attribution: read its conversions, exposures and vanity clicks, match and credit them
under every model the campaign has, and store the result as a new run whose paths and credits replace the previous
run's (the earlier runs stay, with their figures, as history). Emits `attribution.recalculated`.

A campaign without models gets the default set first: all six, linear the default, the sponsor's lookback, a 7-day
half-life for time decay, and custom without weights (which credits like linear until weights are set).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any, Final

import polars as pl
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.attribution import engine_repository as repository
from podsponsor.attribution import ua
from podsponsor.attribution.credit import DEFAULT_HALF_LIFE_DAYS, DEFAULT_MODEL, MODELS, ModelSpec, credit
from podsponsor.attribution.engine import IO_SCHEMA, Matching, MatchSettings, match_pairs, with_device_families
from podsponsor.attribution.engine_repository import ConversionWindow, Scopes
from podsponsor.attribution.models import AttributionModel, AttributionRun
from podsponsor.auth.subject import Subject, system_subject
from podsponsor.bookings import delivery
from podsponsor.bookings.delivery import CountingScope
from podsponsor.events import service as events
from podsponsor.jobs.enqueue import JobAlreadyQueued, enqueue
from podsponsor.sales import service as sales

EVENT: Final = "attribution.recalculated"
TASK: Final = "attribution.recalculate"


@dataclass(frozen=True)
class Window:
    """The conversions a campaign's run considers: from its first flight day to `lookback` days after the last day
    any of its orders counts downloads."""

    start: datetime
    end: datetime

    @classmethod
    def of(cls, scopes: Sequence[CountingScope], lookback_days: int) -> Window | None:
        if not scopes:
            return None
        first = min(scope.io.flight_start for scope in scopes)
        lasts = [scope.io.flight_end for scope in scopes]
        lasts += [last for scope in scopes for _, last in scope.episodes.values()]
        lasts += [scope.show_days[1] for scope in scopes if scope.show_days is not None]
        start = datetime.combine(first, clock(), tzinfo=UTC)
        end = datetime.combine(max(lasts) + timedelta(days=1 + lookback_days), clock(), tzinfo=UTC)
        return cls(start, end)


@dataclass(frozen=True)
class Attribution:
    """What one calculation found: the matching (paths and stats) and every model's credits (CREDIT_COLUMNS)."""

    matching: Matching
    credits: pl.DataFrame


def scope_rows(scopes: Sequence[CountingScope]) -> Scopes:
    return Scopes(
        episodes=[
            (scope.io.id, episode, first, last)
            for scope in scopes
            for episode, (first, last) in scope.episodes.items()
            if first <= last
        ],
        shows=[
            (scope.io.id, scope.io.podcast_id, *scope.show_days)
            for scope in scopes
            if scope.show_days is not None and scope.show_days[0] <= scope.show_days[1]
        ],
    )


@dataclass(frozen=True)
class Inputs:
    """What a campaign's matching reads: its sponsor's conversions, and each one beside its household's exposures
    and vanity visits in its lookback (SEEN_SCHEMA, CLICKED_SCHEMA); and the orders' promo codes."""

    conversions: pl.DataFrame
    seen: pl.DataFrame
    clicked: pl.DataFrame
    ios: pl.DataFrame


async def read(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    scopes: Sequence[CountingScope],
    sponsor_id: uuid.UUID,
    window: Window,
    settings: MatchSettings,
) -> Inputs:
    converting = ConversionWindow(sponsor_id, window.start, window.end, settings.lookback_days)
    conversions = await repository.conversions(session, tenant_id, sponsor_id, window.start, window.end)
    seen = await repository.household_exposures(session, tenant_id, scope_rows(scopes), converting)
    clicked = await repository.household_clicks(session, tenant_id, [scope.io.id for scope in scopes], converting)
    ios = pl.DataFrame([(str(scope.io.id), scope.io.promo_code) for scope in scopes], schema=IO_SCHEMA, orient="row")
    return Inputs(conversions, with_device_families(seen, ua.device_family), clicked, ios)


def attribute(inputs: Inputs, settings: MatchSettings, specs: dict[str, ModelSpec]) -> Attribution:
    matching = match_pairs(inputs.conversions, inputs.seen, inputs.clicked, inputs.ios, settings)
    frames = [
        credit(matching.touchpoints, spec)
        .filter(pl.col("credit") > 0)
        .select(
            "conversion_id",
            "io_id",
            "episode_id",
            pl.lit(name).alias("model"),
            "match_type",
            "credit",
            "household",
        )
        for name, spec in specs.items()
    ]
    return Attribution(matching, pl.concat(frames))


def paths(touchpoints: pl.DataFrame) -> pl.DataFrame:
    """One row per matched conversion: its match type, household and touchpoints as a JSON array."""
    point = pl.struct(
        "io_id",
        "episode_id",
        pl.col("at").dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00").alias("at"),
        "kind",
    ).struct.json_encode()
    grouped = touchpoints.group_by("conversion_id", maintain_order=True).agg(
        pl.col("match_type").first(), pl.col("household").first(), point.alias("points")
    )
    return grouped.select(
        "conversion_id",
        "match_type",
        "household",
        pl.concat_str(pl.lit("["), pl.col("points").list.join(","), pl.lit("]")).alias("touchpoints"),
    )


async def campaign_models(
    session: AsyncSession, tenant_id: uuid.UUID, campaign_id: uuid.UUID, sponsor_lookback_days: int
) -> tuple[list[AttributionModel], bool]:
    """The campaign's models, the default set created if it has none; and whether they were created now."""
    found = await repository.models(session, tenant_id, campaign_id)
    if found:
        return found, False
    created = [
        AttributionModel(
            tenant_id=tenant_id,
            campaign_id=campaign_id,
            model=model,
            lookback_days=sponsor_lookback_days,
            half_life_days=DEFAULT_HALF_LIFE_DAYS if model == "time_decay" else None,
            weights={},
            is_default=model == DEFAULT_MODEL,
        )
        for model in MODELS
    ]
    await repository.add(session, created)
    return created, True


def default_model(models: Sequence[AttributionModel]) -> AttributionModel:
    return next((m for m in models if m.is_default), models[0])


async def recalculate(
    session: AsyncSession, tenant_id: uuid.UUID, campaign_id: uuid.UUID, *, now: datetime, trigger: str
) -> AttributionRun:
    """A new completed run of the campaign, its paths and credits replacing the previous run's."""
    started = time.perf_counter()
    subject = system_subject(tenant_id)
    await repository.lock_campaign(session, tenant_id, campaign_id)
    campaign = await sales.get_campaign(session, subject, campaign_id)
    sponsor = await sales.get_sponsor(session, subject, campaign.sponsor_id)
    models, created = await campaign_models(session, tenant_id, campaign.id, sponsor.attribution_lookback_days)
    # The campaign's default model sets its lookback; it starts as the sponsor's when the models are created.
    lookback_days = default_model(models).lookback_days
    settings = MatchSettings(lookback_days)
    specs = {m.model: ModelSpec.of(m.model, m.half_life_days, m.weights) for m in models}
    run = AttributionRun(
        tenant_id=tenant_id, campaign_id=campaign.id, status="running", trigger=trigger, started_at=now
    )
    await repository.add(session, [run])
    scopes = await delivery.campaign_scopes(session, subject, campaign.id, today=now.astimezone(UTC).date())
    window = Window.of(scopes, lookback_days)
    stats: dict[str, Any] = {
        "lookback_days": lookback_days,
        "lookback_from": "sponsor" if lookback_days == sponsor.attribution_lookback_days else "campaign model",
        "models": sorted(specs),
        "models_created": created,
        "ios": len(scopes),
    }
    if window is not None:
        found = attribute(await read(session, tenant_id, scopes, sponsor.id, window, settings), settings, specs)
        await repository.store_paths(session, tenant_id, run.id, campaign.id, paths(found.matching.touchpoints))
        await repository.store_credits(session, tenant_id, run.id, campaign.id, found.credits)
        stats |= _stats(found.matching, window)
    else:
        stats |= {"conversions_considered": 0, "matched": dict.fromkeys(("promo_code", "vanity", "household"), 0)}
    await repository.drop_earlier_results(session, tenant_id, campaign.id, keep_run=run.id)
    elapsed = time.perf_counter() - started
    stats["duration_ms"] = round(elapsed * 1000)
    run.stats, run.status, run.finished_at = stats, "completed", now + timedelta(seconds=elapsed)
    await session.flush()
    await _record(session, subject, run, stats)
    return run


def _stats(matching: Matching, window: Window) -> dict[str, Any]:
    found = matching.stats
    return {
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
        "conversions_considered": found.conversions,
        "conversions_with_household": found.with_household,
        "matched": found.matched,
        "unmatched": found.unmatched,
        "unusable_households": found.unusable,
        "unusable_ip_share": found.unusable_ip_share,
        "exposures_in_lookback": found.exposures,
        "vanity_clicks_in_lookback": found.clicks,
    }


async def _record(session: AsyncSession, subject: Subject, run: AttributionRun, stats: dict[str, Any]) -> None:
    await events.record(
        session,
        subject,
        EVENT,
        subject_type="campaign",
        subject_id=run.campaign_id,
        payload={
            "run_id": str(run.id),
            "trigger": run.trigger,
            "conversions_considered": stats["conversions_considered"],
            "matched": stats["matched"],
            "unusable_ip_share": stats.get("unusable_ip_share"),
            "lookback_days": stats["lookback_days"],
        },
    )


async def queue(session: AsyncSession, tenant_id: uuid.UUID, campaign_id: uuid.UUID, trigger: str) -> bool:
    """Queue the campaign's recalculation in the caller's transaction; False when one is already waiting."""
    try:
        await enqueue(
            session,
            TASK,
            queueing_lock=f"attribution:{campaign_id}",
            lock=f"attribution:{campaign_id}",
            tenant_id=str(tenant_id),
            campaign_id=str(campaign_id),
            trigger=trigger,
        )
    except JobAlreadyQueued:
        return False
    return True


async def unsettled_campaigns(session: AsyncSession, tenant_id: uuid.UUID, since: date, today: date) -> list[uuid.UUID]:
    """Campaigns whose results can still change: an order of theirs flies or flew recently (its flight started by
    `today` and ends on or after `since`), and their sponsor has conversions."""
    return await repository.campaigns_with_recent_flights(session, tenant_id, since, today)


async def record_failure(
    session: AsyncSession, tenant_id: uuid.UUID, campaign_id: uuid.UUID, *, now: datetime, trigger: str, error: str
) -> AttributionRun:
    """A failed run, kept so that the campaign's history shows the attempt and why it failed."""
    run = AttributionRun(
        tenant_id=tenant_id,
        campaign_id=campaign_id,
        status="failed",
        trigger=trigger,
        started_at=now,
        finished_at=datetime.now(UTC),
        error=error[:2000],
    )
    await repository.add(session, [run])
    return run
