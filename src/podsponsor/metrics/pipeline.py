"""An import from arrival to outcome, owning its transactions: the API, the job and the CLI all come through here.

A received file is recorded first (and queued, when it is large, in the same transaction). Running it takes three
short steps and one long one: mark it processing; check and write the whole file in one transaction (progress is
written meanwhile from transactions of its own); on failure, record the errors in a fresh transaction, since the
long one rolled back. The stored file is removed once the import has run.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from podsponsor import outbound
from podsponsor.auth.subject import Subject
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.metrics import service
from podsponsor.metrics.exceptions import ImportRejected, UrlNotImported
from podsponsor.metrics.models import EtlImport
from podsponsor.metrics.schemas import ImportOptions
from podsponsor.metrics.service import Progress
from podsponsor.metrics.uploads import safe_file_name

PROGRESS_INTERVAL = 0.5  # seconds between progress writes
URL_TIMEOUT = 60.0
COPY_BLOCK = 1 << 20


def stored_path(tenant_id: uuid.UUID, import_id: uuid.UUID) -> Path:
    """Where a received file waits for its import; the app and the worker share the data folder."""
    return (get_settings().data_dir / "etl" / str(tenant_id) / f"{import_id}.csv").resolve()


@dataclass(frozen=True)
class Arrival:
    import_id: uuid.UUID
    file_name: str
    sha256: str
    size: int
    origin: str = "upload"
    source_url: str | None = None


def runs_now(size: int) -> bool:
    return size <= get_settings().etl_sync_max_mb * 1024 * 1024


async def accept(subject: Subject, arrival: Arrival, options: ImportOptions, *, wait: bool | None = None) -> EtlImport:
    """Record the arrived file; import it now (small files, or `wait`) or queue it as a job. A file imported
    before is recorded as a duplicate and not read again."""
    run = runs_now(arrival.size) if wait is None else wait
    async with tenant_transaction(subject.tenant_id) as session:
        record = await service.create_import(
            session,
            subject,
            import_id=arrival.import_id,
            file_name=arrival.file_name,
            sha256=arrival.sha256,
            size_bytes=arrival.size,
            options=options,
            origin=arrival.origin,
            source_url=arrival.source_url,
        )
        if record.duplicate_of is None and not run:
            await service.queue_import(session, subject, record)
    if record.duplicate_of is not None:
        stored_path(subject.tenant_id, record.id).unlink(missing_ok=True)
        return record
    if run:
        return await run_import(subject, record.id)
    return record


async def run_import(subject: Subject, import_id: uuid.UUID, *, report_progress: bool = False) -> EtlImport:
    """Run a recorded import; raises ImportRejected (after recording it) when the file has errors."""
    path = stored_path(subject.tenant_id, import_id)
    try:
        async with tenant_transaction(subject.tenant_id) as session:
            record = await service.start_import(session, subject, import_id)
        if record.status != "processing":
            return record
        progress = _progress_writer(subject, import_id) if report_progress else None
        try:
            async with tenant_transaction(subject.tenant_id) as session:
                return await service.load_file(session, subject, import_id, path, progress)
        except ImportRejected as rejected:
            await _record_failure(subject, rejected)
            raise
        except FileNotFoundError as exc:
            reason = "the uploaded file is no longer on this server; upload it again"
            missing = ImportRejected(
                reason,
                errors=[{"row": None, "column": None, "value": None, "reason": reason}],
                error_count=1,
                import_id=import_id,
            )
            await _record_failure(subject, missing)
            raise missing from exc
        except Exception:
            await _record_failure(subject, service.internal_failure(import_id))
            raise
    finally:
        path.unlink(missing_ok=True)


async def _record_failure(subject: Subject, rejected: ImportRejected) -> None:
    async with tenant_transaction(subject.tenant_id) as session:
        await service.fail_import(session, subject, rejected)


def _progress_writer(subject: Subject, import_id: uuid.UUID) -> Progress:
    last = 0.0

    async def report(fraction: float, rows_processed: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < PROGRESS_INTERVAL:
            return
        last = now
        async with tenant_transaction(subject.tenant_id) as session:
            await service.set_progress(session, subject, import_id, fraction, rows_processed)

    return report


async def fetch(subject: Subject, url: str, import_id: uuid.UUID) -> Arrival:
    """Fetch a CSV from the web into the data folder, through the same SSRF checks as feeds."""
    limit = get_settings().etl_max_upload_bytes
    try:
        result = await outbound.fetch(url, max_bytes=limit, timeout=URL_TIMEOUT, label="CSV")
    except outbound.OutboundError as exc:
        raise UrlNotImported(exc, url) from exc
    path = stored_path(subject.tenant_id, import_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(result.content)
    name = unquote(urlsplit(result.final_url).path.rsplit("/", 1)[-1]) or "download.csv"
    return Arrival(
        import_id=import_id,
        file_name=safe_file_name(name),
        sha256=hashlib.sha256(result.content).hexdigest(),
        size=len(result.content),
        origin="url",
        source_url=url,
    )


def copy_local(subject: Subject, source: Path, import_id: uuid.UUID) -> Arrival:
    """A file on this machine (the CLI), copied into the data folder and hashed on the way."""
    limit = get_settings().etl_max_upload_bytes
    path = stored_path(subject.tenant_id, import_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as reading, path.open("wb") as writing:
        while block := reading.read(COPY_BLOCK):
            size += len(block)
            if size > limit:
                writing.close()
                path.unlink(missing_ok=True)
                raise ValueError(f"the file is larger than {get_settings().etl_max_upload_mb} MB")
            digest.update(block)
            writing.write(block)
    return Arrival(
        import_id=import_id, file_name=safe_file_name(source.name), sha256=digest.hexdigest(), size=size, origin="cli"
    )
