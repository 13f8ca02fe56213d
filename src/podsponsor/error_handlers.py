"""How errors are answered: problem+json (RFC 9457) for the API, an error page for browsers, 503 with Retry-After
when the database broke off, 422 for input PostgreSQL or the calendar cannot hold, and 500 for the rest."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from podsponsor.auth.dependencies import LoginRequired
from podsponsor.errors import PROBLEM_JSON, AppError, TooManyRequests, ValidationFailed

log = logging.getLogger(__name__)


def problem(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


async def app_error(request: Request, exc: AppError) -> Response:
    if isinstance(exc, LoginRequired) and _wants_html(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
    if _wants_html(request):
        from podsponsor.web.render import error_page

        return error_page(request, exc.status, exc.title, exc.detail)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
    if exc.status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return problem(exc.status, exc.problem(request.url.path), headers)


async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
    errors = [
        {
            "field": ".".join(str(p) for p in err["loc"] if p != "body") or "body",
            "reason": err["msg"],
            "value": _safe_value(err["loc"], err.get("input")),
        }
        for err in exc.errors()
    ]
    body = {
        "type": "https://podsponsor.dev/problems/validation-error",
        "title": "The input is not valid",
        "status": 422,
        "detail": f"{len(errors)} field(s) are not valid",
        "instance": request.url.path,
        "errors": errors,
    }
    return problem(422, body)


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    titles = {404: "Not found", 405: "Method not allowed"}
    title = titles.get(exc.status_code, "Request failed")
    if _wants_html(request):
        from podsponsor.web.render import error_page

        return error_page(request, exc.status_code, title, str(exc.detail))
    body = {
        "type": f"https://podsponsor.dev/problems/http-{exc.status_code}",
        "title": title,
        "status": exc.status_code,
        "detail": str(exc.detail),
        "instance": request.url.path,
    }
    return problem(exc.status_code, body, dict(exc.headers or {}))


async def data_error(request: Request, exc: DataError) -> Response:
    # PostgreSQL text cannot hold U+0000, nor jsonb its escape \u0000 (untranslatable_character, 22P05); input
    # carrying it is the caller's mistake, not ours.
    if "NUL (0x00)" in str(exc.orig) or getattr(exc.orig, "sqlstate", None) == "22P05":
        refused = ValidationFailed(
            "text may not contain the NUL character (U+0000)",
            errors=[{"field": "body or query", "reason": "contains the NUL character (U+0000)"}],
        )
        return await app_error(request, refused)
    return await unexpected(request, exc)


async def database_unavailable(request: Request, exc: DBAPIError) -> Response:
    # The connection broke or the server gave up on the statement (a restart, a timeout, a deadlock): whether a
    # COMMIT took effect is unknown here, so the client is told to retry, which an Idempotency-Key makes safe.
    # Handled here rather than as a 500, whose re-raise makes the server drop the client's connection.
    log.warning("the database did not complete a request", extra={"path": request.url.path, "error": str(exc.orig)})
    detail = (
        "the database did not complete this request, which may or may not have taken effect: retry it"
        " (a create sent again with the same Idempotency-Key takes effect once)"
    )
    if _wants_html(request):
        from podsponsor.web.render import error_page

        return error_page(request, 503, "Try again", detail)
    body = {
        "type": "https://podsponsor.dev/problems/database-unavailable",
        "title": "Try again",
        "status": 503,
        "detail": detail,
        "instance": request.url.path,
    }
    return problem(503, body, {"Retry-After": "1"})


async def overflow(request: Request, exc: OverflowError) -> Response:
    # A date the caller gave at an end of the calendar (a range ending on 0001-01-01, a day of 9999-12-31) leaves
    # it once the range or the next day is worked out: the caller's input, not ours.
    if "date value out of range" in str(exc):
        refused = ValidationFailed(
            "a date is too close to the first or last day of the calendar (years 1 and 9999)",
            errors=[{"field": "body or query", "reason": "date out of range"}],
        )
        return await app_error(request, refused)
    return await unexpected(request, exc)


async def unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", extra={"path": request.url.path})
    body = {
        "type": "https://podsponsor.dev/problems/internal",
        "title": "Internal error",
        "status": 500,
        "detail": "something went wrong on our side; the request id identifies it in the logs",
        "instance": request.url.path,
    }
    return problem(500, body)


# Each handler is typed with the exception it takes; Starlette's signature wants `Exception`, hence Any.
HANDLERS: dict[type[Exception], Any] = {
    AppError: app_error,
    RequestValidationError: invalid_request,
    StarletteHTTPException: http_error,
    DataError: data_error,
    OperationalError: database_unavailable,
    InterfaceError: database_unavailable,
    OverflowError: overflow,
    Exception: unexpected,
}


def install(app: FastAPI) -> None:
    """Every error as a problem document (or an error page for a browser), never a bare stack trace."""
    for exception, handler in HANDLERS.items():
        app.add_exception_handler(exception, handler)


SECRET_FIELDS = ("password", "token", "secret")


def _safe_value(location: tuple[Any, ...], value: Any) -> Any:
    """The offending value, echoed back short, and never for a secret field."""
    if any(any(word in str(part) for word in SECRET_FIELDS) for part in location):
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value if not isinstance(value, str) else value[:200]
    return None
