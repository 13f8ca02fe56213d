"""Each model's exact credits on small paths, and the model settings it refuses."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from podsponsor.attribution.credit import MODELS, InvalidModel, ModelSpec, credit
from tests.attribution.frames import conversion, exposure, run


def path(ages: list[float], ios: list[str] | None = None, conversion_id: str = "c1") -> pl.DataFrame:
    """A path in time order (oldest first): each touchpoint's age in days and its order."""
    n = len(ages)
    return pl.DataFrame(
        {
            "conversion_id": [conversion_id] * n,
            "io_id": ios or ["A"] * n,
            "position": list(range(n)),
            "n": [n] * n,
            "age_days": ages,
        },
        schema={
            "conversion_id": pl.Utf8,
            "io_id": pl.Utf8,
            "position": pl.UInt32,
            "n": pl.UInt32,
            "age_days": pl.Float64,
        },
    )


def credits(frame: pl.DataFrame, model: str, **settings: Any) -> list[float]:
    return credit(frame, ModelSpec.of(model, **settings))["credit"].to_list()


@pytest.mark.parametrize("model", MODELS)
def test_a_single_touchpoint_takes_everything(model: str) -> None:
    assert credits(path([4.0]), model) == [1.0]


FOUR = path([14.0, 7.0, 3.5, 0.0], ["A", "B", "A", "C"])


@pytest.mark.parametrize(
    ("model", "settings", "expected"),
    [
        ("first_touch", {}, [1, 0, 0, 0]),
        ("last_touch", {}, [0, 0, 0, 1]),
        ("linear", {}, [0.25, 0.25, 0.25, 0.25]),
        # 2^(-age/7): 1/4, 1/2, 2^(-1/2), 1
        ("time_decay", {}, [w / (0.25 + 0.5 + 2**-0.5 + 1) for w in (0.25, 0.5, 2**-0.5, 1)]),
        # 2^(-age/3.5): 1/16, 1/4, 1/2, 1
        ("time_decay", {"half_life_days": 3.5}, [1 / 29, 4 / 29, 8 / 29, 16 / 29]),
        ("position_based", {}, [0.4, 0.1, 0.1, 0.4]),
        ("custom", {"weights": {"by": "position", "weights": [3, 1]}}, [0.5, 1 / 6, 1 / 6, 1 / 6]),
        ("custom", {"weights": {"by": "position", "weights": [0, 0, 1, 3]}}, [0, 0, 0.25, 0.75]),
        ("custom", {"weights": {"by": "io", "weights": {"A": 2, "B": 1}}}, [0.4, 0.2, 0.4, 0]),
        ("custom", {"weights": {"by": "io", "weights": {"Z": 5}}}, [0.25, 0.25, 0.25, 0.25]),
        ("custom", {}, [0.25, 0.25, 0.25, 0.25]),
    ],
)
def test_credits_of_a_four_touch_path(model: str, settings: dict[str, Any], expected: list[float]) -> None:
    assert credits(FOUR, model, **settings) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("ages", "expected"), [([2.0, 1.0], [0.5, 0.5]), ([3.0, 2.0, 1.0], [0.4, 0.2, 0.4])])
def test_position_based_on_short_paths(ages: list[float], expected: list[float]) -> None:
    assert credits(path(ages), "position_based") == pytest.approx(expected)


def test_time_decay_weighs_long_paths_without_underflow() -> None:
    # With a one-hour half-life, a touchpoint 60 days old weighs 2^-1440 relative to today's: far below a float.
    found = credits(path([60.0, 59.0]), "time_decay", half_life_days=1 / 24)
    assert found == pytest.approx([2.0**-24 / (1 + 2.0**-24), 1 / (1 + 2.0**-24)])
    assert sum(found) == pytest.approx(1.0, abs=1e-12)


def test_each_conversion_is_normalised_on_its_own() -> None:
    frame = pl.concat([path([2.0, 1.0], conversion_id="c1"), path([5.0, 4.0, 3.0], conversion_id="c2")])
    found = credit(frame, ModelSpec.of("linear"))
    assert found.group_by("conversion_id").agg(pl.col("credit").sum()).sort("conversion_id")["credit"].to_list() == [
        pytest.approx(1.0),
        pytest.approx(1.0),
    ]
    assert found["credit"].to_list() == pytest.approx([0.5, 0.5, 1 / 3, 1 / 3, 1 / 3])


def test_credits_of_a_matched_path_end_to_end() -> None:
    """The engine's own touchpoints: a household path of two downloads 3 and 1 days old (half-life 7 days)."""
    found = run([conversion()], [exposure(3, episode_id="old"), exposure(1, episode_id="new")])
    decayed = credit(found.touchpoints, ModelSpec.of("time_decay"))
    by_episode = dict(zip(decayed["episode_id"], decayed["credit"], strict=True))
    assert by_episode["new"] / by_episode["old"] == pytest.approx(2 ** (2 / 7))
    assert sum(by_episode.values()) == pytest.approx(1.0)


def test_an_empty_path_frame_has_no_credits() -> None:
    assert credit(path([]), ModelSpec.of("time_decay")).is_empty()


@pytest.mark.parametrize(
    ("model", "half_life", "weights"),
    [
        ("last_click", None, None),
        ("time_decay", 0, None),
        ("time_decay", -2.0, None),
        ("time_decay", float("nan"), None),
        ("custom", None, {"by": "position", "weights": [1, -1]}),
        ("custom", None, {"by": "position", "weights": [1, "2"]}),
        ("custom", None, {"by": "position", "weights": [True]}),
        ("custom", None, {"by": "position", "weights": [float("inf")]}),
        ("custom", None, {"by": "position", "weights": []}),
        ("custom", None, {"by": "io", "weights": [1, 2]}),
        ("custom", None, {"by": "channel", "weights": {"A": 1}}),
        ("custom", None, {"weights": [1]}),
    ],
)
def test_invalid_model_settings_are_refused(
    model: str, half_life: float | None, weights: dict[str, Any] | None
) -> None:
    with pytest.raises(InvalidModel):
        ModelSpec.of(model, half_life, weights)
