"""The block-wide arrays of historical lift, brand safety and hard conflicts say, pair by pair, what the per-pair
definitions say (`Block.lift_of`, `safety.value`, blocked categories and `Block.competes`), on a generated workspace
with advertiser- and industry-level results, results on a show outside the scope, a lift that cannot be computed,
and exclusive orders overlapping some flights and not others. No database: scoring is arithmetic over inputs."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import date, timedelta

import pytest

from podsponsor.matching import engine, safety, topics
from podsponsor.matching.inputs import Advertiser, Brief, Delivered, ExclusiveOrder, Inputs, Show
from podsponsor.matching.settings import MatchSettings
from podsponsor.matching.signals import Block

TODAY = date(2026, 11, 22)
INDUSTRIES = ("software", "finance", "fitness", "Meal Kits")
CATEGORIES = ("Technology", "Business", "True Crime", "Food")


def _brief(rng: random.Random) -> Brief | None:
    kind = rng.randrange(3)
    if kind == 0:
        return None
    start = TODAY + timedelta(days=rng.randrange(-20, 60))
    blocked = frozenset({rng.choice(CATEGORIES).lower()}) if rng.random() < 0.3 else frozenset()
    if kind == 1:  # a brief without a flight: any live or future exclusive order conflicts
        return Brief(None, None, (), None, blocked)
    return Brief(start, start + timedelta(days=rng.randrange(7, 40)), ("mid",), 4, blocked)


def _workspace(seed: int) -> Inputs:
    rng = random.Random(seed)
    advertisers = [
        Advertiser(
            id=uuid.uuid4(),
            name=f"Advertiser {n}",
            industry=rng.choice(INDUSTRIES),
            target_geo=("US",),
            target_demo={},
            tolerance=rng.choice(("strict", "moderate", "permissive", "unheard-of")),
            brief=_brief(rng),
            terms=topics.advertiser_terms("software", ["startups"], [], []),
        )
        for n in range(30)
    ]
    shows = []
    for n in range(12):
        categories = [rng.choice(CATEGORIES)]
        text = topics.show_text(categories, ["startups murder kitchen " * rng.randrange(1, 4), "software"])
        shows.append(
            Show(
                id=uuid.uuid4(),
                title=f"Show {n}",
                categories=tuple(categories),
                explicit=rng.random() < 0.3,
                located=Counter(),
                audience={},
                text=text,
                sensitive=safety.sensitive_counts(text.counts),
            )
        )
    outside = uuid.uuid4()  # a show the scope leaves out
    delivered = [
        Delivered(a.id, a.industry.lower(), rng.choice([*[s.id for s in shows], outside]), rng.random() * 40, 20_000)
        for a in rng.sample(advertisers, 12)
        for _ in range(2)
    ]
    # Results only outside the scope, and results whose lift cannot be computed (no conversions anywhere).
    delivered.append(Delivered(advertisers[0].id, advertisers[0].industry.lower(), outside, 12.0, 30_000))
    delivered.append(Delivered(uuid.uuid4(), "ghost industry", shows[0].id, 0.0, 5_000))
    exclusive = [
        ExclusiveOrder(
            podcast_id=rng.choice(shows).id,
            sponsor_id=rng.choice(advertisers).id if rng.random() < 0.5 else uuid.uuid4(),
            sponsor_name="Rival",
            industry=rng.choice(INDUSTRIES).lower(),
            flight_start=(start := TODAY + timedelta(days=rng.randrange(-40, 40))),
            flight_end=start + timedelta(days=rng.randrange(0, 30)),
        )
        for _ in range(15)
    ]
    return Inputs(TODAY, advertisers, shows, delivered=delivered, exclusive=exclusive)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_block_arrays_agree_with_each_pairs_definition(seed: int) -> None:
    inputs = _workspace(seed)
    block = Block(inputs, MatchSettings(), engine.topic_model(inputs))
    lifted = conflicted = 0
    for rows in (slice(0, 7), slice(7, 30)):
        lift, brand_safety, conflicts = block.lift(rows), block.brand_safety(rows), block.conflicts(rows)
        for row, advertiser in enumerate(inputs.advertisers[rows]):
            blocked = advertiser.brief.blocked_categories if advertiser.brief else frozenset()
            for column, show in enumerate(inputs.shows):
                expected = block.lift_of(advertiser, column)
                assert bool(lift.present[row, column]) == (expected is not None), (advertiser.name, show.title)
                if expected is not None:
                    lifted += 1
                    assert lift.value[row, column] == pytest.approx(expected[0], rel=1e-6)
                per_1000 = float(block.sensitive_per_1000[column])
                assert brand_safety.value[row, column] == pytest.approx(
                    safety.value(advertiser.tolerance, show.explicit, per_1000), rel=1e-6
                )
                conflict = any(c.lower() in blocked for c in show.categories) or any(
                    order.podcast_id == show.id and block.competes(advertiser, order) for order in inputs.exclusive
                )
                conflicted += conflict
                assert bool(conflicts[row, column]) == conflict, (advertiser.name, show.title)
    # The generated workspace exercises both: some pairs have a lift, some a conflict, and most neither.
    assert 0 < lifted < 30 * 12
    assert 0 < conflicted < 30 * 12
