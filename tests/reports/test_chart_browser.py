"""Charts in real Chromium under the pages' content security policy: the vendored Vega draws every figure, with no
eval, no injected style and no console error; tooltips read the right day in a time zone west of UTC; without
script the figure keeps the server's drawing or a note, and the table of numbers."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from playwright.async_api import Browser, Page, expect

from podsponsor.reports.charts import fallback_svg
from podsponsor.web import STATIC
from podsponsor.web.headers import PAGE_POLICY, SecurityHeaders
from podsponsor.web.render import TEMPLATES
from tests.factories.app_server import free_port
from tests.reports.conftest import delivery_line, inventory_grid, revenue_bars
from tests.web.conftest import SCREENSHOTS, browser_type_launch_args  # noqa: F401  (the system Chromium)
from tests.web.test_browser import chromium, problems  # noqa: F401  (the shared browser fixtures)

pytestmark = pytest.mark.browser

PAGE = """{% from "reports/chart.html" import chart, chart_assets %}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Charts</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/app.css">{{ chart_assets() }}</head>
<body><main class="page">{{ chart("delivery", line) }}{{ chart("inventory", grid) }}
{{ chart("revenue", bars, fallback=bars_svg) }}</main></body></html>"""
# Collects what the browser refused under the policy; init scripts run outside the page's policy.
WATCH_POLICY = """
window.violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def chart_page_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    template = TEMPLATES.env.from_string(PAGE)

    @app.get("/charts", response_class=HTMLResponse)
    def charts_page() -> str:
        bars = revenue_bars()
        return template.render(line=delivery_line(), grid=inventory_grid(), bars=bars, bars_svg=fallback_svg(bars))

    return app


@pytest.fixture(scope="module")
def chart_server() -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(chart_page_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the chart page server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
async def page(chromium: Browser) -> AsyncIterator[Page]:  # noqa: F811
    # West of UTC, where reading an ISO day as local time would show the day before.
    context = await chromium.new_context(viewport={"width": 1100, "height": 900}, timezone_id="America/Los_Angeles")
    await context.add_init_script(WATCH_POLICY)
    yield await context.new_page()
    await context.close()


async def test_each_figure_is_drawn_with_marks_and_tooltips_under_the_policy(
    chart_server: str,
    page: Page,
    problems: list[str],  # noqa: F811
) -> None:
    response = await page.goto(f"{chart_server}/charts")
    assert response is not None
    assert response.headers["content-security-policy"] == PAGE_POLICY

    marks = {"delivery": "g.mark-line path", "inventory": "g.mark-rect path", "revenue": "g.mark-rect path"}
    for figure_id, mark in marks.items():
        figure = page.locator(f"figure#{figure_id}")
        await expect(figure).to_have_attribute("data-chart-state", "drawn")
        # One drawing per figure: the live one, in place of the placeholder or the server's drawing.
        await expect(figure.locator("svg")).to_have_count(1)
        view = figure.locator(".chart-view.vega-embed")
        await expect(view).to_have_attribute("aria-roledescription", "visualization")
        await expect(view).to_have_attribute("aria-label", re.compile(r"^(Line chart|Inventory calendar|Grouped bar)"))
        drawn = view.locator("> svg")
        assert await drawn.locator(mark).count() > 0, f"{figure_id} has no {mark}"
    await expect(page.locator("figure#inventory .vega-embed svg text", has_text="—")).to_have_count(3)

    first_point = page.locator("figure#delivery g.mark-symbol path").first
    await first_point.hover()
    tooltip = page.locator("#vg-tooltip-element")
    await expect(tooltip).to_have_class("vg-tooltip visible podsponsor-theme")
    await expect(tooltip).to_contain_text("1 Mar 2026")
    await expect(tooltip).to_contain_text("Delivered")
    await expect(tooltip).to_contain_text("1,000")

    await page.locator("figure#revenue g.mark-rect path").first.hover()
    await expect(tooltip).to_contain_text("Revenue (USD)")
    await expect(tooltip).to_contain_text("12,500.00")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "report-charts.png", full_page=True)

    assert await page.evaluate("window.violations") == []
    assert problems == []


async def test_without_script_the_figures_keep_the_server_drawing_or_a_note(
    chart_server: str,
    chromium: Browser,  # noqa: F811
) -> None:
    context = await chromium.new_context(java_script_enabled=False)
    try:
        page = await context.new_page()
        await page.goto(f"{chart_server}/charts")
        server_drawing = page.locator("figure#revenue .chart-view > svg")
        await expect(server_drawing).to_be_visible()
        assert await server_drawing.locator("g.mark-rect path").count() == 8  # 3 + 3 + 2 months with a value
        await expect(page.locator("figure#delivery .chart-placeholder")).to_be_visible()
        await expect(page.locator("figure#delivery noscript, figure#delivery .chart-note")).not_to_have_count(0)
        await page.locator("figure#delivery summary").click()
        await expect(page.locator("figure#delivery table tbody tr")).to_have_count(28)
        await expect(page.locator("figure#delivery table tbody tr").first).to_contain_text("1 Mar 2026")
    finally:
        await context.close()
