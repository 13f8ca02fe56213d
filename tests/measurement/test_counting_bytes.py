"""The 1-minute byte threshold (IAB v2.3 §5.5.3) for host and CDN logs: merged ranges per listener, episode and
window against the ID3 header plus 60 s of audio, or 99 % of the file when that cannot be computed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl
import pytest

from tests.measurement.test_counting import MONDAY, batch, reasons, request, run, tag

SIZE = 60_000_000
DURATION = 3600.0
HEADER = 100_000
# 100,000 + 59,900,000 * 60 / 3600 = 1,098,333.3..., so 1,098,334 bytes.
ONE_MINUTE = 1_098_334


def fetch(first: int | None, last: int | None, *, sent: int | None = None, minutes: float = 0, **fields: Any) -> dict:
    """A CDN log row of one listener fetching bytes first..last (all of them sent unless told otherwise)."""
    if sent is None and first is not None and last is not None:
        sent = last - first + 1
    row = {
        "source_kind": "logs",
        "status": 206 if first is not None else 200,
        "range_start": first,
        "range_end": last,
        "bytes_sent": sent,
        "enclosure_bytes": SIZE,
        "duration_seconds": DURATION,
        "header_bytes": HEADER,
    }
    row.update(fields)
    return request(MONDAY + timedelta(minutes=minutes), **row)


def covered(*rows: dict, window: str = "calendar_day", **options: Any) -> tuple[dict[str, str], dict[str, Any]]:
    result = run(batch(*rows), window, **options)
    return reasons(result), tag(result, "r1")


def test_one_request_of_exactly_the_header_and_one_minute_is_a_download() -> None:
    found, first = covered(fetch(0, ONE_MINUTE - 1))

    assert found == {"r1": "counted"}
    assert (first["bytes_covered"], first["bytes_required"]) == (ONE_MINUTE, ONE_MINUTE)


def test_one_byte_short_of_the_minute_is_below_the_threshold_with_the_numbers() -> None:
    found, first = covered(fetch(0, ONE_MINUTE - 2))

    assert found == {"r1": "below_threshold"}
    assert (first["bytes_covered"], first["bytes_required"]) == (ONE_MINUTE - 1, ONE_MINUTE)


def test_adjacent_ranges_merge_into_one_minute() -> None:
    found, first = covered(fetch(0, 599_999), fetch(600_000, ONE_MINUTE - 1, minutes=1))

    assert found == {"r1": "counted", "r2": "duplicate_in_window"}
    assert first["bytes_covered"] == ONE_MINUTE


def test_overlapping_ranges_count_each_byte_once() -> None:
    found, first = covered(fetch(0, 700_000), fetch(300_000, 1_000_000, minutes=1), fetch(0, 500_000, minutes=2))

    assert found == {"r1": "below_threshold", "r2": "below_threshold", "r3": "below_threshold"}
    assert first["bytes_covered"] == 1_000_001


def test_ranges_fetched_out_of_order_and_with_gaps_add_up() -> None:
    found, first = covered(
        fetch(40_000_000, 40_600_000),
        fetch(0, 300_000, minutes=1),
        fetch(20_000_000, 20_200_000, minutes=2),
    )

    assert found == {"r1": "counted", "r2": "duplicate_in_window", "r3": "duplicate_in_window"}
    assert first["bytes_covered"] == 600_001 + 300_001 + 200_001


def test_a_range_cut_short_covers_only_the_bytes_sent() -> None:
    found, first = covered(fetch(0, SIZE - 1, sent=500_000))

    assert found == {"r1": "below_threshold"}
    assert first["bytes_covered"] == 500_000


def test_a_whole_file_response_without_a_range_covers_what_was_sent() -> None:
    found, first = covered(fetch(None, None, sent=SIZE))

    assert found == {"r1": "counted"}
    assert first["bytes_covered"] == SIZE


def test_a_response_that_does_not_say_how_much_it_sent_covers_nothing() -> None:
    found, first = covered(fetch(None, None, sent=None))

    assert found == {"r1": "below_threshold"}
    assert first["bytes_covered"] == 0


def test_an_open_range_runs_to_the_end_of_the_file() -> None:
    found, first = covered(fetch(SIZE - 2_000_000, None, sent=5_000_000))

    assert found == {"r1": "counted"}
    assert first["bytes_covered"] == 2_000_000


def test_a_suffix_range_from_a_range_header_covers_the_end_of_the_file() -> None:
    row = fetch(None, None, sent=1_500_000, range_header="bytes=-1500000", status=206)

    found, first = covered(row)

    assert found == {"r1": "counted"}
    assert first["bytes_covered"] == 1_500_000


def test_an_episode_under_a_minute_needs_99_percent_of_the_file() -> None:
    short = {"enclosure_bytes": 1_000_000, "duration_seconds": 45.0}

    assert covered(fetch(0, 989_999, **short))[0] == {"r1": "counted"}
    assert covered(fetch(0, 989_998, **short))[1]["bytes_required"] == 990_000
    assert covered(fetch(0, 989_998, **short))[0] == {"r1": "below_threshold"}


def test_an_unknown_duration_needs_99_percent_of_the_file() -> None:
    found, first = covered(fetch(0, 2_000_000, duration_seconds=None))

    assert found == {"r1": "below_threshold"}
    assert first["bytes_required"] == 59_400_000


def test_an_unknown_file_size_is_taken_from_the_furthest_byte_any_listener_fetched() -> None:
    unknown = {"enclosure_bytes": None}
    found, first = covered(
        fetch(0, 9_999_999, **unknown),
        fetch(0, 4_999_999, ip_hash="b" * 64, **unknown),
    )

    assert found == {"r1": "counted", "r2": "below_threshold"}
    assert first["bytes_required"] == 9_900_000


def test_the_default_header_size_applies_when_the_episode_has_none() -> None:
    found, first = covered(fetch(0, 2_000_000, header_bytes=None), settings={"header_bytes": 500_000})

    assert first["bytes_required"] == 500_000 + (SIZE - 500_000) * 60 // 3600 + 1
    assert found == {"r1": "counted"}


def test_episode_facts_can_come_in_their_own_frame() -> None:
    rows = batch(fetch(0, ONE_MINUTE - 1)).drop("enclosure_bytes", "duration_seconds", "header_bytes")
    episodes = pl.DataFrame(
        {"episode_id": ["ep-1"], "enclosure_bytes": [SIZE], "duration_seconds": [DURATION], "header_bytes": [HEADER]}
    )

    result = run(rows, episodes=episodes)

    assert reasons(result) == {"r1": "counted"}
    assert result.downloads["bytes_required"].to_list() == [ONE_MINUTE]


@pytest.mark.parametrize("window", ["first_touch_24h", "extending_24h"])
def test_bytes_fetched_more_than_a_day_after_a_rolling_window_opened_do_not_count_toward_it(window: str) -> None:
    found, first = covered(
        fetch(0, 500_000),
        fetch(500_001, 900_000, minutes=60 * 20),
        fetch(900_001, 5_000_000, minutes=60 * 30),
        window=window,
    )

    assert first["bytes_covered"] == 900_001
    assert found["r1"] == "below_threshold"
    expected_third = "below_threshold" if window == "extending_24h" else "counted"
    assert found["r3"] == expected_third


def test_a_calendar_day_merges_every_range_of_that_day() -> None:
    found, first = covered(fetch(0, 500_000), fetch(500_001, ONE_MINUTE, minutes=60 * 20))

    assert found == {"r1": "counted", "r2": "duplicate_in_window"}
    assert first["bytes_covered"] == ONE_MINUTE + 1


def test_a_two_byte_probe_in_the_logs_is_excluded_and_the_download_counts_at_the_next_request() -> None:
    found, _ = covered(fetch(0, 1), fetch(0, SIZE - 1, minutes=0.1))

    assert found == {"r1": "zero_one_range_only", "r2": "counted"}


def test_prefix_hits_are_never_held_to_the_threshold() -> None:
    result = run(batch(request(MONDAY, range_header="bytes=0-100")))

    assert reasons(result) == {"r1": "counted"}
    assert result.downloads["bytes_required"].to_list() == [None]
