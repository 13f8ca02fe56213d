"""Show pages: listing with search and pages, the new-show form, a show's episodes, and who may see what."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from tests.factories.identity import PASSWORD, make_tenant
from tests.web.conftest import Workspace, browser, sign_up, submit

SHOW_FORM = {
    "title": "Morning Ledger",
    "feed_url": "https://feeds.example.com/ledger.xml",
    "author": "Ana Reyes",
    "language": "en-US",
    "categories": "Business, News ,",
    "explicit": "on",
    "description": "Markets before breakfast.",
}


def _create(workspace: Workspace, **fields: str) -> str:
    response = submit(workspace.client, "/podcasts/new", "/podcasts", {**SHOW_FORM, **fields})
    assert response.status_code == 303, response.text
    return response.headers["location"]


def test_a_new_show_is_saved_as_typed_and_listed(workspace: Workspace) -> None:
    location = _create(workspace)
    assert re.fullmatch(r"/podcasts/[0-9a-f-]{36}", location)
    detail = workspace.client.get(location)
    assert detail.status_code == 200
    assert "Morning Ledger is added." in detail.text
    for shown in ("Morning Ledger", "by Ana Reyes", "en-US", ">Business<", ">News<", "Explicit", "No episodes yet."):
        assert shown in detail.text, shown
    listing = workspace.client.get("/podcasts").text
    assert f'href="{location}"' in listing


def test_the_form_names_each_bad_field_and_keeps_what_was_typed(workspace: Workspace) -> None:
    bad = {**SHOW_FORM, "title": "", "feed_url": "not a url", "language": "english!"}
    response = submit(workspace.client, "/podcasts/new", "/podcasts", bad)
    assert response.status_code == 422
    for field in ("title", "feed_url", "language"):
        assert f'id="{field}-error"' in response.text, field
    assert 'value="Ana Reyes"' in response.text
    assert "Markets before breakfast." in response.text
    too_many = submit(
        workspace.client,
        "/podcasts/new",
        "/podcasts",
        {**SHOW_FORM, "categories": ",".join(f"c{i}" for i in range(21))},
    )
    assert too_many.status_code == 422
    assert 'id="categories-error"' in too_many.text


def test_a_feed_already_used_by_a_show_is_a_conflict_on_that_field(workspace: Workspace) -> None:
    _create(workspace, feed_url="https://feeds.example.com/twice.xml")
    again = submit(
        workspace.client,
        "/podcasts/new",
        "/podcasts",
        {**SHOW_FORM, "title": "Copy", "feed_url": "https://feeds.example.com/twice.xml"},
    )
    assert again.status_code == 409
    assert 'id="feed_url-error"' in again.text


def test_search_and_pages_split_a_long_list(workspace: Workspace) -> None:
    for number in range(23):
        _create(workspace, title=f"Show {number:02d}", feed_url="", author="Pat" if number % 2 else "Lee")
    first = workspace.client.get("/podcasts").text
    assert "1\N{EN DASH}20 of 23" in first
    assert "Show 00" in first
    assert "Show 20" not in first
    assert 'href="/podcasts?page=2"' in first
    second = workspace.client.get("/podcasts", params={"page": "2"}).text
    assert "Show 20" in second
    assert "Show 22" in second
    assert "Show 00" not in second
    found = workspace.client.get("/podcasts", params={"q": "show 07"}).text
    assert "Show 07" in found
    assert "Show 08" not in found
    by_author = workspace.client.get("/podcasts", params={"q": "pat"}).text
    assert "Show 01" in by_author
    assert "Show 02" not in by_author
    none = workspace.client.get("/podcasts", params={"q": "zzz-nothing"}).text
    assert "No show matches" in none
    assert workspace.client.get("/podcasts", params={"page": "abc"}).status_code == 200


def test_a_show_lists_its_episodes_newest_first_in_pages(server: str) -> None:
    tenant = make_tenant(server)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with tenant.client() as api:
        show = api.post("/api/v1/podcasts", json={"title": "Weekly"}).json()
        for week in range(30):
            body = {
                "podcast_id": show["id"],
                "title": f"Week {week:02d}",
                "publish_date": (start + timedelta(weeks=week)).isoformat(),
            }
            assert api.post("/api/v1/episodes", json=body).status_code == 201
    with browser(server) as client:
        submit(client, "/login", "/login", {"email": tenant.owner_email, "password": PASSWORD})
        first = client.get(f"/podcasts/{show['id']}").text
        assert first.index("Week 29") < first.index("Week 28")
        assert "Week 04" not in first
        assert "1\N{EN DASH}25 of 30" in first
        second = client.get(f"/podcasts/{show['id']}", params={"page": 2}).text
        assert "Week 04" in second
        assert "Week 00" in second
        assert "Week 05" not in second


def test_another_workspaces_show_is_not_found(server: str, workspace: Workspace) -> None:
    location = _create(workspace)
    other = sign_up(server)
    with other as client:
        response = client.get(location)
        assert response.status_code == 404
        assert "Morning Ledger" not in response.text
        assert client.get(f"/podcasts/{uuid.uuid4()}").status_code == 404
        assert "Morning Ledger" not in client.get("/podcasts", params={"q": "Morning"}).text


def test_roles_without_catalog_write_see_shows_but_not_the_form(server: str) -> None:
    tenant = make_tenant(server, roles=("owner", "sales"))
    with browser(server) as client:
        email = tenant.owner_email.replace("owner-", "sales-")
        submit(client, "/login", "/login", {"email": email, "password": PASSWORD})
        listing = client.get("/podcasts")
        assert listing.status_code == 200
        assert 'href="/podcasts/new"' not in listing.text
        assert client.get("/podcasts/new").status_code == 403
        refused = submit(client, "/podcasts", "/podcasts", SHOW_FORM)
        assert refused.status_code == 403
