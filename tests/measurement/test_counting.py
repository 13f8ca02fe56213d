"""IAB v2.3 download counting: windows (§5.5.1), uniques (§5.5.4), every filter and its precedence, listeners, and
counting one day at a time giving the same numbers as counting everything at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from podsponsor.clients import hash_address
from podsponsor.config import reset_settings
from podsponsor.measurement.counting import (
    REASONS,
    CountingInputError,
    CountingSettings,
    CountResult,
    batch_range,
    count,
    daily_downloads,
    explain,
    listeners,
    prior_window_range,
)
from tests.measurement.reference_data import entries, shared_classifier

IPHONE = "AppleCoreMedia/1.0.0.21E236 (iPhone; U; CPU OS 17_4_1 like Mac OS X; en_us)"
OVERCAST = "Overcast/3.0 (+http://overcast.fm/; iOS podcast app)"
SPOTIFY = "Spotify/8.9.12 iOS/17.4 (iPhone14,5)"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
WINDOWS = ("calendar_day", "first_touch_24h", "extending_24h")
MONDAY = datetime(2024, 1, 1, tzinfo=UTC)


def request(at: datetime, **fields: Any) -> dict[str, Any]:
    """One prefix hit of episode `ep-1` by one iPhone listener, unless told otherwise."""
    row: dict[str, Any] = {
        "ts": at,
        "method": "GET",
        "status": 302,
        "user_agent": IPHONE,
        "referer": None,
        "ip_hash": "a" * 64,
        "episode_id": "ep-1",
        "source_kind": "prefix",
        "range_header": None,
        "country": "US",
        "datacenter": None,
    }
    row.update(fields)
    return row


def batch(*rows: dict[str, Any]) -> pl.DataFrame:
    """Requests named r1, r2, … in the order given."""
    frame = pl.DataFrame(
        [{"id": f"r{n}", **row} for n, row in enumerate(rows, start=1)],
        schema_overrides={
            "ts": pl.Datetime("us", "UTC"),
            "status": pl.Int32,
            "range_start": pl.Int64,
            "range_end": pl.Int64,
            "bytes_sent": pl.Int64,
            "enclosure_bytes": pl.Int64,
            "duration_seconds": pl.Float64,
            "header_bytes": pl.Int64,
        },
        infer_schema_length=None,
    )
    return frame


def run(frame: pl.DataFrame, window: str = "calendar_day", **options: Any) -> CountResult:
    settings = CountingSettings(window=window, **options.pop("settings", {}))  # type: ignore[arg-type]
    return count(frame, settings, shared_classifier().classify, **options)


def reasons(result: CountResult) -> dict[str, str]:
    return dict(result.tags.select("id", pl.col("reason").cast(pl.Utf8)).iter_rows())


def tag(result: CountResult, request_id: str) -> dict[str, Any]:
    return result.tags.filter(pl.col("id") == request_id).row(0, named=True)


# §5.5.1 and §5.5.4 ---------------------------------------------------------------------------------------------------

SPEC_TIMES = (
    MONDAY.replace(hour=22),
    MONDAY + timedelta(days=1, hours=3),
    MONDAY + timedelta(days=1, hours=22, minutes=15),
    MONDAY + timedelta(days=2, hours=23, minutes=15),
)
SPEC_TABLE = {
    "calendar_day": (1, 1, 0, 1),
    "first_touch_24h": (1, 0, 1, 1),
    "extending_24h": (1, 0, 0, 1),
}


@pytest.mark.parametrize("window", WINDOWS)
def test_the_guideline_example_counts_as_its_table_says_for_each_window(window: str) -> None:
    result = run(batch(*(request(at) for at in SPEC_TIMES)), window)

    counted = tuple(int(reason == "counted") for reason in reasons(result).values())
    assert counted == SPEC_TABLE[window]
    assert result.downloads.height == sum(SPEC_TABLE[window])
    assert set(result.downloads["window"]) == {window}
    others = {reason for reason in reasons(result).values() if reason != "counted"}
    assert others <= {"duplicate_in_window"}


def test_each_download_is_dated_by_the_utc_day_its_window_opened() -> None:
    result = run(batch(*(request(at) for at in SPEC_TIMES)), "first_touch_24h")

    assert result.downloads["day"].to_list() == [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)]
    assert result.downloads["first_request_id"].to_list() == ["r1", "r3", "r4"]


@pytest.mark.parametrize("window", WINDOWS)
def test_ten_downloads_from_six_user_agents_behind_one_address_are_six_downloads_and_six_listeners(
    window: str,
) -> None:
    agents = [IPHONE, OVERCAST, SPOTIFY, CHROME, "PocketCasts/1.0 (Pocket Casts iOS 7.60)", "AntennaPod/3.4.0"]
    rows = [request(MONDAY + timedelta(hours=2 * n), user_agent=agents[n % 6]) for n in range(10)]

    result = run(batch(*rows), window)

    assert result.downloads.height == 6
    assert listeners(result.downloads, "day")["listeners"].to_list() == [6]


def test_explain_says_why_a_request_counted_or_fell_short() -> None:
    logs = {"source_kind": "logs", "status": 206, "range_start": 0, "range_end": 99_999, "bytes_sent": 100_000}
    facts = {"enclosure_bytes": 10_000_000, "duration_seconds": 600.0, "header_bytes": 0}
    result = run(batch(request(MONDAY), request(MONDAY, ip_hash="b" * 64, **logs, **facts)))

    assert explain(tag(result, "r1")) == (
        "Counted: a download: the first request of this listener, episode and window."
    )
    assert explain(tag(result, "r2")) == (
        "Not counted: the merged byte ranges never reached the ID3 header plus one minute of audio; "
        "the window covered 100000 of 1000000 bytes required."
    )


def test_a_duplicate_names_the_request_its_download_was_counted_at() -> None:
    result = run(batch(request(MONDAY), request(MONDAY + timedelta(hours=1))))

    assert tag(result, "r2")["counted_as"] == "r1"
    assert explain(tag(result, "r2")).endswith("its download was counted at request r1.")


# Step 1: filters -----------------------------------------------------------------------------------------------------


def test_head_304_and_a_two_byte_probe_are_not_downloads() -> None:
    result = run(
        batch(
            request(MONDAY, method="HEAD"),
            request(MONDAY, status=304, source_kind="logs", ip_hash="b" * 64),
            request(MONDAY, range_header="bytes=0-1", ip_hash="c" * 64),
        )
    )

    assert reasons(result) == {"r1": "head", "r2": "not_modified_304", "r3": "zero_one_range_only"}
    assert result.downloads.height == 0


def test_a_probe_followed_by_a_real_request_counts_once_at_the_real_request() -> None:
    result = run(
        batch(
            request(MONDAY, range_header="bytes=0-1"),
            request(MONDAY + timedelta(seconds=1), range_header="bytes=0-"),
            request(MONDAY + timedelta(minutes=5), range_header="bytes=1000000-"),
        )
    )

    assert reasons(result) == {"r1": "zero_one_range_only", "r2": "counted", "r3": "duplicate_in_window"}
    assert result.downloads["first_request_id"].to_list() == ["r2"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-1,4-5", "tiny_ranges_only"),
        ("bytes=500-501", "tiny_ranges_only"),
        ("bytes=-2", "tiny_ranges_only"),
        ("BYTES = 0-1", "zero_one_range_only"),
        ("bytes=0-2", "counted"),
        ("bytes=0-1,100-", "counted"),
        ("bytes=-500", "counted"),
        ("items=0-1", "counted"),
        ("bytes=5-1", "counted"),
    ],
)
def test_only_ranges_that_ask_for_at_most_two_bytes_are_excluded(header: str, expected: str) -> None:
    result = run(batch(request(MONDAY, range_header=header)))

    assert reasons(result) == {"r1": expected}


@pytest.mark.parametrize(
    "agent",
    [
        "atc/1.0 watchOS/10.4 model/Watch6,2 hwp/t8301 build/21T216 (6; dt:265) AMS/1",
        "ATC/1.0 WATCHOS/9.1",
        "(null)/(null) watchOS/8.3 model/Watch6,2 hwp/t8006 build/19S546 (6; dt:234)",
    ],
)
def test_apple_watch_duplicates_are_excluded(agent: str) -> None:
    result = run(batch(request(MONDAY, user_agent=agent)))

    assert reasons(result) == {"r1": "apple_watch_duplicate"}
    assert result.downloads.height == 0


def test_bots_are_excluded_by_list_by_keyword_and_for_a_missing_user_agent() -> None:
    result = run(
        batch(
            request(MONDAY, user_agent=GOOGLEBOT),
            request(MONDAY, user_agent="FeedFetcher-Crawler/2.0 (podcast index)"),
            request(MONDAY, user_agent=None),
            request(MONDAY, user_agent="   "),
        )
    )

    assert reasons(result) == {"r1": "bot_ua", "r2": "bot_keyword", "r3": "missing_ua", "r4": "missing_ua"}
    assert tag(result, "r1")["detail"] == "OPAWG bots list: Googlebot"
    assert "Googlebot" in explain(tag(result, "r1"))


def test_examples_of_the_opawg_bots_list_are_excluded_as_bots() -> None:
    examples = [(item["name"], example) for item in entries("bots") for example in item.get("examples", [])]
    rows = [request(MONDAY, user_agent=example, ip_hash=f"{n:064d}") for n, (_, example) in enumerate(examples)]

    result = run(batch(*rows))

    assert len(examples) > 20
    assert set(reasons(result).values()) <= {"bot_ua", "apple_watch_duplicate"}


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SECRET_KEY", "counting-test-secret-0123456789-abcdefghij")
    reset_settings()
    yield
    monkeypatch.undo()
    reset_settings()


@pytest.mark.usefixtures("secret")
def test_two_ipv6_addresses_in_one_64_are_one_listener_and_another_64_is_another() -> None:
    same_home = ["2001:db8:aa:1::10", "2001:db8:aa:1:9f1c:44ff:fe01:2"]
    next_door = "2001:db8:aa:2::10"
    rows = [request(MONDAY + timedelta(minutes=n), ip_hash=hash_address(ip)) for n, ip in enumerate(same_home)]
    rows.append(request(MONDAY + timedelta(minutes=5), ip_hash=hash_address(next_door)))

    result = run(batch(*rows))

    assert reasons(result) == {"r1": "counted", "r2": "duplicate_in_window", "r3": "counted"}
    assert listeners(result.downloads, "day")["listeners"].to_list() == [2]


def test_data_centre_addresses_are_excluded_naming_the_provider() -> None:
    result = run(batch(request(MONDAY, datacenter="Amazon AWS"), request(MONDAY, ip_hash="b" * 64)))

    assert reasons(result) == {"r1": "datacenter", "r2": "counted"}
    assert tag(result, "r1")["detail"] == "Amazon AWS"


def test_an_address_over_the_volume_limit_that_day_loses_every_request_that_day_only() -> None:
    busy = [request(MONDAY + timedelta(minutes=n), episode_id=f"ep-{n}") for n in range(4)]
    next_day = request(MONDAY + timedelta(days=1), episode_id="ep-0")
    neighbour = request(MONDAY, ip_hash="b" * 64)

    result = run(batch(*busy, next_day, neighbour), settings={"ip_volume_limit": 3})

    assert reasons(result) == {
        "r1": "ip_volume",
        "r2": "ip_volume",
        "r3": "ip_volume",
        "r4": "ip_volume",
        "r5": "counted",
        "r6": "counted",
    }
    assert tag(result, "r1")["ip_downloads"] == 4
    assert "4 potential downloads; the limit is 3" in explain(tag(result, "r1"), CountingSettings(ip_volume_limit=3))


def test_data_centre_requests_do_not_count_toward_an_address_volume() -> None:
    rows = [request(MONDAY + timedelta(minutes=n), episode_id=f"ep-{n}", datacenter="OVH") for n in range(3)]
    rows.append(request(MONDAY + timedelta(minutes=9), episode_id="ep-9"))

    result = run(batch(*rows), settings={"ip_volume_limit": 1})

    assert reasons(result) == {"r1": "datacenter", "r2": "datacenter", "r3": "datacenter", "r4": "counted"}


def test_an_address_over_the_volume_limit_is_excluded_before_its_bytes_are_judged() -> None:
    logs = {"source_kind": "logs", "status": 206, "range_start": 0, "range_end": 999, "bytes_sent": 1000}
    rows = [request(MONDAY + timedelta(minutes=n), episode_id=f"ep-{n}", **logs) for n in range(3)]

    result = run(batch(*rows), settings={"ip_volume_limit": 2})

    assert set(reasons(result).values()) == {"ip_volume"}


def test_an_address_at_the_volume_limit_still_counts() -> None:
    rows = [request(MONDAY + timedelta(minutes=n), episode_id=f"ep-{n}") for n in range(3)]

    result = run(batch(*rows), settings={"ip_volume_limit": 3})

    assert result.downloads.height == 3


def test_requests_not_matched_to_an_episode_or_not_served_are_excluded() -> None:
    result = run(
        batch(
            request(MONDAY, episode_id=None),
            request(MONDAY, method="POST"),
            request(MONDAY, status=404, source_kind="logs", bytes_sent=100),
            request(MONDAY, status=200, ip_hash="b" * 64),
        )
    )

    assert reasons(result) == {"r1": "no_episode", "r2": "not_get", "r3": "bad_status", "r4": "counted"}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"method": "HEAD", "user_agent": GOOGLEBOT, "datacenter": "OVH"}, "head"),
        ({"status": 304, "source_kind": "logs", "user_agent": GOOGLEBOT}, "not_modified_304"),
        ({"range_header": "bytes=0-1", "user_agent": GOOGLEBOT}, "zero_one_range_only"),
        ({"range_header": "bytes=7-8", "user_agent": None}, "tiny_ranges_only"),
        ({"user_agent": "atc/1.0 watchOS/10.4", "datacenter": "OVH"}, "apple_watch_duplicate"),
        ({"user_agent": GOOGLEBOT, "datacenter": "OVH"}, "bot_ua"),
        ({"episode_id": None, "method": "HEAD"}, "no_episode"),
        ({"method": "POST", "status": 304, "source_kind": "logs"}, "not_get"),
        ({"status": 416, "source_kind": "logs", "range_start": 0, "range_end": 1}, "bad_status"),
        ({"range_header": "bytes=9-10", "user_agent": "atc/1.0 watchOS/10.4"}, "tiny_ranges_only"),
        ({"user_agent": None, "datacenter": "OVH"}, "missing_ua"),
        ({"user_agent": "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"}, "bot_ua"),
    ],
)
def test_a_request_excluded_for_several_reasons_is_tagged_with_the_first_in_precedence(
    fields: dict[str, Any], expected: str
) -> None:
    result = run(batch(request(MONDAY, **fields)))

    assert reasons(result) == {"r1": expected}


def test_every_request_gets_exactly_one_reason_from_the_documented_list() -> None:
    rows = [
        request(MONDAY + timedelta(minutes=n), ip_hash=f"{n % 7:064d}", user_agent=agent, method=method)
        for n, (agent, method) in enumerate(
            [(IPHONE, "GET"), (GOOGLEBOT, "GET"), (None, "GET"), (OVERCAST, "HEAD"), (IPHONE, "GET")] * 20
        )
    ]

    result = run(batch(*rows))

    assert result.tags.height == len(rows)
    assert result.tags["reason"].null_count() == 0
    assert set(result.tags["reason"].cast(pl.Utf8)) <= set(REASONS)
    assert result.tags["id"].to_list() == [f"r{n}" for n in range(1, len(rows) + 1)]


# Dimensions, listeners and roll-ups ----------------------------------------------------------------------------------


def test_a_download_carries_app_device_and_country_of_its_first_request() -> None:
    result = run(
        batch(
            request(MONDAY, user_agent=OVERCAST, country="GB"),
            request(MONDAY, user_agent=CHROME, referer="https://www.podbean.com/ep", ip_hash="b" * 64, country=None),
        )
    )

    rows = {row["first_request_id"]: row for row in result.downloads.iter_rows(named=True)}
    assert (rows["r1"]["app"], rows["r1"]["device"], rows["r1"]["country"]) == ("Overcast", "Apple iPhone", "GB")
    assert rows["r2"]["app"] == "Podbean"
    assert rows["r2"]["device_category"] == "computer"
    assert rows["r1"]["listener"].startswith("a" * 64 + ":")
    assert rows["r1"]["source_kind"] == "prefix"


def test_listeners_are_distinct_over_the_period_while_downloads_add_up() -> None:
    rows = [
        request(datetime(2024, 1, 1, 9, tzinfo=UTC), episode_id="ep-1"),
        request(datetime(2024, 1, 3, 9, tzinfo=UTC), episode_id="ep-2"),
        request(datetime(2024, 1, 3, 9, tzinfo=UTC), ip_hash="b" * 64),
        request(datetime(2024, 1, 9, 9, tzinfo=UTC), episode_id="ep-3"),
    ]
    downloads = run(batch(*rows)).downloads

    daily = listeners(downloads, "day")
    weekly = listeners(downloads, "week")
    monthly = listeners(downloads, "month")

    assert daily["listeners"].to_list() == [1, 2, 1]
    assert weekly.rows() == [(date(2024, 1, 1), 2), (date(2024, 1, 8), 1)]
    assert monthly.rows() == [(date(2024, 1, 1), 2)]
    per_day = daily_downloads(downloads, by=("day",))
    assert per_day["downloads"].to_list() == [1, 2, 1]
    per_episode = listeners(downloads, "month", by=("episode_id",))
    assert per_episode.select("episode_id", "listeners").rows() == [("ep-1", 2), ("ep-2", 1), ("ep-3", 1)]


def test_the_same_listener_through_the_prefix_and_the_host_logs_is_a_download_of_each_source() -> None:
    logs = {"source_kind": "logs", "status": 200, "bytes_sent": 5_000_000, "enclosure_bytes": 5_000_000}
    result = run(batch(request(MONDAY), request(MONDAY + timedelta(seconds=2), **logs)))

    assert sorted(result.downloads["source_kind"]) == ["logs", "prefix"]


# Input ---------------------------------------------------------------------------------------------------------------


def test_rows_out_of_order_and_in_another_time_zone_count_as_in_utc_order() -> None:
    frame = pl.DataFrame(
        {
            "id": ["late", "early"],
            "ts": [datetime(2024, 1, 2, 0, 30), datetime(2024, 1, 1, 23, 30)],
            "method": ["GET", "GET"],
            "status": [302, 302],
            "user_agent": [IPHONE, IPHONE],
            "ip_hash": ["a" * 64] * 2,
            "episode_id": ["ep-1"] * 2,
            "source_kind": ["prefix"] * 2,
        }
    ).with_columns(pl.col("ts").dt.replace_time_zone("America/New_York"))

    result = run(frame, "first_touch_24h")

    assert reasons(result) == {"early": "counted", "late": "duplicate_in_window"}
    assert result.downloads["day"].to_list() == [date(2024, 1, 2)]


def test_a_batch_missing_a_column_or_with_an_unknown_source_is_refused() -> None:
    with pytest.raises(CountingInputError, match="user_agent"):
        run(batch(request(MONDAY)).drop("user_agent"))
    with pytest.raises(CountingInputError, match="source_kind"):
        run(batch(request(MONDAY, source_kind="feed")))


def test_an_empty_batch_counts_nothing() -> None:
    empty = batch(request(MONDAY)).clear()

    for window in WINDOWS:
        result = run(empty, window)
        assert result.tags.height == 0
        assert result.downloads.height == 0


# Counting one day at a time ------------------------------------------------------------------------------------------


def _busy_week() -> pl.DataFrame:
    """Eight days of listeners coming back every 17 to 27 hours (so first-touch windows chain across days and
    midnights), plus scattered one-off requests, probes and a bot."""
    rows = []
    for listener in range(6):
        every = timedelta(hours=17 + 2 * listener)
        at = MONDAY + timedelta(hours=3 * listener)
        while at < MONDAY + timedelta(days=8):
            rows.append(request(at, ip_hash=f"{listener:064d}", user_agent=(IPHONE, OVERCAST)[listener % 2]))
            at += every
    for n in range(200):
        at = MONDAY + timedelta(hours=(n * 7.3) % (8 * 24))
        agent = GOOGLEBOT if n % 17 == 0 else (IPHONE, OVERCAST, SPOTIFY)[n % 3]
        header = "bytes=0-1" if n % 13 == 0 else None
        rows.append(
            request(at, ip_hash=f"{n % 11 + 10:064d}", user_agent=agent, episode_id=f"ep-{n % 4}", range_header=header)
        )
    return batch(*sorted(rows, key=lambda row: row["ts"]))


@pytest.mark.parametrize("window", WINDOWS)
def test_counting_day_by_day_gives_what_counting_the_whole_week_gives(window: str) -> None:
    week = _busy_week()
    whole = run(week, window).downloads
    by_day: list[pl.DataFrame] = []
    for offset in range(8):
        day = (MONDAY + timedelta(days=offset)).date()
        start, end = batch_range(day, window)  # type: ignore[arg-type]
        rows = week.filter((pl.col("ts") >= start) & (pl.col("ts") < end))
        prior = None
        span = prior_window_range(day, window)  # type: ignore[arg-type]
        if span is not None and by_day:
            earlier = pl.concat(by_day)
            prior = earlier.filter((pl.col("window_start") >= span[0]) & (pl.col("window_start") < span[1]))
        by_day.append(run(rows, window, day=day, prior_windows=prior).downloads)

    assert pl.concat(by_day).equals(whole)


def test_a_prior_window_without_its_first_request_id_still_covers_the_batch_start() -> None:
    earlier = run(batch(request(MONDAY.replace(hour=22))), "first_touch_24h").downloads.drop("first_request_id")

    result = run(batch(request(MONDAY + timedelta(days=1, hours=21))), "first_touch_24h", prior_windows=earlier)

    assert reasons(result) == {"r1": "duplicate_in_window"}
    assert tag(result, "r1")["counted_as"] is None


def test_a_first_touch_window_opened_before_the_batch_keeps_its_later_requests_from_counting() -> None:
    earlier = run(batch(request(MONDAY.replace(hour=22))), "first_touch_24h").downloads
    earlier = earlier.with_columns(pl.lit("monday-hit").alias("first_request_id"))
    tuesday = batch(request(MONDAY + timedelta(days=1, hours=21)), request(MONDAY + timedelta(days=1, hours=23)))

    result = run(tuesday, "first_touch_24h", prior_windows=earlier)

    assert reasons(result) == {"r1": "duplicate_in_window", "r2": "counted"}
    assert tag(result, "r1")["counted_as"] == "monday-hit"
    assert result.downloads["window_start"].to_list() == [MONDAY + timedelta(days=1, hours=23)]
