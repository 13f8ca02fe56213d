"""Bearer JWTs: the algorithm is fixed and exp, aud and iss are required."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest

from podsponsor.auth.tokens import TokenClaims, issue_jwt, read_jwt
from podsponsor.config import Settings
from tests.factories.identity import make_tenant


def _claims() -> TokenClaims:
    return TokenClaims(uuid.uuid4(), uuid.uuid4(), 1)


def _payload(settings: Settings, **changes: object) -> dict[str, object]:
    now = int(time.time())
    payload: dict[str, object] = {
        "sub": str(uuid.uuid4()),
        "tid": str(uuid.uuid4()),
        "sv": 1,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + 60,
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def test_a_token_we_issue_reads_back(settings: Settings) -> None:
    claims = _claims()
    token, ttl = issue_jwt(settings, claims)
    assert ttl == settings.jwt_ttl_seconds
    assert read_jwt(settings, token) == claims


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": int(time.time()) - 10},
        {"exp": None},
        {"aud": "someone-else"},
        {"aud": None},
        {"iss": "evil"},
        {"iss": None},
    ],
    ids=["expired", "no-exp", "wrong-aud", "no-aud", "wrong-iss", "no-iss"],
)
def test_tokens_missing_or_wrong_claims_are_refused(settings: Settings, changes: dict[str, object]) -> None:
    token = jwt.encode(_payload(settings, **changes), settings.signing_key(), algorithm="HS256")
    assert read_jwt(settings, token) is None


def test_other_algorithms_and_unsigned_tokens_are_refused(settings: Settings) -> None:
    unsigned = jwt.encode(_payload(settings), key=None, algorithm="none")
    assert read_jwt(settings, unsigned) is None
    other = jwt.encode(_payload(settings), settings.signing_key(), algorithm="HS512")
    assert read_jwt(settings, other) is None
    forged = jwt.encode(_payload(settings), "not-our-key-but-long-enough-for-hs256-0123", algorithm="HS256")
    assert read_jwt(settings, forged) is None


def test_api_refuses_a_forged_token(server: str, settings: Settings) -> None:
    tenant = make_tenant(server)
    forged = jwt.encode(
        _payload(settings, tid=tenant.id, sub=tenant.user_ids["owner"]),
        "another-key-0123456789-0123456789",
        algorithm="HS256",
    )
    response = httpx.get(f"{server}/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
