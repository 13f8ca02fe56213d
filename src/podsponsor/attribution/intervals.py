"""Confidence intervals by bootstrap over households.

The sampling unit is the household: its conversions are not independent of one another (one household converts
again, or its members do), so resampling conversions would understate the uncertainty. Each iteration draws as many
households as were observed, with replacement, and recomputes every figure from the draw; the 95 % interval is the
2.5th and 97.5th percentile of those figures. The generator is seeded, so the same data gives the same interval.

Most households reached never convert, and they all carry the same figures (reached, nothing else), so they are one
category of the draw rather than one each: the multinomial draw over (each converting household, the others)
resamples exactly the same way at a cost that grows with the converting households only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

ITERATIONS: Final = 1000
SEED: Final = 20_261_122
CONFIDENCE: Final = 0.95
# Iterations drawn at once: bounds the memory of one draw to CHUNK x units counts.
_CELLS_PER_CHUNK: Final = 4_000_000

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Estimate:
    value: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Sample:
    """`units`: one row of figures per household that carries any (k by f); `rest`: how many further households
    carry the figures `rest_values` (f) each."""

    units: Floats
    rest: int
    rest_values: Floats

    @property
    def size(self) -> int:
        return int(self.units.shape[0]) + self.rest

    def totals(self) -> Floats:
        total: Floats = self.units.sum(axis=0) + self.rest * self.rest_values
        return total


def resampled_totals(sample: Sample, iterations: int = ITERATIONS, seed: int = SEED) -> Floats:
    """The column totals of `iterations` resamples of the households (iterations by f)."""
    size, width = sample.size, sample.units.shape[1]
    if size == 0:
        return np.zeros((iterations, width))
    rng = np.random.default_rng(seed)
    k = sample.units.shape[0]
    probabilities = np.full(k + 1, 1.0 / size)
    probabilities[k] = sample.rest / size
    figures = np.vstack([sample.units, sample.rest_values[np.newaxis, :]])
    chunk = max(1, _CELLS_PER_CHUNK // (k + 1))
    parts = []
    for start in range(0, iterations, chunk):
        draws = rng.multinomial(size, probabilities, size=min(chunk, iterations - start))
        parts.append(draws.astype(np.float64) @ figures)
    totals: Floats = np.vstack(parts)
    return totals


def percentile_interval(values: Floats, confidence: float = CONFIDENCE) -> tuple[float | None, float | None]:
    """The percentile interval of resampled figures; undefined draws (NaN, e.g. a ratio over nothing) are left out,
    and an unbounded end (a cost per conversion over a draw without conversions) is None."""
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return None, None
    tail = (1 - confidence) / 2 * 100
    with np.errstate(invalid="ignore"):  # interpolating next to an infinite draw
        low, high = np.percentile(finite, [tail, 100 - tail])
    return _finite(float(low)), _finite(float(high))


def _finite(value: float) -> float | None:
    return value if np.isfinite(value) else None


Figure = Callable[[Floats], Floats]


def estimate(point_totals: Floats, draws: Floats, figure: Figure, confidence: float = CONFIDENCE) -> Estimate:
    """A figure computed from column totals (a sum, or a ratio of sums), at the observed totals and as an interval
    over the resampled ones."""
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(figure(point_totals[np.newaxis, :])[0])
        low, high = percentile_interval(figure(draws), confidence)
    return Estimate(_finite(value) if not np.isnan(value) else None, low, high)
