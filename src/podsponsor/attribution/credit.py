"""Attribution models: how one conversion's credit is spread over the touchpoints of its path.

Every model gives each touchpoint a non-negative weight and the weights of one conversion are divided by their sum,
so a conversion's credits always add up to 1 (a path whose weights are all zero is credited equally). Vectorised:
the touchpoints of every path are one frame with `conversion_id`, `position` (0-based, time order), `n` (the path's
length), `age_days` (conversion time - touchpoint time) and `io_id`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import polars as pl

from podsponsor.errors import ValidationFailed

MODELS: Final = ("first_touch", "last_touch", "linear", "time_decay", "position_based", "custom")
DEFAULT_MODEL: Final = "linear"
DEFAULT_HALF_LIFE_DAYS: Final = 7.0
# position_based: the first and the last touchpoint take 40 % each, the ones between share 20 %.
ENDS_SHARE: Final = 0.4


class InvalidModel(ValidationFailed):
    type = "invalid-attribution-model"
    title = "The attribution model's settings are not valid"


@dataclass(frozen=True)
class ModelSpec:
    model: str
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS
    # custom only: by "position" (a list; positions past its end take its last weight) or by "io" (io id → weight;
    # an order it does not name weighs 0).
    by: str | None = None
    position_weights: tuple[float, ...] = ()
    io_weights: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, model: str, half_life_days: float | None = None, weights: Mapping[str, Any] | None = None) -> ModelSpec:
        """A model as stored (`attribution_models`), checked."""
        if model not in MODELS:
            raise InvalidModel(f"unknown model {model!r}; one of {', '.join(MODELS)}", model=model)
        half_life = DEFAULT_HALF_LIFE_DAYS if half_life_days is None else float(half_life_days)
        if not (math.isfinite(half_life) and half_life > 0):
            raise InvalidModel("the half-life must be a positive number of days", model=model)
        if model != "custom" or not weights:
            return cls(model, half_life)
        by, given = weights.get("by"), weights.get("weights")
        if by == "position" and isinstance(given, list) and given:
            return cls(model, half_life, "position", tuple(_weight(w, model) for w in given))
        if by == "io" and isinstance(given, dict) and given:
            return cls(model, half_life, "io", io_weights={str(io): _weight(w, model) for io, w in given.items()})
        raise InvalidModel(
            'custom weights are {"by": "position", "weights": [..]} or {"by": "io", "weights": {io_id: w}}',
            model=model,
        )


def _weight(value: object, model: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InvalidModel(f"a weight must be a non-negative number, not {value!r}", model=model)
    return float(value)


def weight(spec: ModelSpec) -> pl.Expr:
    """Each touchpoint's raw weight under `spec`, before normalising per conversion."""
    position, n = pl.col("position").cast(pl.Int64), pl.col("n").cast(pl.Int64)
    match spec.model:
        case "first_touch":
            return (position == 0).cast(pl.Float64)
        case "last_touch":
            return (position == n - 1).cast(pl.Float64)
        case "time_decay":
            # 2^(-Δt / half-life), taken relative to the path's newest touchpoint so that no weight underflows.
            newest = pl.col("age_days").min().over("conversion_id")
            return pl.lit(2.0).pow(-(pl.col("age_days") - newest) / spec.half_life_days)
        case "position_based":
            middle = (1 - 2 * ENDS_SHARE) / (n - 2).cast(pl.Float64)
            ends = (position == 0) | (position == n - 1)
            return pl.when(n <= 2).then(1.0).when(ends).then(ENDS_SHARE).otherwise(middle)
        case "custom" if spec.by == "position":
            last = len(spec.position_weights) - 1
            table = dict(enumerate(spec.position_weights))
            return position.clip(0, last).replace_strict(table, return_dtype=pl.Float64)
        case "custom" if spec.by == "io":
            return pl.col("io_id").replace_strict(dict(spec.io_weights), default=0.0, return_dtype=pl.Float64)
        case _:  # linear, and custom without weights
            return pl.lit(1.0)


def credit(touchpoints: pl.DataFrame, spec: ModelSpec) -> pl.DataFrame:
    """`touchpoints` with a `credit` column: each one's share of its conversion under `spec`."""
    if touchpoints.is_empty():
        return touchpoints.with_columns(pl.lit(None, pl.Float64).alias("credit"))
    raw = touchpoints.with_columns(weight(spec).alias("_weight"))
    total = pl.col("_weight").sum().over("conversion_id")
    share = (
        pl.when(total > 0).then(pl.col("_weight") / total).otherwise(1.0 / pl.col("n").cast(pl.Float64)).clip(0.0, 1.0)
    )
    return raw.with_columns(share.alias("credit")).drop("_weight")
