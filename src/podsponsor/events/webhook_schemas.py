"""Outbound webhooks over the API: endpoints in and out (the secret only where it was just made), the delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from podsponsor.events.event_types import ALL_TYPES, EVENT_TYPES

DeliveryStatus = Literal["pending", "succeeded", "failed"]
URL_MAX = 2000
DESCRIPTION_MAX = 300
EVENT_TYPES_MAX = 100


def _known_types(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    unknown = [t for t in value if t != ALL_TYPES and t not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event type(s): {', '.join(unknown)}; see GET /api/v1/webhooks/event-types")
    if ALL_TYPES in value:
        return [ALL_TYPES]
    return list(dict.fromkeys(value))


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: str = Field(min_length=1, max_length=URL_MAX, description="https address that receives the POSTs")
    event_types: list[str] = Field(
        min_length=1, max_length=EVENT_TYPES_MAX, description='event types to deliver, or ["*"] for all'
    )
    description: str = Field("", max_length=DESCRIPTION_MAX)

    _types = field_validator("event_types")(_known_types)


class EndpointPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: str | None = Field(None, min_length=1, max_length=URL_MAX)
    event_types: list[str] | None = Field(None, min_length=1, max_length=EVENT_TYPES_MAX)
    description: str | None = Field(None, max_length=DESCRIPTION_MAX)
    active: bool | None = Field(None, description="false pauses the endpoint; true is the same as POST …/enable")

    _types = field_validator("event_types")(_known_types)


class EndpointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    active: bool
    failure_streak: int = Field(description="deliveries in a row that gave up; the endpoint is disabled at the limit")
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="the signing secret (whsec_…): shown only in this response")


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    message_id: str = Field(description="the webhook-id header, the same on every attempt and replay")
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    replay_requested: bool
    created_at: datetime


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    started_at: datetime
    duration_ms: int | None
    status_code: int | None
    error: str | None
    replay: bool


class DeliveryDetail(DeliveryOut):
    body: dict[str, Any] = Field(description="the JSON body sent (signed as the exact bytes of each request)")
    attempt_log: list[AttemptOut] = Field(description="every attempt, oldest first")


class EventTypesOut(BaseModel):
    all: str = ALL_TYPES
    by_area: dict[str, list[str]]
