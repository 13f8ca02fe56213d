"""FastAPI dependencies: resolve the caller, and declare what each route needs.

Every route depends on `require(...)`, `require_page(...)` or `public_route`; a test walks the app's routes and
fails any that declares none. The markers are attributes on the dependency callables.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from podsponsor.auth import service
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.auth.tokens import (
    CSRF_COOKIE,
    CSRF_HEADER,
    api_key_prefix,
    looks_like_api_key,
    read_jwt,
    read_session,
    same_token,
)
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction, unscoped_transaction
from podsponsor.errors import Forbidden, NotAuthenticated

SESSION_COOKIE = "podsponsor_session"
_UNRESOLVED = object()


class LoginRequired(NotAuthenticated):
    """Raised by page dependencies: rendered as a redirect to the sign-in page, not as problem+json."""

    type = "login-required"


async def resolve_subject(request: Request) -> Subject | None:
    """The caller behind the request's credential, or None. Resolved once per request."""
    cached = getattr(request.state, "subject", _UNRESOLVED)
    if cached is not _UNRESOLVED:
        return cached  # type: ignore[return-value]
    subject = await _from_authorization(request) if "authorization" in request.headers else await _from_cookie(request)
    request.state.subject = subject
    return subject


async def _from_authorization(request: Request) -> Subject | None:
    scheme, _, token = request.headers["authorization"].partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated("use 'Authorization: Bearer <token or API key>'")
    if looks_like_api_key(token):
        prefix = api_key_prefix(token)
        if prefix is None:
            raise NotAuthenticated("the API key is malformed")
        async with unscoped_transaction() as session:
            found = await service.find_api_key(session, token, prefix)
        if found is None:
            raise NotAuthenticated("the API key is unknown, revoked or expired")
        async with tenant_transaction(found[0]) as session:
            subject = await service.subject_for_api_key(session, found[0], found[1])
    else:
        claims = read_jwt(get_settings(), token)
        if claims is None:
            raise NotAuthenticated("the bearer token is invalid or expired")
        async with tenant_transaction(claims.tenant_id) as session:
            subject = await service.subject_for_user(session, claims, "jwt")
    if subject is None:
        raise NotAuthenticated("the credential is no longer valid")
    return subject


async def _from_cookie(request: Request) -> Subject | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    claims = read_session(get_settings(), cookie)
    if claims is None:
        return None
    async with tenant_transaction(claims.tenant_id) as session:
        return await service.subject_for_user(session, claims, "session")


def require(permission: Permission) -> Callable[[Request], Awaitable[Subject]]:
    """An API route's guard: 401 without a credential, 403 without the permission."""

    async def guard(request: Request) -> Subject:
        subject = await resolve_subject(request)
        if subject is None:
            raise NotAuthenticated("sign in, or send a bearer token or API key")
        _check_cookie_csrf(request, subject)
        if not subject.can(permission):
            raise Forbidden(f"your role ({subject.role}) lacks '{permission}'")
        return subject

    guard.__permission__ = permission  # type: ignore[attr-defined]
    return guard


def require_page(permission: Permission | None = None) -> Callable[[Request], Awaitable[Subject]]:
    """A page's guard: anonymous visitors are sent to sign in; a missing permission is a 403 page."""

    async def guard(request: Request) -> Subject:
        subject = await resolve_subject(request)
        if subject is None:
            raise LoginRequired("sign in to continue")
        if permission is not None and not subject.can(permission):
            raise Forbidden(f"your role ({subject.role}) lacks '{permission}'")
        return subject

    guard.__permission__ = permission or "signed-in"  # type: ignore[attr-defined]
    return guard


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _check_cookie_csrf(request: Request, subject: Subject) -> None:
    """A page's script may call the API with the session cookie; a write must then carry the CSRF token header,
    so another site cannot make the browser write on the user's behalf."""
    if subject.kind != "session" or request.method in SAFE_METHODS:
        return
    if not same_token(request.cookies.get(CSRF_COOKIE), request.headers.get(CSRF_HEADER)):
        raise CsrfRequired("send the page's CSRF token in the X-CSRF-Token header")


class CsrfRequired(Forbidden):
    type = "csrf-failed"
    title = "The CSRF token is missing or wrong"


async def public_route(request: Request) -> Subject | None:
    """Declares a route open to anyone (sign-in, sign-up, health); the caller is resolved if present."""
    return await resolve_subject(request)


public_route.__public__ = True  # type: ignore[attr-defined]
