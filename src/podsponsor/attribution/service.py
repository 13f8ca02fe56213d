"""Attribution rules: conversion sources (where conversions come from, and who may see which), recording a
conversion once per order, and taking in a platform's webhook delivery once per event.

An advertiser user sees only its own sponsor's sources; anything else is "not found", exactly as if it belonged to
another workspace. A source's secret is stored encrypted and shown only in the response that set it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.attribution import repository
from podsponsor.attribution.exceptions import SecretNotApplicable, SourceInUse
from podsponsor.attribution.models import Conversion, ConversionSource
from podsponsor.attribution.normalise import conversion_values
from podsponsor.attribution.schemas import (
    PLATFORM_GIVES_SECRET,
    WEBHOOK_KINDS,
    ConversionData,
    ConversionSourceIn,
    ConversionSourcePatch,
    PlatformEvent,
    RotateSecretIn,
    SourceLike,
    SourceRef,
    secret_problem,
)
from podsponsor.attribution.secrets import encrypt_secret, new_secret, new_token
from podsponsor.auth.subject import Subject
from podsponsor.errors import NotFound, ValidationFailed
from podsponsor.events import service as events
from podsponsor.flags import service as flags
from podsponsor.listing import Window
from podsponsor.sales import service as sales

SOURCE_SORTS = ("name", "created_at", "kind", "last_event_at")
FLAG = "ENABLE_ATTRIBUTION"
# An advertiser user without a sponsor cannot exist (a check constraint); if one did, it would match nothing.
_NO_SPONSOR = uuid.UUID(int=0)

Outcome = Literal["stored", "duplicate_order", "duplicate", "ignored"]


def _only_sponsor(subject: Subject) -> uuid.UUID | None:
    """The one sponsor this subject is limited to, or None when it sees all of its workspace's sponsors."""
    if not subject.is_advertiser:
        return None
    return subject.sponsor_id or _NO_SPONSOR


def endpoint_path(kind: str, token: str) -> str | None:
    """Where a source's platform sends its webhooks; None for sources that receive none."""
    return f"/hooks/{kind}/{token}" if kind in WEBHOOK_KINDS else None


async def create_source(
    session: AsyncSession, subject: Subject, data: ConversionSourceIn
) -> tuple[ConversionSource, str | None]:
    """The new source and its secret in clear (given, or generated where the merchant may choose one): the one
    time it is shown."""
    if not await sales.sponsor_exists(session, subject.tenant_id, data.sponsor_id):
        raise ValidationFailed(
            "the source points at a sponsor that is not in this workspace",
            errors=[{"field": "sponsor_id", "value": str(data.sponsor_id), "reason": "no such sponsor"}],
        )
    secret = data.secret
    if secret is None and data.kind in WEBHOOK_KINDS and data.kind not in PLATFORM_GIVES_SECRET:
        secret = new_secret()
    source = ConversionSource(
        tenant_id=subject.tenant_id,
        sponsor_id=data.sponsor_id,
        kind=data.kind,
        name=data.name,
        token=new_token(),
        secret_encrypted=encrypt_secret(secret) if secret is not None else None,
        active=data.active,
    )
    await repository.add(session, source)
    await _record(session, subject, "conversion_source.created", source, {"kind": source.kind, "name": source.name})
    return source, secret


async def get_source(session: AsyncSession, subject: Subject, source_id: uuid.UUID) -> ConversionSource:
    source = await repository.get_source(session, subject.tenant_id, source_id, only_sponsor=_only_sponsor(subject))
    if source is None:
        raise NotFound("no such conversion source")
    return source


async def list_sources(
    session: AsyncSession,
    subject: Subject,
    sponsor_id: uuid.UUID | None,
    kind: str | None,
    active: bool | None,
    page: Window,
) -> tuple[Sequence[ConversionSource], int]:
    return await repository.list_sources(
        session, subject.tenant_id, _only_sponsor(subject), sponsor_id, kind, active, page
    )


async def update_source(
    session: AsyncSession, subject: Subject, source_id: uuid.UUID, data: ConversionSourcePatch
) -> ConversionSource:
    source = await get_source(session, subject, source_id)
    changes = data.model_dump(exclude_unset=True, exclude={"secret"})
    for name, value in changes.items():
        setattr(source, name, value)
    await session.flush()
    await _record(session, subject, "conversion_source.updated", source, {"fields": sorted(changes)})
    return source


async def rotate_secret(
    session: AsyncSession, subject: Subject, source_id: uuid.UUID, data: RotateSecretIn
) -> tuple[ConversionSource, str]:
    """Replaces the source's secret: with the platform's new one, or (WooCommerce) a generated one. Deliveries
    signed with the old secret are refused from now on."""
    source = await get_source(session, subject, source_id)
    if source.kind not in WEBHOOK_KINDS:
        raise SecretNotApplicable(f"a {source.kind} source has no webhook secret")
    secret = data.secret
    if secret is None and source.kind in PLATFORM_GIVES_SECRET:
        problem: str | None = f"{source.kind} gives the signing secret: paste it here"
    else:
        problem = secret_problem(source.kind, secret)
    if problem is not None:
        raise SecretNotApplicable(problem, errors=[{"field": "secret", "value": None, "reason": problem}])
    secret = secret or new_secret()
    source.secret_encrypted = encrypt_secret(secret)
    await session.flush()
    await _record(session, subject, "conversion_source.secret_rotated", source, {"kind": source.kind})
    return source, secret


async def delete_source(session: AsyncSession, subject: Subject, source_id: uuid.UUID) -> None:
    """Removes a source that has brought nothing in yet. One with conversions or pixel events is refused (they
    would no longer say where they came from): it is deactivated instead."""
    source = await get_source(session, subject, source_id)
    if await repository.source_is_used(session, subject.tenant_id, source.id):
        raise SourceInUse(
            "the source has conversions or pixel events; deactivate it instead (PATCH with active false)",
            source_id=str(source.id),
        )
    await _record(session, subject, "conversion_source.deleted", source, {"kind": source.kind, "name": source.name})
    await repository.delete_source(session, source)


async def _record(
    session: AsyncSession, subject: Subject, kind: str, source: ConversionSource, payload: dict[str, object]
) -> None:
    await events.record(
        session,
        subject,
        kind,
        subject_type="conversion_source",
        subject_id=source.id,
        payload={"sponsor_id": str(source.sponsor_id), **payload},
    )


async def record_conversion(
    session: AsyncSession, source: SourceLike, data: ConversionData, *, now: datetime | None = None
) -> tuple[Conversion, bool]:
    """Stores a conversion of `source` once per order id: the conversion, and whether this call created it. Bad
    values are an InvalidConversion naming the caller's own fields. Every intake path (webhooks, pixel, API, CSV)
    records through here, in the caller's transaction."""
    values = conversion_values(source, data, now or datetime.now(UTC))
    created = await repository.insert_conversion(session, values)
    if created is not None:
        return created, True
    # Only an order id conflicts, and the row it conflicted with is committed (the insert waited for it), so this
    # statement sees it.
    existing = await repository.conversion_for_order(session, source.tenant_id, source.id, values["order_id"])
    if existing is None:
        raise RuntimeError(f"conversion for order {values['order_id']!r} neither inserted nor found")
    return existing, False


async def source_for_token(session: AsyncSession, token: str) -> SourceRef | None:
    """The source behind an endpoint token, in any workspace (the session needs no tenant)."""
    return await repository.source_for_token(session, token)


async def attribution_enabled(session: AsyncSession, tenant_id: uuid.UUID) -> bool:
    return await flags.is_enabled(session, tenant_id, FLAG)


@dataclass(frozen=True)
class Accepted:
    outcome: Outcome
    conversion_id: uuid.UUID | None = None
    reason: str | None = None


async def accept_delivery(session: AsyncSession, source: SourceRef, event: PlatformEvent, now: datetime) -> Accepted:
    """Takes a verified delivery in once: a repeat of its event id (concurrent or later) changes nothing. The same
    order announced by another event is one conversion. Counts the delivery in the source's health."""
    delivery_id = await repository.claim_delivery(
        session, source.tenant_id, source.id, event.event_id, event.topic, "ignored"
    )
    await repository.count_event(session, source.tenant_id, source.id, now)
    if delivery_id is None:
        return Accepted("duplicate")
    if event.conversion is None:
        return Accepted("ignored", reason=event.ignored_reason)
    conversion, created = await record_conversion(session, source, event.conversion, now=now)
    outcome: Outcome = "stored" if created else "duplicate_order"
    await repository.settle_delivery(session, source.tenant_id, delivery_id, outcome, conversion.id)
    return Accepted(outcome, conversion.id)


async def note_failure(
    session: AsyncSession, source: SourceRef, reason: str, now: datetime, *, signature: bool
) -> None:
    """Keeps a refused delivery's reason in the source's health (in a transaction of its own: the delivery's own
    work was rolled back). Only signature failures count as such."""
    await repository.note_failure(session, source.tenant_id, source.id, now, reason[:500], signature=signature)


async def unusable_ip_shares(session: AsyncSession, subject: Subject) -> dict[uuid.UUID, float | None]:
    """Per sponsor, the share of its conversions (those carrying an address) whose household could not be used for
    matching (shared by too many devices), over the latest run of each of its campaigns; None before any run."""
    totals: dict[uuid.UUID, list[int]] = {}
    for sponsor_id, stats in await repository.latest_run_stats_by_sponsor(session, subject.tenant_id):
        seen = totals.setdefault(sponsor_id, [0, 0])
        seen[0] += int((stats or {}).get("unusable_households") or 0)
        seen[1] += int((stats or {}).get("conversions_with_household") or 0)
    only = _only_sponsor(subject)
    return {
        sponsor: (unusable / with_address if with_address else None)
        for sponsor, (unusable, with_address) in totals.items()
        if only is None or sponsor == only
    }
