"""Importing a host or CDN log file: its requests stored in `log_requests` for counting, the import recorded, and
counts of the UTC days it touches queued.

A log is evidence, not a spreadsheet: a line that cannot be read is recorded (its number and why) and the other
lines are stored. Only a file where no line can be read is refused. A request's `line_id` is the first 16 hex digits
of the file's SHA-256 and its line number, so importing the same file again stores nothing new. The hash is of the
content as read (a gzipped file is hashed unzipped), so the same log gzipped or not is one file.

Reading (parsing, address lookups, CSV for COPY) runs in a worker thread one chunk at a time, so a large file keeps
memory bounded and the event loop free; the database work stays in the caller's transaction.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final, Literal, cast

import polars as pl
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import Subject
from podsponsor.config import get_settings
from podsponsor.errors import NotFound, ValidationFailed
from podsponsor.events import service as events
from podsponsor.listing import Window
from podsponsor.measurement import counting_job, geo, log_repository
from podsponsor.measurement import service as lists_service
from podsponsor.measurement.log_models import LOG_FORMATS, LogImport
from podsponsor.measurement.logs import LogChunk, LogError, read_cloudfront, read_generic, read_lines

LogFormat = Literal["cloudfront", "csv", "jsonl"]
Progress = Callable[[int, int], None]
"""Called after each chunk with (lines read so far, lines in the file)."""

FORMAT_NAMES: Final[dict[str, str]] = {
    "cloudfront": "a CloudFront standard log",
    "csv": "a CSV log in the generic shape",
    "jsonl": "a JSON-lines log in the generic shape",
}
ERRORS_KEPT: Final = 1_000
IMPORT_SORTS: Final = ("started_at", "file_name", "requests_stored", "error_count")
HASH_BLOCK: Final = 1 << 20
# What log_requests can hold: the readers accept any word as a method and any whole number as a status.
METHOD_MAX: Final = 16
STATUS_RANGE: Final = (100, 599)
TEXT_COLUMNS: Final = ("method", "url", "user_agent", "referer")
EVENT_FIELDS: Final = (
    "file_name",
    "format",
    "sha256",
    "lines_read",
    "requests_stored",
    "requests_already_stored",
    "error_count",
    "days",
)


class UnknownLogFormat(ValidationFailed):
    type = "log-format-unknown"
    title = "Unknown log format"


class LogUnreadable(ValidationFailed):
    """Not one request could be read from the file; `errors` hold the first lines and why."""

    type = "log-unreadable"
    title = "The log could not be read"


@dataclass(frozen=True)
class _Content:
    sha256: str
    line_count: int
    lines: Callable[[], Iterable[str]]


class _CountedLines:
    """The lines handed to a reader, counted as they go (a reader skips headers and blank lines silently)."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.lines = lines
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            self.count += 1
            yield line


@dataclass(frozen=True)
class _Batch:
    """One chunk, ready to store: its requests as COPY CSV, and what the import reports about them."""

    block: bytes
    requests: int
    errors: list[LogError]
    days: set[date]
    first_ts: datetime | None
    last_ts: datetime | None


@dataclass
class _Tally:
    lines_read: int = 0
    stored: int = 0
    already_stored: int = 0
    error_count: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    days: set[date] = field(default_factory=set)
    first_ts: datetime | None = None
    last_ts: datetime | None = None

    def add(self, batch: _Batch, stored: int) -> None:
        self.stored += stored
        self.already_stored += batch.requests - stored
        self.error_count += len(batch.errors)
        room = ERRORS_KEPT - len(self.errors)
        self.errors.extend({"line": error.line, "reason": error.reason} for error in batch.errors[: max(room, 0)])
        self.days |= batch.days
        if batch.first_ts is not None:
            self.first_ts = min(self.first_ts or batch.first_ts, batch.first_ts)
        if batch.last_ts is not None:
            self.last_ts = max(self.last_ts or batch.last_ts, batch.last_ts)

    @property
    def requests(self) -> int:
        return self.stored + self.already_stored


def upload_path(tenant_id: uuid.UUID, upload_id: uuid.UUID) -> Path:
    """Where an uploaded log waits while it is imported (removed afterwards)."""
    return (get_settings().data_dir / "logs" / str(tenant_id) / f"{upload_id}.log").resolve()


async def import_log(
    session: AsyncSession,
    subject: Subject,
    *,
    file_name: str,
    path_or_lines: str | Path | Iterable[str],
    format: str,
    on_progress: Progress | None = None,
) -> LogImport:
    """Store the requests of a log file (a path, plain or gzipped, or the file's lines) and queue counts of its days.

    Raises UnknownLogFormat for a format other than cloudfront, csv or jsonl, and LogUnreadable when not one
    request could be read (nothing is stored then)."""
    if format not in LOG_FORMATS:
        raise UnknownLogFormat(
            f"{format!r} is not a log format this server reads; use one of {', '.join(LOG_FORMATS)}",
            errors=[{"field": "format", "reason": f"one of {', '.join(LOG_FORMATS)}"}],
        )
    started = datetime.now(UTC)
    content = await asyncio.to_thread(_content_of, path_or_lines)
    import_id = uuid.uuid4()
    tally = await _store_requests(session, subject, import_id, content, cast(LogFormat, format), on_progress)
    if not tally.requests:
        raise _unreadable(file_name, format, tally)
    record = LogImport(
        id=import_id,
        tenant_id=subject.tenant_id,
        file_name=file_name[:255],
        sha256=content.sha256,
        format=format,
        status="completed",
        lines_read=tally.lines_read,
        requests_stored=tally.stored,
        requests_already_stored=tally.already_stored,
        error_count=tally.error_count,
        errors=tally.errors,
        first_ts=tally.first_ts,
        last_ts=tally.last_ts,
        days=[day.isoformat() for day in sorted(tally.days)],
        created_by=subject.user_id,
        started_at=started,
        finished_at=datetime.now(UTC),
    )
    await log_repository.add(session, record)
    queued = await counting_job.schedule_days(session, subject.tenant_id, sorted(tally.days), trigger="logs")
    await events.record(
        session,
        subject,
        "measurement.logs_imported",
        subject_type="log_import",
        subject_id=record.id,
        payload={
            **{name: getattr(record, name) for name in EVENT_FIELDS},
            "counts_queued": queued,
        },
    )
    return record


async def _store_requests(
    session: AsyncSession,
    subject: Subject,
    import_id: uuid.UUID,
    content: _Content,
    format: LogFormat,
    on_progress: Progress | None,
) -> _Tally:
    """Read the file chunk by chunk (in a worker thread) and store each chunk's requests as it comes."""
    classifier = await lists_service.classifier(session)
    lines = _CountedLines(content.lines())
    if on_progress is not None:
        on_progress(0, content.line_count)
    tally = _Tally()
    with closing(_reader(format, lines, content.sha256[:16], classifier.is_datacenter)) as chunks:
        async with log_repository.staging(session, subject.tenant_id, import_id) as store:
            while (batch := await asyncio.to_thread(_next_batch, chunks)) is not None:
                tally.add(batch, await store(batch.block) if batch.requests else 0)
                if on_progress is not None:
                    on_progress(lines.count, max(lines.count, content.line_count))
    tally.lines_read = lines.count
    return tally


async def get_import(session: AsyncSession, subject: Subject, import_id: uuid.UUID) -> LogImport:
    record = await log_repository.get_import(session, subject.tenant_id, import_id)
    if record is None:
        raise NotFound("no such log import")
    return record


async def list_imports(session: AsyncSession, subject: Subject, page: Window) -> tuple[Sequence[LogImport], int]:
    return await log_repository.list_imports(session, subject.tenant_id, page)


# Reading -------------------------------------------------------------------------------------------------------------


def _content_of(path_or_lines: str | Path | Iterable[str]) -> _Content:
    """The file's hash and line count, read once before its lines are; the lines of a path are read again after."""
    if isinstance(path_or_lines, str | Path):
        path = Path(path_or_lines)
        sha256, line_count = _hash_file(path)
        return _Content(sha256, line_count, lambda: read_lines(path))
    held = list(path_or_lines)
    digest = hashlib.sha256()
    for line in held:
        digest.update(line.encode("utf-8", "replace"))
    return _Content(digest.hexdigest(), len(held), lambda: held)


def _hash_file(path: Path) -> tuple[str, int]:
    """SHA-256 of the content (unzipped when gzipped) and its number of lines."""
    with path.open("rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    digest = hashlib.sha256()
    newlines, last = 0, b"\n"
    with gzip.open(path, "rb") if gzipped else path.open("rb") as content:
        while block := content.read(HASH_BLOCK):
            digest.update(block)
            newlines += block.count(b"\n")
            last = block[-1:]
    return digest.hexdigest(), newlines + (last != b"\n")


def _reader(
    format: LogFormat, lines: Iterable[str], source: str, datacenter: Callable[[str], str | None]
) -> Generator[LogChunk]:
    # A generator of its own, so closing it (an import that stops half-way) closes the file being read.
    if format == "cloudfront":
        yield from read_cloudfront(lines, source=source, country=geo.country, datacenter=datacenter)
    else:
        yield from read_generic(lines, shape=format, source=source, country=geo.country, datacenter=datacenter)


def _next_batch(chunks: Iterator[LogChunk]) -> _Batch | None:
    chunk = next(chunks, None)
    return None if chunk is None else _batch(chunk)


def _batch(chunk: LogChunk) -> _Batch:
    """A chunk's storable requests as COPY CSV; requests the table cannot hold join the chunk's errors."""
    rows = chunk.rows
    fits = (pl.col("method").str.len_chars() <= METHOD_MAX) & pl.col("status").is_between(*STATUS_RANGE)
    unfit = rows.filter(~fits)
    errors = list(chunk.errors)
    if unfit.height:
        errors += [
            LogError(row["line"], _unfit_reason(row["method"], row["status"])) for row in unfit.iter_rows(named=True)
        ]
        errors.sort(key=lambda error: error.line)
        rows = rows.filter(fits)
    if not rows.height:
        return _Batch(b"", 0, errors, set(), None, None)
    stored = rows.select(
        pl.col("id").alias("line_id"),
        "ts",
        # PostgreSQL text cannot hold NUL, and one in a user agent must not fail the whole chunk's COPY.
        *(pl.col(name).str.replace_all("\x00", "", literal=True) for name in TEXT_COLUMNS[:2]),
        "status",
        "range_start",
        "range_end",
        "bytes_sent",
        *(pl.col(name).str.replace_all("\x00", "", literal=True) for name in TEXT_COLUMNS[2:]),
        "ip_hash",
        "country",
        "datacenter",
    )
    days = set(rows.get_column("ts").dt.date().unique().to_list())
    return _Batch(
        block=stored.write_csv(include_header=False).encode(),
        requests=rows.height,
        errors=errors,
        days=days,
        first_ts=cast(datetime, rows.get_column("ts").min()),
        last_ts=cast(datetime, rows.get_column("ts").max()),
    )


def _unfit_reason(method: str, status: int) -> str:
    if len(method) > METHOD_MAX:
        return f"method {method[:20]!r} is not an HTTP method"
    return f"status {status} is not an HTTP status"


def _unreadable(file_name: str, format: str, tally: _Tally) -> LogUnreadable:
    facts: dict[str, Any] = {"format": format, "lines_read": tally.lines_read, "error_count": tally.error_count}
    if not tally.errors:
        what = "is empty" if not tally.lines_read else "holds no requests, only headers, comments or blank lines"
        return LogUnreadable(f"{file_name} {what}; nothing was imported", **facts)
    first = tally.errors[0]
    return LogUnreadable(
        f"no line of {file_name} could be read as {FORMAT_NAMES[format]} (line {first['line']}: {first['reason']}); "
        "nothing was imported. Is it in that format?",
        errors=tally.errors,
        **facts,
    )
