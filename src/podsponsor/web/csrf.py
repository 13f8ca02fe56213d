"""CSRF protection for cookie-authenticated forms: a double-submit token.

Every page response carries a random token in an HttpOnly, SameSite=Lax cookie; every form repeats it in a hidden
`csrf_token` field (htmx requests in an `X-CSRF-Token` header). A state-changing request whose two copies differ is
refused. Bearer-token API calls do not use cookies and need no token.
"""

from __future__ import annotations

from fastapi import Request, Response

from podsponsor.auth.tokens import CSRF_COOKIE, CSRF_HEADER, new_csrf_token, same_token
from podsponsor.config import get_settings
from podsponsor.errors import Forbidden

CSRF_FIELD = "csrf_token"


class CsrfFailed(Forbidden):
    type = "csrf-failed"
    title = "The form expired"


def csrf_token(request: Request) -> str:
    """The token for this visitor, made on first use (the response must then set the cookie)."""
    token = getattr(request.state, "csrf_token", None) or request.cookies.get(CSRF_COOKIE)
    if not token:
        token = new_csrf_token()
        request.state.csrf_token_new = True
    request.state.csrf_token = token
    return str(token)


def attach_csrf_cookie(request: Request, response: Response) -> None:
    if getattr(request.state, "csrf_token_new", False):
        response.set_cookie(
            CSRF_COOKIE,
            request.state.csrf_token,
            httponly=True,
            samesite="lax",
            secure=get_settings().cookie_secure,
            path="/",
        )


async def verify_csrf(request: Request) -> None:
    """Raise unless the submitted token matches the cookie. Call at the top of every form handler."""
    cookie = request.cookies.get(CSRF_COOKIE)
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    if not same_token(cookie, submitted):
        raise CsrfFailed("reload the page and submit the form again")
