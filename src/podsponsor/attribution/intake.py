"""The rules of the conversions API (`POST /api/v1/conversions`) and the list of conversions, and what the API and the
orders upload share: which source may take the conversions, and how a refusal shows in that source's health.

A conversion posted with an Idempotency-Key is recorded once per key: a retry with the same body answers what the
first request answered; the same key with another body is refused. Whatever the key, an order is recorded once per
source (`service.record_conversion`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.attribution import intake_repository, repository, service
from podsponsor.attribution.exceptions import InvalidConversion, SourceNotUsable
from podsponsor.attribution.intake_schemas import ConversionIn, ConversionQuery, ConversionRecorded
from podsponsor.attribution.models import Conversion, ConversionSource
from podsponsor.attribution.schemas import ConversionData
from podsponsor.auth.subject import Subject
from podsponsor.idempotency import service as idempotency
from podsponsor.listing import Window

API_SCOPE: Final = "POST /api/v1/conversions"
CONVERSION_SORTS: Final = ("occurred_at", "created_at", "value_cents")
# Clocks drift and time zones get mixed up; a conversion further ahead than this is a mistake, not a clock.
FUTURE_SLACK: Final = timedelta(days=1)
FAILURE_ERRORS_NAMED: Final = 3
# An advertiser user without a sponsor cannot exist (a check constraint); if one did, it would match nothing.
_NO_SPONSOR: Final = uuid.UUID(int=0)


def only_sponsor(subject: Subject) -> uuid.UUID | None:
    if not subject.is_advertiser:
        return None
    return subject.sponsor_id or _NO_SPONSOR


async def usable_source(
    session: AsyncSession, subject: Subject, source_id: uuid.UUID, kind: str, *, field: str = "source_id"
) -> ConversionSource:
    """The active `kind` source `source_id` of the subject's workspace, or SourceNotUsable naming `field`."""
    source = await repository.get_source(session, subject.tenant_id, source_id, only_sponsor=only_sponsor(subject))
    problem = None
    if source is None:
        problem = "no such conversion source in this workspace"
    elif source.kind != kind:
        problem = f"a {source.kind} source; conversions here go to a source of kind {kind}"
    elif not source.active:
        problem = "the source is deactivated; reactivate it first"
    if problem is not None or source is None:
        reason = problem or "no such conversion source"
        raise SourceNotUsable(reason, errors=[{"field": field, "value": str(source_id), "reason": reason}])
    return source


def check_not_ahead(at: datetime | None, now: datetime) -> str | None:
    """Why `at` cannot be when a conversion happened, or None."""
    if at is None:
        return None
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return "more than a day in the future" if aware > now + FUTURE_SLACK else None


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict[str, Any]
    conversion_id: uuid.UUID | None
    replayed: bool


async def record_posted(
    session: AsyncSession, subject: Subject, data: ConversionIn, idempotency_key: str, now: datetime
) -> Answer:
    """Records a posted conversion under its Idempotency-Key: 201 stored, 200 when its order was recorded before,
    and the first answer again for a retry."""
    # The validated input, not the raw bytes: the same conversion sent with other spacing or key order is the same.
    request = data.model_dump_json().encode()
    stored = await idempotency.begin(session, subject.tenant_id, API_SCOPE, idempotency_key, request)
    if stored is not None:
        return Answer(stored.status_code, stored.body, stored.resource_id, replayed=True)
    ahead = check_not_ahead(data.occurred_at, now)
    if ahead is not None:
        shown = str(data.occurred_at)
        raise InvalidConversion(
            "1 field(s) of the conversion are not valid",
            errors=[{"field": "occurred_at", "value": shown, "reason": ahead}],
        )
    source = await usable_source(session, subject, data.source_id, "api")
    conversion, created = await service.record_conversion(session, source, _as_data(data), now=now)
    await intake_repository.count_events(session, subject.tenant_id, source.id, 1, now)
    status_code = 201 if created else 200
    body = ConversionRecorded.recorded(conversion, created).model_dump(mode="json")
    await idempotency.finish(
        session, subject.tenant_id, API_SCOPE, idempotency_key, request, status_code, body, conversion.id
    )
    return Answer(status_code, body, conversion.id, replayed=False)


def _as_data(data: ConversionIn) -> ConversionData:
    return ConversionData(
        order_id=data.order_id,
        occurred_at=data.occurred_at,
        value=data.value,
        currency=data.currency,
        promo_codes=data.promo_codes,
        landing_url=data.landing_url,
        referrer=data.referrer,
        ip=data.ip,
        user_agent=data.user_agent,
        kind=data.kind,
    )


async def list_conversions(
    session: AsyncSession, subject: Subject, where: ConversionQuery, page: Window
) -> tuple[Sequence[Conversion], int]:
    return await intake_repository.list_conversions(session, subject.tenant_id, only_sponsor(subject), where, page)


def failure_reason(prefix: str, errors: Sequence[Mapping[str, Any]] | None, detail: str) -> str:
    """What a source's health says of a refusal: its first few errors, each with where it was."""
    named = []
    for error in (errors or [])[:FAILURE_ERRORS_NAMED]:
        where = ", ".join(f"{key} {error[key]}" for key in ("row", "column", "field") if error.get(key) is not None)
        named.append(f"{where}: {error.get('reason')}" if where else str(error.get("reason")))
    return f"{prefix}: {'; '.join(named) if named else detail}"


async def note_refusal(
    session: AsyncSession, subject: Subject, source_id: uuid.UUID, kind: str, reason: str, now: datetime
) -> None:
    """Keeps a refused API call or upload as the source's last failure, when the source is one the subject could
    have recorded into (a refusal for naming another workspace's source leaves that source alone)."""
    source = await repository.get_source(session, subject.tenant_id, source_id, only_sponsor=only_sponsor(subject))
    if source is not None and source.kind == kind:
        await repository.note_failure(session, subject.tenant_id, source.id, now, reason[:500], signature=False)
