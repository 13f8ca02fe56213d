"""Sales rules: sponsors (advertisers) and campaigns (deals), who may see which, and the events changes emit.

An advertiser user sees only its own sponsor and that sponsor's campaigns; anything else is "not found", exactly
as if it belonged to another workspace.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth import service as auth
from podsponsor.auth.subject import Subject
from podsponsor.errors import NotFound
from podsponsor.events import service as events
from podsponsor.listing import Window
from podsponsor.sales import repository
from podsponsor.sales.exceptions import SponsorNameTaken, UnknownReference
from podsponsor.sales.models import Campaign, DealStageChange, Sponsor
from podsponsor.sales.schemas import CampaignIn, CampaignPatch, SponsorIn, SponsorPatch, plain

SPONSOR_SORTS = ("name", "created_at", "industry")
CAMPAIGN_SORTS = ("name", "created_at", "expected_close", "value_cents")
# An advertiser user without a sponsor cannot exist (a check constraint); if one did, it would match nothing.
_NO_SPONSOR = uuid.UUID(int=0)


async def sponsor_exists(session: AsyncSession, tenant_id: uuid.UUID, sponsor_id: uuid.UUID) -> bool:
    return await repository.get_sponsor(session, tenant_id, sponsor_id) is not None


def _only_sponsor(subject: Subject) -> uuid.UUID | None:
    """The one sponsor this subject is limited to, or None when it sees all of its workspace's sponsors."""
    if not subject.is_advertiser:
        return None
    return subject.sponsor_id or _NO_SPONSOR


async def create_sponsor(session: AsyncSession, subject: Subject, data: SponsorIn) -> Sponsor:
    await _check_name_free(session, subject, data.name, None)
    sponsor = Sponsor(tenant_id=subject.tenant_id, **plain(data))
    await _save_sponsor(session, sponsor)
    await events.record(
        session,
        subject,
        "sponsor.created",
        subject_type="sponsor",
        subject_id=sponsor.id,
        payload={"name": sponsor.name, "industry": sponsor.industry},
    )
    return sponsor


async def get_sponsor(session: AsyncSession, subject: Subject, sponsor_id: uuid.UUID) -> Sponsor:
    sponsor = await repository.get_sponsor(session, subject.tenant_id, sponsor_id, only_sponsor=_only_sponsor(subject))
    if sponsor is None:
        raise NotFound("no such sponsor")
    return sponsor


async def update_sponsor(session: AsyncSession, subject: Subject, sponsor_id: uuid.UUID, data: SponsorPatch) -> Sponsor:
    sponsor = await get_sponsor(session, subject, sponsor_id)
    changes = plain(data, exclude_unset=True)
    if "name" in changes:
        await _check_name_free(session, subject, changes["name"], sponsor.id)
    for field, value in changes.items():
        setattr(sponsor, field, value)
    await _save_sponsor(session, sponsor)
    await events.record(
        session,
        subject,
        "sponsor.updated",
        subject_type="sponsor",
        subject_id=sponsor.id,
        payload={"fields": sorted(changes)},
    )
    return sponsor


async def delete_sponsor(session: AsyncSession, subject: Subject, sponsor_id: uuid.UUID) -> None:
    """Soft-deletes the sponsor and its campaigns: deals of a sponsor that is gone have no one to sell to."""
    sponsor = await get_sponsor(session, subject, sponsor_id)
    await repository.soft_delete(session, sponsor)
    removed = await repository.soft_delete_campaigns_of(session, subject.tenant_id, sponsor.id)
    await events.record(
        session,
        subject,
        "sponsor.deleted",
        subject_type="sponsor",
        subject_id=sponsor.id,
        payload={"name": sponsor.name, "campaigns_deleted": removed},
    )


async def list_sponsors(
    session: AsyncSession, subject: Subject, q: str | None, industry: str | None, page: Window
) -> tuple[Sequence[Sponsor], int]:
    return await repository.list_sponsors(session, subject.tenant_id, _only_sponsor(subject), q, industry, page)


async def create_campaign(session: AsyncSession, subject: Subject, data: CampaignIn) -> Campaign:
    await _check_references(session, subject, data.sponsor_id, data.seller_id)
    campaign = Campaign(tenant_id=subject.tenant_id, stage_changed_at=datetime.now(UTC), **plain(data))
    await repository.add(session, campaign)
    # A deal's history starts with its creation: the stage it was opened in, from nowhere.
    opened = DealStageChange(
        tenant_id=subject.tenant_id,
        campaign_id=campaign.id,
        from_stage=None,
        to_stage=campaign.stage,
        changed_by=subject.user_id,
        changed_at=campaign.stage_changed_at,
    )
    await repository.add(session, opened)
    await events.record(
        session,
        subject,
        "campaign.created",
        subject_type="campaign",
        subject_id=campaign.id,
        payload={
            "sponsor_id": str(campaign.sponsor_id),
            "name": campaign.name,
            "stage": campaign.stage,
            "value_cents": campaign.value_cents,
            "currency": campaign.currency,
        },
    )
    return campaign


async def get_campaign(session: AsyncSession, subject: Subject, campaign_id: uuid.UUID) -> Campaign:
    campaign = await repository.get_campaign(
        session, subject.tenant_id, campaign_id, only_sponsor=_only_sponsor(subject)
    )
    if campaign is None:
        raise NotFound("no such campaign")
    return campaign


async def update_campaign(
    session: AsyncSession, subject: Subject, campaign_id: uuid.UUID, data: CampaignPatch
) -> Campaign:
    campaign = await get_campaign(session, subject, campaign_id)
    changes = plain(data, exclude_unset=True)
    await _check_references(session, subject, changes.get("sponsor_id"), changes.get("seller_id"))
    for field, value in changes.items():
        setattr(campaign, field, value)
    await session.flush()
    await events.record(
        session,
        subject,
        "campaign.updated",
        subject_type="campaign",
        subject_id=campaign.id,
        payload={"fields": sorted(changes)},
    )
    return campaign


async def delete_campaign(session: AsyncSession, subject: Subject, campaign_id: uuid.UUID) -> None:
    campaign = await get_campaign(session, subject, campaign_id)
    await repository.soft_delete(session, campaign)
    await events.record(
        session,
        subject,
        "campaign.deleted",
        subject_type="campaign",
        subject_id=campaign.id,
        payload={"sponsor_id": str(campaign.sponsor_id), "name": campaign.name},
    )


async def list_campaigns(
    session: AsyncSession,
    subject: Subject,
    sponsor_id: uuid.UUID | None,
    stages: Sequence[str],
    q: str | None,
    page: Window,
) -> tuple[Sequence[Campaign], int]:
    if sponsor_id is not None:
        await get_sponsor(session, subject, sponsor_id)
    return await repository.list_campaigns(
        session, subject.tenant_id, _only_sponsor(subject), sponsor_id, stages, q, page
    )


async def _check_name_free(session: AsyncSession, subject: Subject, name: str, sponsor_id: uuid.UUID | None) -> None:
    existing = await repository.sponsor_by_name(session, subject.tenant_id, name)
    if existing is not None and existing.id != sponsor_id:
        raise _name_taken(name, existing.id)


def _name_taken(name: str, existing_id: uuid.UUID | None) -> SponsorNameTaken:
    extra: dict[str, Any] = {"sponsor_id": str(existing_id)} if existing_id else {}
    return SponsorNameTaken(
        f"a sponsor named '{name}' already exists here",
        errors=[{"field": "name", "value": name, "reason": "taken (names are compared ignoring case)"}],
        **extra,
    )


async def _save_sponsor(session: AsyncSession, sponsor: Sponsor) -> None:
    # The check before answers the common case; the unique index answers two requests racing for one name.
    try:
        await repository.add(session, sponsor)
    except IntegrityError as exc:
        raise _name_taken(sponsor.name, None) from exc


async def _check_references(
    session: AsyncSession, subject: Subject, sponsor_id: uuid.UUID | None, seller_id: uuid.UUID | None
) -> None:
    """A campaign points at a sponsor and a seller of this workspace; anything else is bad input, not a crash."""
    errors = []
    if sponsor_id is not None and not await sponsor_exists(session, subject.tenant_id, sponsor_id):
        errors.append({"field": "sponsor_id", "value": str(sponsor_id), "reason": "no such sponsor in this workspace"})
    if seller_id is not None and not await auth.user_exists(session, subject.tenant_id, seller_id):
        errors.append({"field": "seller_id", "value": str(seller_id), "reason": "no such user in this workspace"})
    if errors:
        raise UnknownReference("the campaign points at something that is not in this workspace", errors=errors)
