"""Writes the demo workspaces, one transaction each, through the runtime role and its row-level security.

Loading is idempotent: a workspace whose slug exists already is left as it is, and the summary always counts what
the database holds. The demo workspaces are known by their slugs (`northwind`, `maple-pine`).

A new workspace gets its listening too: the prefix hits of the last weeks (`listening.py`) go in with its other rows,
in the same transaction, and then each of those days is counted as the hourly job would, one transaction a day.
Then each demo workspace that has no ad units gets its bookings (`load_bookings.py`), whose delivery is made of
those counted downloads, then its conversions and their attribution (`load_conversions.py`), then the sponsors'
briefs and the shows' transcripts that matchmaking reads, and the matches scored from all of it
(`load_matching.py`).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth import service as auth
from podsponsor.auth.models import AuditEntry, Tenant, User
from podsponsor.auth.passwords import hash_password
from podsponsor.bookings.models import InsertionOrder
from podsponsor.catalog.models import Episode, Podcast
from podsponsor.db.tenancy import set_tenant, tenant_transaction, unscoped_transaction
from podsponsor.demo.catalogue import WORKSPACES
from podsponsor.demo.generate import DemoLogin, TenantRows, generate
from podsponsor.demo.listening import listening_days, listening_hits
from podsponsor.demo.load_bookings import add_bookings
from podsponsor.demo.load_conversions import add_conversions
from podsponsor.demo.load_matching import add_match_inputs, add_matches
from podsponsor.events.models import Event
from podsponsor.measurement.count_models import Download
from podsponsor.measurement.counting_job import count_day
from podsponsor.measurement.hit_models import DownloadRequest
from podsponsor.sales.models import Campaign, DealStageChange, Sponsor

log = logging.getLogger(__name__)

DEMO_SLUGS = frozenset(workspace.slug for workspace in WORKSPACES)
Row = dict[str, Any]

ENSURE_HIT_PARTITIONS = text("SELECT measurement_ensure_hit_partitions(:first, :last)")
# One JSON array per batch, unpacked by PostgreSQL into typed columns: measured on the demo's hits, five times faster
# than SQLAlchemy's executemany of the same dicts (COPY is refused on a table under row-level security).
INSERT_HITS = text(
    "INSERT INTO download_requests (tenant_id, id, ts, podcast_id, method, url, destination, range_header, "
    "user_agent, referer, ip_hash, country, datacenter, status) "
    "SELECT r.* FROM json_to_recordset(CAST(:rows AS json)) AS r(tenant_id uuid, id uuid, ts timestamptz, "
    "podcast_id uuid, method text, url text, destination text, range_header text, user_agent text, referer text, "
    "ip_hash text, country text, datacenter text, status smallint)"
)
HIT_BATCH: Final = 10_000


@dataclass(frozen=True)
class DemoSummary:
    tenants: int
    shows: int
    episodes: int
    sponsors: int
    campaigns: int
    users: int
    hits: int
    downloads: int
    ios: int
    logins: list[DemoLogin]


async def demo_tenant_ids() -> dict[str, uuid.UUID]:
    """The demo workspaces that exist, by slug. Tenants are listed by the SECURITY DEFINER lookup; each one's
    row is then read with that tenant set, so no query sees two tenants at once."""
    found: dict[str, uuid.UUID] = {}
    async with unscoped_transaction() as session:
        for tenant_id in await auth.tenant_ids(session):
            await set_tenant(session, tenant_id)
            tenant = await auth.get_tenant(session, tenant_id)
            if tenant.slug in DEMO_SLUGS:
                found[tenant.slug] = tenant_id
    return found


async def demo_loaded() -> bool:
    return (await demo_tenant_ids()).keys() >= DEMO_SLUGS


async def load_demo_data(seed: int = 42) -> DemoSummary:
    """Adds the demo workspaces that are missing and returns what the demo workspaces now hold."""
    workspaces = generate(seed)
    present = await demo_tenant_ids()
    missing = [rows for rows in workspaces if rows.slug not in present]
    hashes = {password: hash_password(password) for password in {login.password for r in missing for login in r.logins}}
    now = datetime.now(UTC)
    days = listening_days(now)
    if missing:
        async with unscoped_transaction() as session:
            await session.execute(ENSURE_HIT_PARTITIONS, {"first": days[0], "last": days[-1]})
    for rows in missing:
        await _add_workspace(rows, hashes, listening_hits(rows, seed, now), days)
    present = await demo_tenant_ids()
    # Bookings follow the counted listening (their delivery is made of it), each workspace's once.
    for rows in workspaces:
        if present.get(rows.slug) == rows.id:
            await add_bookings(rows, seed, now, days)
            # Conversions follow the delivered bookings: households are matched to the orders' counted downloads.
            await add_conversions(rows, seed, now, days)
            await add_match_inputs(rows, seed, now)
            # Matches read all of the above: audiences, listening, bookings, attributed results, briefs.
            await add_matches(rows.id)
    logins = [login for rows in workspaces if rows.slug in present for login in rows.logins]
    return await _summary(present, logins)


async def _add_workspace(rows: TenantRows, hashes: dict[str, str], hits: list[Row], days: list[date]) -> None:
    started = time.perf_counter()
    try:
        await _insert_workspace(rows, hashes, hits)
    except IntegrityError:
        # Another loader won the race for this slug; anything else is a real failure.
        if rows.slug not in await demo_tenant_ids():
            raise
        return
    downloads = await _count_days(rows.id, days)
    log.info(
        "demo workspace %s: %d prefix hits over %d days, counted into %d downloads, in %.1f s",
        rows.slug,
        len(hits),
        len(days),
        downloads,
        time.perf_counter() - started,
        extra={"workspace": rows.slug, "hits": len(hits), "downloads": downloads},
    )


async def _insert_workspace(rows: TenantRows, hashes: dict[str, str], hits: list[Row]) -> None:
    password_hash = {login.email: hashes[login.password] for login in rows.logins}
    users = [{**user, "password_hash": password_hash[user["email"]]} for user in rows.users]
    # The tenant row first: its policy admits it only in a transaction set to its own id.
    batches: list[tuple[Any, list[Row]]] = [
        (Tenant, [rows.tenant]),
        (Sponsor, rows.sponsors),
        (User, users),
        (Podcast, rows.podcasts),
        (Episode, rows.episodes),
        (Campaign, rows.campaigns),
        (DealStageChange, rows.stage_changes),
        (Event, rows.events),
        (AuditEntry, rows.audit),
    ]
    # The hits go in with the workspace, so a workspace that exists always has its listening.
    async with tenant_transaction(rows.id) as session:
        for model, batch in batches:
            await session.execute(insert(model), batch)
        for at in range(0, len(hits), HIT_BATCH):
            await session.execute(INSERT_HITS, {"rows": json.dumps(hits[at : at + HIT_BATCH], default=str)})


async def _count_days(tenant_id: uuid.UUID, days: list[date]) -> int:
    """Count each day as the hourly job would, each in a transaction of its own; the downloads counted. One day at
    a time: counting is mostly database work, and measured on two cores, counting two or four days at once was no
    faster."""
    downloads = 0
    for day in days:
        async with tenant_transaction(tenant_id) as session:
            run = await count_day(session, tenant_id, day, trigger="demo")
        downloads += run.downloads
    return downloads


async def _count(session: AsyncSession, tenant_id: uuid.UUID, model: Any) -> int:
    query = select(func.count()).select_from(model).where(model.tenant_id == tenant_id)
    if hasattr(model, "deleted_at"):
        query = query.where(model.deleted_at.is_(None))
    return int(await session.scalar(query) or 0)


async def _summary(present: dict[str, uuid.UUID], logins: list[DemoLogin]) -> DemoSummary:
    models = {
        "shows": Podcast,
        "episodes": Episode,
        "sponsors": Sponsor,
        "campaigns": Campaign,
        "users": User,
        "hits": DownloadRequest,
        "downloads": Download,
        "ios": InsertionOrder,
    }
    totals = dict.fromkeys(models, 0)
    for tenant_id in present.values():
        async with tenant_transaction(tenant_id) as session:
            for key, model in models.items():
                totals[key] += await _count(session, tenant_id, model)
    return DemoSummary(tenants=len(present), logins=logins, **totals)
