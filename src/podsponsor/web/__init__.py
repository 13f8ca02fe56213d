"""Server-rendered pages: the shell (layout, navigation, sign-in) and each domain's pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent.parent / "static"


def mount_web(app: FastAPI) -> None:
    from podsponsor.attribution.attribution_web import router as attribution_result_pages
    from podsponsor.attribution.web import router as attribution_pages
    from podsponsor.attribution.web import show_conversions_nav
    from podsponsor.bookings.delivery_web import router as delivery_pages
    from podsponsor.bookings.inventory_web import router as inventory_pages
    from podsponsor.bookings.rate_card_web import router as rate_card_pages
    from podsponsor.bookings.web import router as booking_pages
    from podsponsor.bookings.web import show_bookings_nav
    from podsponsor.catalog.web import router as catalog_pages
    from podsponsor.dashboards.web import router as dashboard_pages
    from podsponsor.dashboards.web import show_dashboard_nav
    from podsponsor.events.webhook_web import router as webhook_pages
    from podsponsor.matching.settings_web import router as matching_settings_pages
    from podsponsor.matching.web import router as matching_pages
    from podsponsor.matching.web import show_matching_nav
    from podsponsor.measurement.audience_web import router as audience_pages
    from podsponsor.measurement.web import router as measurement_pages
    from podsponsor.metrics.web import router as metrics_pages
    from podsponsor.metrics.web import show_metrics_nav
    from podsponsor.reports.shared_web import router as shared_report_pages
    from podsponsor.reports.web import router as report_pages
    from podsponsor.sales.deal_web import router as deal_pages
    from podsponsor.sales.deal_web import show_deals_nav
    from podsponsor.sales.web import router as sales_pages
    from podsponsor.web.account_pages import router as account_pages
    from podsponsor.web.auth_pages import router as auth_pages
    from podsponsor.web.events_pages import router as events_pages
    from podsponsor.web.headers import SecurityHeaders
    from podsponsor.web.home import router as home_pages
    from podsponsor.web.settings_pages import router as settings_pages

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    pages = (
        home_pages,
        auth_pages,
        settings_pages,
        webhook_pages,
        account_pages,
        events_pages,
        catalog_pages,
        sales_pages,
        deal_pages,
        measurement_pages,
        audience_pages,
        inventory_pages,
        rate_card_pages,
        booking_pages,
        delivery_pages,
        attribution_pages,
        attribution_result_pages,
        matching_pages,
        matching_settings_pages,
        report_pages,
        dashboard_pages,
    )
    for router in (*pages, metrics_pages):
        # Every page's layout needs to know whether to offer the metrics import, the deal board, the bookings, the
        # conversion sources, matchmaking and the dashboards.
        navigation = (
            show_metrics_nav,
            show_deals_nav,
            show_bookings_nav,
            show_conversions_nav,
            show_matching_nav,
            show_dashboard_nav,
        )
        app.include_router(router, dependencies=[Depends(offer) for offer in navigation])
    # The sponsor's shared report page has no navigation, so none of the navigation checks.
    app.include_router(shared_report_pages)
    app.add_middleware(SecurityHeaders)
