"""Publish dates and durations as real feeds write them: each row is a form seen in the wild."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from podsponsor.catalog.feeds import duration_seconds, parse_date, parse_duration


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Mon, 13 Jul 2020 04:00:00 -0000", datetime(2020, 7, 13, 4, 0, tzinfo=UTC)),
        ("Fri, 13 Jul 2020 04:00:00 +0000", datetime(2020, 7, 13, 4, 0, tzinfo=UTC)),  # wrong weekday
        ("13 Jul 2020 04:00:00 GMT", datetime(2020, 7, 13, 4, 0, tzinfo=UTC)),  # no weekday
        ("Mon,13 Jul 2020 04:00 UT", datetime(2020, 7, 13, 4, 0, tzinfo=UTC)),  # no seconds, no space
        ("Mon, 13 Jul 2020 04:00:00 Z", datetime(2020, 7, 13, 4, 0, tzinfo=UTC)),
        ("Mon, 13 Jul 2020 04:00:00 EST", datetime(2020, 7, 13, 9, 0, tzinfo=UTC)),
        ("Mon, 13 Jul 2020 04:00:00 PDT", datetime(2020, 7, 13, 11, 0, tzinfo=UTC)),
        ("Mon, 13 Jul 2020 04:00:00 CEST", datetime(2020, 7, 13, 2, 0, tzinfo=UTC)),
        ("Mon, 13 Jul 2020 04:00:00 +0530", datetime(2020, 7, 12, 22, 30, tzinfo=UTC)),
        ("Mon, 13 Jul 2020 04:00:00 -03:30", datetime(2020, 7, 13, 7, 30, tzinfo=UTC)),
        ("Mon, 13 Jul 2020 04:00:00", datetime(2020, 7, 13, 4, 0, tzinfo=UTC)),  # no zone: UTC
        ("Mon, 13 Jul 2020 04:00:00 XYZT", datetime(2020, 7, 13, 4, 0, tzinfo=UTC)),  # unknown zone: UTC
        ("Monday, 13 July 2020 4:00 PM +0100", datetime(2020, 7, 13, 15, 0, tzinfo=UTC)),
        ("13 Jul 20 04:00:00 GMT", datetime(2020, 7, 13, 4, 0, tzinfo=UTC)),  # two-digit year
        ("01 Jan 99 00:00:00 GMT", datetime(1999, 1, 1, tzinfo=UTC)),
        ("Tue, 1 Sept 2020 10:00:00 GMT", datetime(2020, 9, 1, 10, 0, tzinfo=UTC)),
        ("  Mon,\n 13 Jul 2020\t04:00:00 +0000 ", datetime(2020, 7, 13, 4, 0, tzinfo=UTC)),
        ("Mon Jul 13 2020 04:00:00 GMT-0400 (Eastern Daylight Time)", datetime(2020, 7, 13, 8, 0, tzinfo=UTC)),
        ("July 13, 2020", datetime(2020, 7, 13, tzinfo=UTC)),
        ("2003-12-13T18:30:02Z", datetime(2003, 12, 13, 18, 30, 2, tzinfo=UTC)),
        ("2021-09-26T07:30:00.000-0600", datetime(2021, 9, 26, 13, 30, tzinfo=UTC)),
        ("2021-09-26T07:30:00+02:00", datetime(2021, 9, 26, 5, 30, tzinfo=UTC)),
        ("2020-07-13 04:00:00 +0530", datetime(2020, 7, 12, 22, 30, tzinfo=UTC)),
        ("2020-07-13", datetime(2020, 7, 13, tzinfo=UTC)),
        ("", None),
        ("next Tuesday", None),
        ("31 Feb 2020 10:00:00 GMT", None),
        ("13 Foo 2020 10:00:00 GMT", None),
        ("Mon, 13 Jul 2020 25:00:00 GMT", None),
        ("2020-13-45T00:00:00Z", None),
    ],
)
def test_publish_dates(raw: str, expected: datetime | None) -> None:
    parsed = parse_date(raw)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo == UTC


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("01:00:00", 3600.0),
        ("1:02:03", 3723.0),
        ("00:20:00", 1200.0),
        ("39:58", 2398.0),
        ("90:00", 5400.0),  # minutes past 59 in MM:SS
        ("5:07", 307.0),
        ("1097", 1097.0),
        ("0", 0.0),
        ("1014.708375", 1014.708375),
        ("01:02:03.400", 3723.4),
        (" 00:01:05 ", 65.0),
        ("", None),
        ("about an hour", None),
        ("-30", None),
        ("1:2:3:4", None),
        ("12:", None),
        ("1,5", None),
        ("nan", None),
    ],
)
def test_durations(raw: str, seconds: float | None) -> None:
    assert parse_duration(raw) == (pytest.approx(seconds) if seconds is not None else None)


@pytest.mark.parametrize(("raw", "whole"), [("1014.708375", 1015), ("835.4", 835), ("1:00:00", 3600), ("x", None)])
def test_durations_round_to_whole_seconds_for_the_catalog(raw: str, whole: int | None) -> None:
    assert duration_seconds(raw) == whole
