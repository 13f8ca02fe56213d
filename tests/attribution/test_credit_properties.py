"""Properties of credit over random paths and models: one conversion's credits add up to 1 (within 1e-9), each lies
in [0, 1], and the single-touch models give everything to one touchpoint; and over random small worlds, every
matched conversion's path lies inside its lookback and its credits add up to 1 under every model."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from podsponsor.attribution.credit import MODELS, ModelSpec, credit
from podsponsor.attribution.engine import PROMO
from tests.attribution.frames import AT, OTHER_IO, PROMO_IO, run

TOLERANCE = 1e-9
IOS = ("A", "B", "C", "D")

weights = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
specs = st.one_of(
    st.sampled_from(MODELS).map(ModelSpec.of),
    st.floats(min_value=1e-3, max_value=365).map(lambda h: ModelSpec.of("time_decay", h)),
    st.lists(weights, min_size=1, max_size=8).map(
        lambda w: ModelSpec.of("custom", None, {"by": "position", "weights": w})
    ),
    st.dictionaries(st.sampled_from(IOS), weights, min_size=1).map(
        lambda w: ModelSpec.of("custom", None, {"by": "io", "weights": w})
    ),
)


@st.composite
def paths(draw: st.DrawFn) -> pl.DataFrame:
    rows: list[dict[str, Any]] = []
    for number in range(draw(st.integers(min_value=1, max_value=6))):
        ages = sorted(draw(st.lists(st.floats(min_value=0, max_value=60), min_size=1, max_size=25)), reverse=True)
        ios = draw(st.lists(st.sampled_from(IOS), min_size=len(ages), max_size=len(ages)))
        rows += [
            {"conversion_id": f"c{number}", "io_id": io, "position": p, "n": len(ages), "age_days": age}
            for p, (age, io) in enumerate(zip(ages, ios, strict=True))
        ]
    return pl.DataFrame(
        rows,
        schema={
            "conversion_id": pl.Utf8,
            "io_id": pl.Utf8,
            "position": pl.UInt32,
            "n": pl.UInt32,
            "age_days": pl.Float64,
        },
    )


def _sums(credited: pl.DataFrame) -> list[float]:
    return credited.group_by("conversion_id").agg(pl.col("credit").sum())["credit"].to_list()


@settings(max_examples=300, deadline=None)
@given(paths(), specs)
def test_credits_of_one_conversion_add_up_to_one(frame: pl.DataFrame, spec: ModelSpec) -> None:
    credited = credit(frame, spec)

    assert credited.height == frame.height
    assert all(abs(total - 1.0) <= TOLERANCE for total in _sums(credited))
    assert credited["credit"].min() >= 0  # type: ignore[operator]
    assert credited["credit"].max() <= 1  # type: ignore[operator]


@settings(max_examples=100, deadline=None)
@given(paths(), st.sampled_from(("first_touch", "last_touch")))
def test_single_touch_models_give_everything_to_one_touchpoint(frame: pl.DataFrame, model: str) -> None:
    credited = credit(frame, ModelSpec.of(model))
    winners = credited.filter(pl.col("credit") == 1.0)

    assert winners.height == credited["conversion_id"].n_unique()
    expected = pl.col("position") == (0 if model == "first_touch" else pl.col("n") - 1)
    assert winners.select(expected.all()).item()


@settings(max_examples=100, deadline=None)
@given(paths())
def test_linear_is_equal_and_time_decay_favours_the_recent(frame: pl.DataFrame) -> None:
    linear = credit(frame, ModelSpec.of("linear"))
    assert all(abs(c - 1 / n) <= TOLERANCE for c, n in zip(linear["credit"], linear["n"], strict=True))
    decayed = credit(frame, ModelSpec.of("time_decay")).sort("conversion_id", "position")
    for _, one in decayed.group_by("conversion_id"):
        shares = one["credit"].to_list()
        assert all(later >= earlier - TOLERANCE for earlier, later in pairwise(shares))


households = st.sampled_from(("h1", "h2", "h3"))
families = st.sampled_from(("iOS", "Android", "other", None))


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], int]:
    moment = st.floats(min_value=-5, max_value=70).map(lambda days: AT - timedelta(days=days))
    conversions = [
        {
            "conversion_id": f"c{n}",
            "occurred_at": AT + timedelta(days=draw(st.floats(min_value=0, max_value=10))),
            "value_cents": 1000,
            "currency": "USD",
            "promo_codes": draw(st.lists(st.sampled_from(("SLEEP20", "sleep20", "OTHER")), max_size=2)),
            "ip_hash": draw(st.one_of(st.none(), households)),
            "ua_family": draw(families),
        }
        for n in range(draw(st.integers(min_value=1, max_value=8)))
    ]
    exposures = [
        {
            "io_id": draw(st.sampled_from((PROMO_IO, OTHER_IO))),
            "episode_id": draw(st.sampled_from(("e1", "e2"))),
            "at": draw(moment),
            "household": draw(households),
            "ua_digest": draw(st.sampled_from([f"ua{i}" for i in range(14)])),
            "ua_family": draw(families),
        }
        for _ in range(draw(st.integers(min_value=0, max_value=40)))
    ]
    clicks = [
        {"io_id": draw(st.sampled_from((PROMO_IO, OTHER_IO))), "at": draw(moment), "household": draw(households)}
        for _ in range(draw(st.integers(min_value=0, max_value=4)))
    ]
    return conversions, exposures, clicks, draw(st.integers(min_value=1, max_value=60))


@settings(max_examples=150, deadline=None)
@given(worlds(), specs)
def test_every_matched_conversion_is_fully_credited_within_its_lookback(
    world: tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], int], spec: ModelSpec
) -> None:
    conversions, exposures, clicks, lookback = world
    found = run(conversions, exposures, clicks, lookback_days=lookback)
    touchpoints = found.touchpoints

    assert touchpoints.group_by("conversion_id").agg(pl.col("match_type").n_unique())["match_type"].max() in (1, None)
    assert touchpoints["conversion_id"].n_unique() == sum(found.stats.matched.values())
    touched = touchpoints.filter(pl.col("kind") != PROMO)
    assert touched.filter((pl.col("age_days") <= 0) | (pl.col("age_days") > lookback)).is_empty()
    assert all(abs(total - 1.0) <= TOLERANCE for total in _sums(credit(touchpoints, spec)))
