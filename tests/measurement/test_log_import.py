"""Importing host and CDN logs over real HTTP and from the CLI: requests stored for counting, bad lines reported by
number while the good ones are kept, the same file again storing nothing new, counts of the touched days queued, and
who may import and read what."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from podsponsor.auth.subject import system_subject
from podsponsor.clients import hash_address
from podsponsor.db.tenancy import tenant_transaction, unscoped_transaction
from podsponsor.measurement import log_import
from podsponsor.measurement import service as lists_service
from tests.cli.conftest import podsponsor
from tests.conftest import ARTIFACTS
from tests.factories.app_server import serve_app
from tests.factories.identity import Tenant, make_tenant
from tests.measurement.reference_data import shared_file

API = "/api/v1/measurement/logs"
ROLES = ("owner", "admin", "ops", "creator", "sales", "advertiser")
FIELDS_LINE = (
    "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) "
    "cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken "
    "x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status "
    "fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len "
    "sc-range-start sc-range-end"
)
FIELDS = FIELDS_LINE.split()
IPHONE = "AppleCoreMedia/1.0.0.21E236 (iPhone; U; CPU OS 17_4_1 like Mac OS X; en_us)"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
PUBLIC_IP = "8.8.8.8"
AWS_IP = "3.0.0.5"  # inside ipcat's Amazon AWS range 3.0.0.0 to 3.1.255.255


def edge(
    date: str,
    time: str,
    *,
    ip: str = PUBLIC_IP,
    method: str = "GET",
    status: str = "206",
    user_agent: str = IPHONE,
    range_: tuple[str, str] = ("0", "1199999"),
    sc_bytes: str = "1200417",
) -> str:
    """One CloudFront standard-log line: a request for an episode through media.example.com."""
    values = {
        "date": date,
        "time": time,
        "x-edge-location": "IAD89-C1",
        "sc-bytes": sc_bytes,
        "c-ip": ip,
        "cs-method": method,
        "cs(Host)": "d111111abcdef8.cloudfront.net",
        "cs-uri-stem": "/shows/daily/ep-1.mp3",
        "sc-status": status,
        "cs(Referer)": "-",
        # CloudFront writes the user agent URL-encoded.
        "cs(User-Agent)": user_agent.replace(" ", "%20"),
        "cs-uri-query": "-",
        "cs(Cookie)": "-",
        "x-edge-result-type": "Hit",
        "x-edge-request-id": "SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==",
        "x-host-header": "media.example.com",
        "cs-protocol": "https",
        "cs-bytes": "212",
        "time-taken": "0.021",
        "x-forwarded-for": "-",
        "ssl-protocol": "TLSv1.3",
        "ssl-cipher": "TLS_AES_128_GCM_SHA256",
        "x-edge-response-result-type": "Hit",
        "cs-protocol-version": "HTTP/2.0",
        "fle-status": "-",
        "fle-encrypted-fields": "-",
        "c-port": "51234",
        "time-to-first-byte": "0.010",
        "x-edge-detailed-result-type": "Hit",
        "sc-content-type": "audio/mpeg",
        "sc-content-len": "1200000",
        "sc-range-start": range_[0],
        "sc-range-end": range_[1],
    }
    return "\t".join(values[name] for name in FIELDS)


def cloudfront_log(first: str = "2026-11-20", second: str = "2026-11-21") -> str:
    """A small CloudFront log across midnight UTC, from `first` into `second`. Lines 1 and 2 are the headers, 6 and 9
    cannot be read; the rest are requests: Apple's 2-byte probe and its real request, a bot, a HEAD, and a request
    from a data centre after midnight."""
    lines = [
        "#Version: 1.0",
        "#Fields: " + " ".join(FIELDS),
        edge(first, "23:58:01", range_=("0", "1"), sc_bytes="402"),
        edge(first, "23:58:02", range_=("0", "1199999")),
        edge(first, "23:59:10", user_agent=GOOGLEBOT, status="200", range_=("-", "-")),
        f"{first}\t23:59:30\tIAD89-C1\ttruncated",
        edge(first, "23:59:40", method="HEAD", status="200", range_=("-", "-"), sc_bytes="380"),
        edge(second, "00:00:03", ip=AWS_IP, range_=("1200000", "2399999")),
        edge(second, "00:00:09", status="abc"),
    ]
    return "\n".join(lines) + "\n"


CLOUDFRONT = cloudfront_log()


@pytest.fixture(scope="module")
async def datacenter_list(db: object) -> None:
    """The ipcat ranges, active before anything is imported (loading them again is a no-op)."""
    async with unscoped_transaction() as session:
        await lists_service.update_lists(session, [shared_file("datacenters")])


@pytest.fixture(scope="module")
def network(server: str, datacenter_list: None) -> Tenant:
    return make_tenant(server, roles=ROLES)


def upload(api: httpx.Client, content: bytes, log_format: str, name: str = "access.log") -> httpx.Response:
    return api.post(API, params={"format": log_format}, files={"file": (name, io.BytesIO(content), "text/plain")})


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return dict(response.json())


async def rows(tenant_id: str, sql: str, **params: Any) -> list[Any]:
    async with tenant_transaction(uuid.UUID(tenant_id)) as session:
        return list((await session.execute(text(sql), params)).all())


async def stored_requests(tenant_id: str) -> list[Any]:
    return await rows(
        tenant_id,
        "SELECT line_id, import_id, ts, method, url, status, range_start, range_end, bytes_sent, user_agent, referer, "
        "ip_hash, country, datacenter FROM log_requests ORDER BY line_id",
    )


async def queued_days(tenant_id: str) -> list[tuple[str, str]]:
    found = await rows(
        tenant_id,
        "SELECT args->>'day' AS day, args->>'trigger' AS trigger FROM procrastinate_jobs "
        "WHERE task_name = 'measurement.count_day' AND args->>'tenant_id' = :tenant AND status = 'todo' ORDER BY 1",
        tenant=tenant_id,
    )
    return [(row.day, row.trigger) for row in found]


async def test_a_cloudfront_log_is_stored_its_bad_lines_reported_and_its_days_queued(network: Tenant) -> None:
    tenant = make_tenant(network.base_url, roles=("ops",))
    sha = hashlib.sha256(CLOUDFRONT.encode()).hexdigest()
    with tenant.client("ops") as api:
        response = upload(api, gzip.compress(CLOUDFRONT.encode()), "cloudfront", name="E2ABC.2026-11-21-00.gz")
        assert response.status_code == 201, response.text
        done = response.json()
    assert (done["file_name"], done["format"], done["status"], done["sha256"]) == (
        "E2ABC.2026-11-21-00.gz",
        "cloudfront",
        "completed",
        sha,
    )
    assert (done["lines_read"], done["requests_stored"], done["requests_already_stored"]) == (9, 5, 0)
    assert done["error_count"] == 2
    assert done["errors"] == [
        {"line": 6, "reason": "expected 33 tab-separated fields, found 4"},
        {"line": 9, "reason": "sc-status 'abc' is not a whole number"},
    ]
    assert (done["first_ts"], done["last_ts"]) == ("2026-11-20T23:58:01Z", "2026-11-21T00:00:03Z")
    assert done["days"] == ["2026-11-20", "2026-11-21"]

    stored = await stored_requests(tenant.id)
    assert [row.line_id for row in stored] == [f"{sha[:16]}:{line}" for line in (3, 4, 5, 7, 8)]
    assert {str(row.import_id) for row in stored} == {done["id"]}
    probe, full, bot, head, cloud = stored
    assert (probe.method, probe.status, probe.range_start, probe.range_end, probe.bytes_sent) == ("GET", 206, 0, 1, 402)
    assert (full.url, full.user_agent, full.referer) == ("media.example.com/shows/daily/ep-1.mp3", IPHONE, None)
    assert (bot.user_agent, bot.range_start, bot.range_end) == (GOOGLEBOT, None, None)
    assert (head.method, head.status) == ("HEAD", 200)
    # The address is kept only as its keyed hash, with the facts counting needs about it.
    assert (full.ip_hash, full.country, full.datacenter) == (hash_address(PUBLIC_IP), "US", None)
    assert (cloud.ip_hash, cloud.datacenter) == (hash_address(AWS_IP), "Amazon AWS")
    assert PUBLIC_IP not in {row.ip_hash for row in stored}

    assert await queued_days(tenant.id) == [("2026-11-20", "logs"), ("2026-11-21", "logs")]
    with tenant.client() as owner:
        events = owner.get("/api/v1/events", params={"type": "measurement.logs_imported"}).json()["items"]
    assert [(e["subject_id"], e["payload"]["requests_stored"], e["payload"]["days"]) for e in events] == [
        (done["id"], 5, ["2026-11-20", "2026-11-21"])
    ]

    # The same log again, unzipped and renamed: the same content, so nothing new is stored.
    with tenant.client("ops") as api:
        again = upload(api, CLOUDFRONT.encode(), "cloudfront", name="copy.log")
        assert again.status_code == 201, again.text
        repeat = again.json()
        assert (repeat["sha256"], repeat["requests_stored"], repeat["requests_already_stored"]) == (sha, 0, 5)
        assert repeat["error_count"] == 2 and repeat["id"] != done["id"]
        history = api.get(API)
        assert history.status_code == 200, history.text
        page = history.json()
        assert page["total"] == 2
        assert [item["id"] for item in page["items"]] == [repeat["id"], done["id"]]
        assert "errors" not in page["items"][0]
        one = api.get(f"{API}/{done['id']}")
        assert one.status_code == 200, one.text
        assert one.json()["errors"] == done["errors"]
    assert len(await stored_requests(tenant.id)) == 5
    # The days already wait for their count: one job per day, not two.
    assert await queued_days(tenant.id) == [("2026-11-20", "logs"), ("2026-11-21", "logs")]


CSV_LOG = (
    "ts,method,url,status,bytes_sent,range_start,range_end,user_agent,referer,ip,extra\n"
    f"2026-10-01T08:00:00Z,GET,cdn.example.com/ep-1.mp3,206,2000000,0,1999999,{IPHONE.replace(',', '')},,"
    "198.51.100.7,ignored\n"
    "2026-10-01 10:30:00+02:00,GET,cdn.example.com/ep-1.mp3,200,48000000,,,Overcast/3.0,https://overcast.fm/,"
    "2001:db8::1,\n"
    "yesterday,GET,cdn.example.com/ep-1.mp3,200,1,,,Overcast/3.0,,198.51.100.7,\n"
    "2026-10-02T00:00:00,GET,cdn.example.com/ep-1.mp3,700,1,,,Overcast/3.0,,198.51.100.7,\n"
    "2026-10-02T00:00:01,GETTINGTHEWHOLETHING,cdn.example.com/ep-1.mp3,200,1,,,Overcast/3.0,,198.51.100.7,\n"
)
JSONL_LOG = "\n".join(
    [
        json.dumps(
            {
                "ts": "2026-10-03T12:00:00Z",
                "method": "GET",
                "url": "cdn.example.com/ep-2.mp3",
                "status": 206,
                "bytes_sent": 1000,
                "range_start": 500,
                "range_end": 1499,
                "user_agent": "Spotify/8.9",
                "ip": "198.51.100.8",
            }
        ),
        "{not json",
        json.dumps(
            {
                "ts": "2026-10-03T12:00:05Z",
                "method": "get",
                "url": "cdn.example.com/ep-2.mp3",
                "status": 206,
                "range_start": 1500,
                "user_agent": None,
                "ip": "198.51.100.8",
            }
        ),
        json.dumps(["a", "list"]),
        "",
    ]
)


async def test_the_generic_shape_imports_as_csv_and_as_json_lines(network: Tenant) -> None:
    tenant = make_tenant(network.base_url, roles=("admin",))
    with tenant.client("admin") as api:
        csv_import = upload(api, CSV_LOG.encode(), "csv", name="hosting.csv")
        assert csv_import.status_code == 201, csv_import.text
        jsonl_import = upload(api, JSONL_LOG.encode(), "jsonl", name="hosting.jsonl")
        assert jsonl_import.status_code == 201, jsonl_import.text
    done = csv_import.json()
    assert (done["format"], done["lines_read"], done["requests_stored"], done["error_count"]) == ("csv", 6, 2, 3)
    assert done["errors"] == [
        {"line": 4, "reason": "ts 'yesterday' is not an ISO 8601 time"},
        # What the table cannot hold is refused by line too, never failing the whole file.
        {"line": 5, "reason": "status 700 is not an HTTP status"},
        {"line": 6, "reason": "method 'GETTINGTHEWHOLETHING' is not an HTTP method"},
    ]
    assert done["days"] == ["2026-10-01"]
    lines = jsonl_import.json()
    assert (lines["format"], lines["lines_read"], lines["requests_stored"], lines["error_count"]) == ("jsonl", 4, 2, 2)
    assert lines["errors"] == [
        {"line": 2, "reason": "not JSON: Expecting property name enclosed in double quotes"},
        {"line": 4, "reason": "expected a JSON object"},
    ]
    assert (lines["first_ts"], lines["last_ts"], lines["days"]) == (
        "2026-10-03T12:00:00Z",
        "2026-10-03T12:00:05Z",
        ["2026-10-03"],
    )
    by_url: dict[str, list[Any]] = {}
    for row in await stored_requests(tenant.id):
        by_url.setdefault(row.url, []).append(row)
    first, second = by_url["cdn.example.com/ep-1.mp3"]
    assert (first.ts.isoformat(), first.range_start, first.range_end, first.bytes_sent, first.referer) == (
        "2026-10-01T08:00:00+00:00",
        0,
        1_999_999,
        2_000_000,
        None,
    )
    assert (second.ts.isoformat(), second.range_start, second.referer) == (
        "2026-10-01T08:30:00+00:00",
        None,
        "https://overcast.fm/",
    )
    # IPv6 is hashed by its /64: the household, not the device's privacy address.
    assert second.ip_hash == hash_address("2001:db8::ffff")
    opened, open_ended = by_url["cdn.example.com/ep-2.mp3"]
    assert (opened.method, opened.range_start, opened.range_end, opened.user_agent) == ("GET", 500, 1499, "Spotify/8.9")
    assert (open_ended.method, open_ended.range_start, open_ended.range_end, open_ended.user_agent) == (
        "GET",
        1500,
        None,
        None,
    )
    assert await queued_days(tenant.id) == [("2026-10-01", "logs"), ("2026-10-03", "logs")]


async def test_a_file_that_is_not_in_the_format_asked_for_stores_nothing(network: Tenant) -> None:
    tenant = make_tenant(network.base_url, roles=("ops",))
    with tenant.client("ops") as api:
        unknown = problem(upload(api, CLOUDFRONT.encode(), "w3c"), 422)
        assert unknown["type"].endswith("/validation-error")
        assert [error["field"] for error in unknown["errors"]] == ["query.format"]

        mismatched = problem(upload(api, CSV_LOG.encode(), "cloudfront", name="hosting.csv"), 422)
        assert mismatched["type"].endswith("/log-unreadable")
        assert mismatched["detail"].startswith(
            "no line of hosting.csv could be read as a CloudFront standard log (line 1: no usable #Fields line"
        )
        assert [error["line"] for error in mismatched["errors"]] == [1, 2, 3, 4, 5, 6]
        assert (mismatched["error_count"], mismatched["lines_read"]) == (6, 6)

        as_json = problem(upload(api, CSV_LOG.encode(), "jsonl", name="hosting.csv"), 422)
        assert as_json["errors"][0] == {"line": 1, "reason": "not JSON: Expecting value"}

        empty = problem(upload(api, b"", "csv", name="empty.csv"), 422)
        assert empty["detail"] == "empty.csv is empty; nothing was imported"
        headers_only = problem(upload(api, CLOUDFRONT.encode().split(b"\n2026")[0], "cloudfront"), 422)
        assert "holds no requests" in headers_only["detail"]

        no_file = problem(api.post(API, params={"format": "csv"}, data={"note": "x"}), 422)
        assert no_file["type"].endswith("/validation-error")
        assert api.get(API).json()["total"] == 0
    assert await stored_requests(tenant.id) == []
    assert await queued_days(tenant.id) == []


def test_only_ops_admin_and_owner_import_and_another_workspace_sees_nothing(network: Tenant, server: str) -> None:
    content = cloudfront_log("2026-09-20", "2026-09-21").encode()
    for role in ("creator", "sales", "advertiser"):
        with network.client(role) as api:
            refused = problem(upload(api, content, "cloudfront"), 403)
            assert refused["type"].endswith("/forbidden")
    with httpx.Client(base_url=server, timeout=30) as anonymous:
        problem(upload(anonymous, content, "cloudfront"), 401)
        problem(anonymous.get(API), 401)
    with network.client("owner") as api:
        imported = upload(api, content, "cloudfront")
        assert imported.status_code == 201, imported.text
    import_id = imported.json()["id"]
    for role in ("creator", "sales", "ops"):
        with network.client(role) as api:
            assert api.get(f"{API}/{import_id}").status_code == 200
    with network.client("advertiser") as api:
        problem(api.get(API), 403)
        problem(api.get(f"{API}/{import_id}"), 403)

    other = make_tenant(server)
    with other.client() as api:
        assert problem(api.get(f"{API}/{import_id}"), 404)["type"].endswith("/not-found")
        assert api.get(API).json() == {"items": [], "total": 0, "limit": 50, "offset": 0, "next_offset": None}
        # The same file in another workspace is that workspace's own: all of it is new there.
        own = upload(api, content, "cloudfront")
        assert own.status_code == 201, own.text
        assert (own.json()["requests_stored"], own.json()["requests_already_stored"]) == (5, 0)


def test_the_history_pages_and_sorts(network: Tenant) -> None:
    tenant = make_tenant(network.base_url)
    with tenant.client() as api:
        for number, name in enumerate(("b.log", "a.log", "c.log")):
            line = edge(f"2026-08-0{number + 1}", "12:00:00")
            content = f"#Version: 1.0\n#Fields: {' '.join(FIELDS)}\n{line}\n".encode()
            assert upload(api, content, "cloudfront", name=name).status_code == 201
        first = api.get(API, params={"limit": 2}).json()
        assert [item["file_name"] for item in first["items"]] == ["c.log", "a.log"]
        assert (first["total"], first["next_offset"]) == (3, 2)
        by_name = api.get(API, params={"sort": "file_name"}).json()
        assert [item["file_name"] for item in by_name["items"]] == ["a.log", "b.log", "c.log"]
        bad_sort = problem(api.get(API, params={"sort": "sha256"}), 422)
        assert bad_sort["errors"][0]["field"] == "sort"


@pytest.fixture
def cli_env(database: object) -> dict[str, str]:
    """The test database's URLs, as the `database` fixture put them in the environment."""
    return {**os.environ, "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR", "/tmp")}


@pytest.fixture(scope="module")
def capped_server(database: object) -> Iterator[str]:
    """The app again, in a process of its own that accepts files up to 1 MB."""
    with serve_app({**os.environ, "ETL_MAX_UPLOAD_MB": "1"}, ARTIFACTS / "capped-logs-server.log") as base:
        yield base


def test_a_log_over_the_size_limit_is_refused_while_it_arrives(capped_server: str) -> None:
    tenant = make_tenant(capped_server, roles=("ops",))
    big = (CLOUDFRONT * 400).encode()
    assert len(big) > 1024 * 1024
    with tenant.client("ops") as api:
        refused = problem(upload(api, big, "cloudfront"), 413)
        assert refused["type"].endswith("/payload-too-large")
        assert api.get(API).json()["total"] == 0


async def test_the_service_reports_progress_and_takes_lines(db: object, network: Tenant) -> None:
    tenant_id = uuid.UUID(network.id)
    content = cloudfront_log("2026-05-10", "2026-05-11")
    seen: list[tuple[int, int]] = []
    lines = content.splitlines(keepends=True)
    async with tenant_transaction(tenant_id) as session:
        record = await log_import.import_log(
            session,
            system_subject(tenant_id),
            file_name="from-memory.log",
            path_or_lines=lines,
            format="cloudfront",
            on_progress=lambda done, total: seen.append((done, total)),
        )
        assert (record.lines_read, record.requests_stored, record.error_count) == (9, 5, 2)
        assert record.sha256 == hashlib.sha256(content.encode()).hexdigest()
        with pytest.raises(log_import.UnknownLogFormat):
            await log_import.import_log(
                session, system_subject(tenant_id), file_name="x.log", path_or_lines=lines, format="apache"
            )
    assert seen == [(0, 9), (9, 9)]


def test_the_cli_imports_a_log_and_says_what_it_did(network: Tenant, cli_env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "E2ABC.2026-07-01-12.gz"
    content = cloudfront_log("2026-06-30", "2026-07-01")
    log.write_bytes(gzip.compress(content.encode()))
    done = podsponsor(
        "measurement", "import-logs", str(log), "--tenant", network.slug, "--format", "cloudfront", env=cli_env
    )
    assert done.returncode == 0, done.stderr
    summary = done.stdout.splitlines()
    assert summary[:-1] == [
        "E2ABC.2026-07-01-12.gz (cloudfront): 9 lines read",
        "  5 requests stored, 0 already stored",
        "  2 lines could not be read (line 6, 9); skipped:",
        "    line 6: expected 33 tab-separated fields, found 4",
        "    line 9: sc-status 'abc' is not a whole number",
        "  counts queued for 2 day(s): 2026-06-30, 2026-07-01",
    ]
    import_id = summary[-1].removeprefix("import ")
    with network.client() as api:
        assert api.get(f"{API}/{import_id}").json()["requests_stored"] == 5
    assert "importing" not in done.stderr  # a small file: no progress bar

    again = podsponsor(
        "measurement", "import-logs", str(log), "--workspace", network.slug, "--format", "cloudfront", env=cli_env
    )
    assert again.returncode == 0, again.stderr
    assert "  0 requests stored, 5 already stored" in again.stdout.splitlines()

    wrong = podsponsor("measurement", "import-logs", str(log), "--tenant", network.slug, "--format", "csv", env=cli_env)
    assert wrong.returncode == 1
    assert "error: no line of E2ABC.2026-07-01-12.gz could be read as a CSV log in the generic shape" in wrong.stderr
    assert "line 1: the header row lacks" in wrong.stderr

    unknown = podsponsor(
        "measurement", "import-logs", str(log), "--tenant", "no-such-workspace", "--format", "csv", env=cli_env
    )
    assert unknown.returncode == 1 and "no workspace has the slug 'no-such-workspace'" in unknown.stderr
    refused = podsponsor(
        "measurement", "import-logs", str(log), "--tenant", network.slug, "--format", "w3c", env=cli_env
    )
    assert refused.returncode == 2 and "w3c" in refused.stderr


def test_the_cli_shows_progress_on_a_big_log(network: Tenant, cli_env: dict[str, str], tmp_path: Path) -> None:
    requests = [edge("2026-04-02", f"{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}") for n in range(3_000)]
    log = tmp_path / "big.log"
    log.write_text(f"#Version: 1.0\n#Fields: {' '.join(FIELDS)}\n" + "\n".join(requests) + "\n")
    assert log.stat().st_size > 1024 * 1024
    done = podsponsor(
        "measurement", "import-logs", str(log), "--tenant", network.slug, "--format", "cloudfront", env=cli_env
    )
    assert done.returncode == 0, done.stderr
    assert "importing" in done.stderr
    assert done.stdout.splitlines()[:2] == [
        "big.log (cloudfront): 3,002 lines read",
        "  3,000 requests stored, 0 already stored",
    ]
