"""Scoring every pair in scope, block by block, so memory stays bounded as a workspace grows: a block of advertisers
is scored against every show at once (numpy), then only the matches worth keeping are explained and returned.

A whole-workspace recalculation keeps each advertiser's best `keep` shows and each show's best `keep` advertisers
(the lists anyone pages through); smaller scopes, and workspaces where that is everything, keep every pair. When not
every pair is kept, a first pass finds the kept ones and a second explains them, so no block is held in memory
longer than it takes to score it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from podsponsor.matching import safety, topics
from podsponsor.matching.inputs import GEO_DAYS, MIN_LOCATED_DOWNLOADS, POSITIONS, ExclusiveOrder, Inputs
from podsponsor.matching.rationale import rationale
from podsponsor.matching.settings import SIGNALS, MatchSettings
from podsponsor.matching.signals import DIMENSIONS, Block, Signal, _shares, _targets, combine

BLOCK_ADVERTISERS: Final = 200
SHARED_TERMS: Final = 3  # terms named as shared, as TopicModel.shared_terms names them

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class ScoredPair:
    sponsor_id: Any
    podcast_id: Any
    score: float
    signals: dict[str, dict[str, Any]]
    missing: dict[str, str]
    conflict: str | None
    rationale: str


def topic_model(inputs: Inputs) -> topics.TopicModel:
    return topics.build([a.terms for a in inputs.advertisers], [s.text for s in inputs.shows], inputs.corpus or None)


def score_all(
    inputs: Inputs, settings: MatchSettings, *, keep: int | None = None, progress: Progress | None = None
) -> list[ScoredPair]:
    """Every kept pair of `inputs`, explained. `keep=None` keeps all; `progress` hears the pairs scored so far."""
    if not inputs.advertisers or not inputs.shows:
        return []
    block = Block(inputs, settings, topic_model(inputs))
    count_a, count_s = len(inputs.advertisers), len(inputs.shows)
    selected: npt.NDArray[np.bool_] | None = None
    if keep is not None and (count_a > keep or count_s > keep):
        selected = _select(block, keep, progress)
    kept: list[ScoredPair] = []
    memo = _Memo(block)
    for start in range(0, count_a, BLOCK_ADVERTISERS):
        rows = slice(start, min(start + BLOCK_ADVERTISERS, count_a))
        wanted = None if selected is None else selected[rows]
        if wanted is not None and not wanted.any():
            continue
        signals = block.signals(rows)
        scores, conflicts = _scores(block, rows, signals)
        explainer = _Explainer(block, memo, rows, signals, scores, conflicts)
        kept.extend(explainer.pairs(np.ones_like(scores, dtype=np.bool_) if wanted is None else wanted))
        if selected is None and progress:
            progress(rows.stop * count_s)
    return kept


def _scores(block: Block, rows: slice, signals: dict[str, Signal]) -> tuple[npt.NDArray[np.float32], Any]:
    scores = combine(signals, block.settings.weights)
    conflicts = block.conflicts(rows)
    capped = np.where(conflicts, np.minimum(scores, block.settings.conflict_cap), scores).astype(np.float32)
    return np.round(capped, 2), conflicts


def _select(block: Block, keep: int, progress: Progress | None) -> npt.NDArray[np.bool_]:
    """Pass one: which pairs are among an advertiser's best `keep` shows or a show's best `keep` advertisers."""
    count_a, count_s = len(block.inputs.advertisers), len(block.inputs.shows)
    selected = np.zeros((count_a, count_s), dtype=np.bool_)
    # Each show's best advertisers so far: scores and advertiser rows, merged block by block.
    best_scores = np.full((count_s, 0), -1.0, dtype=np.float32)
    best_rows = np.zeros((count_s, 0), dtype=np.int64)
    for start in range(0, count_a, BLOCK_ADVERTISERS):
        rows = slice(start, min(start + BLOCK_ADVERTISERS, count_a))
        scores, _ = _scores(block, rows, block.signals(rows))
        if count_s > keep:
            top = np.argpartition(-scores, keep - 1, axis=1)[:, :keep]
            np.put_along_axis(selected[rows], top, True, axis=1)
        else:
            selected[rows] = True
        merged_scores = np.concatenate([best_scores, scores.T], axis=1)
        merged_rows = np.concatenate([best_rows, np.broadcast_to(np.arange(rows.start, rows.stop), scores.T.shape)], 1)
        if merged_scores.shape[1] > keep:
            top = np.argpartition(-merged_scores, keep - 1, axis=1)[:, :keep]
            merged_scores = np.take_along_axis(merged_scores, top, axis=1)
            merged_rows = np.take_along_axis(merged_rows, top, axis=1)
        best_scores, best_rows = merged_scores, merged_rows
        if progress:
            progress(rows.stop * count_s)
    shows = np.broadcast_to(np.arange(count_s)[:, None], best_rows.shape)
    selected[best_rows.ravel(), shows.ravel()] = True
    return selected


class _Memo:
    """What the explanations of many pairs share, worked out once per show or advertiser and then reused (the same
    objects, so that a million explained pairs do not carry a million copies of a show's top countries)."""

    def __init__(self, block: Block) -> None:
        self.block = block
        self._top_countries: dict[int, list[list[Any]]] = {}
        self._shares: dict[tuple[int, str], dict[str, float]] = {}
        self._targets: dict[tuple[int, str], list[str]] = {}
        self._target_geo: dict[int, list[str]] = {}
        self._safety: dict[tuple[str, int], dict[str, Any]] = {}
        self._geo_missing: dict[int, str] = {}
        self.has_terms = block.topics.has_terms()
        self._terms: dict[int, tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]] = {}
        self._flights: dict[int, tuple[list[str], list[str], int]] = {}
        self._reasons: dict[tuple[str, int], str] = {}
        self.exclusive_on: dict[Any, list[ExclusiveOrder]] = defaultdict(list)
        for order in block.inputs.exclusive:
            self.exclusive_on[order.podcast_id].append(order)

    def top_countries(self, show: int) -> list[list[Any]]:
        if show not in self._top_countries:
            located = int(self.block.located[show])
            top = self.block.inputs.shows[show].located.most_common(3)
            self._top_countries[show] = [[country, round(n / located, 4)] for country, n in top]
        return self._top_countries[show]

    def shares(self, show: int, dimension: str) -> dict[str, float]:
        if (show, dimension) not in self._shares:
            self._shares[show, dimension] = _shares(self.block.inputs.shows[show].audience.get(dimension))
        return self._shares[show, dimension]

    def targets(self, advertiser: int, dimension: str) -> list[str]:
        if (advertiser, dimension) not in self._targets:
            self._targets[advertiser, dimension] = _targets(
                self.block.inputs.advertisers[advertiser].target_demo.get(dimension)
            )
        return self._targets[advertiser, dimension]

    def target_geo(self, advertiser: int) -> list[str]:
        if advertiser not in self._target_geo:
            self._target_geo[advertiser] = list(self.block.inputs.advertisers[advertiser].target_geo)
        return self._target_geo[advertiser]

    def brand_safety(self, tolerance: str, show: int) -> dict[str, Any]:
        found = self._safety.get((tolerance, show))
        if found is None:
            podcast = self.block.inputs.shows[show]
            words = [word for word, _ in podcast.sensitive.most_common(3)]
            found = self._safety[tolerance, show] = {
                "tolerance": tolerance,
                "explicit": podcast.explicit,
                "sensitive_per_1000": round(float(self.block.sensitive_per_1000[show]), 2),
                "sensitive_terms": words,
                "sensitive_categories": sorted({safety.LEXICON[word] for word in words}),
            }
        return found

    def shared_terms(self, advertiser: int, show: int) -> list[str]:
        """`TopicModel.shared_terms`, over the advertiser's own terms only: the rest of the vocabulary carries nothing,
        so the top terms are the same, without sorting a vocabulary of thousands for every pair."""
        model = self.block.topics
        if advertiser not in self._terms:
            columns = np.flatnonzero(model.query[advertiser])
            self._terms[advertiser] = (columns, model.query[advertiser, columns])
        columns, weights = self._terms[advertiser]
        covered = model.coverage[show, columns]
        carried, coverage = (weights * covered).tolist(), covered.tolist()
        # Python's sort is stable, as the model's argsort is, and on a handful of terms the quicker of the two.
        order = sorted(range(len(carried)), key=carried.__getitem__, reverse=True)[:SHARED_TERMS]
        return [
            model.vocabulary[columns[i]] for i in order if carried[i] > 0 and coverage[i] >= topics.SHARED_TERM_FLOOR
        ]

    def flight(self, advertiser: int) -> tuple[list[str], list[str], int]:
        """The advertiser's flight (first and last day), positions and slots needed, as its inventory inputs say."""
        if advertiser not in self._flights:
            buyer = self.block.inputs.advertisers[advertiser]
            flight = self.block.flight_of(buyer)
            assert flight is not None
            assert buyer.brief is not None
            self._flights[advertiser] = (
                [str(buyer.brief.flight_start), str(buyer.brief.flight_end)],
                [POSITIONS[p] for p in flight[2]],
                flight[3],
            )
        return self._flights[advertiser]

    def reason(self, name: str, advertiser: int) -> str:
        """Why a signal is missing, where that depends on the advertiser alone."""
        if (name, advertiser) not in self._reasons:
            self._reasons[name, advertiser] = self._advertiser_reason(name, advertiser)
        return self._reasons[name, advertiser]

    def _advertiser_reason(self, name: str, index: int) -> str:
        advertiser = self.block.inputs.advertisers[index]
        if name == "demographic":
            if not any(self.targets(index, d) for d in DIMENSIONS):
                return "the advertiser has no target age bands or genders"
            return "the show has no audience profile for the targeted dimensions"
        if name == "topic":
            if not self.has_terms[index]:
                return "the advertiser has no industry, topics or keywords"
            return "the show has no categories, titles or descriptions"
        if name == "lift":
            return "no attributed results for this advertiser or its industry on this show to compare"
        brief = advertiser.brief
        if brief is None or not (brief.flight_start and brief.flight_end and brief.slots_needed):
            return "the advertiser's brief gives no flight and slots needed"
        return "the brief's flight is over or beyond the inventory horizon"

    def geo_missing(self, show: int) -> str:
        if show not in self._geo_missing:
            self._geo_missing[show] = (
                f"only {int(self.block.located[show])} downloads with a known country in the last {GEO_DAYS} days "
                f"(needs {MIN_LOCATED_DOWNLOADS})"
            )
        return self._geo_missing[show]


class _Explainer:
    """Turns one block's arrays into stored matches: each present signal's value, weight and inputs, the missing
    signals with the reason, the conflict and the rationale."""

    def __init__(
        self,
        block: Block,
        memo: _Memo,
        rows: slice,
        signals: dict[str, Signal],
        scores: npt.NDArray[np.float32],
        conflicts: Any,
    ) -> None:
        self.block, self.memo, self.rows, self.signals = block, memo, rows, signals
        self.scores, self.conflicts = scores, conflicts
        self._open: dict[int, Any] = {}

    def pairs(self, wanted: npt.NDArray[np.bool_]) -> list[ScoredPair]:
        """The wanted pairs of the block (advertiser by advertiser, shows in order), explained. Their values are read
        out of the arrays in one go per signal: element by element, numpy's per-item cost would dominate."""
        block = self.block
        rows, shows = np.nonzero(wanted)
        weighted = [(name, weight) for name in SIGNALS if (weight := block.settings.weights.get(name, 0.0)) > 0]
        values = {name: self.signals[name].value[rows, shows].tolist() for name, _ in weighted}
        present = {name: self.signals[name].present[rows, shows].tolist() for name, _ in weighted}
        scores = self.scores[rows, shows].tolist()
        conflicted = np.asarray(self.conflicts[rows, shows]).tolist()
        explained = []
        for at, (row, show) in enumerate(zip(rows.tolist(), shows.tolist(), strict=True)):
            found: dict[str, dict[str, Any]] = {}
            missing: dict[str, str] = {}
            for name, weight in weighted:
                if present[name][at]:
                    value = round(values[name][at], 4)
                    found[name] = {"value": value, "weight": weight, "inputs": self._inputs(name, row, show, value)}
                else:
                    missing[name] = self._reason(name, row, show)
            conflict = self._conflict(row, show) if conflicted[at] else None
            score = scores[at]
            explained.append(
                ScoredPair(
                    block.inputs.advertisers[self.rows.start + row].id,
                    block.inputs.shows[show].id,
                    score,
                    found,
                    missing,
                    conflict,
                    rationale(score, found, missing, conflict),
                )
            )
        return explained

    def _inputs(self, name: str, row: int, show: int, value: float) -> dict[str, Any]:
        block, memo, index = self.block, self.memo, self.rows.start + row
        advertiser = block.inputs.advertisers[index]
        if name == "geo":
            return {
                "target": memo.target_geo(index),
                "share_in_target": value,
                "located_downloads": int(block.located[show]),
                "top_countries": memo.top_countries(show),
                "days": GEO_DAYS,
            }
        if name == "demographic":
            audience = block.inputs.shows[show].audience
            found: dict[str, Any] = {}
            for dimension in DIMENSIONS:
                shares, targets = memo.shares(show, dimension), memo.targets(index, dimension)
                if shares and targets:
                    found[dimension] = {"target": targets, "share": round(sum(shares.get(t, 0) for t in targets), 4)}
            return {
                "share_in_target": value,
                **found,
                "source": audience.get("source"),
                "sample_size": audience.get("sample_size"),
            }
        if name == "topic":
            return {"shared_terms": memo.shared_terms(index, show)}
        if name == "lift":
            lift = block.lift_of(advertiser, show)
            return dict(lift[1]) if lift else {}
        if name == "inventory":
            flight, positions, needed = memo.flight(index)
            if row not in self._open:
                self._open[row] = block.open_slots(advertiser)
            return {
                "flight": flight,
                "positions": positions,
                "open_slots": int(self._open[row][show]),
                "needed": needed,
            }
        return memo.brand_safety(advertiser.tolerance, show)

    def _reason(self, name: str, row: int, show: int) -> str:
        index = self.rows.start + row
        if name == "geo":
            if not self.block.inputs.advertisers[index].target_geo:
                return "the advertiser has no target countries"
            return self.memo.geo_missing(show)
        return self.memo.reason(name, index)

    def _conflict(self, row: int, show: int) -> str:
        block = self.block
        advertiser = block.inputs.advertisers[self.rows.start + row]
        podcast = block.inputs.shows[show]
        blocked = advertiser.brief.blocked_categories if advertiser.brief else frozenset()
        categories = [c for c in podcast.categories if c.lower() in blocked]
        if categories:
            return f"blocked category {', '.join(categories)}"
        for order in self.memo.exclusive_on.get(podcast.id, ()):
            if block.competes(advertiser, order):
                return (
                    f"{order.sponsor_name} ({order.industry}) holds competitive exclusivity "
                    f"{order.flight_start} to {order.flight_end}"
                )
        return "hard conflict"
