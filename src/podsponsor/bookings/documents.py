"""Insertion orders as documents to sign: a `Booking` and what it points at (workspace, sponsor, deal, show, ad unit,
episodes, settings) turned into the `IoDocument` that `pdf` lays out, and the PDFs rendered off the event loop.

The same rules as reading an IO hold: an advertiser user gets only its own sponsor's orders and campaigns (anything
else is "not found") and never the internal notes.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth import service as auth
from podsponsor.auth.subject import Subject
from podsponsor.bookings import pdf, service
from podsponsor.bookings.models import AdUnit, InsertionOrder
from podsponsor.bookings.pdf import IoDocument, IoEpisode, IoLine, Party
from podsponsor.bookings.schemas import IoQuery
from podsponsor.bookings.settings import BookingSettings, booking_settings
from podsponsor.catalog import service as catalog
from podsponsor.errors import NotFound
from podsponsor.listing import Window
from podsponsor.sales import service as sales

# Every order a campaign's document carries: all but the cancelled ones.
CAMPAIGN_STATUSES: Final = ("scheduled", "active", "completed", "makegood")
PAGE: Final = 200
REMOVED: Final = "(removed)"
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
T = TypeVar("T")


@dataclass(frozen=True)
class CampaignDocument:
    name: str
    ios: list[IoDocument]


async def io_document(session: AsyncSession, subject: Subject, io_id: uuid.UUID, *, base_url: str) -> IoDocument:
    """One IO as a document. `base_url` is where the public reaches this service (the vanity URL's host)."""
    booking = await service.get_io(session, subject, io_id)
    documents = await _Documents.of(session, subject, base_url)
    return await documents.document(booking)


async def campaign_document(
    session: AsyncSession, subject: Subject, campaign_id: uuid.UUID, *, base_url: str
) -> CampaignDocument:
    """Every order of a campaign but the cancelled ones, by IO number."""
    campaign = await sales.get_campaign(session, subject, campaign_id)
    where = IoQuery(statuses=CAMPAIGN_STATUSES, campaign_id=campaign.id)
    bookings: list[service.Booking] = []
    while True:
        page, total = await service.list_ios(session, subject, where, Window(PAGE, len(bookings), "number", False))
        bookings += page
        if not page or len(bookings) >= total:
            break
    documents = await _Documents.of(session, subject, base_url)
    documents.campaigns[campaign.id] = campaign.name
    return CampaignDocument(campaign.name, [await documents.document(b) for b in bookings])


async def render_io(document: IoDocument) -> bytes:
    """The PDF, laid out in a worker thread: a long IO takes a noticeable while, and the event loop serves others."""
    return await asyncio.to_thread(pdf.render_io_pdf, document)


async def render_campaign(document: CampaignDocument) -> bytes:
    return await asyncio.to_thread(pdf.render_campaign_pdf, document.ios, document.name)


def io_filename(document: IoDocument) -> str:
    return f"{_safe(document.number) or 'IO'}.pdf"


def campaign_filename(document: CampaignDocument) -> str:
    return f"IO-{_safe(document.name) or 'campaign'}.pdf"


def _safe(name: str) -> str:
    """A file name any browser and mail client keeps as it is: ASCII letters, digits, dots, dashes."""
    return _UNSAFE_FILENAME.sub("-", name).strip("-.")[:120]


# Building documents ---------------------------------------------------------------------------------------------------


@dataclass
class _Documents:
    """Builds the documents of one request, looking each party up once (a campaign's orders share most of them)."""

    session: AsyncSession
    subject: Subject
    base_url: str
    seller: Party
    settings: BookingSettings
    sponsors: dict[uuid.UUID, Any] = field(default_factory=dict)
    campaigns: dict[uuid.UUID, str] = field(default_factory=dict)
    shows: dict[uuid.UUID, str] = field(default_factory=dict)

    @classmethod
    async def of(cls, session: AsyncSession, subject: Subject, base_url: str) -> _Documents:
        tenant = await auth.get_tenant(session, subject.tenant_id)
        settings = await booking_settings(session, subject.tenant_id)
        seller = Party(
            tenant.name,
            settings.seller_address,
            settings.seller_contact_name,
            settings.seller_contact_email,
        )
        return cls(session, subject, base_url.rstrip("/"), seller, settings)

    async def document(self, booking: service.Booking) -> IoDocument:
        io = booking.io
        sponsor = await self._sponsor(io.sponsor_id)
        return IoDocument(
            number=io.number,
            issued_on=io.created_at.astimezone(UTC).date(),
            seller=self.seller,
            advertiser=_advertiser(sponsor),
            agency=_agency(io),
            campaign_name=await self._campaign(io.campaign_id),
            currency=io.currency,
            lines=[await self._line(io, booking.episode_ids)],
            max_spend_cents=io.max_spend_cents,
            pacing_mode=io.pacing_mode,
            talking_points=io.talking_points,
            promo_code=io.promo_code,
            vanity_url=f"{self.base_url}/v/{io.vanity_slug}" if io.vanity_slug else None,
            exclusivity=exclusivity(io, sponsor.industry if sponsor else ""),
            makegood_terms=io.makegood_terms,
            standard_terms=self.settings.standard_terms or pdf.STANDARD_TERMS,
            notes="" if self.subject.is_advertiser else io.notes,
        )

    async def _line(self, io: InsertionOrder, episode_ids: Sequence[uuid.UUID]) -> IoLine:
        unit = await service.get_ad_unit(self.session, self.subject, io.ad_unit_id, include_deleted=True)
        return IoLine(
            show_title=await self._show(io.podcast_id),
            ad_unit=_ad_unit(unit),
            episodes=await self._episodes(episode_ids) if episode_ids else None,
            flight_start=io.flight_start,
            flight_end=io.flight_end,
            impression_goal=io.impression_goal,
            pricing_model=io.pricing_model,
            cpm_cents=io.cpm_cents,
            flat_cents=io.flat_cents,
            cpa_cents=io.cpa_cents,
        )

    async def _episodes(self, episode_ids: Sequence[uuid.UUID]) -> list[IoEpisode]:
        """The episodes sold, earliest air date first; episodes without a date yet last."""
        found = []
        for episode_id in episode_ids:
            episode = await _or_none(catalog.get_episode(self.session, self.subject, episode_id))
            if episode is None:
                found.append(IoEpisode(f"{REMOVED} episode"))
            else:
                aired = episode.publish_date.astimezone(UTC).date() if episode.publish_date else None
                found.append(IoEpisode(episode.title, aired))
        latest = datetime.max.date()
        return sorted(found, key=lambda e: (e.air_date or latest, e.title))

    async def _sponsor(self, sponsor_id: uuid.UUID) -> Any:
        if sponsor_id not in self.sponsors:
            self.sponsors[sponsor_id] = await _or_none(sales.get_sponsor(self.session, self.subject, sponsor_id))
        return self.sponsors[sponsor_id]

    async def _campaign(self, campaign_id: uuid.UUID) -> str:
        return await self._cached(
            self.campaigns, campaign_id, lambda: sales.get_campaign(self.session, self.subject, campaign_id), "name"
        )

    async def _show(self, podcast_id: uuid.UUID) -> str:
        return await self._cached(
            self.shows, podcast_id, lambda: catalog.get_podcast(self.session, self.subject, podcast_id), "title"
        )

    @staticmethod
    async def _cached(
        names: dict[uuid.UUID, str], key: uuid.UUID, lookup: Callable[[], Awaitable[Any]], attribute: str
    ) -> str:
        if key not in names:
            found = await _or_none(lookup())
            names[key] = str(getattr(found, attribute)) if found is not None else REMOVED
        return names[key]


async def _or_none(lookup: Awaitable[T]) -> T | None:
    """Something removed since the order was booked prints as removed rather than failing the document."""
    try:
        return await lookup
    except NotFound:
        return None


def _ad_unit(unit: AdUnit) -> str:
    """'Mid-roll :60, host-read, baked-in', after the unit's name when the show named it itself."""
    described = pdf.describe_ad_unit(unit.position, unit.length_seconds, unit.read_type, unit.insertion)
    if unit.name == service.default_ad_unit_name(unit.position, unit.length_seconds, unit.read_type):
        return described
    return f"{unit.name}: {described}"


def _advertiser(sponsor: Any) -> Party:
    if sponsor is None:
        return Party(f"{REMOVED} sponsor")
    return Party(sponsor.name, (sponsor.website_url,) if sponsor.website_url else (), None, sponsor.contact_email)


def _agency(io: InsertionOrder) -> Party | None:
    """The agency buying on the advertiser's behalf; its contact is an e-mail address or a person's name."""
    if not io.agency_name:
        return None
    contact = (io.agency_contact or "").strip()
    if _EMAIL.match(contact):
        return Party(io.agency_name, (), None, contact)
    return Party(io.agency_name, (), contact or None, None)


def exclusivity(io: InsertionOrder, industry: str) -> str:
    """The competitive-exclusivity term as a sentence, from what the sponsor asked for and whether it was waived."""
    others = f"other sponsors in the {industry} industry" if industry else "other sponsors in the same industry"
    if io.exclusivity and not io.separation_waived:
        return f"Exclusive: no {others} are booked in this order's episodes."
    if io.exclusivity:
        return f"Asked for, but waived: this order may share episodes with {others}."
    if io.separation_waived:
        return f"None: this order may share episodes with {others}."
    return f"Not asked for; standard competitive separation applies: no {others} are booked in this order's episodes."
