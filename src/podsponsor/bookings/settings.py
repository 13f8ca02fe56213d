"""A workspace's bookings settings, kept in `tenants.settings["bookings"]`: the accrual window and makegood tolerance
that delivery judges orders by, and the seller's details and terms that IO documents print.

This module is the one place they are read and written: a stored value that is missing or out of range reads as its
default, so a hand-edited row cannot break delivery.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Annotated, Any, Final, TypeGuard

from pydantic import BaseModel, EmailStr, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth import service as auth
from podsponsor.auth.subject import Subject
from podsponsor.bookings.schemas import KEEP, Strict
from podsponsor.events import service as events

SETTINGS_KEY: Final = "bookings"
DEFAULT_ACCRUAL_DAYS: Final = 30
MAX_ACCRUAL_DAYS: Final = 365
MAX_TOLERANCE_PCT: Final = 50
MAX_ADDRESS_LINES: Final = 4
MAX_LINE_CHARS: Final = 200
MAX_TERMS_CHARS: Final = 20_000


@dataclass(frozen=True)
class BookingSettings:
    accrual_days: int = DEFAULT_ACCRUAL_DAYS
    # How far under goal (percent of the goal) an order may end and still count as delivered.
    makegood_tolerance_pct: Fraction = Fraction(0)
    seller_address: tuple[str, ...] = ()
    seller_contact_name: str | None = None
    seller_contact_email: str | None = None
    # The workspace's own terms for IO documents; empty: the standard terms (podsponsor.bookings.pdf).
    standard_terms: str = ""


async def booking_settings(session: AsyncSession, tenant_id: uuid.UUID) -> BookingSettings:
    """The workspace's bookings settings; a missing or unusable value falls back to its default."""
    tenant = await auth.get_tenant(session, tenant_id)
    return _read((tenant.settings or {}).get(SETTINGS_KEY) or {})


def _read(stored: dict[str, Any]) -> BookingSettings:
    accrual = stored.get("accrual_days")
    tolerance = stored.get("makegood_tolerance_pct")
    address = stored.get("seller_address")
    terms = stored.get("standard_terms")
    return BookingSettings(
        accrual_days=accrual if _is_int(accrual) and 1 <= accrual <= MAX_ACCRUAL_DAYS else DEFAULT_ACCRUAL_DAYS,
        makegood_tolerance_pct=Fraction(str(tolerance))
        if _is_number(tolerance) and 0 <= tolerance <= MAX_TOLERANCE_PCT
        else Fraction(0),
        seller_address=tuple(line for line in address[:MAX_ADDRESS_LINES] if isinstance(line, str) and line.strip())
        if isinstance(address, list)
        else (),
        seller_contact_name=_text(stored.get("seller_contact_name")),
        seller_contact_email=_text(stored.get("seller_contact_email")),
        standard_terms=terms if isinstance(terms, str) and terms.strip() else "",
    )


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


# Changing them --------------------------------------------------------------------------------------------------------

AddressLine = Annotated[str, Field(max_length=MAX_LINE_CHARS)]


class BookingSettingsIn(Strict):
    """Fields left out keep their value. `seller_address: []`, `null` contacts and empty `standard_terms` clear them
    (empty terms: the standard terms print)."""

    accrual_days: int = Field(KEEP, strict=True, ge=1, le=MAX_ACCRUAL_DAYS)
    makegood_tolerance_pct: float = Field(KEEP, strict=True, ge=0, le=MAX_TOLERANCE_PCT, allow_inf_nan=False)
    seller_address: list[AddressLine] = Field(KEEP, max_length=MAX_ADDRESS_LINES)
    seller_contact_name: str | None = Field(None, max_length=MAX_LINE_CHARS)
    seller_contact_email: EmailStr | None = None
    standard_terms: str = Field(KEEP, max_length=MAX_TERMS_CHARS)

    @field_validator("seller_address")
    @classmethod
    def _drop_blank_lines(cls, lines: list[str]) -> list[str]:
        return [line.strip() for line in lines if line.strip()]


class BookingSettingsOut(BaseModel):
    accrual_days: int
    makegood_tolerance_pct: float
    seller_address: list[str]
    seller_contact_name: str | None
    seller_contact_email: str | None
    standard_terms: str = Field(description="the workspace's own IO terms; empty: the standard terms print")

    @classmethod
    def of(cls, settings: BookingSettings) -> BookingSettingsOut:
        return cls(**_stored_form(settings))


def _stored_form(settings: BookingSettings) -> dict[str, Any]:
    """As kept in tenants.settings (JSON): a whole-number tolerance stays an integer."""
    values = asdict(settings)
    tolerance = settings.makegood_tolerance_pct
    values["makegood_tolerance_pct"] = int(tolerance) if tolerance.denominator == 1 else float(tolerance)
    values["seller_address"] = list(settings.seller_address)
    return values


async def update_settings(session: AsyncSession, subject: Subject, data: BookingSettingsIn) -> BookingSettings:
    """Change the workspace's bookings settings. A new tolerance or accrual window applies from the next delivery
    refresh; orders already judged keep their outcome."""
    tenant = await auth.get_tenant(session, subject.tenant_id)
    current = (tenant.settings or {}).get(SETTINGS_KEY) or {}
    before = _stored_form(_read(current))
    updated = _read({**before, **data.model_dump(exclude_unset=True)})
    after = _stored_form(updated)
    changed = sorted(name for name in after if after[name] != before[name])
    if not changed:
        return updated
    # A new dict, so the JSONB column is seen as changed; keys this module does not know are kept.
    tenant.settings = {**(tenant.settings or {}), SETTINGS_KEY: {**current, **after}}
    await session.flush()
    await events.record(
        session,
        subject,
        "bookings.settings_changed",
        subject_type="tenant",
        subject_id=subject.tenant_id,
        payload={
            "fields": changed,
            "before": {name: before[name] for name in changed},
            "after": {name: after[name] for name in changed},
        },
    )
    return updated
