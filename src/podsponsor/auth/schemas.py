from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from podsponsor.auth.passwords import MIN_LENGTH
from podsponsor.auth.permissions import Permission

Role = Literal["owner", "admin", "sales", "ops", "creator", "advertiser"]
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,62}[a-z0-9])$")
# The default of a patch field that cannot be emptied: typed Any so the field's type can stay without None.
KEEP: Any = None


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return (slug or "workspace")[:64].strip("-")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SignupIn(Strict):
    workspace_name: str = Field(min_length=2, max_length=200)
    workspace_slug: str | None = Field(
        None, description="lower-case letters, digits and dashes; from the name if unset"
    )
    kind: Literal["network", "creator", "agency", "advertiser"] = "network"
    email: EmailStr
    password: str = Field(min_length=MIN_LENGTH, max_length=200)
    display_name: str = Field("", max_length=200)

    @field_validator("workspace_slug")
    @classmethod
    def _slug(cls, value: str | None) -> str | None:
        if value is not None and not SLUG.match(value):
            raise ValueError(
                "use 3-64 lower-case letters, digits and dashes, starting and ending with a letter or digit"
            )
        return value


class LoginIn(Strict):
    email: EmailStr
    password: str = Field(min_length=1, max_length=200)
    workspace: str | None = Field(None, description="the workspace slug, needed when the e-mail is in several")
    totp_code: str | None = Field(
        None, max_length=12, description="the authenticator app's current code, when two-step sign-in is on"
    )
    recovery_code: str | None = Field(
        None, max_length=40, description="instead of totp_code: one of the recovery codes (each works once)"
    )


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class UserIn(Strict):
    email: EmailStr
    role: Role
    display_name: str = Field("", max_length=200)
    sponsor_id: uuid.UUID | None = Field(None, description="required for advertiser users: the sponsor they may see")
    password: str | None = Field(None, min_length=MIN_LENGTH, max_length=200, description="unset: an invite link")


class UserPatch(Strict):
    """Fields left out keep their value. A field typed without `None` cannot be emptied, so null is refused."""

    role: Role = Field(KEEP)
    display_name: str = Field(KEEP, max_length=200)
    is_active: bool = Field(KEEP)
    sponsor_id: uuid.UUID | None = None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    display_name: str
    role: str
    sponsor_id: uuid.UUID | None
    is_active: bool
    last_login_at: datetime | None
    created_at: datetime


class UserCreated(UserOut):
    invite_url: str | None = None


class AcceptInviteIn(Strict):
    token: str
    password: str = Field(min_length=MIN_LENGTH, max_length=200)


class MeOut(BaseModel):
    tenant_id: uuid.UUID
    tenant_name: str
    user_id: uuid.UUID | None
    email: str | None
    role: str
    sponsor_id: uuid.UUID | None
    permissions: list[str]
    credential: str


class ApiKeyIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[Permission] = Field(min_length=1)
    expires_at: datetime | None = None


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    token: str = Field(description="shown once: store it now")


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    at: datetime
    actor_user_id: uuid.UUID | None
    actor_api_key_id: uuid.UUID | None
    action: str
    target_type: str | None
    target_id: str | None
    details: dict[str, Any]


class TenantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    slug: str
    kind: str


class TotpStatusOut(BaseModel):
    enabled: bool
    enabled_at: datetime | None
    recovery_codes_left: int
    setup_pending: bool = Field(description="set up and not yet confirmed with a first code")


class TotpSetupOut(BaseModel):
    secret: str = Field(description="base32, for typing into the app by hand")
    otpauth_uri: str = Field(description="what the QR code holds")
    qr_svg: str = Field(description="the otpauth URI as an SVG QR code")


class TotpCodeIn(Strict):
    code: str = Field(min_length=6, max_length=12, description="the app's current 6-digit code")


class TotpProofIn(Strict):
    """Proof that the signed-in user is still them: a current code, or the password."""

    code: str | None = Field(None, max_length=12)
    password: str | None = Field(None, max_length=200)


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(description="shown once: each signs in once when the app is not at hand")
