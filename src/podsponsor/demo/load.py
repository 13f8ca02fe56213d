"""Writes the demo workspaces, one transaction each, through the runtime role and its row-level security.

Loading is idempotent: a workspace whose slug exists already is left as it is, and the summary always counts what
the database holds. The demo workspaces are known by their slugs (`northwind`, `maple-pine`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth import service as auth
from podsponsor.auth.models import AuditEntry, Tenant, User
from podsponsor.auth.passwords import hash_password
from podsponsor.catalog.models import Episode, Podcast
from podsponsor.db.tenancy import set_tenant, tenant_transaction, unscoped_transaction
from podsponsor.demo.catalogue import WORKSPACES
from podsponsor.demo.generate import DemoLogin, TenantRows, generate
from podsponsor.events.models import Event
from podsponsor.sales.models import Campaign, Sponsor

DEMO_SLUGS = frozenset(workspace.slug for workspace in WORKSPACES)


@dataclass(frozen=True)
class DemoSummary:
    tenants: int
    shows: int
    episodes: int
    sponsors: int
    campaigns: int
    users: int
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
    for rows in missing:
        try:
            await _insert_workspace(rows, hashes)
        except IntegrityError:
            # Another loader won the race for this slug; anything else is a real failure.
            if rows.slug not in await demo_tenant_ids():
                raise
    present = await demo_tenant_ids()
    logins = [login for rows in workspaces if rows.slug in present for login in rows.logins]
    return await _summary(present, logins)


async def _insert_workspace(rows: TenantRows, hashes: dict[str, str]) -> None:
    password_hash = {login.email: hashes[login.password] for login in rows.logins}
    users = [{**user, "password_hash": password_hash[user["email"]]} for user in rows.users]
    # The tenant row first: its policy admits it only in a transaction set to its own id.
    batches: list[tuple[Any, list[dict[str, Any]]]] = [
        (Tenant, [rows.tenant]),
        (Sponsor, rows.sponsors),
        (User, users),
        (Podcast, rows.podcasts),
        (Episode, rows.episodes),
        (Campaign, rows.campaigns),
        (Event, rows.events),
        (AuditEntry, rows.audit),
    ]
    async with tenant_transaction(rows.id) as session:
        for model, batch in batches:
            await session.execute(insert(model), batch)


async def _count(session: AsyncSession, tenant_id: uuid.UUID, model: Any) -> int:
    query = select(func.count()).select_from(model).where(model.tenant_id == tenant_id)
    if hasattr(model, "deleted_at"):
        query = query.where(model.deleted_at.is_(None))
    return int(await session.scalar(query) or 0)


async def _summary(present: dict[str, uuid.UUID], logins: list[DemoLogin]) -> DemoSummary:
    totals = dict.fromkeys(("shows", "episodes", "sponsors", "campaigns", "users"), 0)
    models = {"shows": Podcast, "episodes": Episode, "sponsors": Sponsor, "campaigns": Campaign, "users": User}
    for tenant_id in present.values():
        async with tenant_transaction(tenant_id) as session:
            for key, model in models.items():
                totals[key] += await _count(session, tenant_id, model)
    return DemoSummary(tenants=len(present), logins=logins, **totals)
