"""Rendering pages with the shared layout: every page gets the caller, the CSRF token and the navigation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from podsponsor.auth.permissions import Permission
from podsponsor.reports.charts import chart_embed
from podsponsor.web.csrf import attach_csrf_cookie, csrf_token
from podsponsor.web.session import clear_notice, take_notice

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")


def _utc(moment: datetime) -> str:
    """Times on pages are shown in UTC, the zone every report and flight date uses."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


TEMPLATES.env.globals["Permission"] = Permission
TEMPLATES.env.filters["utc"] = _utc
TEMPLATES.env.globals["chart_embed"] = chart_embed


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """`template` extends base.html (blocks: title, content). Context gains `subject` and `csrf_token`."""
    context.setdefault("subject", getattr(request.state, "subject", None))
    context["csrf_token"] = csrf_token(request)
    context.setdefault("notice", take_notice(request))
    context.setdefault("errors", {})
    context.setdefault("values", {})
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)
    attach_csrf_cookie(request, response)
    clear_notice(request, response)
    return response


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    return render(request, "web/error.html", status_code=status, status=status, title=title, detail=detail)
