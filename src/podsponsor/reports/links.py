"""Share links: a read-only page of one campaign's report that a seller sends to the sponsor, which works without
signing in until it expires or the seller revokes it.

The link's address is `/shared/campaigns/<secret>.<signature>`:

- `secret`: 32 random bytes (256 bits), URL-safe base64. It is the credential; only its SHA-256 is stored, so the
  table cannot give out working links, and it is shown to the seller once;
- `signature`: HMAC-SHA-256 under the deployment's secret key over the link's id and expiry (whole seconds). The
  stored expiry and the one signed must agree, so a link cannot be made to live longer by changing its row, a token
  cannot be paired with another link's row, and rotating SECRET_KEY withdraws every link at once.

The shared page names no workspace: the link is found across workspaces by the secret's hash through the SECURITY
DEFINER function `reports_share_link_for_token`, and everything after runs in the link's workspace.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth import service as auth
from podsponsor.auth.subject import Subject, system_subject
from podsponsor.config import get_settings
from podsponsor.errors import NotFound
from podsponsor.events import service as events
from podsponsor.reports import repository
from podsponsor.reports.exceptions import ShareLinkExpired, ShareLinkRevoked
from podsponsor.reports.models import CampaignShareLink
from podsponsor.reports.repository import LinkRef
from podsponsor.reports.schemas import ShareLinkIn
from podsponsor.sales import service as sales

SHARED_PATH: Final = "/shared/campaigns"
SECRET_BYTES: Final = 32
# Both parts are 43 characters: 32 bytes in unpadded URL-safe base64.
_TOKEN: Final = re.compile(r"([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})")
_PURPOSE: Final = b"podsponsor/campaign-share-link/v1"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def signature(link_id: uuid.UUID, expires_at: datetime) -> str:
    key = get_settings().signing_key().encode()
    message = b"\n".join((_PURPOSE, str(link_id).encode(), str(int(expires_at.timestamp())).encode()))
    return _b64(hmac.new(key, message, hashlib.sha256).digest())


def shared_path(secret: str, link_id: uuid.UUID, expires_at: datetime) -> str:
    return f"{SHARED_PATH}/{secret}.{signature(link_id, expires_at)}"


@dataclass(frozen=True)
class NewLink:
    link: CampaignShareLink
    path: str  # holds the secret: given to the seller once, never stored


async def create_link(
    session: AsyncSession, subject: Subject, campaign_id: uuid.UUID, data: ShareLinkIn, *, now: datetime
) -> NewLink:
    campaign = await sales.get_campaign(session, subject, campaign_id)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    link = CampaignShareLink(
        tenant_id=subject.tenant_id,
        id=uuid.uuid4(),
        campaign_id=campaign.id,
        token_hash=token_hash(secret),
        label=data.label,
        created_by=subject.user_id,
        created_at=now,
        # Whole seconds: the signature covers the expiry in whole seconds.
        expires_at=(now + timedelta(days=data.expires_in_days)).replace(microsecond=0),
    )
    await repository.add(session, link)
    await _record(session, subject, "report.share_link_created", link, expires_at=link.expires_at.isoformat())
    return NewLink(link, shared_path(secret, link.id, link.expires_at))


async def list_links(session: AsyncSession, subject: Subject, campaign_id: uuid.UUID) -> Sequence[CampaignShareLink]:
    campaign = await sales.get_campaign(session, subject, campaign_id)
    return await repository.campaign_links(session, subject.tenant_id, campaign.id)


async def revoke_link(
    session: AsyncSession, subject: Subject, link_id: uuid.UUID, *, now: datetime
) -> CampaignShareLink:
    """Stops the link at once. Revoking a revoked link changes nothing: the first revocation's who and when stay."""
    link = await repository.get_link(session, subject.tenant_id, link_id)
    if link is None:
        raise NotFound("no such share link")
    await sales.get_campaign(session, subject, link.campaign_id)
    if link.revoked_at is None:
        link.revoked_at, link.revoked_by = now, subject.user_id
        await session.flush()
        await _record(session, subject, "report.share_link_revoked", link)
    return link


async def _record(session: AsyncSession, subject: Subject, kind: str, link: CampaignShareLink, **payload: str) -> None:
    await events.record(
        session,
        subject,
        kind,
        subject_type="campaign_share_link",
        subject_id=link.id,
        payload={"campaign_id": str(link.campaign_id), "label": link.label, **payload},
    )


# The shared page ---------------------------------------------------------------------------------------------------


async def resolve(session: AsyncSession, token: str, *, now: datetime) -> LinkRef:
    """The link behind a shared page's token, in any workspace (the session needs no tenant). Unknown, malformed and
    tampered tokens are all "not found", so a guess learns nothing; a real link that no longer opens says why."""
    found = _TOKEN.fullmatch(token)
    if found is None:
        raise NotFound("no such link")
    secret, signed = found.groups()
    ref = await repository.link_for_token(session, token_hash(secret))
    if ref is None or not hmac.compare_digest(signed, signature(ref.link_id, ref.expires_at)):
        raise NotFound("no such link")
    if ref.revoked_at is not None:
        raise ShareLinkRevoked("the seller withdrew this link; ask them for a new one")
    if ref.expires_at <= now:
        ended = ref.expires_at.astimezone(UTC)
        raise ShareLinkExpired(f"this link expired on {ended:%Y-%m-%d %H:%M} UTC; ask the seller for a new one")
    return ref


async def count_view(session: AsyncSession, ref: LinkRef, *, now: datetime) -> None:
    await repository.count_view(session, ref.tenant_id, ref.link_id, now)


async def viewer(session: AsyncSession, ref: LinkRef) -> Subject:
    """Who the shared page reads as (the link's workspace set on `session`): the campaign's sponsor, read-only, as
    the sponsor's own advertiser users see it, so the page shows nothing they would not."""
    campaign = await sales.get_campaign(session, system_subject(ref.tenant_id), ref.campaign_id)
    tenant = await auth.get_tenant(session, ref.tenant_id)
    return Subject(
        tenant_id=ref.tenant_id,
        role="advertiser",
        kind="system",
        sponsor_id=campaign.sponsor_id,
        tenant_name=tenant.name,
    )
