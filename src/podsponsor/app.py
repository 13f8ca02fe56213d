"""The ASGI app: API, pages and operational endpoints, with one error renderer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from podsponsor import __version__, error_handlers
from podsponsor.attribution.intake_router import router as conversion_intake_router
from podsponsor.attribution.pixel import router as conversion_pixel_router
from podsponsor.attribution.results_router import router as attribution_results_router
from podsponsor.attribution.router import router as attribution_router
from podsponsor.attribution.validation_router import router as attribution_validation_router
from podsponsor.attribution.webhooks import router as conversion_webhooks_router
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
    error_handlers.install(app)
    document_problems(app)
    return app


def build() -> prefix.PrefixFirst:
    """Uvicorn factory: `uvicorn --factory podsponsor.app:build`. The app, with prefix redirects served ahead of it."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return prefix.PrefixFirst(create_app(settings))
