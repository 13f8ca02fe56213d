"""Host and CDN log import: CloudFront standard logs and the generic CSV / JSON-lines shape, streamed in chunks,
bad lines reported by number, rows ready for counting with the 1-minute byte threshold."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from podsponsor.clients import hash_address
from podsponsor.config import reset_settings
from podsponsor.measurement.counting import CountingSettings, count
from podsponsor.measurement.logs import LogChunk, lines_of, read_cloudfront, read_generic, read_lines
from tests.measurement.reference_data import shared_classifier

# The field list of CloudFront's standard log format as it reads today (33 fields).
FIELDS_LINE = (
    "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) "
    "cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken "
    "x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status "
    "fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len "
    "sc-range-start sc-range-end"
)
FIELDS = FIELDS_LINE.split()
IPHONE_LOGGED = "AppleCoreMedia/1.0.0.21E236%20(iPhone;%20U;%20CPU%20OS%2017_4_1%20like%20Mac%20OS%20X;%20en_us)"
IPHONE = "AppleCoreMedia/1.0.0.21E236 (iPhone; U; CPU OS 17_4_1 like Mac OS X; en_us)"
SIZE = 48_000_000


def edge(**values: str) -> str:
    """One CloudFront log line: a range request for an episode from an iPhone, with `values` replacing fields."""
    line = {
        "date": "2024-01-01",
        "time": "22:00:01",
        "x-edge-location": "IAD89-C1",
        "sc-bytes": "1200417",
        "c-ip": "203.0.113.10",
        "cs-method": "GET",
        "cs(Host)": "d111111abcdef8.cloudfront.net",
        "cs-uri-stem": "/shows/daily/ep-1.mp3",
        "sc-status": "206",
        "cs(Referer)": "-",
        "cs(User-Agent)": IPHONE_LOGGED,
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
        "sc-range-start": "0",
        "sc-range-end": "1199999",
    }
    line.update(values)
    return "\t".join(line[name] for name in FIELDS)


def cloudfront_log(*lines: str, fields: list[str] | None = None) -> str:
    header = f"#Version: 1.0\n#Fields: {' '.join(fields or FIELDS)}\n"
    return header + "".join(line + "\n" for line in lines)


def fake_hash(ip: str) -> str:
    return f"hash-of-{ip}"


LOOKUPS: dict[str, Any] = {
    "country": {"203.0.113.10": "GB"}.get,
    "datacenter": {"198.51.100.7": "Amazon AWS"}.get,
    "hash_ip": fake_hash,
}


def chunks_of(reader: Iterator[LogChunk]) -> tuple[pl.DataFrame, list[tuple[int, str]]]:
    found = list(reader)
    rows = pl.concat([chunk.rows for chunk in found])
    return rows, [(error.line, error.reason) for chunk in found for error in chunk.errors]


def cloudfront(text: str, **options: Any) -> tuple[pl.DataFrame, list[tuple[int, str]]]:
    return chunks_of(read_cloudfront(lines_of(text), source="cf.log", **{**LOOKUPS, **options}))


# CloudFront ----------------------------------------------------------------------------------------------------------


def test_a_cloudfront_line_becomes_a_request_with_its_range_decoded_agent_and_address_facts() -> None:
    rows, errors = cloudfront(cloudfront_log(edge()))

    assert errors == []
    row = rows.row(0, named=True)
    assert row["id"] == "cf.log:3"
    assert row["ts"] == datetime(2024, 1, 1, 22, 0, 1, tzinfo=UTC)
    assert row["url"] == "media.example.com/shows/daily/ep-1.mp3"
    assert (row["method"], row["status"]) == ("GET", 206)
    assert (row["range_start"], row["range_end"], row["bytes_sent"]) == (0, 1_199_999, 1_200_417)
    assert row["user_agent"] == IPHONE
    assert row["referer"] is None
    assert (row["ip_hash"], row["country"], row["datacenter"]) == ("hash-of-203.0.113.10", "GB", None)
    assert row["source_kind"] == "logs"


def test_a_log_without_range_fields_credits_the_bytes_sent_and_fields_are_found_by_name() -> None:
    older = [name for name in FIELDS if not name.startswith("sc-range")]
    older[3], older[4] = older[4], older[3]
    line = "\t".join(
        {"sc-bytes": "203.0.113.10", "c-ip": "5000000"}.get(name, value)
        for name, value in zip(FIELDS, edge().split("\t"), strict=True)
        if not name.startswith("sc-range")
    )

    rows, errors = cloudfront(cloudfront_log(line, fields=older))

    assert errors == []
    assert rows.select("range_start", "range_end", "bytes_sent").row(0) == (None, None, 5_000_000)


def test_a_double_encoded_user_agent_and_a_referer_are_decoded() -> None:
    rows, _ = cloudfront(
        cloudfront_log(
            edge(
                **{
                    "cs(User-Agent)": "Overcast/3.0%2520(+http://overcast.fm/)",
                    "cs(Referer)": "https://example.com/a%20b",
                }
            )
        )
    )

    assert rows.select("user_agent", "referer").row(0) == (
        "Overcast/3.0 (+http://overcast.fm/)",
        "https://example.com/a b",
    )


def test_bad_cloudfront_lines_are_reported_by_number_and_the_rest_are_read() -> None:
    text = "\n".join(
        [
            edge(),
            "#Version: 1.0",
            f"#Fields: {' '.join(FIELDS)}",
            edge(),
            edge(**{"sc-status": "ok"}),
            edge(**{"c-ip": "not-an-address"}),
            edge()[:40],
            edge(**{"time": "25:61:00"}),
            edge(**{"sc-bytes": "-12"}),
            edge(**{"cs-method": "-"}),
            edge(**{"c-ip": "2001:db8::1"}),
        ]
    )

    rows, errors = cloudfront(text)

    assert rows["line"].to_list() == [4, 11]
    assert [line for line, _ in errors] == [1, 5, 6, 7, 8, 9, 10]
    reasons = dict(errors)
    assert "no usable #Fields line" in reasons[1]
    assert "sc-status 'ok' is not a whole number" in reasons[5]
    assert "not an IP address" in reasons[6]
    assert "expected 33 tab-separated fields" in reasons[7]
    assert "not an ISO 8601 time" in reasons[8]
    assert "out of range" in reasons[9]
    assert "method" in reasons[10]


def test_a_fields_line_missing_what_counting_needs_is_refused() -> None:
    rows, errors = cloudfront(cloudfront_log(edge(), fields=[name for name in FIELDS if name != "c-ip"]))

    assert rows.height == 0
    assert errors[0] == (2, "the #Fields line lacks c-ip")
    assert "no usable #Fields line" in errors[1][1]


def test_a_long_log_comes_in_chunks(tmp_path: Path) -> None:
    path = tmp_path / "E2ABCDEF.2024-01-01-22.abc123.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write(cloudfront_log(*(edge(time=f"22:00:{n:02d}") for n in range(5)), edge(**{"sc-status": "x"})))

    found = list(read_cloudfront(read_lines(path), source=path.name, chunk_size=2, **LOOKUPS))

    assert [chunk.rows.height + len(chunk.errors) for chunk in found] == [2, 2, 2]
    assert sum(chunk.rows.height for chunk in found) == 5
    assert found[-1].errors[0].line == 8


def test_data_centre_and_country_come_from_the_injected_lookups() -> None:
    rows, _ = cloudfront(cloudfront_log(edge(**{"c-ip": "198.51.100.7"})))

    assert rows.select("country", "datacenter").row(0) == (None, "Amazon AWS")


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SECRET_KEY", "logs-test-secret-0123456789-abcdefghijkl")
    reset_settings()
    yield
    monkeypatch.undo()
    reset_settings()


@pytest.mark.usefixtures("secret")
def test_addresses_are_kept_only_as_keyed_hashes_with_ipv6_cut_to_its_64() -> None:
    text = cloudfront_log(edge(**{"c-ip": "2001:db8:7:1::a"}), edge(**{"c-ip": "2001:db8:7:1:ffff::b"}))

    rows, _ = cloudfront(text, hash_ip=None)

    assert rows["ip_hash"].n_unique() == 1
    assert rows["ip_hash"][0] == hash_address("2001:db8:7:1::")
    assert "2001:db8" not in " ".join(str(value) for value in rows.row(0))


def test_imported_cloudfront_rows_count_with_the_one_minute_threshold() -> None:
    text = cloudfront_log(
        edge(time="22:00:00", **{"sc-range-start": "0", "sc-range-end": "1", "sc-bytes": "390"}),
        edge(time="22:00:01", **{"sc-range-start": "0", "sc-range-end": "499999", "sc-bytes": "500000"}),
        edge(time="22:03:00", **{"sc-range-start": "500000", "sc-range-end": "1499999", "sc-bytes": "1000000"}),
        edge(time="22:05:00", **{"c-ip": "203.0.113.99", "sc-bytes": "400000", "sc-range-end": "399999"}),
    )
    rows, _ = cloudfront(text)
    episodes = pl.DataFrame({"episode_id": ["ep-1"], "enclosure_bytes": [SIZE], "duration_seconds": [2400.0]})
    requests = rows.with_columns(pl.lit("ep-1").alias("episode_id"))

    result = count(requests, CountingSettings(header_bytes=0), shared_classifier().classify, episodes=episodes)

    reasons = result.tags["reason"].cast(pl.Utf8).to_list()
    assert reasons == ["zero_one_range_only", "counted", "duplicate_in_window", "below_threshold"]
    assert result.downloads.select("bytes_covered", "bytes_required").row(0) == (1_500_000, 1_200_000)


# Generic shape -------------------------------------------------------------------------------------------------------

CSV_HEADER = "ts,method,url,status,bytes_sent,range_start,range_end,user_agent,referer,ip"


def generic(text: str, shape: str) -> tuple[pl.DataFrame, list[tuple[int, str]]]:
    return chunks_of(read_generic(lines_of(text), shape=shape, source="host.csv", **LOOKUPS))  # type: ignore[arg-type]


def test_the_generic_csv_shape_is_read_with_times_in_utc() -> None:
    text = "\n".join(
        [
            CSV_HEADER,
            f'2024-01-01T22:00:00Z,GET,https://host/ep-1.mp3,206,500000,0,499999,"{IPHONE}",,203.0.113.10',
            "2024-01-01T18:30:00-05:00,get,https://host/ep-1.mp3,200,48000000,,,Overcast/3.0,https://a.example/,::1",
            "2024-01-02 01:00:00,HEAD,https://host/ep-1.mp3,200,0,,,,,203.0.113.10",
        ]
    )

    rows, errors = generic(text, "csv")

    assert errors == []
    assert rows["ts"].to_list() == [
        datetime(2024, 1, 1, 22, tzinfo=UTC),
        datetime(2024, 1, 1, 23, 30, tzinfo=UTC),
        datetime(2024, 1, 2, 1, tzinfo=UTC),
    ]
    assert rows["method"].to_list() == ["GET", "GET", "HEAD"]
    assert rows.select("range_start", "range_end").rows() == [(0, 499_999), (None, None), (None, None)]
    assert rows["user_agent"].to_list() == [IPHONE, "Overcast/3.0", None]
    assert rows["referer"].to_list() == [None, "https://a.example/", None]
    assert rows["id"].to_list() == ["host.csv:2", "host.csv:3", "host.csv:4"]


def test_bad_generic_csv_lines_are_reported_by_number() -> None:
    good = "2024-01-01T22:00:00Z,GET,https://host/ep-1.mp3,200,100,,,Overcast/3.0,,203.0.113.10"
    text = "\n".join(
        [
            CSV_HEADER,
            good,
            good.replace("2024-01-01T22:00:00Z", "yesterday"),
            good.replace(",,Overcast", ",5,Overcast"),
            good.replace(",100,", ",-100,"),
            good.replace("200", "OK"),
            good + ",extra",
            good.replace("203.0.113.10", ""),
            good.replace("GET", ""),
            good.replace(",,,", ",10,2,"),
            good,
        ]
    )

    rows, errors = generic(text, "csv")

    assert rows["line"].to_list() == [2, 11]
    assert [line for line, _ in errors] == list(range(3, 11))
    reasons = dict(errors)
    assert "ts 'yesterday' is not an ISO 8601 time" in reasons[3]
    assert "range_end needs a range_start" in reasons[4]
    assert "bytes_sent -100 is out of range" in reasons[5]
    assert "status 'OK'" in reasons[6]
    assert "expected 10 fields, found 11" in reasons[7]
    assert "ip is missing" in reasons[8]
    assert "method" in reasons[9]
    assert "range_end needs a range_start no larger than it" in reasons[10]


def test_a_csv_header_without_the_needed_columns_refuses_every_line() -> None:
    rows, errors = generic("when,method,url,status,ip\n2024-01-01T22:00:00Z,GET,u,200,203.0.113.10\n", "csv")

    assert rows.height == 0
    assert errors == [(1, "the header row lacks ts"), (2, "no usable header row before this line")]


def test_the_generic_json_lines_shape_is_read_and_bad_lines_reported() -> None:
    good = {
        "ts": "2024-01-01T22:00:00+00:00",
        "method": "GET",
        "url": "https://host/ep-1.mp3",
        "status": 206,
        "bytes_sent": 1_000_000,
        "range_start": 1_000_000,
        "range_end": None,
        "user_agent": IPHONE,
        "ip": "203.0.113.10",
        "extra": "ignored",
    }
    lines = [
        json.dumps(good),
        "",
        "{not json",
        json.dumps([1, 2]),
        json.dumps({**good, "status": 206.5}),
        json.dumps({**good, "bytes_sent": True}),
        json.dumps({**good, "ts": None}),
    ]

    rows, errors = generic("\n".join(lines), "jsonl")

    assert rows.select("status", "range_start", "range_end", "bytes_sent", "referer").row(0) == (
        206,
        1_000_000,
        None,
        1_000_000,
        None,
    )
    assert [line for line, _ in errors] == [3, 4, 5, 6, 7]
    reasons = dict(errors)
    assert reasons[3].startswith("not JSON")
    assert reasons[4] == "expected a JSON object"
    assert "whole number" in reasons[5]
    assert "whole number" in reasons[6]
    assert reasons[7] == "ts is missing"
