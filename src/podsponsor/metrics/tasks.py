"""The import job: large files are imported by a worker, which reports progress on the import as it reads."""

from __future__ import annotations

import logging
import uuid

from podsponsor.auth.subject import system_subject
from podsponsor.errors import NotFound
from podsponsor.jobs.app import app
from podsponsor.metrics import pipeline
from podsponsor.metrics.exceptions import ImportRejected

log = logging.getLogger(__name__)


@app.task(name="metrics.import_file", queue="metrics")
async def import_file(tenant_id: str, import_id: str) -> None:
    """A file with bad rows is an outcome, recorded on the import; the job itself succeeds."""
    subject = system_subject(uuid.UUID(tenant_id))
    try:
        record = await pipeline.run_import(subject, uuid.UUID(import_id), report_progress=True)
    except NotFound:
        return
    except ImportRejected as rejected:
        log.info("metrics import failed", extra={"import_id": import_id, "errors": rejected.error_count})
        return
    log.info(
        "metrics import finished",
        extra={"import_id": import_id, "status": record.status, "rows": record.rows_imported},
    )
