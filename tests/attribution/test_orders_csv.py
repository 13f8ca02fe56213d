"""Orders CSV uploads over real HTTP: shop-export headers understood, every row through the conversion rules, all or
nothing with each bad cell named by row and column, idempotent on re-upload, and only into a `csv` source of the
caller's own workspace."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from podsponsor.db.bootstrap import DatabaseUrls
from tests.attribution.world import (
    IPHONE,
    SHOPPER_IP,
    add_source,
    add_sponsor,
    as_owner,
    conversions,
    keyed,
    source_row,
)
from tests.factories.identity import Tenant, make_tenant

PROBLEM = "application/problem+json"
# A shop export: aliases for every field, a column nobody reads, and one order on two lines (one per item).
GOOD = (
    "Order ID,Date,Total,Currency,Discount Code,Landing Site,Browser IP,User Agent,Note\r\n"
    f"1001,2026-02-01T10:22:31Z,49.99,USD,BREW20;extra10,https://shop.example.com/?utm_source=podcast,{SHOPPER_IP},"
    f'"{IPHONE}",gift\r\n'
    "1002,2026-02-01 10:22:31 -0400,120,eur,,,,,\r\n"
    "1002,2026-02-01 10:22:31 -0400,,,,,,,second item\r\n"
    "\r\n"
    "1003,2026-02-03,0.005,USD,,,,,\r\n"
)


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "ops", "creator", "advertiser"))


@pytest.fixture
def source(tenant: Tenant) -> dict[str, Any]:
    with tenant.client() as api:
        return add_source(api, add_sponsor(api), "csv", name="Monthly export")


@pytest.fixture
def api(tenant: Tenant) -> Iterator[httpx.Client]:
    with tenant.client("ops") as client:
        yield client


def upload(client: httpx.Client, source_id: str, content: bytes | str, name: str = "orders.csv") -> httpx.Response:
    data = content.encode() if isinstance(content, str) else content
    return client.post(
        "/api/v1/conversions/upload", params={"source_id": source_id}, files={"file": (name, data, "text/csv")}
    )


def rejected(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    return dict(response.json())


def test_a_shop_export_becomes_conversions_once_per_order(
    api: httpx.Client, database: DatabaseUrls, source: dict[str, Any]
) -> None:
    response = upload(api, source["id"], GOOD)
    assert response.status_code == 201, response.text
    assert response.json() == {
        "source_id": source["id"],
        "file_name": "orders.csv",
        "rows": 4,
        "stored": 3,
        "duplicates": 1,
        "columns": {
            "order_id": "Order ID",
            "occurred_at": "Date",
            "value": "Total",
            "currency": "Currency",
            "promo_codes": "Discount Code",
            "landing_url": "Landing Site",
            "ip": "Browser IP",
            "user_agent": "User Agent",
        },
        "ignored_columns": ["Note"],
    }
    stored = {row["order_id"]: row for row in conversions(database, source)}
    assert sorted(stored) == ["1001", "1002", "1003"]
    first = stored["1001"]
    assert (first["value_cents"], first["currency"], first["promo_codes"]) == (4999, "USD", ["BREW20", "EXTRA10"])
    assert first["occurred_at"] == datetime(2026, 2, 1, 10, 22, 31, tzinfo=UTC)
    assert (first["ip_hash"], first["ua_hash"], first["ua_family"]) == (keyed(SHOPPER_IP), keyed(IPHONE), "iOS")
    assert (first["utm"], first["country"], first["kind"]) == ({"utm_source": "podcast"}, "GB", "purchase")
    # The first line of a two-line order is the order; the offset time is kept as the instant it names.
    second = stored["1002"]
    assert (second["value_cents"], second["currency"]) == (12000, "EUR")
    assert second["occurred_at"] == datetime(2026, 2, 1, 14, 22, 31, tzinfo=UTC)
    third = stored["1003"]
    assert (third["value_cents"], third["occurred_at"]) == (1, datetime(2026, 2, 3, tzinfo=UTC))
    health = source_row(database, source)
    assert (health["events_received"], health["last_failure_reason"]) == (4, None)
    [event] = as_owner(
        database, "SELECT * FROM events WHERE subject_id = %s AND type = %s", source["id"], "conversions.uploaded"
    )
    assert (event["payload"]["stored"], event["payload"]["duplicates"]) == (3, 1)


def test_uploading_the_same_file_again_stores_nothing_new(
    api: httpx.Client, database: DatabaseUrls, source: dict[str, Any]
) -> None:
    assert upload(api, source["id"], GOOD).status_code == 201
    again = upload(api, source["id"], GOOD)
    assert again.status_code == 201, again.text
    assert (again.json()["rows"], again.json()["stored"], again.json()["duplicates"]) == (4, 0, 4)
    assert len(conversions(database, source)) == 3


def test_a_spreadsheet_export_with_a_bom_and_semicolons_is_read(
    api: httpx.Client, database: DatabaseUrls, source: dict[str, Any]
) -> None:
    text = "order_number;Created at;Amount;Currency Code;Coupon\r\nEU-1;2026-03-01T09:00:00+01:00;19.90;EUR;SPRING\r\n"
    response = upload(api, source["id"], codecs.BOM_UTF8 + text.encode(), name="export (1).csv")
    assert response.status_code == 201, response.text
    assert response.json()["file_name"] == "export (1).csv"
    [stored] = conversions(database, source)
    assert (stored["order_id"], stored["value_cents"], stored["promo_codes"]) == ("EU-1", 1990, ["SPRING"])


def test_any_bad_row_fails_the_file_with_every_cell_named_and_nothing_kept(
    api: httpx.Client, database: DatabaseUrls, source: dict[str, Any]
) -> None:
    text = (
        "Order ID,Date,Total,Currency,Browser IP,kind\n"
        "2001,2026-02-01,10.00,USD,,\n"  # good, and still not kept
        '2002,2026-02-01,"12,50",USD,,\n'
        "2003,01/02/2026,10.00,USD,,\n"
        ",2026-02-01,10.00,USD,,\n"
        "2005,2026-02-01,10.00,USD,300.1.2.3,\n"
        "2006,2026-02-01,-3,US,,refund\n"
        "2007,2026-02-01,10.00,,,\n"
        "2008,2026-02-01,10.00,USD,,,surplus\n"
        "2009,2099-01-01,10.00,USD,,\n"
    )
    body = rejected(upload(api, source["id"], text))
    assert body["type"].endswith("/orders-csv-invalid")
    assert body["error_count"] == 10
    assert body["detail"] == "10 problems found; nothing was recorded. Fix the file and upload it again."
    assert body["errors"] == [
        {"row": 3, "column": "Total", "value": "12,50", "reason": "not a number"},
        {
            "row": 4,
            "column": "Date",
            "value": "01/02/2026",
            "reason": "not a date and time such as 2024-05-01T14:30:00Z",
        },
        {"row": 5, "column": "Order ID", "value": None, "reason": "required: an upload is taken in once per order id"},
        {"row": 6, "column": "Browser IP", "value": "300.1.2.3", "reason": "not an IP address"},
        {"row": 7, "column": "Total", "value": "-3", "reason": "must not be negative"},
        {"row": 7, "column": "Currency", "value": "US", "reason": "an ISO 4217 code of three letters, e.g. USD"},
        {"row": 7, "column": "kind", "value": "refund", "reason": "one of purchase, lead, signup, install, other"},
        {"row": 8, "column": "Currency", "value": None, "reason": "required with a value"},
        {"row": 9, "column": None, "value": None, "reason": "more cells than the header's 6 columns"},
        {"row": 10, "column": "Date", "value": "2099-01-01", "reason": "more than a day in the future"},
    ]
    assert conversions(database, source) == []
    health = source_row(database, source)
    assert health["events_received"] == 0
    assert health["last_failure_reason"] == (
        "orders.csv: row 3, column Total: not a number; row 4, column Date: not a date and time such as "
        "2024-05-01T14:30:00Z; row 5, column Order ID: required: an upload is taken in once per order id"
    )


def test_header_problems_name_what_is_missing(api: httpx.Client, source: dict[str, Any]) -> None:
    body = rejected(upload(api, source["id"], "Customer,Total,Total\nAda,10,11\n"))
    assert body["errors"] == [
        {"row": 1, "column": "Total", "value": "Total", "reason": "two columns are named 'Total': keep one"},
        {
            "row": 1,
            "column": None,
            "value": None,
            "reason": "no order_id column (a header named one of: order_id, order_number, order, order_no, "
            "order_name, transaction_id, reference, id)",
        },
        {
            "row": 1,
            "column": None,
            "value": None,
            "reason": "no occurred_at column (a header named one of: occurred_at, order_date, date, created_at, "
            "created, date_created, purchase_date, processed_at, paid_at, timestamp, time)",
        },
    ]
    assert rejected(upload(api, source["id"], "\n\norder_id,date\n"))["errors"] == [
        {"row": 4, "column": None, "value": None, "reason": "the file has a header but no orders"}
    ]
    assert rejected(upload(api, source["id"], b""))["errors"][0]["reason"] == "the file is empty"
    latin1 = "order_id,date,total,currency\n1,2026-01-01,5,EUR\n2,2026-01-01,5,EUR\nCaf\xe9,2026-01-01,5,EUR\n"
    [encoding] = rejected(upload(api, source["id"], latin1.encode("latin-1")))["errors"]
    assert (encoding["row"], encoding["reason"]) == (
        4,
        "not UTF-8 text (byte 0xE9): save the file as 'CSV UTF-8' and upload it again",
    )


def test_a_thousand_errors_are_listed_and_all_are_counted(api: httpx.Client, source: dict[str, Any]) -> None:
    rows = "".join(f"{n},2026-01-01,lots,USD\n" for n in range(1200))
    body = rejected(upload(api, source["id"], "order_id,date,value,currency\n" + rows))
    assert body["error_count"] == 1200
    assert len(body["errors"]) == 1000
    assert body["errors"][-1] == {"row": 1001, "column": "value", "value": "lots", "reason": "not a number"}


def test_only_an_active_csv_source_of_the_callers_workspace_takes_an_upload(
    api: httpx.Client, tenant: Tenant, server: str, database: DatabaseUrls
) -> None:
    rival = make_tenant(server)
    with rival.client() as other:
        theirs = add_source(other, add_sponsor(other), "csv")
    with tenant.client() as owner:
        sponsor = add_sponsor(owner)
        pixel = add_source(owner, sponsor, "pixel")
        paused = add_source(owner, sponsor, "csv")
        assert owner.patch(f"/api/v1/conversion-sources/{paused['id']}", json={"active": False}).status_code == 200
    for source, reason in (
        (theirs, "no such conversion source in this workspace"),
        (pixel, "a pixel source; conversions here go to a source of kind csv"),
        (paused, "the source is deactivated; reactivate it first"),
    ):
        body = rejected(upload(api, source["id"], GOOD))
        assert body["errors"] == [{"field": "source_id", "value": source["id"], "reason": reason}]
        assert conversions(database, source) == []
    missing = rejected(api.post("/api/v1/conversions/upload", files={"file": ("o.csv", GOOD.encode(), "text/csv")}))
    assert missing["errors"][0]["field"] == "query.source_id"


def test_the_upload_is_a_multipart_file_and_nothing_else(api: httpx.Client, source: dict[str, Any]) -> None:
    raw = api.post(
        "/api/v1/conversions/upload",
        params={"source_id": source["id"]},
        content=GOOD,
        headers={"Content-Type": "text/csv"},
    )
    assert rejected(raw)["errors"][0]["reason"] == "send the file as multipart/form-data in a field named 'file'"
    extra = api.post(
        "/api/v1/conversions/upload",
        params={"source_id": source["id"]},
        files={"file": ("orders.csv", GOOD.encode(), "text/csv")},
        data={"source": "shopify"},
    )
    assert rejected(extra)["errors"] == [{"field": "source", "reason": "an orders upload takes only the file"}]


def test_who_may_upload(server: str, tenant: Tenant, source: dict[str, Any]) -> None:
    anonymous = httpx.post(
        f"{server}/api/v1/conversions/upload",
        params={"source_id": source["id"]},
        files={"file": ("orders.csv", GOOD.encode(), "text/csv")},
    )
    assert anonymous.status_code == 401
    for role in ("creator", "advertiser"):
        with tenant.client(role) as client:
            assert upload(client, source["id"], GOOD).status_code == 403, role
    with tenant.client("owner") as owner:
        assert upload(owner, source["id"], GOOD).status_code == 201
