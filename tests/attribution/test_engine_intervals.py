"""The figures of credited households and their bootstrap intervals: exact point estimates, intervals that contain
them, narrow as households grow, and repeat for the same seed."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from podsponsor.attribution.engine_repository import UNIT_SCHEMA
from podsponsor.attribution.intervals import Sample, percentile_interval, resampled_totals
from podsponsor.attribution.results import figures


def units(rows: list[tuple[str, str | None, str, str | None, float, float]]) -> pl.DataFrame:
    """(unit, household, match type, currency, credited conversions, credited revenue in cents)."""
    return pl.DataFrame(rows, schema=UNIT_SCHEMA, orient="row")


def test_point_estimates_of_a_small_campaign() -> None:
    found = figures(
        units(
            [
                ("h1", "h1", "household", "USD", 1.0, 4000.0),
                ("h2", "h2", "promo_code", "USD", 1.0, 6000.0),
                ("h2", "h2", "household", "USD", 0.5, 1000.0),
                ("h3", "h3", "vanity", "EUR", 1.0, 3000.0),
                ("conversion:c9", None, "promo_code", "USD", 1.0, 2000.0),
            ]
        ),
        reach=100,
        reached={"h1", "h2"},
        spend={"USD": 9000, "GBP": 0},
    )

    assert (found.conversions.total.value, found.conversions.deterministic.value, found.conversions.modeled.value) == (
        4.5,
        3.0,
        1.5,
    )
    assert found.revenue["USD"].total.value == 13000
    assert (found.revenue["USD"].deterministic.value, found.revenue["USD"].modeled.value) == (8000, 5000)
    assert found.revenue["EUR"].total.value == 3000
    assert set(found.cpa) == {"USD"}  # no spend in GBP, and no CPA over nothing
    assert found.cpa["USD"].total.value == pytest.approx(9000 / 4.5)
    assert found.cpa["USD"].deterministic.value == pytest.approx(3000)
    assert set(found.roas) == {"USD"}  # EUR revenue has no EUR spend to be a return on
    assert found.roas["USD"].total.value == pytest.approx(13000 / 9000)
    # h1 and h2 are reached and convert (h2 both ways); h3 and the conversion without a household are not reached.
    assert found.households_converting == 2
    assert found.conversion_rate.total.value == pytest.approx(2 / 100)
    assert found.conversion_rate.deterministic.value == pytest.approx(1 / 100)
    assert found.conversion_rate.modeled.value == pytest.approx(2 / 100)


def test_nothing_credited() -> None:
    found = figures(units([]), reach=50, reached=set(), spend={"USD": 1000})

    assert found.conversions.total.value == 0
    assert found.cpa["USD"].total.value is None  # a cost per no conversion is undefined
    assert found.cpa["USD"].total.high is None
    assert found.conversion_rate.total.value == 0
    assert found.revenue == {}
    assert figures(units([]), reach=0, reached=set(), spend={}).conversion_rate.total.value is None


def _campaign(households: int, rate: float = 0.1) -> pl.DataFrame:
    """`households` reached, a `rate` of them converting once (half by promo code), worth 40-60 USD."""
    converting = int(households * rate)
    return units(
        [
            (f"h{n}", f"h{n}", "promo_code" if n % 2 else "household", "USD", 1.0, 4000.0 + (n % 5) * 500)
            for n in range(converting)
        ]
    )


@pytest.mark.parametrize("households", [200, 2000])
def test_intervals_contain_the_point_estimate(households: int) -> None:
    frame = _campaign(households)
    found = figures(frame, households, set(frame["household"]), {"USD": 500_000})

    for figure in (
        found.conversions.total,
        found.conversions.deterministic,
        found.conversions.modeled,
        found.revenue["USD"].total,
        found.cpa["USD"].total,
        found.roas["USD"].total,
        found.conversion_rate.total,
        found.conversion_rate.modeled,
    ):
        assert figure.low is not None and figure.high is not None and figure.value is not None
        assert figure.low <= figure.value <= figure.high
        assert figure.low < figure.high


def test_intervals_narrow_as_households_grow() -> None:
    def width(households: int) -> float:
        frame = _campaign(households)
        rate = figures(frame, households, set(frame["household"]), {}).conversion_rate.total
        assert rate.value == pytest.approx(0.1)
        assert rate.low is not None and rate.high is not None
        return rate.high - rate.low

    small, large = width(300), width(30_000)
    # The standard error of a proportion shrinks with the square root of the sample: 10 times narrower here.
    assert large < small / 5


def test_the_same_seed_gives_the_same_interval() -> None:
    frame = _campaign(500)
    first = figures(frame, 500, set(frame["household"]), {}, seed=7).conversions.total
    again = figures(frame, 500, set(frame["household"]), {}, seed=7).conversions.total
    other = figures(frame, 500, set(frame["household"]), {}, seed=8).conversions.total
    assert first == again
    assert (first.low, first.high) != (other.low, other.high)


def test_every_resample_draws_as_many_households_as_were_seen() -> None:
    # Column 0 counts households: 30 that carry figures and 970 that are only reached.
    carried = np.column_stack([np.ones(30), np.arange(30, dtype=np.float64)])
    sample = Sample(carried, 970, np.array([1.0, 0.0]))
    draws = resampled_totals(sample, iterations=400, seed=1)

    assert draws.shape == (400, 2)
    assert (draws[:, 0] == 1000).all()
    # Each carried household is drawn 1000 x 1/1000 = once on average: the mean of column 1 is about its sum.
    assert draws[:, 1].mean() == pytest.approx(carried[:, 1].sum(), rel=0.05)


def test_percentile_interval_skips_undefined_draws() -> None:
    assert percentile_interval(np.array([np.nan, np.nan])) == (None, None)
    low, high = percentile_interval(np.array([1.0, 2.0, np.nan, np.inf]))
    assert low is not None and low >= 1.0
    assert high is None


def test_the_order_of_the_rows_does_not_change_the_interval() -> None:
    frame = _campaign(400)
    forward = figures(frame, 400, set(frame["household"]), {"USD": 9_000})
    backward = figures(frame.reverse(), 400, set(frame["household"]), {"USD": 9_000})
    assert forward == backward
