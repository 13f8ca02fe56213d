"""Ad ops' health cards: metrics imports (ETL), measurement (counting, the review queue, the spill on disk) and
attribution (conversion sources, the events they delivered, unusable addresses)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.attribution import service as attribution
from podsponsor.auth.subject import Subject
from podsponsor.config import get_settings
from podsponsor.dashboards import repository
from podsponsor.dashboards.cards import column, pct, share_pct, table, unavailable
from podsponsor.dashboards.schemas import Card, Figure, Table, Value
from podsponsor.dashboards.scope import Period
from podsponsor.db.engine import get_database
from podsponsor.measurement import prefix
from podsponsor.measurement.spill import REJECTED, SUFFIX
from podsponsor.sales import service as sales

BOT_REASONS: Final = ("bot_ua", "bot_keyword")


# ETL health -----------------------------------------------------------------------------------------------------------


async def etl_card(session: AsyncSession, subject: Subject, scope: Period) -> Card:
    latest, period, ever = await repository.etl_health(session, subject.tenant_id, scope.since, scope.until)
    now = datetime.now(UTC)
    rows = [_etl_row(last, period.get(last["source"], {}), ever.get(last["source"], {}), now) for last in latest]
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
        tables=[_etl_table(rows)],
    )


def _etl_row(last: dict[str, Any], counts: dict[str, Any], ever: dict[str, Any], now: datetime) -> dict[str, Value]:
    """A source's last import, its imports of the period (`counts`) and of all time (`ever`)."""
    succeeded = ever.get("last_completed_at")
    return {
        "source": last["source"],
        "last_file": last["file_name"],
        "last_status": last["status"],
        "last_at": last["created_at"].isoformat(),
        "last_success_at": _iso(succeeded),
        "hours_since_success": round((now - succeeded).total_seconds() / 3600, 1) if succeeded else None,
        "data_through": _iso(ever.get("data_through")),
        "imports": int(counts.get("imports", 0)),
        "failed": int(counts.get("failed", 0)),
        "rows_rejected": int(counts.get("rows_rejected", 0)),
        "rows_skipped": int(counts.get("rows_skipped", 0)),
    }


def _etl_table(rows: list[dict[str, Value]]) -> Table:
    columns = [
        column("source", "Source"),
        column("last_file", "Last file"),
        column("last_status", "Last status"),
        column("last_at", "Last import", "datetime"),
        column("last_success_at", "Last success", "datetime"),
        column("hours_since_success", "Hours since success", "count", "now - the last completed import's end"),
        column("data_through", "Data through", "date", "latest day any import held"),
        column("imports", "Imports", "count", "started in the period"),
        column("failed", "Failed", "count", "of the period's imports"),
        column("rows_rejected", "Rows rejected", "count", "row errors of failed imports"),
        column("rows_skipped", "Rows skipped", "count", "rows an import left out"),
    ]
    return table("sources", "Sources", columns, rows)


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
                value=share_pct(bots, requests),
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
            *_spill_figures(spill),
        ],
        tables=[_reasons_table(reasons, requests)],
    )


def _spill_figures(spill: dict[str, Any]) -> list[Figure]:
    return [
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
    ]


def _reasons_table(reasons: dict[str, int], requests: int) -> Table:
    reasons_note = "raw requests recorded in the period (before any filter) that counting gave this reason"
    columns = [
        column("reason", "Reason"),
        column("requests", "Requests", "count", reasons_note),
        column("share_pct", "Share", "percent", "requests ÷ all requests"),
    ]
    rows: list[dict[str, Value]] = [
        {"reason": reason, "requests": count, "share_pct": round(100 * count / requests, 1)}
        for reason, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    ]
    return table("reasons", "Requests by reason", columns, rows)


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

UNUSABLE_NOTE: Final = (
    "conversions with an address whose household could not be used for matching (shared by too many "
    "devices) ÷ conversions with an address, over the latest run of each of the sponsor's campaigns"
)


async def attribution_card(session: AsyncSession, subject: Subject, scope: Period, enabled: frozenset[str]) -> Card:
    card = Card(
        id="attribution_health",
        title="Attribution",
        note=f"Conversion sources, the events they delivered {scope.start} to {scope.end}, and unusable addresses.",
    )
    if "ENABLE_ATTRIBUTION" not in enabled:
        return unavailable(card, "attribution is off for this workspace")
    sources = await repository.conversion_sources(session, subject.tenant_id)
    deliveries = await repository.conversion_deliveries(session, subject.tenant_id, scope.since, scope.until)
    shares = await attribution.unusable_ip_shares(session, subject)
    names = {sponsor_id: (await sales.get_sponsor(session, subject, sponsor_id)).name for sponsor_id in shares}
    return card.model_copy(
        update={
            "figures": _attribution_figures(sources, deliveries, shares, scope),
            "tables": [_sources_table(sources), _outcomes_table(deliveries), _unusable_table(shares, names)],
        }
    )


def _attribution_figures(
    sources: list[dict[str, Any]], deliveries: dict[str, int], shares: dict[uuid.UUID, float | None], scope: Period
) -> list[Figure]:
    failing = [
        s for s in sources if s["last_failure_at"] is not None and scope.since <= s["last_failure_at"] < scope.until
    ]
    known = [share for share in shares.values() if share is not None]
    return [
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
            value=pct(max(known)) if known else None,
            unit="percent",
            note=f"the highest sponsor's: {UNUSABLE_NOTE}",
        ),
    ]


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
    columns = [
        column("source_id", "Source id"),
        column("sponsor_id", "Sponsor id"),
        column("name", "Source"),
        column("kind", "Kind"),
        column("active", "Active"),
        column("events_received", "Events", "count", "events received since it was made"),
        column("signature_failures", "Signature failures", "count", "since it was made"),
        column("last_event_at", "Last event", "datetime"),
        column("last_failure_at", "Last failure", "datetime"),
        column("last_failure_reason", "Why"),
    ]
    return table("sources", "Sources", columns, rows)


def _outcomes_table(deliveries: dict[str, int]) -> Table:
    columns = [column("outcome", "Outcome"), column("events", "Events", "count", "accepted in the period")]
    rows: list[dict[str, Value]] = [{"outcome": k, "events": v} for k, v in sorted(deliveries.items())]
    return table("deliveries", "Events by outcome", columns, rows)


def _unusable_table(shares: dict[uuid.UUID, float | None], names: dict[uuid.UUID, str]) -> Table:
    columns = [
        column("sponsor_id", "Sponsor id"),
        column("sponsor", "Sponsor"),
        column("unusable_pct", "Unusable", "percent", UNUSABLE_NOTE),
    ]
    rows: list[dict[str, Value]] = [
        {"sponsor_id": str(sponsor_id), "sponsor": names[sponsor_id], "unusable_pct": pct(share)}
        for sponsor_id, share in sorted(shares.items(), key=lambda item: names[item[0]])
    ]
    return table("unusable_addresses", "Unusable addresses by sponsor", columns, rows)
