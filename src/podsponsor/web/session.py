"""The browser session: a signed cookie naming the user, and one-time notices carried across a redirect."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer

from podsponsor.auth.dependencies import SESSION_COOKIE
from podsponsor.auth.tokens import TokenClaims, issue_session
from podsponsor.config import get_settings

NOTICE_COOKIE = "podsponsor_notice"
NOTICE_KINDS = ("ok", "error")


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
