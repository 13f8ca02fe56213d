"""The metrics import page in real Chromium: a good file, a bad file, a file mapped by hand, and a dropped file.

Playwright's async API, like tests/web/test_browser.py, so it shares the test session's event loop.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.async_api import Page, expect

from podsponsor.config import get_settings
from podsponsor.jobs.app import run_worker
from tests.factories.feed_server import FeedServer
from tests.factories.identity import PASSWORD, Tenant, make_tenant
from tests.web.conftest import SCREENSHOTS
from tests.web.test_browser import chromium, page, problems  # noqa: F401  (the shared browser fixtures)
from tests.web.test_metrics_import_pages import CANONICAL_HEADER, Show, bad_csv, canonical_csv, make_show

pytestmark = pytest.mark.browser


@pytest.fixture
def studio(server: str) -> tuple[Tenant, Show]:
    tenant = make_tenant(server)
    with tenant.client() as api:
        return tenant, make_show(api)


async def _shot(page: Page, name: str) -> None:
    await page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


async def _sign_in(page: Page, server: str, tenant: Tenant) -> None:
    await page.goto(f"{server}/login")
    await page.get_by_label("E-mail").fill(tenant.owner_email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{server}/")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Metrics", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Import metrics")


async def _choose(page: Page, name: str, content: str) -> None:
    await page.get_by_label("Choose a CSV file").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": content.encode()}]
    )
    await expect(page.locator("#preview-file")).to_contain_text(name)


async def test_a_good_file_is_previewed_imported_listed_and_recognised_when_dropped_again(
    server: str, page: Page, problems: list[str], studio: tuple[Tenant, Show]
) -> None:
    tenant, show = studio
    await _sign_in(page, server, tenant)
    await expect(page.get_by_text("No imports yet.")).to_be_visible()
    await _shot(page, "20-metrics-import-empty")

    content = canonical_csv(show)
    await _choose(page, "august.csv", content)
    preview = page.locator("#preview")
    await expect(preview.locator("#preview-format")).to_have_text("Canonical CSV")
    await expect(preview.locator("#preview-delimiter")).to_contain_text("Comma")
    sample = page.locator("#preview-table")
    await expect(sample.locator("tbody tr")).to_have_count(3)
    await expect(sample.get_by_role("cell", name=show.episodes[0]["id"])).to_be_visible()
    await expect(sample.get_by_role("columnheader", name="completion_rate")).to_be_visible()
    await _shot(page, "21-metrics-import-preview")
    # Forcing another format reads the same header as that export, which it is not; back to detection, all is well.
    format_choice = page.locator("#import-form").get_by_label("Format")
    await format_choice.select_option("spotify")
    await expect(preview.locator("#preview-format")).to_have_text("Spotify for Creators")
    await expect(preview.locator("#preview-problems")).to_be_visible()
    await format_choice.select_option("")
    await expect(preview.locator("#preview-format")).to_have_text("Canonical CSV")
    await expect(preview.locator("#preview-problems")).to_be_hidden()

    await page.get_by_role("button", name="Import the file").click()
    result = page.locator("#result")
    await expect(result.get_by_role("heading")).to_have_text("The metrics are imported")
    await expect(result).to_contain_text("Imported 3 rows from august.csv: 3 new and 0 updated.")
    await expect(result).to_contain_text("2026-08-12")
    await expect(page.locator("#upload-bar")).to_have_js_property("value", 100)
    await expect(page.locator("#upload-text")).to_contain_text("100%")
    history = page.locator("#import-history")
    row = history.get_by_role("row").filter(has_text="august.csv")
    await expect(row).to_contain_text("Completed")
    await expect(row).to_contain_text("Canonical CSV")
    await _shot(page, "22-metrics-import-done")

    # The same bytes dropped on the zone under another name: recognised, and nothing changes.
    transfer = await page.evaluate_handle(
        "text => { const t = new DataTransfer(); t.items.add(new File([text], 'august-copy.csv', {type: 'text/csv'}));"
        " return t; }",
        content,
    )
    await page.locator("#dropzone").dispatch_event("drop", {"dataTransfer": transfer})
    await expect(page.locator("#preview-file")).to_contain_text("august-copy.csv")
    await page.get_by_role("button", name="Import the file").click()
    await expect(result.get_by_role("heading")).to_have_text("Already imported")
    await expect(result).to_contain_text(
        re.compile(r"This file was already imported on \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")
    )
    await _shot(page, "23-metrics-import-duplicate")
    await result.get_by_role("link", name="See that import").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("august.csv")
    await expect(page.get_by_role("status")).to_contain_text("Imported 3 rows: 3 new and 0 updated.")
    await _shot(page, "24-metrics-import-detail")
    assert problems == []


async def test_a_bad_file_shows_each_row_error_and_imports_nothing(
    server: str, page: Page, problems: list[str], studio: tuple[Tenant, Show]
) -> None:
    tenant, show = studio
    await _sign_in(page, server, tenant)
    # By keyboard: the file button takes the focus and opens the file chooser.
    picker = page.get_by_label("Choose a CSV file")
    await picker.focus()
    await expect(picker).to_be_focused()
    async with page.expect_file_chooser() as chosen:
        await page.keyboard.press("Space")
    chooser = await chosen.value
    await chooser.set_files(files=[{"name": "broken.csv", "mimeType": "text/csv", "buffer": bad_csv(show).encode()}])
    await expect(page.locator("#preview-file")).to_contain_text("broken.csv")
    await expect(page.locator("#preview-problems")).to_contain_text("row 3, completion_rate: must be between 0 and 1")
    await page.get_by_role("button", name="Import the file").click()

    result = page.locator("#result")
    await expect(result.get_by_role("heading")).to_have_text("The file was not imported")
    await expect(result.get_by_role("alert")).to_contain_text("Nothing was changed")
    errors = result.locator("table.row-errors tbody tr")
    for column, value in (
        ("downloads", "-5"),
        ("completion_rate", "1.7"),
        ("episode_id", None),
        ("downloads", "<img src=x onerror=alert(1)>"),
    ):
        found = errors.filter(has=page.get_by_role("cell", name=column, exact=True))
        if value is not None:
            found = found.filter(has_text=value)
        await expect(found.first).to_be_visible()
    await expect(result.locator("img")).to_have_count(0)
    await expect(page.locator("#import-history").get_by_role("row").filter(has_text="broken.csv")).to_contain_text(
        "Failed"
    )
    await _shot(page, "25-metrics-import-errors")
    await result.get_by_role("link", name="See this import").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("broken.csv")
    await expect(page.get_by_role("alert")).to_contain_text("4 problems were found. Nothing was changed.")
    await expect(page.locator("table.row-errors caption")).to_have_text("4 errors")
    await expect(page.get_by_role("cell", name="<img src=x onerror=alert(1)>")).to_be_visible()
    await _shot(page, "25b-metrics-import-failed-detail")
    # A refused file may be answered 422, which Chromium logs as a failed load: expected here, and only that.
    assert [p for p in problems if "status of 422" not in p] == []


async def test_a_file_of_unknown_shape_is_mapped_column_by_column_and_imported(
    server: str, page: Page, problems: list[str], studio: tuple[Tenant, Show]
) -> None:
    tenant, show = studio
    await _sign_in(page, server, tenant)
    rows = [f"2026-08-2{n};{episode['guid']};1,2{n}9;9{n}" for n, episode in enumerate(show.episodes)]
    await _choose(page, "hand-made.csv", "\n".join(["Date;Show episode;Plays;Unique people", *rows]) + "\n")
    await expect(page.locator("#preview-format")).to_contain_text("Not recognised")
    await expect(page.locator("#preview-delimiter")).to_contain_text("Semicolon")
    mapping = page.locator("#mapping")
    await expect(mapping).to_have_attribute("open", "")
    await mapping.get_by_label("Day").select_option("Date")
    await mapping.get_by_label("Episode GUID").select_option("Show episode")
    await mapping.get_by_label("Downloads").select_option("Plays")
    await mapping.get_by_label("Listeners").select_option("Unique people")
    await page.get_by_label("Source (optional)").fill("hosting")
    await expect(page.locator("#preview-problems")).to_be_hidden()
    await _shot(page, "26-metrics-import-mapping")

    await page.get_by_role("button", name="Import the file").click()
    result = page.locator("#result")
    await expect(result.get_by_role("heading")).to_have_text("The metrics are imported")
    await expect(result).to_contain_text("Imported 3 rows from hand-made.csv: 3 new and 0 updated.")
    await _shot(page, "27-metrics-import-mapped")
    assert problems == []


async def test_a_private_address_is_refused_next_to_the_url_field(
    server: str, page: Page, problems: list[str], studio: tuple[Tenant, Show]
) -> None:
    tenant, _ = studio
    await _sign_in(page, server, tenant)
    await page.get_by_label("CSV URL").fill("http://10.1.2.3/metrics.csv")
    await page.get_by_role("button", name="Import from the URL").click()
    await expect(page.locator("#csv-url-error")).to_be_visible()
    await expect(page.get_by_label("CSV URL")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#import-history")).to_contain_text("No imports yet.")
    await _shot(page, "28-metrics-import-url-refused")
    assert [p for p in problems if "status of 422" not in p] == []


def _large_csv(show: Show, min_bytes: int) -> tuple[str, int]:
    """A canonical file just over `min_bytes`: every episode, day after day, from many sources."""
    lines = [CANONICAL_HEADER]
    size, start, sources = len(CANONICAL_HEADER) + 1, date(2026, 1, 1), 0
    while size <= min_bytes:
        sources += 1
        for days in range(100):
            for episode in show.episodes:
                line = f"{start + timedelta(days=days)},{episode['id']},s{sources:04d},{days},{days},0.5,0.01,0,0"
                lines.append(line)
                size += len(line) + 1
    return "\n".join(lines) + "\n", len(lines) - 1


async def test_a_large_file_is_imported_by_a_worker_while_the_page_follows_it(
    db: object, server: str, page: Page, problems: list[str], studio: tuple[Tenant, Show]
) -> None:
    tenant, show = studio
    await _sign_in(page, server, tenant)
    content, rows = _large_csv(show, int(get_settings().etl_sync_max_mb * 1024 * 1024) + 1)
    await _choose(page, "year-to-date.csv", content)
    await expect(page.locator("#preview-table tbody tr")).to_have_count(10)
    await page.get_by_role("button", name="Import the file").click()

    # Over the size for importing at once: queued as a job, which no worker has taken yet.
    await expect(page.locator("#import-status")).to_contain_text("Waiting for a worker")
    await expect(page.locator("#upload-text")).to_contain_text("100%")
    await expect(page.locator("#job-meter")).to_be_visible()
    await _shot(page, "29-metrics-import-queued")
    with tenant.client() as api:
        queued = api.get("/api/v1/etl/history").json()["items"][0]
    assert queued["status"] == "pending"
    watching = await page.context.new_page()
    watching.on("pageerror", lambda error: problems.append(f"page error: {error.message}"))
    await watching.goto(f"{server}/metrics/import/{queued['id']}")
    await expect(watching.get_by_role("heading", name="Importing")).to_be_visible()
    await run_worker(queues=["metrics"], wait=False)

    # The import's own page reloads itself with the outcome; the uploading page shows it too.
    await expect(watching.get_by_role("status")).to_contain_text(f"Imported {rows:,} rows", timeout=30_000)
    await expect(watching.get_by_role("heading", name="Importing")).to_have_count(0)
    result = page.locator("#result")
    await expect(result.get_by_role("heading")).to_have_text("The metrics are imported", timeout=30_000)
    await expect(result).to_contain_text(f"Imported {rows:,} rows from year-to-date.csv: {rows:,} new and 0 updated.")
    await expect(page.locator("#import-history")).to_contain_text("year-to-date.csv")
    await _shot(page, "30-metrics-import-job-done")
    assert problems == []


async def test_a_csv_published_on_the_web_is_imported_from_its_url(
    server: str, page: Page, problems: list[str], studio: tuple[Tenant, Show], feed_server: FeedServer
) -> None:
    tenant, show = studio
    url = feed_server.put(f"published-{show.id}.csv", canonical_csv(show, downloads=500).encode())
    await _sign_in(page, server, tenant)
    await page.get_by_label("CSV URL").fill(url)
    await page.locator("#url-form").get_by_label("Format").select_option("canonical")
    await page.get_by_role("button", name="Import from the URL").click()
    result = page.locator("#result")
    await expect(result.get_by_role("heading")).to_have_text("The metrics are imported")
    await expect(result).to_contain_text(f"Imported 3 rows from published-{show.id}.csv: 3 new and 0 updated.")
    await expect(page.locator("#import-history")).to_contain_text(f"published-{show.id}.csv")
    await _shot(page, "31-metrics-import-url")
    assert problems == []
