"""The six signals for a block of advertisers against every show, as arrays: `value[a, s]` in 0-1 and
`present[a, s]`, which is False where an input is missing (the signal is then dropped from that pair's score and the
remaining weights renormalised, never filled with a made-up default).

Every function here is arithmetic over what `inputs` gathered; `matching.engine` runs them block by block.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from podsponsor.matching import safety
from podsponsor.matching.inputs import MIN_LOCATED_DOWNLOADS, POSITIONS, Advertiser, ExclusiveOrder, Inputs, Show
from podsponsor.matching.settings import SIGNALS, MatchSettings
from podsponsor.matching.topics import TopicModel

Floats = npt.NDArray[np.float32]
Bools = npt.NDArray[np.bool_]
DIMENSIONS: Final = ("age_bands", "gender")


@dataclass
class Signal:
    value: Floats
    present: Bools


def _shares(profile: object) -> dict[str, float]:
    """A profile dimension as {key: share}, from shares or counts; anything else is no data."""
    if not isinstance(profile, dict):
        return {}
    numbers = {
        str(k): float(v)
        for k, v in profile.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
    }
    total = sum(numbers.values())
    return {k: v / total for k, v in numbers.items()} if total > 0 else {}


def _targets(target: object) -> list[str]:
    if isinstance(target, list):
        return [str(item) for item in target if isinstance(item, str) and item]
    return []


class Block:
    """Static, per-recalculation arrays that every block of advertisers is scored against."""

    def __init__(self, inputs: Inputs, settings: MatchSettings, topics: TopicModel) -> None:
        self.inputs = inputs
        self.settings = settings
        self.topics = topics
        shows, advertisers = inputs.shows, inputs.advertisers
        self._geo(shows, advertisers)
        self._demography(shows, advertisers)
        self._safety(shows)
        self._categories(shows, advertisers)
        self.show_has_text = np.array([bool(s.text.total or s.text.categories) for s in shows], dtype=np.bool_)
        self._industries(advertisers)
        self._lift_tables()
        self._lift_arrays()
        self._exclusive_orders(advertisers)

    # Static tables ------------------------------------------------------------------------------------------------

    def _geo(self, shows: list[Show], advertisers: list[Advertiser]) -> None:
        countries = sorted({c for s in shows for c in s.located} | {c for a in advertisers for c in a.target_geo})
        column = {c: i for i, c in enumerate(countries)}
        self.located = np.array([sum(s.located.values()) for s in shows], dtype=np.int64)
        self.country_share = np.zeros((len(shows), len(countries)), dtype=np.float32)
        for row, show in enumerate(shows):
            if self.located[row]:
                for country, n in show.located.items():
                    self.country_share[row, column[country]] = n / self.located[row]
        self.country_target = np.zeros((len(advertisers), len(countries)), dtype=np.float32)
        for row, advertiser in enumerate(advertisers):
            for country in advertiser.target_geo:
                self.country_target[row, column[country]] = 1.0

    def _demography(self, shows: list[Show], advertisers: list[Advertiser]) -> None:
        self.dimensions: dict[str, tuple[Floats, Floats, Bools, Bools]] = {}
        for dimension in DIMENSIONS:
            profiles = [_shares(s.audience.get(dimension)) for s in shows]
            targets = [_targets(a.target_demo.get(dimension)) for a in advertisers]
            keys = sorted({k for p in profiles for k in p} | {k for t in targets for k in t})
            column = {k: i for i, k in enumerate(keys)}
            share = np.zeros((len(shows), len(keys)), dtype=np.float32)
            for row, profile in enumerate(profiles):
                for key, value in profile.items():
                    share[row, column[key]] = value
            wanted = np.zeros((len(advertisers), len(keys)), dtype=np.float32)
            for row, target in enumerate(targets):
                for key in target:
                    wanted[row, column[key]] = 1.0
            has_profile = np.array([bool(p) for p in profiles], dtype=np.bool_)
            has_target = np.array([bool(t) for t in targets], dtype=np.bool_)
            self.dimensions[dimension] = (share, wanted, has_profile, has_target)

    def _safety(self, shows: list[Show]) -> None:
        self.explicit = np.array([s.explicit for s in shows], dtype=np.float32)
        self.sensitive_per_1000 = np.array(
            [1000.0 * sum(s.sensitive.values()) / s.text.total if s.text.total else 0.0 for s in shows],
            dtype=np.float32,
        )
        # The signal depends only on the advertiser's tolerance: one row per tolerance, picked per advertiser.
        self.safety_by_tolerance = np.stack(
            [
                (1.0 - safety.EXPLICIT_PENALTY[tolerance] * self.explicit)
                * np.exp(-self.sensitive_per_1000 / safety.SCALE_PER_1000[tolerance])
                for tolerance in safety.TOLERANCES
            ]
        ).astype(np.float32)
        moderate = safety.TOLERANCES.index("moderate")
        self.tolerance = np.array(
            [
                safety.TOLERANCES.index(a.tolerance) if a.tolerance in safety.TOLERANCES else moderate
                for a in self.inputs.advertisers
            ],
            dtype=np.intp,
        )

    def _categories(self, shows: list[Show], advertisers: list[Advertiser]) -> None:
        names = sorted({c.lower() for s in shows for c in s.categories})
        column = {c: i for i, c in enumerate(names)}
        self.show_category = np.zeros((len(shows), len(names)), dtype=np.float32)
        for row, show in enumerate(shows):
            for category in show.categories:
                self.show_category[row, column[category.lower()]] = 1.0
        self.blocked = np.zeros((len(advertisers), len(names)), dtype=np.float32)
        for row, advertiser in enumerate(advertisers):
            for category in advertiser.brief.blocked_categories if advertiser.brief else ():
                if category in column:
                    self.blocked[row, column[category]] = 1.0

    def _lift_tables(self) -> None:
        """Attributed conversions and delivered impressions per advertiser and show, per industry and show, and each
        one's totals, from which a pair's rate and its baseline elsewhere are read."""
        show_index = {s.id: i for i, s in enumerate(self.inputs.shows)}
        self.pair: dict[tuple[object, int], tuple[float, int]] = defaultdict(lambda: (0.0, 0))
        self.industry_show: dict[tuple[str, int], tuple[float, int]] = defaultdict(lambda: (0.0, 0))
        self.advertiser_total: dict[object, tuple[float, int]] = defaultdict(lambda: (0.0, 0))
        self.industry_total: dict[str, tuple[float, int]] = defaultdict(lambda: (0.0, 0))
        conversions, impressions = 0.0, 0
        for row in self.inputs.delivered:
            show = show_index.get(row.podcast_id)
            industry = row.industry
            for table, key in (
                (self.pair, (row.sponsor_id, show)),
                (self.industry_show, (industry, show)),
                (self.advertiser_total, row.sponsor_id),
                (self.industry_total, industry),
            ):
                c, n = table[key]  # type: ignore[index]
                table[key] = (c + row.conversions, n + row.impressions)  # type: ignore[index]
            conversions += row.conversions
            impressions += row.impressions
        self.workspace_rate = conversions / impressions if impressions else 0.0

    def _industries(self, advertisers: list[Advertiser]) -> None:
        """Each advertiser's industry as a number, and where each advertiser and show sits in the arrays."""
        self.industry_codes: dict[str, int] = {}
        self.industry = np.array(
            [self.industry_codes.setdefault(a.industry.lower(), len(self.industry_codes)) for a in advertisers],
            dtype=np.intp,
        )
        self.advertiser_row: dict[object, int] = {a.id: row for row, a in enumerate(advertisers)}
        self.show_index = {s.id: i for i, s in enumerate(self.inputs.shows)}

    def _lift_arrays(self) -> None:
        """Historical lift once per recalculation rather than per block: an industry's lift on each show (what an
        advertiser without results of its own there gets), and the pairs where the advertiser's own results decide."""
        shape = (len(self.industry_codes), len(self.inputs.shows))
        self.industry_lift = np.zeros(shape, dtype=np.float32)
        self.industry_lift_present = np.zeros(shape, dtype=np.bool_)
        for (industry, show), own in self.industry_show.items():
            code = self.industry_codes.get(industry)
            found = self._lift("industry", own, self.industry_total.get(industry))
            if code is not None and show is not None and found is not None:
                self.industry_lift[code, show], self.industry_lift_present[code, show] = found[0], True
        own_pairs = []
        for (sponsor, show), own in self.pair.items():
            row = self.advertiser_row.get(sponsor)
            if row is not None and show is not None and own[1] > 0:
                found = self._lift("advertiser", own, self.advertiser_total.get(sponsor))
                own_pairs.append((row, show, found[0] if found else 0.0, found is not None))
        rows, shows, values, present = zip(*own_pairs, strict=True) if own_pairs else ((), (), (), ())
        self.own_lift_rows = np.array(rows, dtype=np.intp)
        self.own_lift_shows = np.array(shows, dtype=np.intp)
        self.own_lift = np.array(values, dtype=np.float32)
        self.own_lift_present = np.array(present, dtype=np.bool_)

    def _exclusive_orders(self, advertisers: list[Advertiser]) -> None:
        """Exclusive orders and the advertisers' flights as day numbers, so that whom an order excludes is array
        arithmetic over a block."""
        flights = [
            (a.brief.flight_start.toordinal(), a.brief.flight_end.toordinal())
            if a.brief and a.brief.flight_start and a.brief.flight_end
            else None
            for a in advertisers
        ]
        self.has_flight = np.array([flight is not None for flight in flights], dtype=np.bool_)
        self.flight_first = np.array([flight[0] if flight else 0 for flight in flights], dtype=np.int64)
        self.flight_last = np.array([flight[1] if flight else 0 for flight in flights], dtype=np.int64)
        self.exclusive_orders = [
            (
                self.show_index[order.podcast_id],
                self.advertiser_row.get(order.sponsor_id, -1),
                self.industry_codes[order.industry],
                order.flight_start.toordinal(),
                order.flight_end.toordinal(),
            )
            for order in self.inputs.exclusive
            # An order on a show out of scope, or of an industry no advertiser here is in, excludes no one.
            if order.podcast_id in self.show_index and order.industry in self.industry_codes
        ]

    # Signals for a block ------------------------------------------------------------------------------------------

    def signals(self, rows: slice) -> dict[str, Signal]:
        advertisers = self.inputs.advertisers[rows]
        return {
            "geo": self.geo(rows),
            "demographic": self.demographic(rows),
            "topic": self.topic(rows),
            "lift": self.lift(rows),
            "inventory": self.inventory(advertisers),
            "brand_safety": self.brand_safety(rows),
        }

    def geo(self, rows: slice) -> Signal:
        value = self.country_target[rows] @ self.country_share.T
        present = (self.country_target[rows].sum(axis=1) > 0)[:, None] & (self.located >= MIN_LOCATED_DOWNLOADS)
        return Signal(np.clip(value, 0, 1), present)

    def demographic(self, rows: slice) -> Signal:
        count = len(self.inputs.advertisers[rows])
        value = np.ones((count, len(self.inputs.shows)), dtype=np.float32)
        present = np.zeros_like(value, dtype=np.bool_)
        for share, wanted, has_profile, has_target in self.dimensions.values():
            both = has_target[rows][:, None] & has_profile[None, :]
            # The in-target share of the audience on each dimension; dimensions multiply as if independent.
            value = np.where(both, value * (wanted[rows] @ share.T), value)
            present |= both
        return Signal(np.clip(value, 0, 1), present)

    def topic(self, rows: slice) -> Signal:
        value = self.topics.overlap(rows)
        present = self.topics.has_terms()[rows][:, None] & self.show_has_text[None, :]
        return Signal(np.clip(value, 0, 1), present)

    def lift_of(self, advertiser: Advertiser, show: int) -> tuple[float, dict[str, object]] | None:
        """A pair's historical lift in 0-1 (lift / (1 + lift): no lift is 0.5) and what it was computed from."""
        own = self.pair.get((advertiser.id, show))
        if own is not None and own[1] > 0:
            return self._lift("advertiser", own, self.advertiser_total.get(advertiser.id))
        industry = advertiser.industry.lower()
        return self._lift("industry", self.industry_show.get((industry, show)), self.industry_total.get(industry))

    def _lift(
        self, level: str, own: tuple[float, int] | None, total: tuple[float, int] | None
    ) -> tuple[float, dict[str, object]] | None:
        """The lift of `own` (conversions, impressions) against the rest of `total`, shrunk toward that baseline."""
        if own is None or own[1] <= 0 or total is None:
            return None
        elsewhere_impressions = total[1] - own[1]
        baseline = (total[0] - own[0]) / elsewhere_impressions if elsewhere_impressions > 0 else self.workspace_rate
        if baseline <= 0:
            return None
        prior = self.settings.prior_impressions
        shrunk = (own[0] + prior * baseline) / (own[1] + prior)
        lift = shrunk / baseline
        return lift / (1 + lift), {
            "level": level,
            "conversions": round(own[0], 2),
            "impressions": own[1],
            "rate_per_1000": round(1000 * own[0] / own[1], 3),
            "baseline_per_1000": round(1000 * baseline, 3),
            "lift": round(lift, 3),
        }

    def lift(self, rows: slice) -> Signal:
        """`lift_of` for every pair of the block: the industry's lift, replaced where the advertiser has results of
        its own on the show."""
        span = range(len(self.inputs.advertisers))[rows]
        codes = self.industry[rows]
        value, present = self.industry_lift[codes], self.industry_lift_present[codes]
        inside = (self.own_lift_rows >= span.start) & (self.own_lift_rows < span.stop)
        at = (self.own_lift_rows[inside] - span.start, self.own_lift_shows[inside])
        value[at], present[at] = self.own_lift[inside], self.own_lift_present[inside]
        return Signal(value, present)

    def flight_of(self, advertiser: Advertiser) -> tuple[int, int, list[int], int] | None:
        """The brief's flight as day offsets into the inventory, its positions and the slots it needs; None when the
        brief does not say, or the flight is over or beyond what inventory looks at."""
        brief, inventory = advertiser.brief, self.inputs.inventory
        if brief is None or inventory is None or not (brief.flight_start and brief.flight_end and brief.slots_needed):
            return None
        first = max((brief.flight_start - inventory.start).days, 0)
        last = min((brief.flight_end - inventory.start).days, inventory.days - 1)
        if last < first:
            return None
        positions = [POSITIONS.index(p) for p in brief.positions if p in POSITIONS] or list(range(len(POSITIONS)))
        return first, last, positions, brief.slots_needed

    def open_slots(self, advertiser: Advertiser) -> npt.NDArray[np.int32] | None:
        flight, inventory = self.flight_of(advertiser), self.inputs.inventory
        if flight is None or inventory is None:
            return None
        first, last, positions, _ = flight
        cumulative = inventory.cumulative
        open_slots: npt.NDArray[np.int32] = (cumulative[:, last + 1, positions] - cumulative[:, first, positions]).sum(
            axis=1
        )
        return open_slots

    def inventory(self, advertisers: list[Advertiser]) -> Signal:
        value = np.zeros((len(advertisers), len(self.inputs.shows)), dtype=np.float32)
        present = np.zeros_like(value, dtype=np.bool_)
        for row, advertiser in enumerate(advertisers):
            open_slots, flight = self.open_slots(advertiser), self.flight_of(advertiser)
            if open_slots is not None and flight is not None:
                value[row] = np.minimum(open_slots / flight[3], 1.0)
                present[row] = True
        return Signal(value, present)

    def brand_safety(self, rows: slice) -> Signal:
        """What the explicit flag leaves, shrunk by the sensitive-word density, at each advertiser's tolerance."""
        value: Floats = self.safety_by_tolerance[self.tolerance[rows]]
        return Signal(value, np.ones_like(value, dtype=np.bool_))

    # Conflicts ----------------------------------------------------------------------------------------------------

    def conflicts(self, rows: slice) -> Bools:
        """Pairs with a hard conflict: a category the advertiser blocks, or a competitor's exclusive order on the show
        overlapping the advertiser's flight (any live or future one when the brief gives no flight)."""
        conflict: Bools = (self.blocked[rows] @ self.show_category.T) > 0
        span = range(len(self.inputs.advertisers))[rows]
        industry, has_flight = self.industry[rows], self.has_flight[rows]
        first, last, today = self.flight_first[rows], self.flight_last[rows], self.inputs.today.toordinal()
        for show, sponsor_row, order_industry, start, end in self.exclusive_orders:
            # As `competes`, for every advertiser of the block at once.
            competes = (industry == order_industry) & np.where(
                has_flight, (start <= last) & (first <= end), end >= today
            )
            if span.start <= sponsor_row < span.stop:
                competes[sponsor_row - span.start] = False
            conflict[:, show] |= competes
        return conflict

    def competes(self, advertiser: Advertiser, order: ExclusiveOrder) -> bool:
        if order.sponsor_id == advertiser.id or order.industry != advertiser.industry.lower():
            return False
        brief = advertiser.brief
        if brief and brief.flight_start and brief.flight_end:
            return order.flight_start <= brief.flight_end and brief.flight_start <= order.flight_end
        return order.flight_end >= self.inputs.today


def combine(signals: dict[str, Signal], weights: dict[str, float]) -> Floats:
    """Score 0-100: the weighted mean of the present signals, renormalised over the weights present."""
    numerator = np.zeros_like(signals[SIGNALS[0]].value)
    denominator = np.zeros_like(numerator)
    for name in SIGNALS:
        weight = weights.get(name, 0.0)
        if weight > 0:
            signal = signals[name]
            numerator += np.where(signal.present, weight * signal.value, 0)
            denominator += np.where(signal.present, weight, 0)
    score: Floats = np.where(denominator > 0, 100 * numerator / np.maximum(denominator, 1e-9), 0).astype(np.float32)
    return score
