"""The metrics import pages over HTTP: who sees them, the feature flag, the history, and one import's outcome."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from tests.factories.identity import PASSWORD, Tenant, make_tenant
from tests.web.conftest import browser, submit

CANONICAL_HEADER = "day,episode_id,source,downloads,listeners,completion_rate,ctr,conversions,revenue_cents"
FLAG = "/api/v1/feature-flags/ENABLE_ETL_CSV_UPLOAD"


@dataclass
class Show:
    id: str
    episodes: list[dict[str, str]]


def make_show(api: httpx.Client, episodes: int = 3) -> Show:
    """A show with episodes published on the first days of August 2026, named so a test can find each."""
    tag = uuid.uuid4().hex[:6]
    show = api.post("/api/v1/podcasts", json={"title": f"Harbor Hours {tag}"})
    assert show.status_code == 201, show.text
    made = []
    for number in range(1, episodes + 1):
        body = {
            "podcast_id": show.json()["id"],
            "guid": f"harbor-{tag}-{number}",
            "title": f"Harbor Hours {tag} episode {number}",
            "publish_date": f"2026-08-0{number}T06:00:00+00:00",
        }
        created = api.post("/api/v1/episodes", json=body)
        assert created.status_code == 201, created.text
        made.append(created.json())
    return Show(show.json()["id"], made)


def canonical_csv(show: Show, downloads: int = 100) -> str:
    lines = [CANONICAL_HEADER]
    for offset, episode in enumerate(show.episodes):
        lines.append(f"2026-08-1{offset},{episode['id']},hosting,{downloads + offset},{80 + offset},0.62,0.013,2,1250")
    return "\n".join(lines) + "\n"


def bad_csv(show: Show) -> str:
    """Three rows wrong in three different ways, one with markup in a cell, and a good row."""
    first, second, third = (episode["id"] for episode in show.episodes)
    return (
        "\n".join(
            [
                CANONICAL_HEADER,
                f"2026-08-10,{first},hosting,-5,80,0.5,0.01,1,100",
                f"2026-08-11,{second},hosting,120,80,1.7,0.01,1,100",
                f"2026-08-12,{uuid.uuid4()},hosting,120,80,0.5,0.01,1,100",
                f"2026-08-13,{third},hosting,<img src=x onerror=alert(1)>,80,0.5,0.01,1,100",
                f"2026-08-14,{third},hosting,90,80,0.5,0.01,1,100",
            ]
        )
        + "\n"
    )


def upload(api: httpx.Client, name: str, content: str) -> httpx.Response:
    return api.post("/api/v1/etl/upload", files={"file": (name, content.encode(), "text/csv")})


@contextmanager
def signed_in(server: str, tenant: Tenant, role: str = "owner") -> Iterator[httpx.Client]:
    with browser(server) as client:
        email = tenant.owner_email.replace("owner-", f"{role}-")
        response = submit(client, "/login", "/login", {"email": email, "password": PASSWORD})
        assert response.status_code == 303, response.text
        yield client


def import_id_of(response: httpx.Response) -> str:
    body = response.json()
    found = body.get("id") or body.get("import_id")
    assert found, body
    return str(found)


def test_the_import_page_is_offered_to_owners_and_lists_each_import(server: str) -> None:
    tenant = make_tenant(server)
    with tenant.client() as api, signed_in(server, tenant) as client:
        home = client.get("/")
        assert 'href="/metrics/import">Metrics</a>' in home.text, "the navigation offers the import page"
        empty = client.get("/metrics/import")
        assert empty.status_code == 200
        assert "No imports yet." in empty.text
        assert 'id="csv-file"' in empty.text
        assert 'src="/static/metrics-import.js"' in empty.text
        show = make_show(api)
        done = upload(api, "august-downloads.csv", canonical_csv(show))
        assert done.status_code in (201, 202), done.text
        listing = client.get("/metrics/import").text
        assert f'href="/metrics/import/{import_id_of(done)}"' in listing
        assert "august-downloads.csv" in listing
        assert "No imports yet." not in listing


def test_an_imports_page_shows_its_counts_and_watermark(server: str) -> None:
    tenant = make_tenant(server)
    with tenant.client() as api, signed_in(server, tenant) as client:
        show = make_show(api)
        done = upload(api, "week-32.csv", canonical_csv(show))
        assert done.status_code in (201, 202), done.text
        page = client.get(f"/metrics/import/{import_id_of(done)}")
        assert page.status_code == 200
        text = page.text
        assert "week-32.csv" in text
        assert "Completed" in text
        assert "Imported 3 rows: 3 new and 0 updated." in text
        assert "2026-08-12" in text, "the source's watermark is the newest day imported"
        assert "Canonical CSV" in text
        again = upload(api, "week-32-again.csv", canonical_csv(show))
        assert again.status_code == 200, again.text
        duplicate = client.get(f"/metrics/import/{import_id_of(again)}").text
        assert re.search(r"This file was already imported on <time[^>]*>\d{4}-\d{2}-\d{2}", duplicate)
        assert f'href="/metrics/import/{import_id_of(done)}"' in duplicate, "it links to the import that counted"


def test_a_failed_imports_page_lists_each_bad_row_with_markup_shown_as_text(server: str) -> None:
    tenant = make_tenant(server)
    with tenant.client() as api, signed_in(server, tenant) as client:
        show = make_show(api)
        failed = upload(api, "broken.csv", bad_csv(show))
        assert failed.status_code in (201, 202, 422), failed.text
        history = client.get("/metrics/import").text
        assert "broken.csv" in history
        assert "Failed" in history
        link = history[: history.index("broken.csv")].rsplit('href="', 1)[1].split('"', 1)[0]
        page = client.get(link)
        assert page.status_code == 200
        text = page.text
        assert "The file was not imported" in text
        assert "Nothing was changed." in text
        for column in ("downloads", "completion_rate", "episode_id"):
            assert f"<td>{column}</td>" in text, column
        assert "<img src=x" not in text, "a cell's markup is never rendered as markup"
        assert "&lt;img src=x onerror=alert(1)&gt;" in text


def test_the_feature_flag_hides_the_pages_and_the_navigation(server: str) -> None:
    tenant = make_tenant(server)
    with tenant.client() as api, signed_in(server, tenant) as client:
        show = make_show(api)
        done = upload(api, "flagged.csv", canonical_csv(show))
        assert done.status_code in (201, 202), done.text
        assert api.put(FLAG, json={"enabled": False}).status_code == 200
        try:
            assert client.get("/metrics/import").status_code == 404
            assert client.get(f"/metrics/import/{import_id_of(done)}").status_code == 404
            home = client.get("/")
            assert home.status_code == 200
            assert 'href="/metrics/import"' not in home.text
            assert ">Metrics</a>" not in home.text
        finally:
            assert api.put(FLAG, json={"enabled": None}).status_code == 200
        assert client.get("/metrics/import").status_code == 200


def test_roles_without_metrics_write_are_refused_and_not_offered_the_page(server: str) -> None:
    tenant = make_tenant(server, roles=("owner", "sales", "advertiser"))
    for role in ("sales", "advertiser"):
        with signed_in(server, tenant, role) as client:
            assert client.get("/metrics/import").status_code == 403, role
            assert client.get(f"/metrics/import/{uuid.uuid4()}").status_code == 403, role
            assert 'href="/metrics/import"' not in client.get("/").text, role


def test_anonymous_visitors_are_sent_to_sign_in(server: str) -> None:
    with browser(server) as client:
        response = client.get("/metrics/import")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=/metrics/import"


def test_another_workspaces_import_is_not_found(server: str) -> None:
    owner = make_tenant(server)
    stranger = make_tenant(server)
    with owner.client() as api:
        show = make_show(api)
        done = upload(api, "private-numbers.csv", canonical_csv(show))
        assert done.status_code in (201, 202), done.text
    with signed_in(server, stranger) as client:
        page = client.get(f"/metrics/import/{import_id_of(done)}")
        assert page.status_code == 404
        assert "private-numbers.csv" not in page.text
        assert "private-numbers.csv" not in client.get("/metrics/import").text
        assert client.get(f"/metrics/import/{uuid.uuid4()}").status_code == 404
        assert client.get("/metrics/import/not-an-id").status_code == 404


def test_an_imports_page_keeps_the_first_thousand_errors_and_counts_them_all(server: str) -> None:
    tenant = make_tenant(server)
    with tenant.client() as api, signed_in(server, tenant) as client:
        show = make_show(api)
        episode = show.episodes[0]["id"]
        rows = [f"2026-0{1 + n // 28 % 9}-{1 + n % 28:02d},{episode},s{n // 252},-1,1,0.5,0.1,0,0" for n in range(1200)]
        failed = upload(api, "negative.csv", "\n".join([CANONICAL_HEADER, *rows]) + "\n")
        assert failed.status_code == 422, failed.text
        page = client.get(f"/metrics/import/{failed.json()['import_id']}").text
        assert "Showing the first 1,000 of 1,200 errors" in page
        assert page.count("<td>downloads</td>") == 1000
