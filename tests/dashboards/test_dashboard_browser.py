"""The dashboards in real Chromium over the demo data, signed in as the demo's creator, advertiser and ops users of
Northwind: each opens its dashboard from the header, every chart is drawn by the page's own chart library, a figure's
note shows on keyboard focus, a card's CSV and XLSX download and parse, and nothing lands on the console or breaks
the content security policy. Screenshots go to test-artifacts/screenshots/dashboard-{kind}.png."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.async_api import Download, Locator, Page, expect

from podsponsor.demo import DemoSummary, load_demo_data
from podsponsor.demo.generate import DemoLogin
from tests.web.conftest import SCREENSHOTS, browser_type_launch_args  # noqa: F401  (the system Chromium)
from tests.web.test_browser import chromium, page, problems  # noqa: F401  (the shared browser fixtures)

pytestmark = pytest.mark.browser

# Collects what the browser refused under the policy; init scripts run outside the page's policy.
WATCH_POLICY = """
window.violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""
TITLES = {"creator": "Creator dashboard", "advertiser": "Advertiser dashboard", "ops": "Ad ops dashboard"}
# A card with a table of the demo's rows, downloaded on each dashboard, and its CSV's first columns.
DOWNLOADED = {
    "creator": ("pacing", "Pacing of live orders", ["Order id", "Order", "Sponsor", "Show"]),
    "advertiser": ("projected_cpm", "Projected CPM", ["Ad unit id", "Show", "Ad unit", "Position"]),
    "ops": ("measurement_health", "Measurement", ["Reason", "Requests", "Share (%)"]),
}


@pytest.fixture(scope="module")
async def summary(db: Any) -> DemoSummary:
    return await load_demo_data(seed=42)


def _login(summary: DemoSummary, role: str) -> DemoLogin:
    return next(login for login in summary.logins if login.workspace == "northwind" and login.role == role)


async def _sign_in(page: Page, server: str, login: DemoLogin) -> None:  # noqa: F811
    await page.context.add_init_script(WATCH_POLICY)
    await page.goto(f"{server}/login")
    await page.get_by_label("E-mail").fill(login.email)
    await page.get_by_label("Password").fill(login.password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{server}/")


async def _every_chart_drawn(page: Page) -> int:  # noqa: F811
    figures = page.locator("figure[data-chart]")
    count = await figures.count()
    assert count > 0
    await expect(page.locator("figure[data-chart-state=drawn]")).to_have_count(count, timeout=20_000)
    for figure in await figures.all():
        assert await figure.locator(".vega-embed svg path, .vega-embed svg rect").count() > 0
    return count


async def _download(page: Page, link: Locator, extension: str) -> bytes:  # noqa: F811
    async with page.expect_download() as started:
        await link.click()
    download: Download = await started.value
    assert await download.failure() is None
    assert download.suggested_filename.endswith(f".{extension}"), download.suggested_filename
    path = await download.path()
    assert path is not None
    return await asyncio.to_thread(Path(path).read_bytes)


async def _open_from_header(page: Page, server: str, kind: str) -> None:  # noqa: F811
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    await expect(page).to_have_url(f"{server}/dashboard/{kind}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(TITLES[kind])


async def _check_a_figure_note(page: Page) -> None:  # noqa: F811
    figure = page.locator(".figure").first
    note = figure.locator(".figure__note")
    assert (await figure.get_attribute("title") or "").strip()
    assert (await note.bounding_box() or {"width": 0})["width"] <= 1
    await figure.focus()
    await expect(note).to_be_visible()
    assert (await note.bounding_box() or {"width": 0})["width"] > 100
    await expect(note).to_have_text(await figure.get_attribute("title") or "")


async def _check_card_downloads(page: Page, kind: str) -> None:  # noqa: F811
    card_id, title, columns = DOWNLOADED[kind]
    panel = page.locator(f'section[data-card="{card_id}"]')
    content = await _download(page, panel.get_by_role("link", name=f"{title} as CSV"), "csv")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8"))))
    assert rows[0][: len(columns)] == columns
    shown = await panel.locator("details.dashboard-table").first.locator("tbody tr").count()
    assert len(rows) - 1 == shown > 0
    book = load_workbook(io.BytesIO(await _download(page, panel.get_by_role("link", name=f"{title} as XLSX"), "xlsx")))
    assert book.sheetnames[-2:] == ["Figures", "How computed"]
    first = list(book.worksheets[0].iter_rows(values_only=True))
    assert len(first) == len(rows)
    assert [str(cell) for cell in first[0][: len(columns)]] == [c.removesuffix(" (%)") for c in columns]


async def _first_pacing_title(page: Page) -> str:  # noqa: F811
    return str(json.loads(await page.locator("#pacing-chart-1-spec").text_content() or "{}")["title"])


async def _choose_an_order(page: Page) -> None:  # noqa: F811
    """The demo has more live orders than small charts: the one chosen is drawn first."""
    choice = page.get_by_label("Show an order's chart first")
    last = (await choice.locator("option").last.text_content() or "").strip()
    number = last.split(" · ")[0]
    assert not (await _first_pacing_title(page)).startswith(f"{number} ·")
    await choice.select_option(label=last)
    await page.locator("form.dashboard-order").get_by_role("button", name="Show").click()
    await expect(page.locator("#pacing-chart-1 .vega-embed svg")).to_contain_text(number)
    assert (await _first_pacing_title(page)).startswith(f"{number} ·")
    await expect(choice).to_have_value(await choice.locator("option").last.get_attribute("value") or "")


async def _finish(page: Page, kind: str, problems: list[str]) -> None:  # noqa: F811
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / f"dashboard-{kind}.png", full_page=True)
    assert await page.evaluate("window.violations") == []
    assert problems == []


@pytest.mark.parametrize("kind", ["creator", "advertiser", "ops"])
async def test_each_dashboard_draws_the_demo_data(
    server: str,
    summary: DemoSummary,
    kind: str,
    page: Page,  # noqa: F811
    problems: list[str],  # noqa: F811
) -> None:
    await _sign_in(page, server, _login(summary, kind))
    await _open_from_header(page, server, kind)
    assert await page.locator("section[data-card]").count() == {"creator": 5, "advertiser": 4, "ops": 5}[kind]
    await _every_chart_drawn(page)
    await _check_a_figure_note(page)
    await _check_card_downloads(page, kind)
    if kind == "creator":
        await _choose_an_order(page)
        await _every_chart_drawn(page)
    await _finish(page, kind, problems)


async def test_ops_picks_an_advertiser_and_downloads_the_whole_dashboard(
    server: str,
    summary: DemoSummary,
    page: Page,  # noqa: F811
    problems: list[str],  # noqa: F811
) -> None:
    await _sign_in(page, server, _login(summary, "ops"))
    await _open_from_header(page, server, "ops")
    await page.get_by_role("navigation", name="Dashboards").get_by_role("link", name="Advertiser").click()
    await expect(page.locator("[data-choose-sponsor]")).to_be_visible()
    picker = page.get_by_label("Advertiser", exact=True)
    chosen = (await picker.locator("option").nth(1).text_content() or "").strip()
    await picker.select_option(label=chosen)
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(page.locator("[data-sponsor]")).to_have_text(chosen)
    await _every_chart_drawn(page)
    book = load_workbook(io.BytesIO(await _download(page, page.get_by_role("link", name="Download XLSX"), "xlsx")))
    assert book.sheetnames[0] == "Figures" and "Projected CPM · Ad units" in book.sheetnames
    pdf = await _download(page, page.get_by_role("link", name="Download PDF"), "pdf")
    assert pdf.startswith(b"%PDF")
    await page.screenshot(path=SCREENSHOTS / "dashboard-advertiser-picked.png", full_page=True)
    assert await page.evaluate("window.violations") == []
    assert problems == []
