"""Conversions in through the server-to-server API and the orders CSV upload, and conversions out (the list)."""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator

from podsponsor.attribution.schemas import ConversionKind, Strict

PromoCode = Annotated[str, Field(max_length=100)]


def check_address(value: str | None) -> str | None:
    """An IP address as written (v4 or v6), or ValueError; a private one is accepted but never hashed."""
    if value is None or not value.strip():
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError("not an IP address") from None


class ConversionIn(Strict):
    """One conversion as a server sends it. Amounts are decimal strings in currency units, never JSON numbers
    (a binary float cannot hold 0.1 exactly)."""

    source_id: uuid.UUID = Field(description="an `api` source of this workspace; it names the sponsor")
    order_id: str | None = Field(
        None, min_length=1, max_length=200, description="the order once: a second conversion with it is the same"
    )
    kind: ConversionKind = "purchase"
    occurred_at: datetime | None = Field(
        None, description="ISO 8601; without a zone it is UTC; left out: when it arrives. At most a day ahead."
    )
    value: str | None = Field(None, max_length=32, examples=["49.99"], description="decimal string, currency units")
    currency: str | None = Field(None, max_length=3, examples=["USD"], description="ISO 4217; required with a value")
    promo_codes: list[PromoCode] = Field(default_factory=list, max_length=50)
    landing_url: str | None = Field(None, max_length=4096, description="where the shopper landed (its utm_* kept)")
    ip: str | None = Field(None, max_length=45, description="the shopper's address; stored only as a keyed hash")
    user_agent: str | None = Field(
        None, max_length=8192, description="the shopper's browser; its first 1,024 characters are hashed"
    )
    referrer: str | None = Field(None, max_length=2048)

    @field_validator("ip", mode="after")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        return check_address(value)

    @field_validator("order_id", "value", "currency", "promo_codes", "landing_url", "user_agent", "referrer")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL; refused here rather than failing at the insert.
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError("contains a NUL character")
        return value


class ConversionOut(BaseModel):
    id: uuid.UUID
    source_id: uuid.UUID
    sponsor_id: uuid.UUID
    kind: str
    order_id: str | None
    occurred_at: datetime
    value: str | None = Field(description="decimal string in currency units")
    value_cents: int | None
    currency: str | None
    promo_codes: list[str]
    landing_url: str | None
    utm: dict[str, str]
    referrer: str | None
    ua_family: str | None
    country: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: Any) -> ConversionOut:
        return cls(**_conversion_fields(row))


class ConversionRecorded(ConversionOut):
    status: Literal["stored", "duplicate_order"] = Field(
        description="stored: a new conversion (201); duplicate_order: its order was recorded before (200)"
    )

    @classmethod
    def recorded(cls, row: Any, created: bool) -> ConversionRecorded:
        return cls(**_conversion_fields(row), status="stored" if created else "duplicate_order")


def _conversion_fields(row: Any) -> dict[str, Any]:
    names = (
        "id",
        "source_id",
        "sponsor_id",
        "kind",
        "order_id",
        "occurred_at",
        "value_cents",
        "currency",
        "promo_codes",
        "landing_url",
        "utm",
        "referrer",
        "ua_family",
        "country",
        "created_at",
    )
    fields = {name: getattr(row, name) for name in names}
    cents = fields["value_cents"]
    fields["value"] = None if cents is None else f"{Decimal(cents).scaleb(-2):f}"
    return fields


@dataclass(frozen=True)
class ConversionQuery:
    sponsor_id: uuid.UUID | None = None
    source_id: uuid.UUID | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class OrdersUploadOut(BaseModel):
    source_id: uuid.UUID
    file_name: str
    rows: int = Field(description="data rows read (blank lines are not rows)")
    stored: int = Field(description="new conversions")
    duplicates: int = Field(description="rows whose order was recorded before, or earlier in this file")
    columns: dict[str, str] = Field(description="which column of the file gave each field")
    ignored_columns: list[str] = Field(description="columns of the file that no field reads")
