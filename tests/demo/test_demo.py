"""Demo data: loaded once into the run's database, then checked the way a newcomer would meet it."""

from __future__ import annotations

import math
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from podsponsor.auth.models import ROLES, User
from podsponsor.catalog.models import Episode, Podcast
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.demo import DEMO_PASSWORD, DemoSummary, demo_loaded, demo_tenant_ids, generate, load_demo_data
from podsponsor.demo.catalogue import MEDIA_HOST
from podsponsor.demo.listening import LISTENING_DAYS, listening_days, listening_hits
from podsponsor.demo.shows import ANCHOR, HISTORY_DAYS
from podsponsor.measurement.count_models import CountRun, Download, DownloadTally
from podsponsor.measurement.hit_models import DownloadRequest
from podsponsor.sales.models import STAGES, Campaign, Sponsor


@pytest.fixture(scope="module")
async def summary(db: Any) -> DemoSummary:
    return await load_demo_data(seed=42)


@pytest.fixture(scope="module")
async def tenant_ids(summary: DemoSummary) -> dict[str, uuid.UUID]:
    return await demo_tenant_ids()


def test_counts_match_a_small_network_and_a_creator(summary: DemoSummary) -> None:
    assert summary.tenants == 2
    assert 18 <= summary.shows <= 22
    assert 1400 <= summary.episodes <= 1600
    assert 55 <= summary.sponsors <= 65
    assert summary.campaigns >= 2 * len(STAGES)
    assert summary.users == 2 * len(ROLES)
    assert {(login.workspace, login.role) for login in summary.logins} == {
        (slug, role) for slug in ("northwind", "maple-pine") for role in ROLES
    }
    assert all(len(login.password) >= 10 for login in summary.logins)
    assert 60_000 <= summary.hits <= 120_000
    assert summary.hits // 2 < summary.downloads < summary.hits


async def test_every_stage_and_role_is_present_in_each_workspace(tenant_ids: dict[str, uuid.UUID]) -> None:
    for tenant_id in tenant_ids.values():
        async with tenant_transaction(tenant_id) as session:
            stages = set((await session.scalars(select(Campaign.stage))).all())
            roles = set((await session.scalars(select(User.role))).all())
            sales = await session.scalar(select(User.id).where(User.role == "sales"))
            sellers = set((await session.scalars(select(Campaign.seller_id))).all())
        assert stages == set(STAGES)
        assert roles == set(ROLES)
        assert sellers == {sales}


async def test_advertiser_user_sees_a_sponsor_with_deals(tenant_ids: dict[str, uuid.UUID]) -> None:
    for tenant_id in tenant_ids.values():
        async with tenant_transaction(tenant_id) as session:
            sponsor_id = await session.scalar(select(User.sponsor_id).where(User.role == "advertiser"))
            assert sponsor_id is not None
            assert await session.get(Sponsor, (tenant_id, sponsor_id)) is not None
            stages = set((await session.scalars(select(Campaign.stage).where(Campaign.sponsor_id == sponsor_id))).all())
        assert "won" in stages
        assert stages & {"lead", "qualified", "proposal", "negotiation"}


async def test_audience_shares_sum_to_one(tenant_ids: dict[str, uuid.UUID]) -> None:
    profiles = []
    for tenant_id in tenant_ids.values():
        async with tenant_transaction(tenant_id) as session:
            profiles += (await session.scalars(select(Podcast.audience_profile))).all()
    assert len(profiles) >= 18
    for profile in profiles:
        for key in ("age_bands", "gender", "top_countries"):
            assert math.isclose(sum(profile[key].values()), 1.0, abs_tol=1e-9), (key, profile[key])
        assert all(len(code) == 2 and code.isupper() for code in profile["top_countries"])


async def test_every_show_has_downloads_to_chart(tenant_ids: dict[str, uuid.UUID]) -> None:
    for tenant_id in tenant_ids.values():
        async with tenant_transaction(tenant_id) as session:
            first, last = (await session.execute(select(func.min(CountRun.day), func.max(CountRun.day)))).one()
            shows = set((await session.scalars(select(Podcast.id))).all())
            by_show = select(Download.podcast_id, func.count(func.distinct(Download.day))).group_by(Download.podcast_id)
            days_by_show = {show: days for show, days in (await session.execute(by_show)).all()}
            published = (await session.execute(select(Episode.id, Episode.publish_date))).all()
            heard = set((await session.scalars(select(Download.episode_id).distinct())).all())
        released = {episode for episode, at in published if at and first <= at.astimezone(UTC).date() <= last}
        assert last - first == timedelta(days=LISTENING_DAYS)
        assert days_by_show.keys() == shows
        # Even the smallest show is downloaded on most days, and every episode out in the window is downloaded.
        assert min(days_by_show.values()) >= LISTENING_DAYS // 2
        assert released <= heard


async def test_counting_filtered_the_mess_out_of_the_hits(tenant_ids: dict[str, uuid.UUID]) -> None:
    for tenant_id in tenant_ids.values():
        async with tenant_transaction(tenant_id) as session:
            hits = await session.scalar(select(func.count()).select_from(DownloadRequest)) or 0
            downloads = await session.scalar(select(func.count()).select_from(Download)) or 0
            by_reason = select(DownloadTally.reason, func.sum(DownloadTally.requests)).group_by(DownloadTally.reason)
            reasons = {reason: requests for reason, requests in (await session.execute(by_reason)).all()}
            runs = Counter((await session.scalars(select(CountRun.trigger))).all())
        assert sum(reasons.values()) == hits
        assert reasons["counted"] == downloads < hits
        expected = {"head", "zero_one_range_only", "duplicate_in_window", "apple_watch_duplicate", "bot_keyword"}
        assert expected | {"datacenter", "no_episode"} <= reasons.keys()
        assert 0.03 < reasons["head"] / hits < 0.08
        assert runs == {"demo": LISTENING_DAYS + 1}


async def test_loading_again_adds_nothing(summary: DemoSummary, tenant_ids: dict[str, uuid.UUID]) -> None:
    async def runs() -> int:
        total = 0
        for tenant_id in tenant_ids.values():
            async with tenant_transaction(tenant_id) as session:
                total += await session.scalar(select(func.count()).select_from(CountRun)) or 0
        return total

    counted = await runs()
    again = await load_demo_data(seed=42)
    assert again == summary
    assert again.hits == summary.hits > 0
    assert await runs() == counted
    assert await demo_loaded()


def test_listening_is_the_same_for_the_same_seed_and_looks_like_a_prefix() -> None:
    now = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
    creator = generate(42)[1]
    first, second = listening_hits(creator, 42, now), listening_hits(creator, 42, now)
    assert first == second
    assert listening_hits(generate(7)[1], 7, now) != first
    days = listening_days(now)
    assert days[0] == now.date() - timedelta(days=LISTENING_DAYS) and days[-1] == now.date()
    assert all(datetime(2026, 10, 16, tzinfo=UTC) <= hit["ts"] <= now for hit in first)
    tokens = {p["id"]: p["prefix_token"] for p in creator.podcasts}
    for hit in first[:500]:
        assert hit["url"] == f"/p/{tokens[hit['podcast_id']]}/{hit['destination'].removeprefix('https://')}"
        assert hit["destination"].startswith(f"https://{MEDIA_HOST}/maple-pine/")
        assert len(hit["ip_hash"]) == 64 and hit["status"] == 302
    agents = Counter(hit["user_agent"] for hit in first)
    assert any(agent.startswith("AppleCoreMedia/") for agent in agents)
    assert any(agent.startswith("atc/") and "watchOS" in agent for agent in agents)
    assert {"curl/8.4.0", next(a for a in agents if "Googlebot/2.1" in a)} <= agents.keys()
    # Each show's listeners come mostly from its survey's top country.
    for podcast in creator.podcasts:
        countries = Counter(hit["country"] for hit in first if hit["podcast_id"] == podcast["id"])
        assert countries.most_common(1)[0][0] == next(iter(podcast["audience_profile"]["top_countries"]))


def test_same_seed_gives_identical_rows_and_another_seed_differs() -> None:
    first, second, other = generate(42), generate(42), generate(7)
    assert first == second
    assert repr(first) == repr(second)
    assert other != first
    assert [e["title"] for e in other[0].episodes[:50]] != [e["title"] for e in first[0].episodes[:50]]
    assert other[0].id != first[0].id


def test_episodes_look_like_real_feeds() -> None:
    episodes = [e for workspace in generate(42) for e in workspace.episodes]
    earliest = ANCHOR.timestamp() - HISTORY_DAYS * 86400
    assert all(15 * 60 <= e["duration_seconds"] <= 120 * 60 for e in episodes)
    assert all(earliest <= e["publish_date"].timestamp() <= ANCHOR.timestamp() for e in episodes)
    assert all(e["enclosure_url"].startswith("https://") and e["enclosure_url"].endswith(".mp3") for e in episodes)
    assert len({(e["podcast_id"], e["guid"]) for e in episodes}) == len(episodes)
    assert any(e["season"] for e in episodes)
    assert any(e["explicit"] for e in episodes)
    span_days = (max(e["publish_date"] for e in episodes) - min(e["publish_date"] for e in episodes)).days
    assert span_days > 2 * 365


def test_daily_show_publishes_on_weekdays_and_weekly_shows_keep_their_day() -> None:
    network = generate(42)[0]
    by_title = {p["id"]: p["title"] for p in network.podcasts}
    weekdays: dict[str, Counter[int]] = {}
    for episode in network.episodes:
        weekdays.setdefault(by_title[episode["podcast_id"]], Counter())[episode["publish_date"].weekday()] += 1
    assert set(weekdays["Northwind Morning Brief"]) == {0, 1, 2, 3, 4}
    assert len(weekdays["The Quarterly Close"]) == 1


def test_deal_dates_are_consistent() -> None:
    for workspace in generate(42):
        sponsors = {s["id"]: s for s in workspace.sponsors}
        for deal in workspace.campaigns:
            assert sponsors[deal["sponsor_id"]]["created_at"] < deal["created_at"] <= deal["stage_changed_at"] <= ANCHOR
            if deal["stage"] in ("won", "lost"):
                assert deal["expected_close"] <= ANCHOR.date()
                assert deal["probability"] == (1 if deal["stage"] == "won" else 0)
            else:
                assert deal["expected_close"] > ANCHOR.date()


def test_demo_logins_sign_in(server: str, summary: DemoSummary) -> None:
    for login in summary.logins:
        body = {"email": login.email, "password": login.password, "workspace": login.workspace}
        response = httpx.post(f"{server}/api/v1/auth/token", json=body, timeout=30)
        assert response.status_code == 200, (login, response.text)
        if login.role == "advertiser":
            token = response.json()["access_token"]
            me = httpx.get(f"{server}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
            assert me["role"] == "advertiser"
            assert me["sponsor_id"]
    assert {login.password for login in summary.logins} == {DEMO_PASSWORD}


def test_owner_browses_the_demo_shows_over_the_api(server: str, summary: DemoSummary) -> None:
    token = httpx.post(
        f"{server}/api/v1/auth/token",
        json={"email": "owner@northwind.example", "password": DEMO_PASSWORD, "workspace": "northwind"},
        timeout=30,
    ).json()["access_token"]
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        shows = api.get("/api/v1/podcasts", params={"limit": 100})
        assert shows.status_code == 200, shows.text
        titles = {show["title"] for show in shows.json()["items"]}
        assert {"The Quarterly Close", "Cold Harbor", "Northwind Morning Brief"} <= titles
        assert "Trailhead Stories" not in titles
        episodes = api.get("/api/v1/episodes", params={"limit": 5})
        assert episodes.status_code == 200, episodes.text
        assert episodes.json()["total"] > 1000
