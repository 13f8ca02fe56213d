"""The demo's hidden true fit: deterministic, made of the parts it claims, and driving both the loaded orders'
conversions and the held-out pairs' simulated campaigns; and the briefs and transcripts matchmaking reads."""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from podsponsor.attribution.models import AttributionCredit, AttributionRun
from podsponsor.bookings.models import InsertionOrder
from podsponsor.catalog.models import Episode, EpisodeTranscript, Podcast
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.demo import DemoSummary, demo_tenant_ids, generate, load_demo_data
from podsponsor.demo.briefs import INDUSTRY_KEYWORDS, POSITIONS, generate_briefs
from podsponsor.demo.catalogue import WORKSPACES
from podsponsor.demo.conversions import BookedIo, Exposure, generate_conversions
from podsponsor.demo.fit import (
    CENTRE,
    HELD_OUT_IMPRESSIONS,
    WEIGHTS,
    Pair,
    PairFit,
    base_rate,
    catalogue_shows,
    heldout_outcomes,
    lifts,
    pair_fits,
    spearman,
)
from podsponsor.demo.generate import TenantRows
from podsponsor.demo.listening import listening_days
from podsponsor.demo.load_conversions import booked_ios
from podsponsor.demo.load_matching import add_match_inputs
from podsponsor.demo.transcripts import RECENT_EPISODES, generate_transcripts
from podsponsor.matching.models import MatchBrief
from podsponsor.sales.models import Sponsor

NOW = datetime(2026, 11, 22, 11, 30, tzinfo=UTC)
PARTS = ("topic", "demographic", "geo", "brand_safety")
SENSITIVE = re.compile(r"\b(murder|violence|drugs|overdose|weapon|blood|killed)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def workspaces() -> list[TenantRows]:
    return generate(42)


@pytest.fixture(scope="module")
def network(workspaces: list[TenantRows]) -> TenantRows:
    return next(rows for rows in workspaces if rows.slug == "northwind")


@pytest.fixture(scope="module")
async def summary(db: Any) -> DemoSummary:
    return await load_demo_data(seed=42)


@pytest.fixture(scope="module")
async def tenant_ids(summary: DemoSummary) -> dict[str, uuid.UUID]:
    return await demo_tenant_ids()


def _observed(fit: PairFit) -> float:
    return float(sum(WEIGHTS[part] * getattr(fit, part) for part in PARTS)) - CENTRE


# Spearman -------------------------------------------------------------------------------------------------------------


def test_spearman_ranks_with_ties_at_their_mean_rank() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1)
    # Ranks (1, 2.5, 2.5, 4) against (1, 3, 2, 4): covariance 4.5 over sqrt(4.5 * 5).
    assert spearman([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(3 / math.sqrt(10))
    assert spearman([0.1, 5, 7, 100], [1, 2, 3, 4]) == pytest.approx(1)
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="same length"):
        spearman([1, 2], [1])


# True fit -------------------------------------------------------------------------------------------------------------


def test_true_fit_is_the_same_for_the_same_seed_and_within_bounds(workspaces: list[TenantRows]) -> None:
    again = generate(42)
    for rows, same in zip(workspaces, again, strict=True):
        fits = pair_fits(rows, 42)
        assert fits == pair_fits(same, 42)
        assert len(fits) == len(rows.sponsors) * len(rows.podcasts)
        assert all(0 <= fit.fit <= 1 for fit in fits.values())
        assert all(0 <= getattr(fit, part) <= 1 for fit in fits.values() for part in PARTS)
        other = pair_fits(rows, 7)
        assert other.keys() == fits.keys()
        assert [f.latent for f in other.values()] != [f.latent for f in fits.values()]
        assert [f.topic for f in other.values()] == [f.topic for f in fits.values()]
        assert np.std([f.latent for f in fits.values()]) == pytest.approx(0.08, abs=0.015)


def test_observable_parts_drive_most_of_the_fit_but_not_all(network: TenantRows) -> None:
    fits = list(pair_fits(network, 42).values())
    fit = [f.fit for f in fits]
    explained = np.corrcoef(fit, [_observed(f) for f in fits])[0, 1] ** 2
    assert 0.6 < explained < 0.95, explained
    assert spearman([f.topic for f in fits], fit) > 0.5
    assert spearman([f.demographic for f in fits], fit) > 0.2
    assert spearman([f.brand_safety for f in fits], fit) > 0.2
    # Every part counts with its weight: fit goes up with each, the others held (a least-squares fit of the pairs
    # the cap at 0 and 1 left alone recovers the weights).
    inside = [f for f in fits if 0 < f.fit < 1]
    design = np.array([[getattr(f, part) for part in PARTS] + [1.0] for f in inside])
    target = np.array([f.fit - f.latent for f in inside])
    coefficients = np.linalg.lstsq(design, target, rcond=None)[0]
    assert coefficients[:4] == pytest.approx([WEIGHTS[part] for part in PARTS], abs=1e-6)


def test_fit_parts_read_the_latent_truth_of_the_shows(network: TenantRows) -> None:
    fits = pair_fits(network, 42)
    shows = catalogue_shows(network)
    sponsors = {sponsor["id"]: sponsor for sponsor in network.sponsors}
    genre = {podcast_id: show.genre for podcast_id, show in shows.items()}
    title = {podcast_id: show.title for podcast_id, show in shows.items()}

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    true_crime = [f for f in fits.values() if genre[f.podcast_id] == "true_crime"]
    strict = [f.fit for f in true_crime if sponsors[f.sponsor_id]["brand_safety"] == "strict"]
    permissive = [f.fit for f in true_crime if sponsors[f.sponsor_id]["brand_safety"] == "permissive"]
    assert strict and permissive and mean(strict) < mean(permissive) - 0.2
    us_only = [f for f in fits.values() if sponsors[f.sponsor_id]["target_geo"] == ["US"]]
    spanish = [f.geo for f in us_only if title[f.podcast_id] == "Mesa Abierta"]
    american = [f.geo for f in us_only if title[f.podcast_id] == "Build Log"]
    assert max(spanish) < 0.4 < 0.6 < min(american)
    software = [f for f in fits.values() if sponsors[f.sponsor_id]["industry"] == "software"]
    assert software
    on_tech = mean([f.topic for f in software if genre[f.podcast_id] == "technology"])
    on_kids = mean([f.topic for f in software if genre[f.podcast_id] == "kids"])
    assert on_tech > 0.6 > 0.1 > on_kids


def test_lift_averages_one_across_the_pairs_and_rises_with_fit(network: TenantRows) -> None:
    fits = pair_fits(network, 42)
    lift = lifts(fits)
    assert sum(lift.values()) / len(lift) == pytest.approx(1)
    ordered = sorted(fits, key=lambda pair: fits[pair].fit)
    assert [lift[pair] for pair in ordered] == sorted(lift.values())
    assert lift[ordered[-1]] / lift[ordered[0]] > 3


# Conversions follow fit -----------------------------------------------------------------------------------------------


def _synthetic_orders(rows: TenantRows, pairs: list[Pair], impressions: int) -> tuple[list[BookedIo], Any]:
    """One coded order per pair, each heard by households of its own, so each conversion names its order."""
    ios, exposures = [], {}
    for number, (sponsor_id, podcast_id) in enumerate(pairs):
        io_id = uuid.UUID(int=number + 1)
        ios.append(
            BookedIo(
                io_id,
                sponsor_id,
                podcast_id,
                uuid.UUID(int=10_000 + number),
                f"FIT{number:04d}",
                None,
                None,
                date(2026, 11, 1),
                date(2026, 11, 15),
            )
        )
        heard = NOW - timedelta(days=10)
        exposures[io_id] = [
            Exposure(hashlib.sha256(f"{io_id}:{k}".encode()).hexdigest(), heard - timedelta(minutes=k), None, "US")
            for k in range(impressions)
        ]
    return ios, exposures


def test_generated_orders_convert_by_their_pairs_true_fit(network: TenantRows) -> None:
    fits = pair_fits(network, 42)
    pairs = sorted(fits, key=lambda pair: (str(pair[0]), str(pair[1])))[::9]
    impressions = 2500
    ios, exposures = _synthetic_orders(network, pairs, impressions)
    made = generate_conversions(network, 42, NOW, ios, exposures)
    by_code = {io.promo_code: io.id for io in ios}
    by_household = {e.ip_hash: io_id for io_id, seen in exposures.items() for e in seen}
    converted: dict[uuid.UUID, int] = defaultdict(int)
    for conversion in made.conversions:
        if conversion["ground_truth"] == "promo_code":
            converted[by_code[conversion["promo_codes"][0]]] += 1
        elif conversion["ground_truth"] == "household":
            converted[by_household[conversion["ip_hash"]]] += 1
    industry = {sponsor["id"]: sponsor["industry"] for sponsor in network.sponsors}
    performance = [converted[io.id] / impressions / base_rate(industry[io.sponsor_id]) for io in ios]
    rho = spearman([fits[(io.sponsor_id, io.podcast_id)].fit for io in ios], performance)
    print(f"\ngenerated orders: Spearman rho of true fit against conversions per impression = {rho:.3f}")
    assert rho > 0.75


async def test_loaded_orders_convert_more_per_impression_where_fit_is_higher(
    network: TenantRows, tenant_ids: dict[str, uuid.UUID]
) -> None:
    tenant_id = tenant_ids["northwind"]
    async with tenant_transaction(tenant_id) as session:
        now = await session.scalar(select(func.min(AttributionRun.started_at)).where(AttributionRun.trigger == "demo"))
        assert now is not None
        ran = {io.id for io in await booked_ios(session, tenant_id, listening_days(now)[0], now)}
        orders = [io for io in await session.scalars(select(InsertionOrder)) if io.id in ran]
        credited = select(AttributionCredit.io_id, func.sum(AttributionCredit.credit)).where(
            AttributionCredit.model == "linear"
        )
        credits = {io_id: credit for io_id, credit in await session.execute(credited.group_by(AttributionCredit.io_id))}
    fits = pair_fits(network, 42)
    industry = {sponsor["id"]: sponsor["industry"] for sponsor in network.sponsors}
    delivered = [io for io in orders if io.delivered_impressions > 0]
    assert len(delivered) >= 30
    fit = [fits[(io.sponsor_id, io.podcast_id)].fit for io in delivered]
    reach = [io.delivered_impressions * base_rate(industry[io.sponsor_id]) for io in delivered]
    got = [float(credits.get(io.id, 0.0)) for io in delivered]
    rho = spearman(fit, [c / r for c, r in zip(got, reach, strict=True)])
    # Pooled over the better and the worse half, Poisson noise on a few conversions per order averages out.
    upper = [i for i, value in enumerate(fit) if value > float(np.median(fit))]
    lower = [i for i in range(len(fit)) if i not in upper]
    ratio = (sum(got[i] for i in upper) / sum(reach[i] for i in upper)) / (
        sum(got[i] for i in lower) / sum(reach[i] for i in lower)
    )
    print(f"\nloaded orders ({len(delivered)}): Spearman rho {rho:.3f}, upper-half/lower-half rate {ratio:.2f}")
    assert rho > 0.1
    assert ratio > 1.1


# Held-out pairs -------------------------------------------------------------------------------------------------------


def test_held_out_outcomes_leave_out_the_booked_pairs_and_follow_true_fit(network: TenantRows) -> None:
    fits = pair_fits(network, 42)
    booked = set(sorted(fits, key=lambda pair: (str(pair[0]), str(pair[1])))[::7])
    outcomes = heldout_outcomes(network, 42, booked)
    assert outcomes == heldout_outcomes(network, 42, list(booked))
    assert {(o.sponsor_id, o.podcast_id) for o in outcomes} == fits.keys() - booked
    assert len(outcomes) == len(fits) - len(booked)
    assert all(HELD_OUT_IMPRESSIONS[0] <= o.impressions <= HELD_OUT_IMPRESSIONS[1] for o in outcomes)
    industry = {sponsor["id"]: sponsor["industry"] for sponsor in network.sponsors}
    for outcome in outcomes:
        assert outcome.rate == outcome.conversions / outcome.impressions
        assert outcome.lift == pytest.approx(outcome.rate / base_rate(industry[outcome.sponsor_id]))
    other = heldout_outcomes(network, 43, booked)
    assert [o.conversions for o in other] != [o.conversions for o in outcomes]
    truth = [fits[(o.sponsor_id, o.podcast_id)] for o in outcomes]
    realised = [o.lift for o in outcomes]
    rho_fit = spearman([f.fit for f in truth], realised)
    rho_observed = spearman([_observed(f) for f in truth], realised)
    print(f"\nheld-out pairs ({len(outcomes)}): rho of true fit {rho_fit:.3f}, of observed part {rho_observed:.3f}")
    assert rho_fit > 0.95
    # The best any score from the data can do: high, but short of the truth.
    assert 0.7 < rho_observed < rho_fit


# Briefs and transcripts -----------------------------------------------------------------------------------------------


def test_generated_briefs_and_transcripts_are_the_same_for_the_same_inputs(workspaces: list[TenantRows]) -> None:
    again = generate(42)
    for rows, same in zip(workspaces, again, strict=True):
        assert generate_briefs(rows, 42, NOW) == generate_briefs(same, 42, NOW)
        assert generate_transcripts(rows, 42) == generate_transcripts(same, 42)
        assert generate_briefs(rows, 42, NOW) != generate_briefs(rows, 7, NOW)
    network = workspaces[0]
    assert generate_transcripts(network, 42) != generate_transcripts(network, 7)


async def test_most_sponsors_have_a_loaded_brief_that_reads_like_one(tenant_ids: dict[str, uuid.UUID]) -> None:
    blocked_true_crime = 0
    for tenant_id in tenant_ids.values():
        async with tenant_transaction(tenant_id) as session:
            sponsors = {s.id: s for s in await session.scalars(select(Sponsor))}
            briefs = list(await session.scalars(select(MatchBrief)))
        assert len(briefs) >= 0.7 * len(sponsors)
        assert len({brief.sponsor_id for brief in briefs}) == len(briefs)
        for brief in briefs:
            sponsor = sponsors[brief.sponsor_id]
            assert brief.flight_start and brief.flight_end
            assert brief.created_at.date() < brief.flight_start <= brief.flight_end
            assert brief.positions and set(brief.positions) <= set(POSITIONS)
            assert brief.slots_needed is not None and 1 <= brief.slots_needed <= 12
            assert 2 <= len(brief.keywords) <= 4
            assert set(brief.keywords) <= set(INDUSTRY_KEYWORDS[sponsor.industry]) - set(sponsor.target_topics)
            if sponsor.brand_safety == "permissive":
                assert brief.blocked_categories == []
            blocked_true_crime += "True Crime" in brief.blocked_categories
    assert blocked_true_crime >= 3


async def test_transcript_shows_have_their_recent_episodes_transcribed(tenant_ids: dict[str, uuid.UUID]) -> None:
    for workspace in WORKSPACES:
        transcribed = {show.title for show in workspace.shows if show.transcripts}
        async with tenant_transaction(tenant_ids[workspace.slug]) as session:
            query = select(Podcast.title, Episode.id, Episode.publish_date).join(
                Episode, (Episode.tenant_id == Podcast.tenant_id) & (Episode.podcast_id == Podcast.id)
            )
            episodes = list(await session.execute(query))
            transcripts = {t.episode_id: t for t in await session.scalars(select(EpisodeTranscript))}
        by_show: dict[str, list[tuple[datetime, uuid.UUID]]] = defaultdict(list)
        show_of: dict[uuid.UUID, str] = {}
        for title, episode_id, published in episodes:
            assert published is not None
            by_show[title].append((published, episode_id))
            show_of[episode_id] = title
        expected = {episode_id for title in transcribed for _, episode_id in sorted(by_show[title])[-RECENT_EPISODES:]}
        assert transcripts.keys() == expected
        assert len(expected) == RECENT_EPISODES * len(transcribed)
        for transcript in transcripts.values():
            assert transcript.format == "text"
            assert transcript.words == len(transcript.text.split())
            assert 250 <= transcript.words <= 700
            crime = show_of[transcript.episode_id] == "Cold Harbor"
            assert bool(SENSITIVE.search(transcript.text)) == crime, show_of[transcript.episode_id]


async def test_loading_again_adds_no_briefs_or_transcripts(
    network: TenantRows, tenant_ids: dict[str, uuid.UUID]
) -> None:
    assert tenant_ids["northwind"] == network.id
    added = await add_match_inputs(network, 42, NOW)
    assert (added.briefs, added.transcripts) == (0, 0)
