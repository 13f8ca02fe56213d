"""Server-rendered pages: the shell (layout, navigation, sign-in) and each domain's pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent.parent / "static"


def mount_web(app: FastAPI) -> None:
    from podsponsor.catalog.web import router as catalog_pages
    from podsponsor.sales.web import router as sales_pages

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (catalog_pages, sales_pages):
        app.include_router(router)
