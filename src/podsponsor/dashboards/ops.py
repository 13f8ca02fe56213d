"""Ad ops' cards: the deal pipeline's forecast, win/loss, and the health of metrics imports, measurement and
attribution."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.attribution import service as attribution
from podsponsor.auth.subject import Subject
from podsponsor.config import get_settings
from podsponsor.dashboards import repository
from podsponsor.dashboards.schemas import Card, Column, Figure, Point, Series, Table, Value
from podsponsor.dashboards.scope import Period
from podsponsor.db.engine import get_database
from podsponsor.measurement import prefix
from podsponsor.measurement.spill import REJECTED, SUFFIX
from podsponsor.sales import deals
from podsponsor.sales import service as sales
from podsponsor.sales.deal_schemas import PIPELINE, DealFilters, WinLossOut

FORECAST_MONTHS: Final = 6
BOT_REASONS: Final = ("bot_ua", "bot_keyword")


# Pipeline -------------------------------------------------------------------------------------------------------------


async def pipeline_card(session: AsyncSession, subject: Subject, scope: Period, enabled: frozenset[str]) -> Card:
    card = Card(
        id="pipeline_forecast",
        title="Pipeline forecast",
        note=f"Deals by stage, and by expected close month for the {FORECAST_MONTHS} months from this one.",
    )
    if "ENABLE_DEAL_PIPELINE" not in enabled:
        return card.model_copy(update={"available": False, "notices": ["the deal pipeline is off for this workspace"]})
    forecast = await deals.forecast(session, subject, FORECAST_MONTHS, DealFilters(), today=scope.today)
    probabilities = {stage: Decimal(str(value)) for stage, value in forecast.stage_probabilities.model_dump().items()}
    totals = await repository.stage_totals(session, subject.tenant_id, probabilities)
    weighted_note = "deal value x its stage's probability (won: 100 %, lost: 0 %), summed"
    months: list[dict[str, Value]] = [
        {
            "month": month.month,
            "deals": month.deals,
            "open_deals": month.open_deals,
            "won_deals": month.won_deals,
            "currency": total.currency,
            "value_cents": total.value_cents,
            "weighted_value_cents": total.weighted_value_cents,
            "won_value_cents": total.won_value_cents,
        }
        for month in forecast.months
        for total in month.totals or []
    ]
    stages: list[dict[str, Value]] = [
        {
            "stage": total["stage"],
            "probability_pct": round(100 * float(probabilities[total["stage"]]), 1),
            "deals": int(total["deals"]),
            "currency": total["currency"],
            "value_cents": int(total["value_cents"]),
            "weighted_value_cents": int(total["weighted_value_cents"]),
        }
        for total in sorted(totals, key=lambda row: (PIPELINE.index(row["stage"]), row["currency"]))
    ]
    weighted: dict[str, int] = defaultdict(int)
    for row in months:
        weighted[str(row["currency"])] += int(row["weighted_value_cents"] or 0)
    by_month: dict[str, dict[str, int]] = defaultdict(dict)
    for row in months:
        by_month[str(row["currency"])][str(row["month"])] = int(row["weighted_value_cents"] or 0)
    notices = []
    if forecast.overdue.deals:
        notices.append(f"{forecast.overdue.deals} open deal(s) are past their expected close month")
    if forecast.unscheduled.deals:
        notices.append(f"{forecast.unscheduled.deals} open deal(s) have no expected close date")
    return card.model_copy(
        update={
            "notices": notices,
            "figures": [
                Figure(
                    label=f"Weighted forecast ({currency})",
                    value=cents,
                    unit="cents",
                    currency=currency,
                    note=f"deals expected to close in the {FORECAST_MONTHS} months: {weighted_note}",
                )
                for currency, cents in sorted(weighted.items())
            ],
            "series": [
                Series(
                    key="weighted",
                    label=f"Weighted ({currency})",
                    unit="cents",
                    currency=currency,
                    group=currency,
                    note=f"by expected close month: {weighted_note}",
                    points=[Point(x=month.month, y=values.get(month.month, 0)) for month in forecast.months],
                )
                for currency, values in sorted(by_month.items())
            ],
            "tables": [
                Table(
                    key="by_month",
                    label="By expected close month",
                    columns=[
                        Column(key="month", label="Month", unit="text"),
                        Column(key="deals", label="Deals", unit="count", note="open and won deals closing that month"),
                        Column(key="open_deals", label="Open", unit="count", note="not won or lost yet"),
                        Column(key="won_deals", label="Won", unit="count", note="won, closing that month"),
                        Column(key="currency", label="Currency", unit="text"),
                        Column(key="value_cents", label="Value", unit="cents", note="deal values, summed"),
                        Column(key="weighted_value_cents", label="Weighted", unit="cents", note=weighted_note),
                        Column(key="won_value_cents", label="Won value", unit="cents", note="won deals' values"),
                    ],
                    rows=months,
                    total_rows=len(months),
                ),
                Table(
                    key="by_stage",
                    label="By stage",
                    columns=[
                        Column(key="stage", label="Stage", unit="text"),
                        Column(
                            key="probability_pct", label="Probability", unit="percent", note="the workspace's setting"
                        ),
                        Column(key="deals", label="Deals", unit="count", note="every deal in the stage"),
                        Column(key="currency", label="Currency", unit="text"),
                        Column(key="value_cents", label="Value", unit="cents", note="deal values, summed"),
                        Column(key="weighted_value_cents", label="Weighted", unit="cents", note="value x probability"),
                    ],
                    rows=stages,
                    total_rows=len(stages),
                ),
            ],
        }
    )


# Win / loss -----------------------------------------------------------------------------------------------------------

WinLossBy = Literal["seller", "sponsor", "month"]


async def win_loss_card(session: AsyncSession, subject: Subject, scope: Period, enabled: frozenset[str]) -> Card:
    card = Card(
        id="win_loss",
        title="Win / loss",
        note=f"Deals won or lost {scope.start} to {scope.end}, by seller, sponsor and month.",
    )
    if "ENABLE_DEAL_PIPELINE" not in enabled:
        return card.model_copy(update={"available": False, "notices": ["the deal pipeline is off for this workspace"]})
    groupings: tuple[WinLossBy, ...] = ("seller", "sponsor", "month")
    found = {by: await deals.win_loss(session, subject, by, scope.start, scope.end) for by in groupings}
    total = found["month"].total
    rate_note = "won ÷ (won + lost) deals closed in the period; a deal reopened and closed again counts once"
    figures = [
        Figure(label="Won", value=total.won_deals, unit="count", note="deals whose last close in the period was won"),
        Figure(
            label="Lost", value=total.lost_deals, unit="count", note="deals whose last close in the period was lost"
        ),
        Figure(
            label="Win rate",
            value=round(100 * total.win_rate, 1) if total.win_rate is not None else None,
            unit="percent",
            note=rate_note,
        ),
    ]
    figures += [
        Figure(
            label=f"Won value ({value.currency})",
            value=value.won_value_cents,
            unit="cents",
            currency=value.currency,
            note="values of the deals won, summed",
        )
        for value in total.values
    ]
    return card.model_copy(
        update={
            "figures": figures,
            "tables": [_win_loss_table(by, found[by], rate_note) for by in groupings],
        }
    )


def _win_loss_table(by: WinLossBy, found: WinLossOut, rate_note: str) -> Table:
    rows: list[dict[str, Value]] = [
        {
            "key": group.key,
            "label": group.label,
            "won_deals": group.won_deals,
            "lost_deals": group.lost_deals,
            "win_rate_pct": round(100 * group.win_rate, 1) if group.win_rate is not None else None,
            "currency": value.currency,
            "won_value_cents": value.won_value_cents,
            "lost_value_cents": value.lost_value_cents,
        }
        for group in found.groups
        for value in group.values or []
    ]
    return Table(
        key=f"by_{by}",
        label=f"By {by}",
        columns=[
            Column(key="key", label=f"{by.capitalize()} key", unit="text"),
            Column(key="label", label=by.capitalize(), unit="text"),
            Column(key="won_deals", label="Won", unit="count", note="deals won"),
            Column(key="lost_deals", label="Lost", unit="count", note="deals lost"),
            Column(key="win_rate_pct", label="Win rate", unit="percent", note=rate_note),
            Column(key="currency", label="Currency", unit="text"),
            Column(key="won_value_cents", label="Won value", unit="cents", note="values of the deals won"),
            Column(key="lost_value_cents", label="Lost value", unit="cents", note="values of the deals lost"),
        ],
        rows=rows,
        total_rows=len(rows),
    )


# ETL health -----------------------------------------------------------------------------------------------------------


async def etl_card(session: AsyncSession, subject: Subject, scope: Period) -> Card:
    latest, period, ever = await repository.etl_health(session, subject.tenant_id, scope.since, scope.until)
    now = datetime.now(UTC)
    rows: list[dict[str, Value]] = []
    for last in latest:
        source = last["source"]
        counts = period.get(source, {})
        succeeded = ever.get(source, {}).get("last_completed_at")
        rows.append(
            {
                "source": source,
                "last_file": last["file_name"],
                "last_status": last["status"],
                "last_at": last["created_at"].isoformat(),
                "last_success_at": succeeded.isoformat() if succeeded else None,
                "hours_since_success": round((now - succeeded).total_seconds() / 3600, 1) if succeeded else None,
                "data_through": _iso(ever.get(source, {}).get("data_through")),
                "imports": int(counts.get("imports", 0)),
                "failed": int(counts.get("failed", 0)),
                "rows_rejected": int(counts.get("rows_rejected", 0)),
                "rows_skipped": int(counts.get("rows_skipped", 0)),
            }
        )
    stale = [row["hours_since_success"] for row in rows if isinstance(row["hours_since_success"], float)]
    return Card(
        id="etl_health",
        title="Metrics imports",
        note=f"The last import of each source, and the imports started {scope.start} to {scope.end}.",
        notices=[] if rows else ["no metrics file has been imported yet"],
        figures=[
            Figure(
                label="Sources", value=len(rows), unit="count", note="distinct source labels (else preset) imported"
            ),
            Figure(
                label="Failed imports",
                value=sum(int(row["failed"] or 0) for row in rows),
                unit="count",
                note="imports of the period that were refused whole (a file is all or nothing)",
            ),
            Figure(
                label="Rows rejected",
                value=sum(int(row["rows_rejected"] or 0) for row in rows),
                unit="count",
                note="row errors reported by the period's failed imports",
            ),
            Figure(
                label="Stalest source (hours)",
                value=max(stale) if stale else None,
                unit="count",
                note="hours since the least recently successful source's last completed import",
            ),
        ],
        tables=[
            Table(
                key="sources",
                label="Sources",
                columns=[
                    Column(key="source", label="Source", unit="text"),
                    Column(key="last_file", label="Last file", unit="text"),
                    Column(key="last_status", label="Last status", unit="text"),
                    Column(key="last_at", label="Last import", unit="datetime"),
                    Column(key="last_success_at", label="Last success", unit="datetime"),
                    Column(
                        key="hours_since_success",
                        label="Hours since success",
                        unit="count",
                        note="now - the last completed import's end",
                    ),
                    Column(key="data_through", label="Data through", unit="date", note="latest day any import held"),
                    Column(key="imports", label="Imports", unit="count", note="started in the period"),
                    Column(key="failed", label="Failed", unit="count", note="of the period's imports"),
                    Column(
                        key="rows_rejected", label="Rows rejected", unit="count", note="row errors of failed imports"
                    ),
                    Column(key="rows_skipped", label="Rows skipped", unit="count", note="rows an import left out"),
                ],
                rows=rows,
                total_rows=len(rows),
            )
        ],
    )


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


# Measurement health ---------------------------------------------------------------------------------------------------


async def measurement_card(session: AsyncSession, subject: Subject, scope: Period) -> Card:
    pending = await repository.pending_user_agents(session, subject.tenant_id)
    reasons = await repository.request_reasons(session, subject.tenant_id, scope.start, scope.end)
    runs = await repository.count_runs(session, subject.tenant_id, scope.start, scope.end)
    spill = await asyncio.to_thread(_spill_backlog, prefix.spill_directory(get_settings(), get_database().urls.app))
    requests = sum(reasons.values())
    bots = sum(reasons.get(reason, 0) for reason in BOT_REASONS)
    reasons_note = "raw requests recorded in the period (before any filter) that counting gave this reason"
    return Card(
        id="measurement_health",
        title="Measurement",
        note=f"Counting of {scope.start} to {scope.end}, the user agents waiting for review, and the spill on disk.",
        figures=[
            Figure(
                label="Unknown user agents",
                value=pending,
                unit="count",
                note="user agents no reference list knows, waiting for a label in the review queue",
            ),
            Figure(
                label="Bot share",
                value=round(100 * bots / requests, 1) if requests else None,
                unit="percent",
                note="requests refused as bots (known bot user agent, or one calling itself a bot) ÷ all requests",
            ),
            Figure(label="Requests", value=requests, unit="count", note="every request recorded in the period"),
            Figure(
                label="Last counted day",
                value=_iso(runs["last_counted_day"]),
                unit="date",
                note="the latest UTC day with a completed count run",
            ),
            Figure(
                label="Failed count runs",
                value=int(runs["failed_runs"]),
                unit="count",
                note="count runs of the period's days that failed",
            ),
            Figure(
                label="Spill backlog",
                value=spill["segments"],
                unit="count",
                note="prefix hit files waiting on this server to be replayed into the database (every workspace)",
            ),
            Figure(label="Spill size", value=spill["bytes"], unit="bytes", note="bytes of those files"),
            Figure(
                label="Oldest spill (hours)",
                value=spill["oldest_hours"],
                unit="count",
                note="hours since the oldest waiting file was written; empty when none waits",
            ),
            Figure(
                label="Spill set aside",
                value=spill["rejected"],
                unit="count",
                note="spill files the database refused, kept aside for inspection",
            ),
        ],
        tables=[
            Table(
                key="reasons",
                label="Requests by reason",
                columns=[
                    Column(key="reason", label="Reason", unit="text"),
                    Column(key="requests", label="Requests", unit="count", note=reasons_note),
                    Column(key="share_pct", label="Share", unit="percent", note="requests ÷ all requests"),
                ],
                rows=[
                    {"reason": reason, "requests": count, "share_pct": round(100 * count / requests, 1)}
                    for reason, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
                ],
                total_rows=len(reasons),
            )
        ],
    )


def _spill_backlog(directory: Path) -> dict[str, Any]:
    segments = sorted(directory.glob(f"*{SUFFIX}")) if directory.is_dir() else []
    rejected = directory / REJECTED
    sizes, ages = [], []
    for path in segments:
        try:
            status = path.stat()
        except FileNotFoundError:  # replayed meanwhile
            continue
        sizes.append(status.st_size)
        ages.append(status.st_mtime)
    return {
        "segments": len(sizes),
        "bytes": sum(sizes),
        "oldest_hours": round((time.time() - min(ages)) / 3600, 1) if ages else None,
        "rejected": len(list(rejected.glob(f"*{SUFFIX}"))) if rejected.is_dir() else 0,
    }


# Attribution health ---------------------------------------------------------------------------------------------------


async def attribution_card(session: AsyncSession, subject: Subject, scope: Period, enabled: frozenset[str]) -> Card:
    card = Card(
        id="attribution_health",
        title="Attribution",
        note=f"Conversion sources, the events they delivered {scope.start} to {scope.end}, and unusable addresses.",
    )
    if "ENABLE_ATTRIBUTION" not in enabled:
        return card.model_copy(update={"available": False, "notices": ["attribution is off for this workspace"]})
    sources = await repository.conversion_sources(session, subject.tenant_id)
    deliveries = await repository.conversion_deliveries(session, subject.tenant_id, scope.since, scope.until)
    shares = await attribution.unusable_ip_shares(session, subject)
    names = {sponsor_id: (await sales.get_sponsor(session, subject, sponsor_id)).name for sponsor_id in shares}
    failing = [
        s for s in sources if s["last_failure_at"] is not None and scope.since <= s["last_failure_at"] < scope.until
    ]
    known = [share for share in shares.values() if share is not None]
    share_note = (
        "conversions with an address whose household could not be used for matching (shared by too many "
        "devices) ÷ conversions with an address, over the latest run of each of the sponsor's campaigns"
    )
    return card.model_copy(
        update={
            "figures": [
                Figure(label="Sources", value=len(sources), unit="count", note="conversion sources of the workspace"),
                Figure(
                    label="Signature failures",
                    value=sum(int(s["signature_failures"]) for s in sources),
                    unit="count",
                    note="deliveries refused for a bad or missing signature, counted by each source since it was made",
                ),
                Figure(
                    label="Sources failing",
                    value=len(failing),
                    unit="count",
                    note="sources whose last refused delivery falls in the period",
                ),
                Figure(
                    label="Events delivered",
                    value=sum(deliveries.values()),
                    unit="count",
                    note="platform events accepted in the period (stored, duplicate order or ignored)",
                ),
                Figure(
                    label="Highest unusable-address share",
                    value=round(100 * max(known), 1) if known else None,
                    unit="percent",
                    note=f"the highest sponsor's: {share_note}",
                ),
            ],
            "tables": [
                _sources_table(sources),
                Table(
                    key="deliveries",
                    label="Events by outcome",
                    columns=[
                        Column(key="outcome", label="Outcome", unit="text"),
                        Column(key="events", label="Events", unit="count", note="accepted in the period"),
                    ],
                    rows=[{"outcome": k, "events": v} for k, v in sorted(deliveries.items())],
                    total_rows=len(deliveries),
                ),
                Table(
                    key="unusable_addresses",
                    label="Unusable addresses by sponsor",
                    columns=[
                        Column(key="sponsor_id", label="Sponsor id", unit="text"),
                        Column(key="sponsor", label="Sponsor", unit="text"),
                        Column(key="unusable_pct", label="Unusable", unit="percent", note=share_note),
                    ],
                    rows=[
                        {
                            "sponsor_id": str(sponsor_id),
                            "sponsor": names[sponsor_id],
                            "unusable_pct": round(100 * share, 1) if share is not None else None,
                        }
                        for sponsor_id, share in sorted(shares.items(), key=lambda item: names[item[0]])
                    ],
                    total_rows=len(shares),
                ),
            ],
        }
    )


def _sources_table(sources: list[dict[str, Any]]) -> Table:
    rows: list[dict[str, Value]] = [
        {
            "source_id": str(source["id"]),
            "sponsor_id": str(source["sponsor_id"]),
            "name": source["name"],
            "kind": source["kind"],
            "active": "yes" if source["active"] else "no",
            "events_received": int(source["events_received"]),
            "signature_failures": int(source["signature_failures"]),
            "last_event_at": _iso(source["last_event_at"]),
            "last_failure_at": _iso(source["last_failure_at"]),
            "last_failure_reason": source["last_failure_reason"],
        }
        for source in sources
    ]
    return Table(
        key="sources",
        label="Sources",
        columns=[
            Column(key="source_id", label="Source id", unit="text"),
            Column(key="sponsor_id", label="Sponsor id", unit="text"),
            Column(key="name", label="Source", unit="text"),
            Column(key="kind", label="Kind", unit="text"),
            Column(key="active", label="Active", unit="text"),
            Column(key="events_received", label="Events", unit="count", note="events received since it was made"),
            Column(key="signature_failures", label="Signature failures", unit="count", note="since it was made"),
            Column(key="last_event_at", label="Last event", unit="datetime"),
            Column(key="last_failure_at", label="Last failure", unit="datetime"),
            Column(key="last_failure_reason", label="Why", unit="text"),
        ],
        rows=rows,
        total_rows=len(rows),
    )
