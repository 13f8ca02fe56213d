"""Credentials as strings: bearer JWTs, API keys, session cookies, invitations."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from itsdangerous import BadSignature, URLSafeTimedSerializer

from podsponsor.config import Settings

CSRF_COOKIE = "podsponsor_csrf"
CSRF_HEADER = "x-csrf-token"
JWT_ALGORITHM = "HS256"  # fixed: a token naming another algorithm (or none) is refused
API_KEY_MARK = "psk"
_PREFIX_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


@dataclass(frozen=True)
class TokenClaims:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    session_version: int


def issue_jwt(settings: Settings, claims: TokenClaims) -> tuple[str, int]:
    now = int(time.time())
    ttl = settings.jwt_ttl_seconds
    payload = {
        "sub": str(claims.user_id),
        "tid": str(claims.tenant_id),
        "sv": claims.session_version,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(payload, settings.signing_key(), algorithm=JWT_ALGORITHM), ttl


def read_jwt(settings: Settings, token: str) -> TokenClaims | None:
    try:
        payload = jwt.decode(
            token,
            settings.signing_key(),
            algorithms=[JWT_ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "aud", "iss", "sub", "tid"]},
        )
        return TokenClaims(uuid.UUID(payload["tid"]), uuid.UUID(payload["sub"]), int(payload.get("sv", 0)))
    except (jwt.PyJWTError, ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True)
class NewApiKey:
    token: str
    prefix: str
    key_hash: str


def new_api_key() -> NewApiKey:
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(12))
    token = f"{API_KEY_MARK}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewApiKey(token=token, prefix=prefix, key_hash=hash_api_key(token))


def hash_api_key(token: str) -> str:
    # The key carries 256 bits of randomness; a fast hash is enough and keeps lookups cheap.
    return hashlib.sha256(token.encode()).hexdigest()


def api_key_prefix(token: str) -> str | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_MARK or len(parts[1]) != 12:
        return None
    return parts[1]


def looks_like_api_key(token: str) -> bool:
    return token.startswith(API_KEY_MARK + "_")


def _serializer(settings: Settings, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.signing_key(), salt=salt)


def issue_session(settings: Settings, claims: TokenClaims) -> str:
    payload = {"t": str(claims.tenant_id), "u": str(claims.user_id), "v": claims.session_version}
    return _serializer(settings, "session").dumps(payload)


def read_session(settings: Settings, cookie: str) -> TokenClaims | None:
    try:
        data: dict[str, Any] = _serializer(settings, "session").loads(cookie, max_age=settings.session_ttl_seconds)
        return TokenClaims(uuid.UUID(data["t"]), uuid.UUID(data["u"]), int(data["v"]))
    except (BadSignature, ValueError, KeyError, TypeError):
        return None


INVITE_TTL_SECONDS = 7 * 24 * 3600


def issue_invite(settings: Settings, tenant_id: uuid.UUID, user_id: uuid.UUID, session_version: int) -> str:
    return _serializer(settings, "invite").dumps({"t": str(tenant_id), "u": str(user_id), "v": session_version})


def read_invite(settings: Settings, token: str) -> TokenClaims | None:
    try:
        data: dict[str, Any] = _serializer(settings, "invite").loads(token, max_age=INVITE_TTL_SECONDS)
        return TokenClaims(uuid.UUID(data["t"]), uuid.UUID(data["u"]), int(data["v"]))
    except (BadSignature, ValueError, KeyError, TypeError):
        return None


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and secrets.compare_digest(str(a), str(b))
