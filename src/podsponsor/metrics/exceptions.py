from __future__ import annotations

import uuid
from typing import Any

from podsponsor.errors import AppError, ValidationFailed


class ImportRejected(ValidationFailed):
    """The file has rows (or a header) that cannot be imported: nothing was written, the errors say where."""

    type = "import-failed"
    title = "The file cannot be imported"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]],
        error_count: int,
        import_id: uuid.UUID,
        facts: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail, errors=errors, error_count=error_count, import_id=str(import_id))
        self.error_count = error_count
        self.import_id = import_id
        # What was learnt before the import stopped (format, source, row counts), kept on the failed import.
        self.facts = facts or {}


class UrlNotImported(AppError):
    """The CSV address could not be fetched; keeps the fetcher's status and type, and names the field."""

    def __init__(self, cause: AppError, url: str) -> None:
        super().__init__(cause.detail, errors=[{"field": "url", "value": url[:200], "reason": cause.detail}])
        self.status = cause.status
        self.type = cause.type
        self.title = cause.title
