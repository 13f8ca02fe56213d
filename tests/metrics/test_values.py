"""Cells as platforms write them: dates, counts, percentages and money, each refused with a reason when wrong."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from podsponsor.metrics.values import (
    BadValue,
    DayColumn,
    count_column,
    money_column,
    parse_count,
    parse_date,
    parse_money,
    parse_rate,
    rate_column,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-08-13", date(2026, 8, 13)),
        ("2026-08-13T00:00:00Z", date(2026, 8, 13)),
        ("2026/08/13", date(2026, 8, 13)),
        ("8/13/2026", date(2026, 8, 13)),
        ("08/03/2026", date(2026, 8, 3)),
        ("8/13/26", date(2026, 8, 13)),
        ("Aug 13, 2026", date(2026, 8, 13)),
        ("August 13, 2026", date(2026, 8, 13)),
        ("13 Aug 2026", date(2026, 8, 13)),
        ("13.08.2026", date(2026, 8, 13)),
        ("20260813", date(2026, 8, 13)),
        (" 2026-08-13 ", date(2026, 8, 13)),
    ],
)
def test_dates_in_every_spelling_the_exports_use(raw: str, expected: date) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("yesterday", "not a date"),
        ("13/13/2026", "no such date"),
        ("2026-02-30", "no such date"),
        ("1999-12-31", "before 2000-01-01"),
        ("Smarch 3, 2026", "not a date"),
    ],
)
def test_bad_dates_say_why(raw: str, reason: str) -> None:
    with pytest.raises(BadValue) as caught:
        parse_date(raw)
    assert reason in caught.value.reason


def test_a_day_in_the_future_is_refused() -> None:
    ahead = datetime.now(UTC).date() + timedelta(days=3)
    with pytest.raises(BadValue, match="in the future"):
        parse_date(ahead.isoformat())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1,289", 1289), ("627.0", 627), ("12", 12), ("1 289", 1289), ("1\u00a0289", 1289), ("", None), ("-", None)],
)
def test_counts_tolerate_thousands_separators_and_trailing_zero_decimals(raw: str, expected: int | None) -> None:
    assert parse_count(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"), [("-4", "must be 0 or more"), ("12.5", "not a whole number"), ("lots", "not a number")]
)
def test_bad_counts_say_why(raw: str, reason: str) -> None:
    with pytest.raises(BadValue, match=reason):
        parse_count(raw)


def test_rates_are_shares_and_percent_strings_are_converted() -> None:
    assert parse_rate("18%") == pytest.approx(0.18)
    assert parse_rate("0.18") == pytest.approx(0.18)
    assert parse_rate("45.3", percent=True) == pytest.approx(0.453)
    assert parse_rate("0,5") == pytest.approx(0.5)
    assert parse_rate("104%", cap=True) == 1.0


def test_a_rate_over_one_is_refused_with_the_fix() -> None:
    with pytest.raises(BadValue) as caught:
        parse_rate("18")
    assert caught.value.reason == "must be between 0 and 1"
    assert caught.value.suggestion == "write 18% or 0.18"
    with pytest.raises(BadValue, match="between 0 and 1"):
        parse_rate("180%")
    with pytest.raises(BadValue, match="0 or more"):
        parse_rate("-0.2")


def test_revenue_is_integer_cents() -> None:
    assert parse_money("$12.34", cents=True) == 1234
    assert parse_money("1234", cents=True) == 1234
    assert parse_money("12.34", cents=False) == 1234
    assert parse_money("1,024.50 USD", cents=False) == 102450
    with pytest.raises(BadValue, match="whole number of cents"):
        parse_money("12.5", cents=True)
    with pytest.raises(BadValue, match="0 or more"):
        parse_money("($3.00)", cents=True)


def test_clean_columns_pass_through_and_dirty_ones_are_parsed_cell_by_cell() -> None:
    assert count_column(("1", "", "30")) == (["1", "\\N", "30"], [])
    cells, errors = count_column(("1,289", "x", "7"))
    assert cells[0] == "1289"
    assert [(index, error.reason) for index, error in errors] == [(1, "not a number")]
    assert rate_column(("0.5", "1", ""), percent=False, cap=False)[0] == ["0.5", "1", "\\N"]
    cells, errors = rate_column(("0.5", "1.5"), percent=False, cap=False)
    assert [index for index, _ in errors] == [1]
    assert money_column(("$1.50",), cents=True)[0] == ["150"]


def test_day_column_parses_each_spelling_once_and_tracks_the_newest_day() -> None:
    days = DayColumn()
    cells, errors = days.convert(("8/2/2026", "2026-08-01", "8/2/2026", "nope"))
    assert cells == ["2026-08-02", "2026-08-01", "2026-08-02", "\\N"]
    assert [(index, error.reason.split(" (")[0]) for index, error in errors] == [(3, "not a date")]
    assert days.latest == "2026-08-02"
