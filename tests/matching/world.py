"""A small workspace to match in, made through the public API: three shows (a technology show with measured US
downloads, a true-crime show flagged explicit whose episodes talk about murders, a cooking show) and a software
advertiser that targets the US, 25-44 year olds and technology."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from podsponsor.db.tenancy import tenant_transaction
from tests.bookings.booking_world import ok, unique
from tests.factories.identity import Tenant, make_tenant

TODAY = datetime.now(UTC).date()

AUDIENCE = {
    "age_bands": {"18-24": 0.1, "25-34": 0.4, "35-44": 0.3, "45-54": 0.2},
    "gender": {"female": 0.4, "male": 0.6},
    "source": "listener survey",
    "sample_size": 1200,
}


@dataclass
class World:
    tenant: Tenant
    owner: httpx.Client
    tech: str
    crime: str
    cooking: str
    software: str  # the advertiser


def enable(owner: httpx.Client, enabled: bool | None = True) -> None:
    ok(owner.put("/api/v1/feature-flags/ENABLE_MATCHMAKING", json={"enabled": enabled}), 200)


def show(
    owner: httpx.Client, title: str, categories: list[str], description: str, episodes: list[str], **extra: Any
) -> str:
    body = {"title": unique(title), "categories": categories, "description": description, **extra}
    podcast = ok(owner.post("/api/v1/podcasts", json=body))
    for number, words in enumerate(episodes):
        published = datetime.combine(TODAY - timedelta(days=7 * (number + 1)), time(9), tzinfo=UTC).isoformat()
        body = {"podcast_id": podcast["id"], "title": words, "description": words, "publish_date": published}
        ok(owner.post("/api/v1/episodes", json=body))
    return str(podcast["id"])


def make_world(server: str, roles: tuple[str, ...] = ("owner", "sales")) -> World:
    tenant = make_tenant(server, roles=roles)
    owner = tenant.client()
    enable(owner)
    tech = show(
        owner,
        "Build Log",
        ["Technology"],
        "Software startups, developer tools and the people who ship them.",
        ["Shipping software at a startup", "Developer productivity tools", "Open-source software licensing"],
        audience_profile=AUDIENCE,
    )
    crime = show(
        owner,
        "Cold Case Hour",
        ["True Crime"],
        "Unsolved murders, retold.",
        ["The murder at the lake house", "A killer on the night train", "Murder, kidnapping and a missing witness"],
        explicit=True,
        audience_profile={"age_bands": {"25-34": 0.2, "35-44": 0.3, "55-64": 0.5}},
    )
    cooking = show(owner, "Cook Along", ["Arts", "Food"], "Weeknight recipes.", ["Soup season", "Bread basics"])
    software = ok(
        owner.post(
            "/api/v1/sponsors",
            json={
                "name": unique("Stackwise"),
                "industry": "software",
                "target_geo": ["US"],
                "target_demo": {"age_bands": ["25-34", "35-44"], "gender": ["female", "male"]},
                "target_topics": ["Technology", "startups", "productivity"],
                "brand_safety": "strict",
            },
        )
    )["id"]
    return World(tenant, owner, tech, crime, cooking, software)


async def add_downloads(tenant: Tenant, podcast_id: str, countries: dict[str, int], day: date | None = None) -> None:
    """Counted downloads with a country, as the counting job writes them."""
    async with tenant_transaction(uuid.UUID(tenant.id)) as session:
        episode = await session.scalar(
            text("SELECT id FROM episodes WHERE tenant_id = :t AND podcast_id = :p LIMIT 1"),
            {"t": tenant.id, "p": podcast_id},
        )
        run = uuid.uuid4()
        day = day or TODAY - timedelta(days=2)
        for country, count in countries.items():
            await session.execute(
                text(
                    """
                    INSERT INTO downloads (tenant_id, id, day, window_start, window_type, podcast_id, episode_id,
                        source_kind, listener, country, requests, first_request_id, run_id)
                    SELECT :t, gen_random_uuid(), :day, :start, 'calendar_day', :p, :e, 'prefix',
                        'household-' || :c || n, :c, 1, 'r-' || :c || n, :run
                    FROM generate_series(1, :n) n
                    """
                ),
                {
                    "t": tenant.id,
                    "day": day,
                    "start": datetime.combine(day, time(), tzinfo=UTC),
                    "p": podcast_id,
                    "e": episode,
                    "c": country,
                    "n": count,
                    "run": run,
                },
            )


def recalculate(client: httpx.Client, **params: str) -> dict[str, Any]:
    return ok(client.post("/api/v1/match/recalculate", params=params), 200)


def match(client: httpx.Client, advertiser: str, podcast: str) -> dict[str, Any]:
    return ok(client.get(f"/api/v1/match/{advertiser}/{podcast}"), 200)
