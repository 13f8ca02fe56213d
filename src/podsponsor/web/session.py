"""The browser session: a signed cookie naming the user, and one-time notices carried across a redirect."""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

from podsponsor.auth.dependencies import SESSION_COOKIE
from podsponsor.auth.tokens import TokenClaims, issue_session
from podsponsor.config import get_settings

NOTICE_COOKIE = "podsponsor_notice"
NOTICE_KINDS = ("ok", "error")
# Between a right password and the second factor: whose password it was, never the password itself.
SECOND_FACTOR_COOKIE = "podsponsor_second_factor"
SECOND_FACTOR_SECONDS = 300


def redirect(url: str) -> RedirectResponse:
    """After a form: 303, so the browser follows with GET and a reload does not post again."""
    return RedirectResponse(url, status_code=303)


def start_session(response: Response, claims: TokenClaims) -> None:
    settings = get_settings()
    response.set_cookie(
        SESSION_COOKIE,
        issue_session(settings, claims),
        max_age=settings.session_ttl_seconds,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )


def end_session(response: Response) -> None:
    settings = get_settings()
    response.delete_cookie(SESSION_COOKIE, path="/", secure=settings.cookie_secure, httponly=True, samesite="lax")


def _pending() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().signing_key(), salt="second-factor")


def await_second_factor(response: Response, claims: TokenClaims, next_url: str) -> None:
    """Remember, for five minutes, whose password was right and where they were going."""
    settings = get_settings()
    payload = {"t": str(claims.tenant_id), "u": str(claims.user_id), "n": next_url}
    response.set_cookie(
        SECOND_FACTOR_COOKIE,
        _pending().dumps(payload),
        max_age=SECOND_FACTOR_SECONDS,
        path="/login",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )


def awaiting_second_factor(request: Request) -> tuple[TokenClaims, str] | None:
    """The sign-in waiting for its second factor, and where it goes next; None when there is none or it expired."""
    raw = request.cookies.get(SECOND_FACTOR_COOKIE)
    if not raw:
        return None
    try:
        data = _pending().loads(raw, max_age=SECOND_FACTOR_SECONDS)
        return TokenClaims(uuid.UUID(data["t"]), uuid.UUID(data["u"]), 0), str(data["n"])
    except (BadSignature, ValueError, KeyError, TypeError):
        return None


def end_second_factor(response: Response) -> None:
    settings = get_settings()
    response.delete_cookie(
        SECOND_FACTOR_COOKIE, path="/login", secure=settings.cookie_secure, httponly=True, samesite="lax"
    )


def _notices() -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().signing_key(), salt="notice")


def set_notice(response: Response, message: str, kind: str = "ok") -> None:
    """Show `message` on the next page rendered (signed, so nobody else can put words on our pages)."""
    settings = get_settings()
    response.set_cookie(
        NOTICE_COOKIE,
        _notices().dumps([kind, message]),
        max_age=300,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )


def take_notice(request: Request) -> dict[str, str] | None:
    """The pending notice, if any; `clear_notice` removes it from the browser once shown."""
    raw = request.cookies.get(NOTICE_COOKIE)
    if not raw:
        return None
    try:
        kind, message = _notices().loads(raw)
    except (BadSignature, ValueError, TypeError):
        return None
    return {"kind": kind if kind in NOTICE_KINDS else "ok", "message": str(message)}


def clear_notice(request: Request, response: Response) -> None:
    if NOTICE_COOKIE in request.cookies:
        response.delete_cookie(NOTICE_COOKIE, path="/")
