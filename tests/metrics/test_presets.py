"""Formats detected from header rows shaped like the real exports, and what each column is read as."""

from __future__ import annotations

import pytest

from podsponsor.metrics.csv_reader import CsvFile, FileProblem, sniff_delimiter
from podsponsor.metrics.presets import layout

SHAPES = {
    "spotify, streams and starts": (
        ["Date", "Episode", "Starts", "Streams", "Listeners"],
        "spotify",
        {"day": "Date", "episode_title": "Episode", "downloads": "Streams", "listeners": "Listeners"},
    ),
    "spotify for creators, plays": (
        ["Date", "Episode", "Release date", "Plays", "Consumption hours", "Followers"],
        "spotify",
        {"day": "Date", "episode_title": "Episode", "episode_date": "Release date", "downloads": "Plays"},
    ),
    "megaphone": (
        ["Date", "Podcast", "Episode", "Episode ID", "Published", "Downloads", "Unique Listeners"],
        "megaphone",
        {
            "day": "Date",
            "podcast": "Podcast",
            "episode_title": "Episode",
            "episode_guid": "Episode ID",
            "episode_date": "Published",
            "downloads": "Downloads",
            "listeners": "Unique Listeners",
        },
    ),
    "megaphone, snake case": (
        ["date", "podcast_title", "episode_title", "episode_guid", "downloads"],
        "megaphone",
        {
            "day": "date",
            "podcast": "podcast_title",
            "episode_title": "episode_title",
            "episode_guid": "episode_guid",
            "downloads": "downloads",
        },
    ),
    "youtube studio chart data": (
        [
            "Date",
            "Content",
            "Video title",
            "Video publish time",
            "Duration",
            "Views",
            "Average percentage viewed (%)",
            "Impressions click-through rate (%)",
            "Estimated revenue (USD)",
        ],
        "youtube",
        {
            "day": "Date",
            "episode_guid": "Content",
            "episode_title": "Video title",
            "episode_date": "Video publish time",
            "downloads": "Views",
            "completion_rate": "Average percentage viewed (%)",
            "ctr": "Impressions click-through rate (%)",
            "revenue_cents": "Estimated revenue (USD)",
        },
    ),
    "apple podcasts connect": (
        ["Date", "Episode", "Listeners", "Engaged Listeners", "Plays", "Time Listened", "Average Consumption"],
        "apple",
        {
            "day": "Date",
            "episode_title": "Episode",
            "listeners": "Listeners",
            "downloads": "Plays",
            "completion_rate": "Average Consumption",
        },
    ),
    "apple, other wording": (
        ["Day", "Episode Title", "Unique Listeners", "Engaged Listeners", "Total Time Listened", "Avg. Consumption"],
        "apple",
        {
            "day": "Day",
            "episode_title": "Episode Title",
            "listeners": "Unique Listeners",
            "completion_rate": "Avg. Consumption",
        },
    ),
    "canonical, any order": (
        [
            "episode_id",
            "day",
            "source",
            "downloads",
            "listeners",
            "completion_rate",
            "ctr",
            "conversions",
            "revenue_cents",
        ],
        "canonical",
        {"day": "day", "episode_id": "episode_id", "source": "source", "downloads": "downloads"},
    ),
}


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_the_format_is_detected_from_the_header(shape: str) -> None:
    header, expected_format, expected_fields = SHAPES[shape]
    found = layout(header, ",")
    assert found.format == expected_format
    assert found.problems == []
    assert {name: found.mapping[name] for name in expected_fields} == expected_fields


def test_apple_caps_repeat_listening_and_percent_headers_scale() -> None:
    apple = layout(SHAPES["apple podcasts connect"][0], ",")
    assert apple.cap_completion and apple.default_source == "apple"
    youtube = layout(SHAPES["youtube studio chart data"][0], ",")
    assert youtube.percent("completion_rate") and not youtube.revenue_in_cents()


def test_an_unknown_header_is_generic_with_a_guess_and_the_missing_fields_named() -> None:
    found = layout(["When", "Show notes", "Plays"], ",")
    assert found.format == "generic"
    reasons = [problem["reason"] for problem in found.problems]
    assert "no column holds the day: map one" in reasons
    assert "no column holds the episode (id, GUID or title): map one" in reasons


def test_a_mapping_assigns_columns_by_hand() -> None:
    found = layout(
        ["When", "Show notes", "Plays"], ",", mapping={"day": "When", "episode_title": "Show notes"}, source="hosting"
    )
    assert found.problems == []
    assert found.mapping == {"downloads": "Plays", "day": "When", "episode_title": "Show notes"}
    wrong = layout(["When", "Plays"], ",", mapping={"day": "Wehn"})
    assert wrong.problems[0]["reason"] == "the mapping for day names no column of the file"
    assert wrong.problems[0]["suggestion"] == "did you mean 'When'?"


def test_the_canonical_format_names_missing_and_unknown_columns() -> None:
    found = layout(
        [
            "day",
            "episode_id",
            "source",
            "downlods",
            "listeners",
            "completion_rate",
            "ctr",
            "conversions",
            "revenue_cents",
            "notes",
        ],
        ",",
    )
    problems = {(p["column"], p["reason"], p.get("suggestion")) for p in found.problems}
    assert ("downlods", "not a column of the canonical format", "did you mean 'downloads'?") in problems
    assert ("notes", "not a column of the canonical format", None) in problems
    assert ("downloads", "missing column (leave its cells empty when you have no numbers for it)", None) in problems


def test_a_data_row_where_the_header_should_be_is_named() -> None:
    found = layout(["2026-08-01", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "spotify", "12"], ",")
    assert found.problems[0]["reason"].startswith("the first row looks like data, not a header")


def test_bom_semicolons_and_utf16_are_read() -> None:
    with CsvFile("\ufeffDate;Episode;Plays\r\n2026-08-01;Ep 1;1.289\r\n".encode()) as reader:
        assert reader.read_header() == ["Date", "Episode", "Plays"]
        assert reader.delimiter == ";"
        assert [rows for _, rows, _ in reader.chunks()] == [[["2026-08-01", "Ep 1", "1.289"]]]
    with CsvFile("day,source\n2026-08-01,apple\n".encode("utf-16")) as reader:
        assert reader.read_header() == ["day", "source"]
    assert sniff_delimiter('"a;b",c,d') == ","


def _read_all(content: bytes) -> list[object]:
    with CsvFile(content) as reader:
        reader.read_header()
        return list(reader.chunks())


def test_undecodable_bytes_stop_the_read_at_their_row() -> None:
    clean = b"Date,Episode\n" + b"2026-08-01,Pilot\n" * 5000
    with pytest.raises(FileProblem) as caught:
        _read_all(clean + b"2026-08-02,Caf\xe9\n")
    assert caught.value.row == 5002
    assert "not UTF-8 text (byte 0xE9)" in caught.value.reason
