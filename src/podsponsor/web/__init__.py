"""Server-rendered pages: the shell (layout, navigation, sign-in) and each domain's pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent.parent / "static"


def mount_web(app: FastAPI) -> None:
    from podsponsor.catalog.web import router as catalog_pages
    from podsponsor.sales.web import router as sales_pages
    from podsponsor.web.auth_pages import router as auth_pages
    from podsponsor.web.events_pages import router as events_pages
    from podsponsor.web.headers import SecurityHeaders
    from podsponsor.web.home import router as home_pages
    from podsponsor.web.settings_pages import router as settings_pages

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (home_pages, auth_pages, settings_pages, events_pages, catalog_pages, sales_pages):
        app.include_router(router)
    app.add_middleware(SecurityHeaders)
