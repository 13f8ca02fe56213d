"""The ASGI app: API, pages and operational endpoints, with one error renderer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from podsponsor import __version__
from podsponsor.attribution.intake_router import router as conversion_intake_router
from podsponsor.attribution.pixel import router as conversion_pixel_router
from podsponsor.attribution.results_router import router as attribution_results_router
from podsponsor.attribution.router import router as attribution_router
from podsponsor.attribution.validation_router import router as attribution_validation_router
from podsponsor.attribution.webhooks import router as conversion_webhooks_router
from podsponsor.auth.dependencies import LoginRequired
from podsponsor.auth.router import router as auth_router
from podsponsor.auth.throttle import LoginThrottle
from podsponsor.bookings.delivery_router import router as delivery_router
from podsponsor.bookings.document_router import router as document_router
from podsponsor.bookings.inventory_router import router as inventory_router
from podsponsor.bookings.router import router as bookings_router
from podsponsor.bookings.vanity import router as vanity_router
from podsponsor.catalog.router import router as catalog_router
from podsponsor.config import Settings, get_settings
from podsponsor.dashboards.router import router as dashboards_router
from podsponsor.db import engine
from podsponsor.errors import PROBLEM_JSON, AppError, TooManyRequests, ValidationFailed
from podsponsor.events.router import router as events_router
from podsponsor.events.webhook_router import router as webhooks_router
from podsponsor.flags.router import router as flags_router
from podsponsor.matching.router import router as matching_router
from podsponsor.measurement import prefix
from podsponsor.measurement.report_router import router as measurement_report_router
from podsponsor.measurement.router import router as measurement_router
from podsponsor.metrics.router import router as metrics_router
from podsponsor.observability.logs import configure_logging
from podsponsor.observability.metrics import RequestMiddleware
from podsponsor.observability.router import router as ops_router
from podsponsor.openapi import document_problems
from podsponsor.ratelimit.limits import limiter_for
from podsponsor.ratelimit.middleware import RateLimitMiddleware
from podsponsor.reports.router import router as reports_router
from podsponsor.sales.deal_router import router as deals_router
from podsponsor.sales.router import router as sales_router
from podsponsor.web import mount_web

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = False
        try:
            engine.get_database()
        except RuntimeError:
            engine.configure(settings)
            owned = True
        app.state.prefix = await prefix.start(settings, engine.get_database().urls.app)
        yield
        await app.state.prefix.stop()
        await app.state.rate_limiter.close()
        if owned:
            await engine.dispose()

    app = FastAPI(
        title="podsponsor",
        version=__version__,
        description="Sell, deliver and measure podcast sponsorships. Errors are RFC 9457 problem+json.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.rate_limiter = limiter_for(settings)
    app.state.login_throttle = LoginThrottle(app.state.rate_limiter)
    app.add_middleware(RateLimitMiddleware, limiter=app.state.rate_limiter)
    app.add_middleware(RequestMiddleware)
    # The prefix redirect, a bare Starlette route: `build()` serves it ahead of the middleware, and an app made
    # without `build()` serves it from here, matched first.
    app.router.routes.insert(0, prefix.ROUTE)
    routers = (
        ops_router,
        auth_router,
        catalog_router,
        sales_router,
        deals_router,
        events_router,
        webhooks_router,
        flags_router,
        measurement_router,
        measurement_report_router,
        metrics_router,
        inventory_router,
        document_router,
        bookings_router,
        delivery_router,
        vanity_router,
        attribution_router,
        attribution_results_router,
        attribution_validation_router,
        conversion_webhooks_router,
        conversion_intake_router,
        conversion_pixel_router,
        matching_router,
        dashboards_router,
        reports_router,
    )
    for router in routers:
        app.include_router(router)
    mount_web(app)
    _install_error_handlers(app)
    document_problems(app)
    return app


def problem(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
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

    @app.exception_handler(RequestValidationError)
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

    @app.exception_handler(StarletteHTTPException)
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

    @app.exception_handler(DataError)
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

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
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

    @app.exception_handler(OverflowError)
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

    @app.exception_handler(Exception)
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


SECRET_FIELDS = ("password", "token", "secret")


def _safe_value(location: tuple[Any, ...], value: Any) -> Any:
    """The offending value, echoed back short, and never for a secret field."""
    if any(any(word in str(part) for word in SECRET_FIELDS) for part in location):
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value if not isinstance(value, str) else value[:200]
    return None


def build() -> prefix.PrefixFirst:
    """Uvicorn factory: `uvicorn --factory podsponsor.app:build`. The app, with prefix redirects served ahead of it."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return prefix.PrefixFirst(create_app(settings))
