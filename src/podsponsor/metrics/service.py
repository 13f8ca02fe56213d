"""Metrics rules: an import is all or nothing, a file already imported is a no-op, a corrected file upserts.

`load_file` checks every row before anything counts: valid rows stream into a staging table while the file is
read, and only a file without a single error reaches the upsert into metrics_daily. Any error fails the import
with every error counted (the first 1,000 kept) and nothing written: the caller's transaction rolls back and the
failure is recorded by `fail_import` in a transaction of its own.
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import Subject
from podsponsor.catalog import service as catalog
from podsponsor.errors import NotFound, ValidationFailed
from podsponsor.events import service as events
from podsponsor.jobs.enqueue import enqueue
from podsponsor.listing import Window
from podsponsor.metrics import repository
from podsponsor.metrics.csv_reader import CsvFile, FileProblem
from podsponsor.metrics.episodes import EpisodeIndex
from podsponsor.metrics.exceptions import ImportRejected
from podsponsor.metrics.models import EtlImport, MetricDaily
from podsponsor.metrics.presets import FIELDS, catalogue, layout
from podsponsor.metrics.schemas import FieldOut, ImportOptions, PresetOut, PreviewOut, RowError
from podsponsor.metrics.transform import ErrorLog, Transformer

IMPORT_SORTS = ("created_at", "file_name", "status", "finished_at")
METRIC_SORTS = ("day", "downloads", "listeners", "revenue_cents")
PREVIEW_ROWS = 10
PREVIEW_PROBLEMS = 50
MAX_TOTALS_DAYS = 3 * 366
Progress = Callable[[float, int], Awaitable[None]]
MetricFilters = tuple[uuid.UUID | None, uuid.UUID | None, str | None, date | None, date | None]


def presets() -> list[PresetOut]:
    return [PresetOut.model_validate(item) for item in catalogue()]


async def create_import(
    session: AsyncSession,
    subject: Subject,
    *,
    import_id: uuid.UUID,
    file_name: str,
    sha256: str,
    size_bytes: int,
    options: ImportOptions,
    origin: str = "upload",
    source_url: str | None = None,
) -> EtlImport:
    """Record a received file. A file whose content was imported before is recorded as a duplicate of that
    import, already completed: nothing else happens."""
    record = EtlImport(
        tenant_id=subject.tenant_id,
        id=import_id,
        file_name=file_name,
        sha256=sha256,
        size_bytes=size_bytes,
        origin=origin,
        source_url=source_url,
        preset=options.preset,
        mapping=options.mapping or {},
        source=options.source,
        created_by=subject.user_id,
    )
    original = await repository.completed_import_of(session, subject.tenant_id, sha256)
    if original is not None:
        _as_duplicate(record, original)
    await repository.add(session, record)
    return record


def _as_duplicate(record: EtlImport, original: EtlImport) -> None:
    now = datetime.now(UTC)
    record.status = "completed"
    record.duplicate_of = original.id
    record.format = original.format
    record.source = original.source
    record.rows_total = record.rows_processed = original.rows_total
    record.last_sync_watermark = original.last_sync_watermark
    record.progress = 1.0
    record.started_at = record.finished_at = now
    record.duration_ms = 0


async def queue_import(session: AsyncSession, subject: Subject, record: EtlImport) -> None:
    await enqueue(session, "metrics.import_file", tenant_id=str(subject.tenant_id), import_id=str(record.id))


async def start_import(session: AsyncSession, subject: Subject, import_id: uuid.UUID) -> EtlImport:
    """pending → processing. An import in any other state is returned as it is (a repeated job does nothing)."""
    record = await get_import(session, subject, import_id)
    if record.status == "pending":
        record.status = "processing"
        record.started_at = datetime.now(UTC)
        await session.flush()
    return record


async def load_file(
    session: AsyncSession, subject: Subject, import_id: uuid.UUID, path: Path, on_progress: Progress | None = None
) -> EtlImport:
    """Check and write the whole file in the session's transaction; raises ImportRejected when any row is bad."""
    record = await get_import(session, subject, import_id)
    await repository.lock_content(session, subject.tenant_id, record.sha256)
    original = await repository.completed_import_of(session, subject.tenant_id, record.sha256)
    if original is not None and original.id != record.id:
        _as_duplicate(record, original)
        await session.flush()
        return record
    index = EpisodeIndex(await catalog.episode_keys(session, subject))
    errors = ErrorLog()
    # The import's row is written only at the end: progress is reported on it meanwhile, from other transactions.
    found_format, transformer = await _stage(session, record, path, index, errors, on_progress)
    record.format = found_format
    # Keys repeated inside the file are looked for in any case, so a failed file lists them with its other errors.
    await _add_duplicates(session, transformer, errors)
    if errors.count or transformer is None:
        raise _rejected(record, errors, transformer)
    counts = await repository.upsert_staged(session, subject.tenant_id, record.id)
    await _complete(session, subject, record, transformer, counts)
    return record


async def _stage(
    session: AsyncSession,
    record: EtlImport,
    path: Path,
    index: EpisodeIndex,
    errors: ErrorLog,
    on_progress: Progress | None,
) -> tuple[str | None, Transformer | None]:
    """The detected format, and the transformer that staged the rows (None when the file could not be read)."""
    options = _options(record)
    found_format = record.format
    try:
        with CsvFile(path) as reader:
            plan = layout(
                reader.read_header(),
                reader.delimiter,
                preset=options.preset,
                mapping=options.mapping,
                source=options.source,
            )
            found_format = plan.format
            for problem in plan.problems:
                errors.add_problem(problem)
            if errors.count:
                return found_format, None
            transformer = Transformer(plan, index, errors)
            async with repository.staging(session) as write:
                with _collector_paused():
                    for first_row, rows, malformed in reader.chunks():
                        block = transformer.chunk(first_row, rows, malformed)
                        if block:
                            await write(block)
                        if on_progress is not None:
                            await on_progress(reader.position(), transformer.rows_total)
    except FileProblem as problem:
        errors.add(problem.row, None, problem.value, problem.reason)
        return found_format, None
    if transformer.rows_total == transformer.rows_skipped and not errors.count:
        errors.add(reader.header_row + 1, None, None, "the file has a header but no data rows")
    return found_format, transformer


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Reading keeps millions of small lists alive at once; the cycle collector would rescan them every few
    thousand allocations (measured: twice the time of the whole check). None of them forms a cycle."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _options(record: EtlImport) -> ImportOptions:
    return ImportOptions(preset=record.preset, mapping=record.mapping or None, source=record.source)  # type: ignore[arg-type]


async def _add_duplicates(session: AsyncSession, transformer: Transformer | None, errors: ErrorLog) -> None:
    if transformer is None or not transformer.rows_staged:
        return
    column = transformer.layout.column("day")
    for day, source, rows in await repository.staged_duplicates(session, errors.limit):
        for row in rows[1:]:
            errors.add(
                row,
                column,
                day.isoformat(),
                f"the same day, episode and source as row {rows[0]} ({source})",
                "keep one row per day, episode and source",
            )


def _rejected(record: EtlImport, errors: ErrorLog, transformer: Transformer | None) -> ImportRejected:
    errors.kept.sort(key=lambda error: (error["row"] is not None, error["row"] or 0))
    count = errors.count
    facts: dict[str, Any] = {"format": record.format}
    if transformer is not None:
        facts.update(
            rows_total=transformer.rows_total, rows_skipped=transformer.rows_skipped, source=_sources_label(transformer)
        )
    noun = "problem" if count == 1 else "problems"
    return ImportRejected(
        f"{count:,} {noun} found; nothing was imported. Fix the file and import it again.",
        errors=errors.kept,
        error_count=count,
        import_id=record.id,
        facts=facts,
    )


def _sources_label(transformer: Transformer) -> str | None:
    return ", ".join(sorted(transformer.staged_sources()))[:100] or None


async def _complete(
    session: AsyncSession, subject: Subject, record: EtlImport, transformer: Transformer, counts: tuple[int, int]
) -> None:
    now = datetime.now(UTC)
    record.status = "completed"
    record.source = _sources_label(transformer)
    record.rows_total = record.rows_processed = transformer.rows_total
    record.rows_skipped = transformer.rows_skipped
    record.rows_imported = transformer.rows_staged
    record.rows_inserted, record.rows_updated = counts
    record.progress = 1.0
    record.error_count = 0
    record.errors = []
    record.finished_at = now
    record.duration_ms = _duration(record, now)
    record.last_sync_watermark = await _watermark(session, subject, record.source, transformer.days.latest)
    await session.flush()
    await events.record(
        session,
        subject,
        "etl.import_completed",
        subject_type="etl_import",
        subject_id=record.id,
        payload={
            "file_name": record.file_name,
            "format": record.format,
            "source": record.source,
            "rows_imported": record.rows_imported,
            "rows_inserted": record.rows_inserted,
            "rows_updated": record.rows_updated,
            "last_sync_watermark": record.last_sync_watermark.isoformat() if record.last_sync_watermark else None,
        },
    )


async def _watermark(session: AsyncSession, subject: Subject, source: str | None, latest: str | None) -> date | None:
    newest = date.fromisoformat(latest) if latest else None
    previous = await repository.previous_watermark(session, subject.tenant_id, source) if source else None
    candidates = [day for day in (newest, previous) if day is not None]
    return max(candidates) if candidates else None


def _duration(record: EtlImport, now: datetime) -> int:
    started = record.started_at or now
    return max(0, int((now - started).total_seconds() * 1000))


async def fail_import(session: AsyncSession, subject: Subject, rejected: ImportRejected) -> EtlImport:
    record = await get_import(session, subject, rejected.import_id)
    now = datetime.now(UTC)
    record.status = "failed"
    record.errors = rejected.errors or []
    record.error_count = rejected.error_count
    for name, value in rejected.facts.items():
        if value is not None:
            setattr(record, name, value)
    record.rows_processed = record.rows_total
    record.rows_imported = record.rows_inserted = record.rows_updated = 0
    record.finished_at = now
    record.duration_ms = _duration(record, now)
    await session.flush()
    first = (rejected.errors or [{}])[0]
    await events.record(
        session,
        subject,
        "etl.error",
        subject_type="etl_import",
        subject_id=record.id,
        payload={
            "file_name": record.file_name,
            "error_count": rejected.error_count,
            "first_error": {k: first.get(k) for k in ("row", "column", "reason")},
        },
    )
    return record


def internal_failure(import_id: uuid.UUID) -> ImportRejected:
    """What an import that stopped on our side records, so it never stays 'processing'."""
    reason = "the import stopped because of an error on our side; nothing was imported. Try again."
    return ImportRejected(
        reason,
        errors=[{"row": None, "column": None, "value": None, "reason": reason}],
        error_count=1,
        import_id=import_id,
    )


async def get_import(session: AsyncSession, subject: Subject, import_id: uuid.UUID) -> EtlImport:
    record = await repository.get_import(session, subject.tenant_id, import_id)
    if record is None:
        raise NotFound("no such import")
    return record


async def list_imports(session: AsyncSession, subject: Subject, page: Window) -> tuple[Sequence[EtlImport], int]:
    return await repository.list_imports(session, subject.tenant_id, page)


async def set_progress(
    session: AsyncSession, subject: Subject, import_id: uuid.UUID, fraction: float, rows_processed: int
) -> None:
    # Reading is most of the work; the upsert at the end takes the rest.
    await repository.set_progress(session, subject.tenant_id, import_id, round(0.9 * fraction, 4), rows_processed)


async def preview(session: AsyncSession, subject: Subject, head: bytes, options: ImportOptions) -> PreviewOut:
    """What importing a file would do, from its first rows: nothing is stored."""
    errors = ErrorLog(limit=PREVIEW_PROBLEMS)
    sample: list[list[str]] = []
    mapping: dict[str, str] = {}
    result: dict[str, Any] = {
        "format": options.preset or "generic",
        "delimiter": ",",
        "encoding": "utf-8",
        "columns": [],
    }
    try:
        with CsvFile(head) as reader:
            header = reader.read_header()
            plan = layout(
                header, reader.delimiter, preset=options.preset, mapping=options.mapping, source=options.source
            )
            result.update(format=plan.format, delimiter=plan.delimiter, encoding=reader.encoding, columns=plan.columns)
            mapping = plan.mapping
            for problem in plan.problems:
                errors.add_problem(problem)
            if not plan.problems:
                index = EpisodeIndex(await catalog.episode_keys(session, subject))
                transformer = Transformer(plan, index, errors)
                for first_row, rows, malformed in reader.chunks():
                    sample.extend(row for row in rows[: PREVIEW_ROWS - len(sample)] if isinstance(row, list))
                    transformer.chunk(first_row, rows, malformed)
    except FileProblem as problem:
        errors.add(problem.row, None, problem.value, problem.reason)
    return PreviewOut(
        **result,  # type: ignore[arg-type]
        sample=sample,
        suggested_mapping=mapping,
        presets=presets(),
        fields=[FieldOut(name=name, label=label) for name, label in FIELDS.items()],
        problems=[RowError.model_validate(error) for error in errors.kept],
    )


async def list_metrics(
    session: AsyncSession, subject: Subject, filters: MetricFilters, page: Window
) -> tuple[Sequence[MetricDaily], int]:
    podcast_id, episode_id = filters[0], filters[1]
    if podcast_id is not None:
        await catalog.get_podcast(session, subject, podcast_id)
    if episode_id is not None:
        await catalog.get_episode(session, subject, episode_id)
    return await repository.list_metrics(session, subject.tenant_id, filters, page)


async def daily_totals(
    session: AsyncSession,
    subject: Subject,
    podcast_id: uuid.UUID | None,
    source: str | None,
    day_from: date | None,
    day_to: date | None,
) -> list[dict[str, Any]]:
    if podcast_id is not None:
        await catalog.get_podcast(session, subject, podcast_id)
    day_to = day_to or datetime.now(UTC).date()
    day_from = day_from or day_to - timedelta(days=89)
    if day_from > day_to or (day_to - day_from).days >= MAX_TOTALS_DAYS:
        raise ValidationFailed(
            "the date range is not valid",
            errors=[
                {
                    "field": "from",
                    "value": day_from.isoformat(),
                    "reason": f"must be on or before 'to' and at most {MAX_TOTALS_DAYS} days before it",
                }
            ],
        )
    return await repository.daily_totals(session, subject.tenant_id, podcast_id, source, day_from, day_to)


# Sources that counting owns: their rows are replaced whenever a day is counted, never imported from files.
MEASURED_SOURCES = ("prefix", "logs")


async def replace_measured_day(
    session: AsyncSession, tenant_id: uuid.UUID, day: date, rows: Sequence[dict[str, Any]]
) -> None:
    """The day's `prefix` and `logs` rows become exactly `rows` (episode_id, podcast_id, source, downloads,
    listeners): a recount replaces, never adds."""
    await repository.replace_measured_day(session, tenant_id, day, MEASURED_SOURCES, rows)
