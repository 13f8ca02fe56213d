"""Idempotent creates: `begin` before the create, `finish` after it, both in the create's own transaction.

    stored = await idempotency.begin(session, subject.tenant_id, "POST /api/v1/io", key, body_bytes)
    if stored is not None:
        return stored  # the first request's status and body, replayed
    ... create ...
    await idempotency.finish(session, subject.tenant_id, "POST /api/v1/io", key, body_bytes, 201, body, io.id)

A key is kept for `RETENTION` (24 hours, as payment APIs do); a retry after that creates again.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.errors import AppError, ValidationFailed
from podsponsor.idempotency import repository
from podsponsor.idempotency.models import IdempotencyRecord

RETENTION: Final = timedelta(hours=24)
KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


class IdempotencyKeyReused(AppError):
    status = 422
    type = "idempotency-key-reused"
    title = "This Idempotency-Key was used for a different request"


@dataclass(frozen=True)
class Stored:
    status_code: int
    body: dict[str, Any]
    resource_id: uuid.UUID | None


def check_key(key: str) -> str:
    if not KEY.match(key):
        raise ValidationFailed(
            "Idempotency-Key must be 1 to 200 visible ASCII characters (a UUID is a good choice)",
            errors=[{"field": "Idempotency-Key", "value": key[:200], "reason": "1-200 visible ASCII characters"}],
        )
    return key


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def begin(session: AsyncSession, tenant_id: uuid.UUID, scope: str, key: str, body: bytes) -> Stored | None:
    """The stored answer of an earlier request with this key (same body), or None to go ahead; holds the key's
    lock until the transaction ends."""
    check_key(key)
    await repository.lock(session, tenant_id, scope, key)
    found = await repository.find(session, tenant_id, scope, key)
    if found is None or found.created_at < datetime.now(UTC) - RETENTION:
        if found is not None:
            await session.delete(found)
            await session.flush()
        return None
    if found.request_sha256 != _digest(body):
        raise IdempotencyKeyReused(
            "the key was first used with a different request body; use a new key for a new request",
            errors=[{"field": "Idempotency-Key", "value": key, "reason": "used before with another body"}],
        )
    return Stored(found.status_code, dict(found.response), found.resource_id)


async def finish(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    scope: str,
    key: str,
    body: bytes,
    status_code: int,
    response: dict[str, Any],
    resource_id: uuid.UUID | None = None,
) -> None:
    await repository.add(
        session,
        IdempotencyRecord(
            tenant_id=tenant_id,
            scope=scope,
            key=key,
            request_sha256=_digest(body),
            status_code=status_code,
            response=response,
            resource_id=resource_id,
        ),
    )


async def prune(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """Forget the tenant's keys older than the retention."""
    return await repository.prune(session, tenant_id, datetime.now(UTC) - RETENTION)
