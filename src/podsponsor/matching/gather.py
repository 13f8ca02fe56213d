"""Reading what scoring needs for a scope into `Inputs`, one query per input for the whole scope.

Topic weights (how rare a term is among shows) are always computed over every show of the workspace, so a pair's
score is the same whether it is recalculated alone or with the whole workspace.
"""

from __future__ import annotations

import html
import re
import uuid
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.matching import availability, repository, safety, topics
from podsponsor.matching.inputs import GEO_DAYS, Advertiser, Brief, Delivered, ExclusiveOrder, Inputs, Inventory, Show

TAG: Final = re.compile(r"<[^>]+>")


def plain(value: str | None) -> str:
    """Feed text without its HTML markup."""
    return html.unescape(TAG.sub(" ", value or ""))


def _brief(row: dict[str, Any]) -> Brief | None:
    if not row["has_brief"]:
        return None
    return Brief(
        flight_start=row["flight_start"],
        flight_end=row["flight_end"],
        positions=tuple(row["positions"] or ()),
        slots_needed=row["slots_needed"],
        blocked_categories=frozenset(c.lower() for c in row["blocked_categories"] or ()),
    )


async def gather(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    today: date,
    *,
    sponsor_ids: list[uuid.UUID] | None = None,
    podcast_ids: list[uuid.UUID] | None = None,
) -> Inputs:
    won: dict[uuid.UUID, list[str]] = defaultdict(list)
    for row in await repository.won_categories(session, tenant_id):
        won[row["sponsor_id"]].append(row["category"])
    advertisers = [
        Advertiser(
            id=row["id"],
            name=row["name"],
            industry=row["industry"] or "",
            target_geo=tuple(c.upper() for c in row["target_geo"] or ()),
            target_demo=row["target_demo"] or {},
            tolerance=row["brand_safety"],
            brief=_brief(row),
            terms=topics.advertiser_terms(
                row["industry"] or "", list(row["target_topics"] or ()), list(row["keywords"] or ()), won[row["id"]]
            ),
        )
        for row in await repository.advertisers(session, tenant_id, sponsor_ids)
    ]
    every_show = await _shows(session, tenant_id, today, podcast_ids)
    shows = [show for show in every_show if podcast_ids is None or show.id in podcast_ids]
    delivered = [
        Delivered(
            row["sponsor_id"],
            row["industry"] or "",
            row["podcast_id"],
            float(row["conversions"]),
            int(row["impressions"]),
        )
        for row in await repository.delivered(session, tenant_id)
    ]
    return Inputs(
        today=today,
        advertisers=advertisers,
        shows=shows,
        corpus=[show.text for show in every_show],
        delivered=delivered,
        exclusive=[ExclusiveOrder(**row) for row in await repository.exclusive_orders(session, tenant_id, today)],
        inventory=await inventory(session, tenant_id, today, [show.id for show in shows]),
    )


async def _shows(
    session: AsyncSession, tenant_id: uuid.UUID, today: date, podcast_ids: list[uuid.UUID] | None
) -> list[Show]:
    texts: dict[uuid.UUID, list[str]] = defaultdict(list)
    for row in await repository.episode_text(session, tenant_id):
        texts[row["podcast_id"]] += [row["title"] or "", plain(row["description"]), row["transcript"] or ""]
    located: dict[uuid.UUID, Counter[str]] = defaultdict(Counter)
    since = today - timedelta(days=GEO_DAYS)
    for row in await repository.located(session, tenant_id, since, podcast_ids):
        located[row["podcast_id"]][row["country"].upper()] += int(row["downloads"])
    shows = []
    for row in await repository.shows(session, tenant_id):
        text = topics.show_text(
            list(row["categories"] or ()), [row["title"], plain(row["description"]), *texts[row["id"]]]
        )
        shows.append(
            Show(
                id=row["id"],
                title=row["title"],
                categories=tuple(row["categories"] or ()),
                explicit=bool(row["explicit"]),
                located=located[row["id"]],
                audience=row["audience_profile"] or {},
                text=text,
                sensitive=safety.sensitive_counts(text.counts),
            )
        )
    return shows


async def inventory(session: AsyncSession, tenant_id: uuid.UUID, today: date, shows: list[uuid.UUID]) -> Inventory:
    since = today - timedelta(days=availability.CADENCE_LOOKBACK_DAYS)
    until = today + timedelta(days=availability.HORIZON_DAYS)
    return availability.build(
        shows,
        today,
        await repository.ad_units(session, tenant_id, shows),
        await repository.releases(session, tenant_id, since, until, shows),
        await repository.booked_slots(session, tenant_id, today, until),
        await repository.unassigned_flights(session, tenant_id, today),
    )
