"""Attribution input and output: conversion sources over the API, and a conversion as every intake path hands it in."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.json_schema import SkipJsonSchema

SourceKind = Literal["shopify", "woocommerce", "stripe", "pixel", "api", "csv"]
ConversionKind = Literal["purchase", "lead", "signup", "install", "other"]
# Platforms that push signed webhooks to /hooks/{kind}/{token}; only these sources have a secret.
WEBHOOK_KINDS: tuple[SourceKind, ...] = ("shopify", "woocommerce", "stripe")
# Where the platform hands out the secret and the merchant pastes it here; WooCommerce lets the merchant choose one.
PLATFORM_GIVES_SECRET: tuple[SourceKind, ...] = ("shopify", "stripe")
STRIPE_SECRET_PREFIX = "whsec_"
SECRET_MIN = 8
SECRET_MAX = 500
# The default of a patch field that cannot be emptied: typed Any so the field's type can stay without None.
KEEP: Any = None


class SourceLike(Protocol):
    """What recording a conversion needs of its source: a stored row or a token lookup."""

    @property
    def tenant_id(self) -> uuid.UUID: ...

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def sponsor_id(self) -> uuid.UUID: ...


@dataclass(frozen=True)
class SourceRef:
    """A source as its endpoint token finds it, before any workspace is known."""

    tenant_id: uuid.UUID
    id: uuid.UUID
    kind: str
    sponsor_id: uuid.UUID
    active: bool
    secret_encrypted: str | None


@dataclass(frozen=True)
class ConversionData:
    """One conversion as an intake path (webhook, pixel, API, CSV) read it, before the shared rules apply.

    `value` is in currency units, exact (a Decimal, or the string the platform sent); `ip` and `user_agent` are raw
    and are only ever stored hashed. `fields` names, for an error message, the field of the caller's own input that
    each of these came from (e.g. {"value": "total_price"}).
    """

    order_id: str | None
    occurred_at: datetime | None = None
    value: Decimal | str | None = None
    currency: str | None = None
    promo_codes: Sequence[str] = ()
    landing_url: str | None = None
    referrer: str | None = None
    utm: Mapping[str, str] = field(default_factory=dict)
    ip: str | None = None
    user_agent: str | None = None
    country: str | None = None
    kind: str = "purchase"
    ground_truth: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)

    def field_name(self, name: str) -> str:
        return self.fields.get(name, name)


@dataclass(frozen=True)
class PlatformEvent:
    """A verified webhook delivery as its platform's parser read it: the conversion it announces, or why none."""

    event_id: str
    topic: str | None
    conversion: ConversionData | None
    ignored_reason: str | None = None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def secret_problem(kind: str, secret: str | None) -> str | None:
    """Why `secret` cannot be the secret of a `kind` source, or None when it can."""
    if secret is None:
        return None
    if kind not in WEBHOOK_KINDS:
        return f"a {kind} source has no webhook secret"
    if kind == "stripe" and not secret.startswith(STRIPE_SECRET_PREFIX):
        return f"a Stripe signing secret starts with '{STRIPE_SECRET_PREFIX}' (the endpoint's, not an API key)"
    return None


class ConversionSourceIn(Strict):
    sponsor_id: uuid.UUID
    kind: SourceKind
    name: str = Field(min_length=1, max_length=200)
    secret: str | None = Field(
        None,
        min_length=SECRET_MIN,
        max_length=SECRET_MAX,
        description="Shopify: the key the webhooks are signed with; Stripe: the endpoint's whsec_… signing secret; "
        "WooCommerce: left out, one is generated to paste into WooCommerce. Shown in this response only.",
    )
    active: bool = True

    @field_validator("secret", mode="after")
    @classmethod
    def _secret_fits_kind(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("kind")
        problem = secret_problem(kind, value) if kind is not None else None
        if problem is not None:
            raise ValueError(problem)
        return value


class ConversionSourcePatch(Strict):
    """Fields left out keep their value. The kind and sponsor are fixed; the secret changes through rotate-secret."""

    name: str = Field(KEEP, min_length=1, max_length=200)
    active: bool = Field(KEEP)
    # Not a field a client may set: present only so that sending it gets an error that says where secrets change.
    secret: SkipJsonSchema[Any] = Field(None, exclude=True)

    @field_validator("secret", mode="before")
    @classmethod
    def _secret_not_patchable(cls, value: Any) -> Any:
        raise ValueError("the secret changes only through POST /api/v1/conversion-sources/{id}/rotate-secret")


class RotateSecretIn(Strict):
    secret: str | None = Field(
        None,
        min_length=SECRET_MIN,
        max_length=SECRET_MAX,
        description="the platform's new secret (Shopify, Stripe); left out for WooCommerce, a new one is generated",
    )


class SecretState(BaseModel):
    set: bool


class RevealedSecret(SecretState):
    value: str | None = Field(description="shown in this response only; store it in the platform now")


class ConversionSourceOut(BaseModel):
    id: uuid.UUID
    sponsor_id: uuid.UUID
    kind: str
    name: str
    active: bool
    token: str
    endpoint_url: str | None = Field(description="where the platform sends its webhooks (webhook kinds only)")
    secret: SecretState
    events_received: int
    signature_failures: int
    last_event_at: datetime | None
    last_failure_at: datetime | None
    last_failure_reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Any, endpoint_url: str | None) -> ConversionSourceOut:
        return cls(**_source_fields(row), endpoint_url=endpoint_url, secret=SecretState(set=bool(row.secret_encrypted)))


class ConversionSourceCreated(ConversionSourceOut):
    secret: RevealedSecret

    @classmethod
    def revealing(cls, row: Any, endpoint_url: str | None, secret: str | None) -> ConversionSourceCreated:
        revealed = RevealedSecret(set=bool(row.secret_encrypted), value=secret)
        return cls(**_source_fields(row), endpoint_url=endpoint_url, secret=revealed)


def _source_fields(row: Any) -> dict[str, Any]:
    names = (
        "id",
        "sponsor_id",
        "kind",
        "name",
        "active",
        "token",
        "events_received",
        "signature_failures",
        "last_event_at",
        "last_failure_at",
        "last_failure_reason",
        "created_at",
        "updated_at",
    )
    return {name: getattr(row, name) for name in names}
