"""The "Add show by RSS URL" page and the feed status on the show page, as a signed-in person uses them."""

from __future__ import annotations

import re

import httpx
import pytest

from podsponsor.auth.tokens import TokenClaims, issue_session
from podsponsor.config import Settings
from tests.factories.feed_server import FeedServer, synthetic_feed
from tests.factories.identity import make_tenant

CSRF = "feed-pages-csrf-token"


@pytest.fixture
def browser(server: str, settings: Settings):
    tenant = make_tenant(server)
    session = issue_session(settings, TokenClaims(tenant.id, tenant.user_ids["owner"], 1))  # type: ignore[arg-type]
    with httpx.Client(
        base_url=server,
        cookies={"podsponsor_session": session, "podsponsor_csrf": CSRF},
        headers={"accept": "text/html"},
    ) as client:
        yield client


def test_importing_by_url_shows_the_new_show_with_its_feed_status(browser: httpx.Client, feed_server) -> None:
    wrapped = "https://dts.podtrac.com/redirect.mp3/"
    url = feed_server.put("page-import", synthetic_feed(7, title="Page Imported Show", prefix=wrapped))
    form = browser.get("/podcasts/import")
    assert form.status_code == 200 and 'name="feed_url"' in form.text
    done = browser.post("/podcasts/import", data={"feed_url": url, "csrf_token": CSRF})
    assert done.status_code == 303
    page = browser.get(done.headers["location"])
    assert "Page Imported Show" in page.text
    assert "7 new" in page.text and "Up to date" in page.text
    assert "Podtrac · 7 episodes" in page.text
    assert len(re.findall(r"<tr>\s*<td>", page.text)) == 7


def test_a_bad_or_private_url_is_shown_next_to_the_field(browser: httpx.Client) -> None:
    invalid = browser.post("/podcasts/import", data={"feed_url": "not a url", "csrf_token": CSRF})
    assert invalid.status_code == 422 and "field-error" in invalid.text
    private = browser.post("/podcasts/import", data={"feed_url": "http://10.1.2.3/feed.xml", "csrf_token": CSRF})
    assert private.status_code == 422 and "private" in private.text


def test_fetch_now_reports_a_broken_feed_on_the_show_page(browser: httpx.Client, feed_server: FeedServer) -> None:
    url = feed_server.put("page-break", synthetic_feed(2, title="Soon Broken"))
    location = browser.post("/podcasts/import", data={"feed_url": url, "csrf_token": CSRF}).headers["location"]
    feed_server.put("page-break", b"<html><body>Site maintenance</body></html>")
    answer = browser.post(f"{location}/refresh", data={"csrf_token": CSRF})
    assert answer.status_code == 303
    page = browser.get(location)
    assert "Failing" in page.text and "could not be read" in page.text
    assert "Last error" in page.text


def test_import_without_a_csrf_token_is_refused(browser: httpx.Client, feed_server: FeedServer) -> None:
    url = feed_server.put("page-csrf", synthetic_feed(1))
    assert browser.post("/podcasts/import", data={"feed_url": url}).status_code == 403
    assert feed_server.hits("/live/page-csrf") == 0
