"""Who may call what (401 / 403 / 404), import from a URL with the feeds' address checks, the preview, and the
size cap (413), also while the file streams in."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from podsponsor.metrics.pipeline import stored_path
from tests.factories.feed_server import FeedServer
from tests.factories.identity import Tenant, make_tenant
from tests.metrics.conftest import API, Show, canonical, daily, make_show, upload

READS = [("GET", f"{API}/history"), ("GET", "/api/v1/metrics/daily"), ("GET", "/api/v1/metrics/daily/totals")]
WRITES = [("POST", f"{API}/upload"), ("POST", f"{API}/preview"), ("POST", f"{API}/import-url")]


def _call(api: httpx.Client, method: str, path: str) -> httpx.Response:
    if path.endswith("import-url"):
        return api.request(method, path, json={"url": "https://example.com/metrics.csv"})
    if method == "POST":
        return api.request(method, path, files={"file": ("x.csv", b"day\n", "text/csv")})
    return api.request(method, path)


@pytest.fixture(scope="module")
def imported(show: Show) -> str:
    with show.tenant.client() as api:
        content = canonical([("2026-07-01", show.episode(3)["id"], "access", 1, 1, 0, 0, 0, 0)])
        response = upload(api, content, name="access.csv")
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


@pytest.mark.parametrize(("method", "path"), READS + WRITES)
def test_anonymous_callers_are_401(anon: httpx.Client, method: str, path: str) -> None:
    response = _call(anon, method, path)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(("method", "path"), READS + WRITES)
def test_advertisers_see_no_metrics(network: Tenant, method: str, path: str) -> None:
    with network.client("advertiser") as api:
        assert _call(api, method, path).status_code == 403


def test_sales_reads_but_does_not_import(network: Tenant, imported: str) -> None:
    with network.client("sales") as api:
        for method, path in READS:
            assert _call(api, method, path).status_code == 200, path
        assert api.get(f"{API}/status/{imported}").status_code == 200
        for method, path in WRITES:
            assert _call(api, method, path).status_code == 403, path


def test_another_tenants_import_and_show_are_404(server: str, show: Show, imported: str) -> None:
    other = make_tenant(server)
    with other.client() as intruder:
        assert intruder.get(f"{API}/status/{imported}").status_code == 404
        assert intruder.get(f"{API}/status/{uuid.uuid4()}").status_code == 404
        assert imported not in {item["id"] for item in intruder.get(f"{API}/history").json()["items"]}
        assert intruder.get("/api/v1/metrics/daily", params={"podcast_id": show.podcast_id}).status_code == 404
        assert intruder.get("/api/v1/metrics/daily", params={"episode_id": show.episode(3)["id"]}).status_code == 404
        assert intruder.get("/api/v1/metrics/daily").json()["total"] == 0
        totals = intruder.get("/api/v1/metrics/daily/totals", params={"podcast_id": show.podcast_id})
        assert totals.status_code == 404


def test_bad_list_parameters_name_the_field(network: Tenant) -> None:
    with network.client() as api:
        assert (
            api.get("/api/v1/metrics/daily", params={"from": "yesterday"}).json()["errors"][0]["field"] == "query.from"
        )
        assert api.get(f"{API}/history", params={"limit": 100_000}).json()["errors"][0]["field"] == "limit"
        long = api.get("/api/v1/metrics/daily/totals", params={"from": "2020-01-01", "to": "2026-01-01"})
        assert long.status_code == 422 and long.json()["errors"][0]["field"] == "from"
        assert api.get(f"{API}/status/not-an-id").status_code == 422


def test_a_csv_url_goes_through_the_same_pipeline(network: Tenant, feed_server: FeedServer) -> None:
    show = make_show(network, ["From The Web"], show_title="URL show")
    url = feed_server.put(
        "metrics.csv", canonical([("2026-08-09", show.episode(0)["id"], "sheet", 33, 30, 0, 0, 0, 0)])
    )
    with network.client() as api:
        response = api.post(f"{API}/import-url", json={"url": url})
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["origin"], body["source_url"], body["file_name"], body["rows_inserted"]) == (
            "url",
            url,
            "metrics.csv",
            1,
        )
        assert [(r["day"], r["downloads"]) for r in daily(api, podcast_id=show.podcast_id)] == [("2026-08-09", 33)]
        again = api.post(f"{API}/import-url", json={"url": url})
        assert again.status_code == 200 and again.json()["duplicate_of"] == body["id"]


def test_a_private_address_is_refused_like_a_feed(network: Tenant, feed_server: FeedServer) -> None:
    with network.client() as api:
        refused = api.post(f"{API}/import-url", json={"url": "http://192.168.1.10/metrics.csv"})
        assert refused.status_code == 422, refused.text
        assert refused.json()["type"].endswith("/outbound-refused")
        assert refused.json()["errors"][0]["field"] == "url"
        missing = api.post(f"{API}/import-url", json={"url": feed_server.url("/live/nothing-here.csv")})
        assert missing.status_code == 502 and missing.json()["errors"][0]["field"] == "url"
        not_a_url = api.post(f"{API}/import-url", json={"url": "file:///etc/passwd"})
        assert not_a_url.status_code == 422 and not_a_url.json()["errors"][0]["field"] == "url"


def test_the_preview_reads_the_head_and_stores_nothing(show: Show) -> None:
    content = b"Date,Episode,Plays,Listeners\n2026-08-01,Pilot,1289,1000\n2026-08-02,Pilote,3,2\n"
    with show.tenant.client() as api:
        before = api.get(f"{API}/history").json()["total"]
        response = api.post(f"{API}/preview", files={"file": ("spotify.csv", content, "text/csv")})
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["format"], body["delimiter"], body["columns"]) == (
            "spotify",
            ",",
            ["Date", "Episode", "Plays", "Listeners"],
        )
        assert body["sample"] == [["2026-08-01", "Pilot", "1289", "1000"], ["2026-08-02", "Pilote", "3", "2"]]
        assert body["suggested_mapping"] == {
            "day": "Date",
            "episode_title": "Episode",
            "downloads": "Plays",
            "listeners": "Listeners",
        }
        assert [p["name"] for p in body["presets"]] == [
            "canonical",
            "spotify",
            "megaphone",
            "youtube",
            "apple",
            "generic",
        ]
        assert [(p["row"], p["value"], p["reason"], p["suggestion"]) for p in body["problems"]] == [
            (3, "Pilote", "no episode has this title", "did you mean 'Pilot'?")
        ]
        mapped = api.post(
            f"{API}/preview", files={"file": ("x.csv", b"When,What\n", "text/csv")}, data={"mapping": '{"day": "When"}'}
        )
        assert mapped.json()["format"] == "generic" and mapped.json()["suggested_mapping"] == {"day": "When"}
        assert api.get(f"{API}/history").json()["total"] == before


def _leftovers(tenant: Tenant) -> list[str]:
    folder = stored_path(uuid.UUID(tenant.id), uuid.uuid4()).parent
    return sorted(p.name for p in folder.glob("*")) if folder.exists() else []


def test_a_file_over_the_cap_is_413_before_or_while_it_arrives(capped_server: str) -> None:
    tenant = make_tenant(capped_server)
    big = b"day,episode_id\n" + b"2026-08-01,x\n" * 90_000  # 1.1 MB
    with tenant.client() as api:
        declared = upload(api, big)
        assert declared.status_code == 413, declared.text
        assert declared.json()["type"].endswith("/payload-too-large")
        boundary = "capboundary"

        def body() -> Iterator[bytes]:
            yield (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
                "Content-Type: text/csv\r\n\r\n"
            ).encode()
            for start in range(0, len(big), 64 * 1024):
                yield big[start : start + 64 * 1024]
            yield f"\r\n--{boundary}--\r\n".encode()

        streamed = api.post(
            f"{API}/upload", content=body(), headers={"content-type": f"multipart/form-data; boundary={boundary}"}
        )
        assert streamed.status_code == 413, streamed.text
        assert api.get(f"{API}/history").json()["total"] == 0
    assert _leftovers(tenant) == []
