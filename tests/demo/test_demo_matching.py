"""Matchmaking against the demo's hidden truth: every pair of a demo workspace is scored from what the workspace
holds, and the scores of the pairs no order ever touched (held out from everything the scorer reads) must rank them
by the performance their simulated campaigns realise."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from podsponsor.bookings.models import InsertionOrder
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.demo import DemoSummary, demo_tenant_ids, generate, load_demo_data
from podsponsor.demo.fit import heldout_outcomes, spearman
from podsponsor.matching.models import Match
from podsponsor.sales.models import Sponsor

SEED = 42


@pytest.fixture(scope="module")
async def summary(db: Any) -> DemoSummary:
    return await load_demo_data(seed=SEED)


async def _scored(slug: str) -> tuple[uuid.UUID, dict[tuple[uuid.UUID, uuid.UUID], Match], set[Any], int]:
    tenant = (await demo_tenant_ids())[slug]
    async with tenant_transaction(tenant) as session:
        matches = {(m.sponsor_id, m.podcast_id): m for m in await session.scalars(select(Match))}
        booked = {tuple(r) for r in await session.execute(select(InsertionOrder.sponsor_id, InsertionOrder.podcast_id))}
        sponsors = len(list(await session.scalars(select(Sponsor.id).where(Sponsor.deleted_at.is_(None)))))
    return tenant, matches, booked, sponsors


async def test_every_pair_is_scored_with_a_rationale(summary: DemoSummary) -> None:
    _, matches, _, sponsors = await _scored("northwind")
    shows = summary.shows  # both workspaces; Northwind holds most of them
    assert len(matches) >= sponsors * 10
    assert len(matches) <= sponsors * shows
    for match in matches.values():
        assert 0 <= float(match.score) <= 100
        assert match.rationale.startswith("Score ")
        assert "brand_safety" in match.signals


async def test_scores_rank_held_out_pairs_by_realised_performance(summary: DemoSummary) -> None:
    rows = next(r for r in generate(SEED) if r.slug == "northwind")
    _, matches, booked, _ = await _scored("northwind")
    outcomes = [o for o in heldout_outcomes(rows, SEED, booked) if (o.sponsor_id, o.podcast_id) in matches]
    assert len(outcomes) > 300
    # Realised performance is the held-out campaign's conversion rate over its industry's base rate (industries
    # convert at different rates, which says nothing about fit).
    rho = spearman([float(matches[(o.sponsor_id, o.podcast_id)].score) for o in outcomes], [o.lift for o in outcomes])
    print(f"Spearman rho, score vs realised lift over {len(outcomes)} held-out pairs: {rho:.3f}")
    assert rho > 0.4
    # Within each advertiser too (what a seller sees: one advertiser's shows in order).
    per_sponsor = []
    for sponsor in {o.sponsor_id for o in outcomes}:
        own = [o for o in outcomes if o.sponsor_id == sponsor]
        if len(own) >= 8:
            scores = [float(matches[(o.sponsor_id, o.podcast_id)].score) for o in own]
            per_sponsor.append(spearman(scores, [o.lift for o in own]))
    median = sorted(per_sponsor)[len(per_sponsor) // 2]
    print(f"median per-advertiser Spearman rho over {len(per_sponsor)} advertisers: {median:.3f}")
    assert median > 0.3
