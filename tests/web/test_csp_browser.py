"""The main pages in real Chromium under the content security policy: no violation reported (a
`securitypolicyviolation` listener on every page), no console error; and two-step sign-in set up and used the way a
person does it, with the QR code and the second sign-in page."""

from __future__ import annotations

import re
import time

import pytest
from playwright.async_api import Page, expect

from podsponsor.auth import totp
from podsponsor.db.engine import Database
from tests.factories.identity import PASSWORD, make_tenant
from tests.reports.world import report_world
from tests.web.conftest import SCREENSHOTS, browser_type_launch_args  # noqa: F401  (the system Chromium)
from tests.web.test_browser import chromium, page, problems  # noqa: F401  (the shared browser fixtures)

pytestmark = pytest.mark.browser

# Init scripts run outside the page's policy: this one collects what the browser refused under it.
WATCH_POLICY = """
window.violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.violations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
});
"""
PAGES = (
    "/",
    "/podcasts",
    "/podcasts/new",
    "/sponsors",
    "/deals",
    "/io",
    "/io/new",
    "/inventory",
    "/makegoods",
    "/conversion-sources",
    "/events",
    "/metrics/import",
    "/measurement/review",
    "/settings/users",
    "/settings/api-keys",
    "/settings/account",
)


async def sign_in(page: Page, server: str, email: str) -> None:  # noqa: F811
    await page.goto(f"{server}/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def settled(page: Page) -> list[str]:  # noqa: F811
    """The page's violations once it has loaded and its scripts have run."""
    await page.wait_for_load_state("networkidle")
    return list(await page.evaluate("window.violations"))


async def test_main_pages_run_under_the_policy_without_a_violation(
    db: Database,
    server: str,
    page: Page,  # noqa: F811
    problems: list[str],  # noqa: F811
) -> None:
    tenant = make_tenant(server, roles=("owner", "sales"))
    world = await report_world(tenant)
    await page.context.add_init_script(WATCH_POLICY)
    await sign_in(page, server, tenant.owner_email)
    await expect(page).to_have_url(f"{server}/")
    charted = (f"/campaigns/{world.campaign_id}/delivery", f"/campaigns/{world.campaign_id}/report")
    violations = {}
    for path in (*PAGES, *charted):
        response = await page.goto(f"{server}{path}")
        assert response is not None and response.status == 200, path
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        found = await settled(page)
        if found:
            violations[path] = found
    # The charts were drawn by the pages' own script, under the policy.
    await expect(page.locator("figure[data-chart-state=drawn]").first).to_be_visible()
    assert violations == {}
    assert problems == []


async def test_two_step_sign_in_set_up_and_used_in_the_browser(
    server: str,
    page: Page,  # noqa: F811
    problems: list[str],  # noqa: F811
) -> None:
    tenant = make_tenant(server)
    await page.context.add_init_script(WATCH_POLICY)
    await sign_in(page, server, tenant.owner_email)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    await page.get_by_role("navigation", name="Settings").get_by_role("link", name="Your account").click()
    await page.get_by_role("button", name="Set up two-step sign-in").click()
    await expect(page.locator(".totp-qr svg")).to_be_visible()
    secret = (await page.locator("#totp-secret").text_content() or "").strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    await page.screenshot(path=SCREENSHOTS / "two-step-setup.png", full_page=True)
    await page.get_by_label("Code from the app").fill(totp.code_at(secret, totp.step_at(time.time())))
    await page.get_by_role("button", name="Turn on two-step sign-in").click()
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    await expect(codes).to_have_count(10)
    await expect(page.get_by_role("status")).to_have_text("Two-step sign-in is on.")
    await page.screenshot(path=SCREENSHOTS / "two-step-recovery-codes.png", full_page=True)
    assert await settled(page) == []

    await page.get_by_role("button", name="Sign out").click()
    await sign_in(page, server, tenant.owner_email)
    await expect(page).to_have_url(f"{server}/login/second-factor")
    await page.get_by_label("Code").fill(totp.code_at(secret, totp.step_at(time.time()) + 1))
    await page.screenshot(path=SCREENSHOTS / "two-step-sign-in.png", full_page=True)
    await page.get_by_role("button", name="Verify and sign in").click()
    await expect(page).to_have_url(f"{server}/")
    await expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    assert await settled(page) == []
    assert problems == []
