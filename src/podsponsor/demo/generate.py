"""The demo's rows, made without a database: one seed always gives the same rows, byte for byte.

Every demo login's password is `DEMO_PASSWORD`; e-mails are `<role>@<workspace slug>.example`.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from podsponsor.auth.models import ROLES
from podsponsor.demo.catalogue import BRANDS, INDUSTRIES, WORKSPACES, Workspace
from podsponsor.demo.history import deal_history
from podsponsor.demo.shows import ANCHOR, HISTORY_DAYS, new_id, person, plan_episode_counts, show_rows
from podsponsor.demo.vocabulary import AGE_BANDS, CAMPAIGN_PACKAGES, DEAL_NOTES, GENDERS, STAGE_PROBABILITY
from podsponsor.sales.models import BRAND_SAFETY, STAGES

DEMO_PASSWORD = "demo-password-1"
OPEN_STAGES = STAGES[:4]
Row = dict[str, Any]
Brand = tuple[str, str, str]


@dataclass(frozen=True)
class DemoLogin:
    workspace: str
    email: str
    password: str
    role: str


@dataclass(frozen=True)
class TenantRows:
    """One workspace's rows, keyed by column name; users carry no password hash (hashing is the loader's job).
    `stage_changes` are the deals' stage histories (`deal_stage_changes`)."""

    tenant: Row
    users: list[Row]
    sponsors: list[Row]
    podcasts: list[Row]
    episodes: list[Row]
    campaigns: list[Row]
    events: list[Row]
    audit: list[Row]
    logins: list[DemoLogin]
    stage_changes: list[Row] = field(default_factory=list)

    @property
    def id(self) -> uuid.UUID:
        tenant_id: uuid.UUID = self.tenant["id"]
        return tenant_id

    @property
    def slug(self) -> str:
        return str(self.tenant["slug"])


def generate(seed: int = 42) -> list[TenantRows]:
    rng = random.Random(seed)  # noqa: S311 - reproducible on purpose; nothing here is secret
    shows = [show for workspace in WORKSPACES for show in workspace.shows]
    counts = iter(plan_episode_counts(rng, shows, total=rng.randint(1460, 1540)))
    brands = _share_brands(rng)
    workspaces = [
        _workspace_rows(rng, workspace, [next(counts) for _ in workspace.shows], brands[workspace.slug])
        for workspace in WORKSPACES
    ]
    return [_with_deal_history(rows, seed) for rows in workspaces]


def _with_deal_history(rows: TenantRows, seed: int) -> TenantRows:
    """The deals' stage histories, drawn after everything else from a generator of their own, so adding them left
    every other row as it was."""
    rng = random.Random(f"{seed}:{rows.slug}:deal history")  # noqa: S311 - reproducible on purpose
    seller = next(user["id"] for user in rows.users if user["role"] == "sales")
    changes, moves = deal_history(rng, rows.id, rows.campaigns, rows.events, seller)
    return replace(rows, stage_changes=changes, events=rows.events + moves)


def _share_brands(rng: random.Random) -> dict[str, list[Brand]]:
    """Each brand sponsors one workspace only; local brands go to the workspace that names them, first."""
    local = {site: workspace.slug for workspace in WORKSPACES for site in workspace.local_brands}
    rest = [brand for brand in BRANDS if brand[2] not in local]
    rng.shuffle(rest)
    shared: dict[str, list[Brand]] = {}
    for workspace in WORKSPACES:
        own = [next(b for b in BRANDS if b[2] == site) for site in workspace.local_brands]
        wanted = max(rng.randint(*workspace.sponsors) - len(own), 0)
        shared[workspace.slug] = own + rest[:wanted]
        rest = rest[wanted:]
    return shared


def _workspace_rows(rng: random.Random, workspace: Workspace, counts: list[int], brands: list[Brand]) -> TenantRows:
    tenant_id = new_id(rng)
    founded = ANCHOR - timedelta(days=HISTORY_DAYS + 30)
    tenant = {
        "id": tenant_id,
        "name": workspace.name,
        "slug": workspace.slug,
        "kind": workspace.kind,
        "settings": {},
        "created_at": founded,
        "updated_at": founded,
    }
    sponsors = [_sponsor(rng, tenant_id, workspace, brand) for brand in brands]
    users = _users(rng, tenant_id, workspace, founded, advertiser_sponsor=sponsors[0]["id"])
    podcasts, episodes = [], []
    for show, count in zip(workspace.shows, counts, strict=True):
        podcast, show_episodes = show_rows(rng, tenant_id, workspace, show, count)
        podcasts.append(podcast)
        episodes.extend(show_episodes)
    by_role = {user["role"]: user["id"] for user in users}
    campaigns = _campaigns(rng, tenant_id, workspace, sponsors, seller_id=by_role["sales"])
    return TenantRows(
        tenant=tenant,
        users=users,
        sponsors=sponsors,
        podcasts=podcasts,
        episodes=episodes,
        campaigns=campaigns,
        events=_events(rng, tenant_id, podcasts, sponsors, campaigns, by_role),
        audit=_audit(rng, tenant_id, users, founded),
        logins=[DemoLogin(workspace.slug, user["email"], DEMO_PASSWORD, user["role"]) for user in users],
    )


def _users(
    rng: random.Random, tenant_id: uuid.UUID, workspace: Workspace, founded: datetime, advertiser_sponsor: uuid.UUID
) -> list[Row]:
    users = []
    for role in ROLES:
        joined = founded if role == "owner" else founded + timedelta(days=rng.randint(1, 300))
        users.append(
            {
                "tenant_id": tenant_id,
                "id": new_id(rng),
                "email": f"{role}@{workspace.slug}.example",
                "display_name": person(rng),
                "role": role,
                "sponsor_id": advertiser_sponsor if role == "advertiser" else None,
                "is_active": True,
                "session_version": 1,
                "last_login_at": None,
                "created_at": joined,
                "updated_at": joined,
            }
        )
    return users


def _sponsor(rng: random.Random, tenant_id: uuid.UUID, workspace: Workspace, brand: Brand) -> Row:
    name, industry, site = brand
    topics, safety_weights = INDUSTRIES[industry]
    first_band = rng.randrange(0, len(AGE_BANDS) - 2)
    genders = rng.choice([list(GENDERS)] * 3 + [["female"], ["male"]])
    # Old enough that every deal with it starts after it was added.
    created = ANCHOR - timedelta(days=rng.randint(200, 900), minutes=rng.randint(0, 24 * 60))
    return {
        "tenant_id": tenant_id,
        "id": new_id(rng),
        "name": name,
        "industry": industry,
        "website_url": f"https://www.{site}.example",
        "contact_email": f"partnerships@{site}.example",
        "target_geo": list(rng.choice(workspace.geo_targets)),
        "target_demo": {"age_bands": list(AGE_BANDS[first_band : first_band + rng.randint(2, 3)]), "gender": genders},
        "target_topics": rng.sample(topics, rng.randint(2, len(topics))),
        "brand_safety": rng.choices(BRAND_SAFETY, weights=safety_weights)[0],
        "notes": "",
        "created_at": created,
        "updated_at": created,
        "deleted_at": None,
    }


def _campaigns(
    rng: random.Random, tenant_id: uuid.UUID, workspace: Workspace, sponsors: list[Row], seller_id: uuid.UUID
) -> list[Row]:
    count = rng.randint(*workspace.campaigns)
    stages = list(STAGES) + rng.choices(STAGES, weights=(20, 18, 17, 12, 20, 13), k=count - len(STAGES))
    rows = []
    for index, stage in enumerate(stages):
        # The advertiser login's sponsor gets an open deal and a won one, so its view is never empty.
        sponsor = sponsors[0] if stage in ("proposal", "won") and index < len(STAGES) else rng.choice(sponsors)
        rows.append(_campaign(rng, tenant_id, workspace, sponsor, seller_id, stage))
    return rows


def _campaign(
    rng: random.Random, tenant_id: uuid.UUID, workspace: Workspace, sponsor: Row, seller_id: uuid.UUID, stage: str
) -> Row:
    is_open = stage in OPEN_STAGES
    days_ago = rng.randint(1, 40) if is_open else rng.randint(3, 150)
    changed = ANCHOR - timedelta(days=days_ago) + timedelta(minutes=rng.randint(0, 8 * 60))
    created = changed if stage == "lead" else changed - timedelta(days=rng.randint(5, 45), minutes=rng.randint(0, 600))
    close = (ANCHOR + timedelta(days=rng.randint(7, 120))).date() if is_open else changed.date()
    probability = STAGE_PROBABILITY[stage]
    if is_open and rng.random() < 0.25:
        probability += rng.choice((-0.05, 0.05))
    quarter = f"Q{(close.month - 1) // 3 + 1} {close.year}"
    low, high = workspace.deal_dollars
    return {
        "tenant_id": tenant_id,
        "id": new_id(rng),
        "sponsor_id": sponsor["id"],
        "seller_id": seller_id,
        "name": f"{sponsor['name']} {quarter} {rng.choice(CAMPAIGN_PACKAGES)}",
        "stage": stage,
        "stage_changed_at": changed,
        "value_cents": rng.randrange(low, high + 1, 500) * 100,
        "currency": workspace.currency,
        "probability": Decimal(f"{probability:.3f}"),
        "expected_close": close,
        "notes": rng.choice(DEAL_NOTES),
        "created_at": created,
        "updated_at": changed,
        "deleted_at": None,
    }


def _events(
    rng: random.Random,
    tenant_id: uuid.UUID,
    podcasts: list[Row],
    sponsors: list[Row],
    campaigns: list[Row],
    by_role: dict[str, uuid.UUID],
) -> list[Row]:
    """The log the catalog and sales services would have written had this data been entered by hand."""
    owner, seller = by_role["owner"], by_role["sales"]
    entries = [("podcast.created", "podcast", p, owner, p["created_at"], {"title": p["title"]}) for p in podcasts]
    entries += [
        ("sponsor.created", "sponsor", s, seller, s["created_at"], {"name": s["name"], "industry": s["industry"]})
        for s in sponsors
    ]
    for deal in campaigns:
        opened = {key: deal[key] for key in ("name", "value_cents", "currency")}
        opened.update(sponsor_id=str(deal["sponsor_id"]), stage="lead")
        entries.append(("campaign.created", "campaign", deal, seller, deal["created_at"], opened))
        if deal["stage"] != "lead":
            moved = {"from": _previous_stage(rng, deal["stage"]), "to": deal["stage"]}
            entries.append(("deal.stage_changed", "campaign", deal, seller, deal["stage_changed_at"], moved))
    return [
        {
            "tenant_id": tenant_id,
            "id": new_id(rng),
            "type": type,
            "subject_type": subject_type,
            "subject_id": row["id"],
            "actor_user_id": actor,
            "payload": payload,
            "at": at,
        }
        for type, subject_type, row, actor, at, payload in entries
    ]


def _previous_stage(rng: random.Random, stage: str) -> str:
    if stage == "lost":
        return rng.choice(OPEN_STAGES)
    return STAGES[STAGES.index(stage) - 1]


def _audit(rng: random.Random, tenant_id: uuid.UUID, users: list[Row], founded: datetime) -> list[Row]:
    owner = users[0]["id"]
    entries: list[tuple[str, str, str, datetime, dict[str, Any]]] = [
        ("tenant.created", "tenant", str(tenant_id), founded, {})
    ]
    entries += [
        ("user.added", "user", str(u["id"]), u["created_at"], {"email": u["email"], "role": u["role"]})
        for u in users[1:]
    ]
    return [
        {
            "tenant_id": tenant_id,
            "id": new_id(rng),
            "at": at,
            "actor_user_id": owner,
            "actor_api_key_id": None,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "details": details,
            "ip_hash": None,
        }
        for action, target_type, target_id, at, details in entries
    ]
