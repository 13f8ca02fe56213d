"""The audit side of counting: every raw request of a day with the tag it got, and why one request did or did not
count. Both re-evaluate the day under the run that counted it (its window, settings and reference-list versions),
so what they say is what the stored numbers were made from; a day not counted yet is evaluated under today's rules
and says so."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date
from typing import Any, Final, Literal

import polars as pl
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import Subject
from podsponsor.errors import NotFound
from podsponsor.measurement import count_repository, counting_job
from podsponsor.measurement.count_models import CountRun
from podsponsor.measurement.counting import explain

ExportFormat = Literal["csv", "tsv"]
EXPORT_COLUMNS: Final = (
    "id",
    "ts",
    "source_kind",
    "podcast_id",
    "episode_id",
    "method",
    "status",
    "destination",
    "url",
    "range_header",
    "range_start",
    "range_end",
    "bytes_sent",
    "user_agent",
    "referer",
    "ip_hash",
    "country",
    "datacenter",
    "reason",
    "detail",
    "counted_as",
    "ip_downloads",
    "bytes_covered",
    "bytes_required",
)


@dataclass(frozen=True)
class DayAudit:
    day: date
    run: CountRun | None
    window: str
    rows: pl.DataFrame


@dataclass(frozen=True)
class Explanation:
    hit_id: str
    day: date
    counted: bool
    reason: str
    sentence: str
    request: dict[str, Any]
    run: CountRun | None
    window: str


async def audit_day(
    session: AsyncSession, subject: Subject, day: date, podcast_id: uuid.UUID | None = None
) -> DayAudit:
    """The day's requests (in time order) with their tags, as the day was counted."""
    run = await count_repository.run_of_day(session, subject.tenant_id, day)
    evaluated = await counting_job.evaluate_day(session, subject.tenant_id, day, as_counted=run)
    tags = evaluated.result.tags.with_columns(
        pl.col("id").cast(pl.Utf8), pl.col("reason").cast(pl.Utf8), pl.col("counted_as").cast(pl.Utf8)
    )
    requests = evaluated.requests.with_columns(pl.col("id").cast(pl.Utf8))
    rows = tags.join(requests, on="id", how="left", maintain_order="left")
    if podcast_id is not None:
        rows = rows.filter(pl.col("podcast_id") == str(podcast_id))
    for name in EXPORT_COLUMNS:
        if name not in rows.columns:
            rows = rows.with_columns(pl.lit(None, pl.Utf8).alias(name))
    return DayAudit(day, run, evaluated.settings.window, rows.select(EXPORT_COLUMNS))


def export_text(audit: DayAudit, fmt: ExportFormat) -> str:
    """CSV or TSV with a header row; times in UTC ISO 8601, empty for none."""
    frame = audit.rows.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
    return frame.write_csv(separator="\t" if fmt == "tsv" else ",", null_value="")


async def explain_hit(session: AsyncSession, subject: Subject, hit_id: str) -> Explanation:
    found = await count_repository.hit_day(session, subject.tenant_id, hit_id)
    if found is None:
        raise NotFound(f"no request {hit_id!r} in this workspace")
    ts, _ = found
    day = ts.astimezone(UTC).date()
    audit = await audit_day(session, subject, day)
    matched = audit.rows.filter(pl.col("id") == hit_id)
    if not matched.height:
        raise NotFound(f"request {hit_id!r} was not part of the count of {day.isoformat()}")
    row = matched.row(0, named=True)
    sentence = explain(row)
    if audit.run is None:
        sentence += " (The day has not been counted yet: this is what counting it now would say.)"
    return Explanation(
        hit_id=hit_id,
        day=day,
        counted=row["reason"] == "counted",
        reason=row["reason"],
        sentence=sentence,
        request=row,
        run=audit.run,
        window=audit.window,
    )
