"""A stored match as the pages show it: each signal's value, its weight's share of the score and the points it put
in, what it was computed from in words, the missing signals with the reason; and a match's signals as a bar chart.

Everything is read from the match's stored `signals`, so a page explains the score as it was computed, even after
the workspace's weights have changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from markupsafe import Markup

from podsponsor.matching.rationale import describe
from podsponsor.matching.service import RankedMatch
from podsponsor.matching.settings import SIGNAL_NAMES, SIGNALS
from podsponsor.web.charts import Series, bar_chart

CHART_LABELS: Final = {
    "geo": "Geo",
    "demographic": "Demographic",
    "topic": "Topic",
    "lift": "Lift",
    "inventory": "Inventory",
    "brand_safety": "Brand safety",
}
DIMENSION_NAMES: Final = {"age_bands": "Age", "gender": "Gender"}


@dataclass(frozen=True)
class SignalRow:
    """One signal of one match. A missing signal has no value, weight or points, only the reason; one whose weight
    was 0 when the match was computed was not scored at all (`unused`)."""

    name: str
    label: str
    value: float | None = None  # 0-1
    weight: float | None = None
    share: float | None = None  # of the weights of the present signals: how much of the score it decides
    points: float | None = None  # share x value x 100: its part of the score before any conflict cap
    summary: str = ""
    details: tuple[str, ...] = ()
    missing: str | None = None
    unused: bool = False


@dataclass(frozen=True)
class MatchView:
    match: RankedMatch
    signals: list[SignalRow]

    @property
    def missing(self) -> list[SignalRow]:
        return [row for row in self.signals if row.missing is not None]


def _percent(share: float) -> str:
    return f"{round(100 * share)} %"


def _count(value: Any) -> str:
    return f"{int(value):,}" if isinstance(value, int | float) else "?"


def details(name: str, inputs: dict[str, Any]) -> tuple[str, ...]:
    """What a signal was computed from, beyond its one-line summary."""
    if name == "geo":
        top = ", ".join(f"{country} {_percent(share)}" for country, share in inputs.get("top_countries") or [])
        return (
            f"{_count(inputs.get('located_downloads'))} downloads with a known country in the last "
            f"{inputs.get('days', 90)} days",
            f"Top countries: {top}" if top else "No country measured",
        )
    if name == "demographic":
        # In a fixed order: stored inputs come back with their keys in the database's order.
        lines = [
            f"{label} {', '.join(found['target'])}: {_percent(found['share'])} of the audience"
            for label, found in ((label, inputs.get(dimension)) for dimension, label in DIMENSION_NAMES.items())
            if isinstance(found, dict)
        ]
        source = inputs.get("source") or "audience profile"
        sample = inputs.get("sample_size")
        lines.append(f"From the {source}" + (f" ({_count(sample)} answers)" if sample else ""))
        return tuple(lines)
    if name == "lift":
        who = "this advertiser" if inputs.get("level") == "advertiser" else "advertisers of its industry"
        return (
            f"{inputs['conversions']:,} attributed conversions over {_count(inputs.get('impressions'))} impressions "
            f"by {who}: {inputs['rate_per_1000']} per 1,000",
            f"Elsewhere: {inputs['baseline_per_1000']} per 1,000",
        )
    if name == "inventory":
        flight = inputs.get("flight") or ["?", "?"]
        positions = ", ".join(inputs.get("positions") or []) or "any position"
        return (f"Flight {flight[0]} to {flight[1]}, {positions}",)
    if name == "brand_safety":
        categories = ", ".join(inputs.get("sensitive_categories") or [])
        lines = [f"{str(inputs.get('tolerance', 'moderate')).capitalize()} tolerance"]
        if inputs.get("explicit"):
            lines.append("The show is flagged explicit")
        if categories:
            lines.append(f"Sensitive categories: {categories}")
        return tuple(lines)
    return ()


def _described(name: str, inputs: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    # Matches keep the inputs they were computed from; one stored by an older version may lack a field.
    try:
        return describe(name, inputs), details(name, inputs)
    except (KeyError, TypeError, ValueError, IndexError):
        return "", ()


def signal_rows(stored: dict[str, Any]) -> list[SignalRow]:
    """Every signal in the settings' order, from a match's stored `signals`."""
    present = {
        name: found
        for name, found in stored.items()
        if name in SIGNAL_NAMES and isinstance(found, dict) and found.get("value") is not None
    }
    total = sum(float(found.get("weight") or 0) for found in present.values())
    rows = []
    for name in SIGNALS:
        label = SIGNAL_NAMES[name].capitalize()
        found = stored.get(name)
        if not isinstance(found, dict):
            rows.append(SignalRow(name, label, unused=True))
        elif name not in present:
            rows.append(SignalRow(name, label, missing=str(found.get("missing") or "no data")))
        else:
            value, weight = float(found["value"]), float(found.get("weight") or 0)
            share = weight / total if total > 0 else 0.0
            summary, lines = _described(name, found.get("inputs") or {})
            rows.append(SignalRow(name, label, value, weight, share, 100 * share * value, summary, lines))
    return rows


def views(matches: list[RankedMatch]) -> list[MatchView]:
    return [MatchView(match, signal_rows(match.signals)) for match in matches]


def signal_chart(view: MatchView, title: str) -> Markup:
    """A match's signals side by side: each one's value, and the points it put in the score."""
    rows = [row for row in view.signals if not row.unused]
    return bar_chart(
        [
            Series("Value (%)", [(CHART_LABELS[r.name], None if r.value is None else 100 * r.value) for r in rows]),
            Series("Points of the score", [(CHART_LABELS[r.name], r.points) for r in rows]),
        ],
        title=title,
        x_label="Signal",
        y_label="0 to 100",
        empty_text="No signal had data",
        chart_id="top-match-signals",
    )
