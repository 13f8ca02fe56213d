"""Bookings rules: a show's ad units (its rate card) and insertion orders — what an IO may book, who may see it, and
the events its changes emit.

An IO books one ad unit of one show on chosen episodes (or unassigned within its flight). The rules: the flight in
order, a goal, the prices its pricing model needs, episodes of that show inside the flight, one IO per episode slot,
competitive separation by industry, promo codes and vanity slugs free. An advertiser user sees only its own sponsor's
orders; anything else is "not found", exactly as if it belonged to another workspace.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import Subject
from podsponsor.bookings import codes, repository
from podsponsor.bookings.exceptions import (
    AdUnitInUse,
    CompetitiveConflict,
    InvalidBooking,
    IoLocked,
    PromoCodeTaken,
    SlotTaken,
    VanitySlugTaken,
)
from podsponsor.bookings.models import AdUnit, InsertionOrder, IoPlacement
from podsponsor.bookings.repository import EpisodeRow, Holder
from podsponsor.bookings.schemas import AdUnitIn, AdUnitPatch, IoIn, IoOut, IoPatch, IoQuery, plain
from podsponsor.catalog import service as catalog
from podsponsor.errors import AppError, Conflict, NotFound, ValidationFailed
from podsponsor.events import service as events
from podsponsor.idempotency import service as idempotency
from podsponsor.listing import Window
from podsponsor.sales import service as sales

API_SCOPE: Final = "POST /api/v1/io"
PAGE_SCOPE: Final = "POST /io"
AD_UNIT_SORTS = ("created_at", "name", "position", "length_seconds", "rate_cpm_cents")
IO_SORTS = ("created_at", "number", "flight_start", "flight_end", "impression_goal", "status")
CANCELLABLE = ("scheduled", "active")
# Once a flight runs, what was sold (show, slots, dates, goal, prices) stays as signed; the rest may still change.
EDITABLE_WHILE_ACTIVE: Final = frozenset(
    {"agency_name", "agency_contact", "talking_points", "landing_url", "makegood_terms", "notes", "max_spend_cents"}
)
PRICES_BY_MODEL: Final = {
    "cpm": ("cpm_cents",),
    "flat": ("flat_cents",),
    "cpa": ("cpa_cents",),
    "hybrid": ("cpm_cents", "cpa_cents"),
}
PRICE_FIELDS: Final = ("cpm_cents", "flat_cents", "cpa_cents")
# The columns an IO's input sets directly (everything of IoIn but the episodes and the "generate" switches).
TERM_FIELDS: Final = tuple(
    name for name in IoIn.model_fields if name not in ("episode_ids", "generate_promo_code", "generate_vanity_slug")
)
# What an ad unit is, as sold: it cannot change under live orders (its name and rates can).
SOLD_AD_UNIT_FIELDS: Final = ("position", "length_seconds", "read_type", "insertion")

# Default rate card (see docs/bookings.md): 60-second CPMs by position, from public benchmarks (AdvertiseCast's
# averages of about $18 for :30 and $25 for :60; pre-roll below mid-roll), scaled by length.
SIXTY_SECOND_CPM_CENTS: Final = {"pre": 2000, "mid": 2500, "post": 1800}
LENGTH_FACTORS: Final = {15: Fraction(1, 2), 30: Fraction(18, 25), 60: Fraction(1), 90: Fraction(13, 10)}
POSITION_NAMES: Final = {"pre": "Pre-roll", "mid": "Mid-roll", "post": "Post-roll"}
READ_TYPE_NAMES: Final = {"host_read": "host read", "announcer": "announcer read", "produced": "produced spot"}

# An advertiser user without a sponsor cannot exist (a check constraint); if one did, it would match nothing.
_NO_SPONSOR = uuid.UUID(int=0)


def _only_sponsor(subject: Subject) -> uuid.UUID | None:
    if not subject.is_advertiser:
        return None
    return subject.sponsor_id or _NO_SPONSOR


# --- Ad units ----------------------------------------------------------------------------------------------------


def default_rate_cpm_cents(position: str, length_seconds: int) -> int:
    """The rate-card CPM when a show sets none: the 60-second rate of the position, scaled by the spot's length."""
    return round(SIXTY_SECOND_CPM_CENTS[position] * LENGTH_FACTORS[length_seconds])


def default_ad_unit_name(position: str, length_seconds: int, read_type: str) -> str:
    return f"{POSITION_NAMES[position]} :{length_seconds} {READ_TYPE_NAMES[read_type]}"


async def create_ad_unit(session: AsyncSession, subject: Subject, podcast_id: uuid.UUID, data: AdUnitIn) -> AdUnit:
    podcast = await catalog.get_podcast(session, subject, podcast_id)
    values = plain(data)
    values["name"] = values["name"] or default_ad_unit_name(data.position, data.length_seconds, data.read_type)
    if values["rate_cpm_cents"] is None:
        values["rate_cpm_cents"] = default_rate_cpm_cents(data.position, data.length_seconds)
    unit = AdUnit(tenant_id=subject.tenant_id, podcast_id=podcast.id, **values)
    await repository.add(session, unit)
    await events.record(
        session,
        subject,
        "ad_unit.created",
        subject_type="ad_unit",
        subject_id=unit.id,
        payload={"podcast_id": str(podcast.id), "name": unit.name, "rate_cpm_cents": unit.rate_cpm_cents},
    )
    return unit


async def get_ad_unit(
    session: AsyncSession, subject: Subject, ad_unit_id: uuid.UUID, *, include_deleted: bool = False
) -> AdUnit:
    unit = await repository.get_ad_unit(session, subject.tenant_id, ad_unit_id, include_deleted=include_deleted)
    if unit is None:
        raise NotFound("no such ad unit")
    return unit


async def list_ad_units(
    session: AsyncSession, subject: Subject, podcast_id: uuid.UUID, page: Window
) -> tuple[Sequence[AdUnit], int]:
    await catalog.get_podcast(session, subject, podcast_id)
    return await repository.list_ad_units(session, subject.tenant_id, podcast_id, page)


async def update_ad_unit(session: AsyncSession, subject: Subject, ad_unit_id: uuid.UUID, data: AdUnitPatch) -> AdUnit:
    unit = await get_ad_unit(session, subject, ad_unit_id)
    changes = {k: v for k, v in plain(data, exclude_unset=True).items() if getattr(unit, k) != v}
    reshaped = sorted(set(changes) & set(SOLD_AD_UNIT_FIELDS))
    if reshaped:
        live = await repository.live_ios_of_ad_unit(session, subject.tenant_id, unit.id)
        if live:
            raise _in_use(live, f"{', '.join(reshaped)} cannot change while live IOs are booked on this ad unit")
    for name, value in changes.items():
        setattr(unit, name, value)
    await session.flush()
    await events.record(
        session,
        subject,
        "ad_unit.updated",
        subject_type="ad_unit",
        subject_id=unit.id,
        payload={"fields": sorted(changes)},
    )
    return unit


async def delete_ad_unit(session: AsyncSession, subject: Subject, ad_unit_id: uuid.UUID) -> None:
    unit = await get_ad_unit(session, subject, ad_unit_id)
    live = await repository.live_ios_of_ad_unit(session, subject.tenant_id, unit.id)
    if live:
        raise _in_use(live, "the ad unit cannot be removed while live IOs are booked on it; cancel or finish them")
    await repository.soft_delete_ad_unit(session, unit)
    await events.record(
        session,
        subject,
        "ad_unit.deleted",
        subject_type="ad_unit",
        subject_id=unit.id,
        payload={"podcast_id": str(unit.podcast_id), "name": unit.name},
    )


def _in_use(live: list[Holder], detail: str) -> AdUnitInUse:
    numbers = ", ".join(h.number for h in live[:10])
    return AdUnitInUse(f"{detail} ({numbers})", ios=[{"id": str(h.io_id), "number": h.number} for h in live])


# --- Insertion orders: reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Booking:
    """An IO with the episode slots it holds."""

    io: InsertionOrder
    placements: Sequence[IoPlacement] = field(default_factory=list)

    @property
    def episode_ids(self) -> list[uuid.UUID]:
        """The episodes sold (bonus episodes given as makegoods are placements too, but not sold)."""
        return [p.episode_id for p in self.placements if not p.bonus]


async def get_io(session: AsyncSession, subject: Subject, io_id: uuid.UUID) -> Booking:
    io = await repository.get_io(session, subject.tenant_id, io_id, only_sponsor=_only_sponsor(subject))
    if io is None:
        raise NotFound("no such insertion order")
    return Booking(io, await repository.placements_of(session, subject.tenant_id, [io.id]))


async def list_ios(session: AsyncSession, subject: Subject, where: IoQuery, page: Window) -> tuple[list[Booking], int]:
    if where.start is not None and where.end is not None and where.end < where.start:
        raise ValidationFailed(
            "the flight window ends before it starts",
            errors=[_problem("end", where.end, f"before start ({where.start.isoformat()})")],
        )
    rows, total = await repository.list_ios(session, subject.tenant_id, _only_sponsor(subject), where, page)
    return await _with_placements(session, subject, rows), total


async def _with_placements(session: AsyncSession, subject: Subject, ios: Iterable[InsertionOrder]) -> list[Booking]:
    orders = list(ios)
    by_io: dict[uuid.UUID, list[IoPlacement]] = {io.id: [] for io in orders}
    for placement in await repository.placements_of(session, subject.tenant_id, by_io):
        by_io[placement.io_id].append(placement)
    return [Booking(io, by_io[io.id]) for io in orders]


# --- Insertion orders: booking -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What an idempotent create answers: the first request's status and body, whether replayed or not."""

    status_code: int
    body: dict[str, Any]
    io_id: uuid.UUID | None
    replayed: bool


async def book_io(
    session: AsyncSession, subject: Subject, data: IoIn, idempotency_key: str, *, scope: str = API_SCOPE
) -> Answer:
    """`create_io` under an Idempotency-Key: the same key and input answer what the first request answered."""
    # The validated input, not the raw bytes: the same order sent with other spacing or key order is the same request.
    request = data.model_dump_json().encode()
    stored = await idempotency.begin(session, subject.tenant_id, scope, idempotency_key, request)
    if stored is not None:
        return Answer(stored.status_code, stored.body, stored.resource_id, replayed=True)
    booking = await create_io(session, subject, data)
    body = IoOut.of(booking, subject).model_dump(mode="json")
    await idempotency.finish(session, subject.tenant_id, scope, idempotency_key, request, 201, body, booking.io.id)
    return Answer(201, body, booking.io.id, replayed=False)


@dataclass(frozen=True)
class _Parties:
    """What an IO's terms point at, checked: the deal and its sponsor, the ad unit, the episodes (locked)."""

    campaign: Any
    sponsor: Any
    podcast: Any
    ad_unit: AdUnit
    episodes: list[EpisodeRow]


async def create_io(session: AsyncSession, subject: Subject, data: IoIn) -> Booking:
    terms = plain(data)
    generate_code, generate_slug = terms.pop("generate_promo_code"), terms.pop("generate_vanity_slug")
    episode_ids = terms.pop("episode_ids")
    _check_terms(terms, generate_code=generate_code, generate_slug=generate_slug)
    parties = await _parties(session, subject, terms, episode_ids)
    await _check_slots(session, subject, terms, parties, None)
    await _choose_codes(session, subject, terms, parties, generate_code, generate_slug, None)
    year = datetime.now(UTC).year
    prefix = codes.io_number_prefix(year)
    number = codes.io_number(year, await repository.next_io_sequence(session, subject.tenant_id, prefix))
    io = InsertionOrder(
        tenant_id=subject.tenant_id,
        id=uuid.uuid4(),
        number=number,
        sponsor_id=parties.sponsor.id,
        currency=parties.campaign.currency,
        status="scheduled",
        created_by=subject.user_id,
        **terms,
    )
    placements = _placements(subject, io.id, parties, parties.episodes)
    try:
        async with repository.savepoint(session):
            await repository.insert_io(session, io, placements)
    except IntegrityError as exc:
        refusal = await _refusal(session, subject, exc, terms, parties, None)
        if refusal is None:
            raise
        raise refusal from exc
    await events.record(
        session,
        subject,
        "io.scheduled",
        subject_type="insertion_order",
        subject_id=io.id,
        payload=_summary(io, [e.id for e in parties.episodes]),
    )
    return Booking(io, placements)


def _placements(
    subject: Subject, io_id: uuid.UUID, parties: _Parties, episodes: Iterable[EpisodeRow]
) -> list[IoPlacement]:
    return [
        IoPlacement(
            tenant_id=subject.tenant_id,
            id=uuid.uuid4(),
            io_id=io_id,
            ad_unit_id=parties.ad_unit.id,
            episode_id=episode.id,
            industry=parties.sponsor.industry,
            bonus=False,
        )
        for episode in episodes
    ]


def _summary(io: InsertionOrder, episode_ids: Sequence[uuid.UUID]) -> dict[str, Any]:
    return {
        "number": io.number,
        "campaign_id": str(io.campaign_id),
        "sponsor_id": str(io.sponsor_id),
        "podcast_id": str(io.podcast_id),
        "ad_unit_id": str(io.ad_unit_id),
        "episode_ids": [str(e) for e in episode_ids],
        "flight_start": io.flight_start.isoformat(),
        "flight_end": io.flight_end.isoformat(),
        "impression_goal": io.impression_goal,
        "pricing_model": io.pricing_model,
    }


def _problem(field_name: str, value: Any, reason: str) -> dict[str, Any]:
    shown = value.isoformat() if isinstance(value, date) else (str(value) if isinstance(value, uuid.UUID) else value)
    return {"field": field_name, "value": shown, "reason": reason}


def _invalid(problems: list[dict[str, Any]]) -> InvalidBooking:
    detail = "; ".join(f"{p['field']}: {p['reason']}" for p in problems[:5])
    return InvalidBooking(detail, errors=problems)


def _check_terms(terms: dict[str, Any], *, generate_code: bool = False, generate_slug: bool = False) -> None:
    """The rules within the order's own fields: flight order, goal, prices for the model, codes and landing page."""
    problems = []
    if terms["flight_end"] < terms["flight_start"]:
        reason = f"the flight ends before it starts ({terms['flight_start'].isoformat()})"
        problems.append(_problem("flight_end", terms["flight_end"], reason))
    if terms["impression_goal"] <= 0:
        problems.append(_problem("impression_goal", terms["impression_goal"], "must be more than 0"))
    needed = PRICES_BY_MODEL[terms["pricing_model"]]
    for name in PRICE_FIELDS:
        value = terms.get(name)
        if name in needed and value is None:
            problems.append(_problem(name, None, f"required for pricing model '{terms['pricing_model']}'"))
        elif name not in needed and value is not None:
            reason = f"not used by pricing model '{terms['pricing_model']}'; leave it out"
            problems.append(_problem(name, value, reason))
        elif value is not None and (not isinstance(value, int) or value < 0):
            problems.append(_problem(name, value, "must be whole cents, 0 or more"))
    if generate_code and terms.get("promo_code"):
        problems.append(_problem("promo_code", terms["promo_code"], "give a code or ask for one, not both"))
    if generate_slug and terms.get("vanity_slug"):
        problems.append(_problem("vanity_slug", terms["vanity_slug"], "give a slug or ask for one, not both"))
    if (generate_slug or terms.get("vanity_slug")) and not terms.get("landing_url"):
        problems.append(_problem("landing_url", None, "required with a vanity URL: where it sends listeners"))
    if problems:
        raise _invalid(problems)


async def _parties(
    session: AsyncSession, subject: Subject, terms: dict[str, Any], episode_ids: Sequence[uuid.UUID]
) -> _Parties:
    problems: list[dict[str, Any]] = []
    campaign = sponsor = podcast = ad_unit = None
    try:
        campaign = await sales.get_campaign(session, subject, terms["campaign_id"])
        sponsor = await sales.get_sponsor(session, subject, campaign.sponsor_id)
    except NotFound:
        problems.append(_problem("campaign_id", terms["campaign_id"], "no such campaign in this workspace"))
    try:
        podcast = await catalog.get_podcast(session, subject, terms["podcast_id"])
    except NotFound:
        problems.append(_problem("podcast_id", terms["podcast_id"], "no such show in this workspace"))
    ad_unit = await repository.get_ad_unit(session, subject.tenant_id, terms["ad_unit_id"])
    if ad_unit is None:
        problems.append(_problem("ad_unit_id", terms["ad_unit_id"], "no such ad unit in this workspace"))
    elif ad_unit.podcast_id != terms["podcast_id"]:
        problems.append(_problem("ad_unit_id", terms["ad_unit_id"], "an ad unit of another show"))
    episodes = await repository.lock_episodes(session, subject.tenant_id, episode_ids)
    problems += _episode_problems(terms, episode_ids, episodes)
    if problems or campaign is None or sponsor is None or ad_unit is None:
        raise _invalid(problems)
    by_id = {e.id: e for e in episodes}
    return _Parties(campaign, sponsor, podcast, ad_unit, [by_id[e] for e in sorted(by_id)])


def _episode_problems(
    terms: dict[str, Any], episode_ids: Sequence[uuid.UUID], episodes: list[EpisodeRow]
) -> list[dict[str, Any]]:
    """Episodes of the show; a published one inside the flight (one not out yet may move, so it may be booked)."""
    found = {e.id: e for e in episodes}
    now = datetime.now(UTC)
    start, end = terms["flight_start"], terms["flight_end"]
    problems = []
    for episode_id in episode_ids:
        episode = found.get(episode_id)
        if episode is None:
            problems.append(_problem("episode_ids", episode_id, "no such episode in this workspace"))
        elif episode.podcast_id != terms["podcast_id"]:
            problems.append(_problem("episode_ids", episode_id, f"'{episode.title}' is an episode of another show"))
        elif episode.publish_date is not None and episode.publish_date <= now:
            published = episode.publish_date.astimezone(UTC).date()
            if not start <= published <= end:
                reason = f"'{episode.title}' was published {published}, outside the flight {start} to {end}"
                problems.append(_problem("episode_ids", episode_id, reason))
    return problems


async def _check_slots(
    session: AsyncSession, subject: Subject, terms: dict[str, Any], parties: _Parties, io_id: uuid.UUID | None
) -> None:
    """One IO per episode slot, and no same-industry competitor in an episode unless one of the two waived it.
    The episode rows are locked (see `_parties`), so a concurrent booking of these episodes waits for this one."""
    episode_ids = [e.id for e in parties.episodes]
    if not episode_ids:
        return
    titles = {e.id: e.title for e in parties.episodes}
    holders = await repository.slot_holders(session, subject.tenant_id, parties.ad_unit.id, episode_ids, io_id)
    if holders:
        raise _slot_taken(holders, titles)
    if terms["separation_waived"]:
        return
    rivals = await repository.competitors(
        session, subject.tenant_id, episode_ids, parties.sponsor.industry, parties.sponsor.id, io_id
    )
    if rivals:
        first = rivals[0]
        title = titles.get(first.episode_id or uuid.UUID(int=0), "")
        raise CompetitiveConflict(
            f"{first.number} books a competing {parties.sponsor.industry} sponsor in '{title}'; "
            "waive separation on one of the two orders to share the episode",
            errors=[
                _problem("episode_ids", r.episode_id, f"{r.number} is booked here for the same industry")
                for r in rivals
            ],
            competing_io={"id": str(first.io_id), "number": first.number},
            episode_id=str(first.episode_id),
            industry=parties.sponsor.industry,
        )


def _slot_taken(holders: list[Holder], titles: dict[uuid.UUID, str]) -> SlotTaken:
    first = holders[0]
    title = titles.get(first.episode_id or uuid.UUID(int=0), "")
    return SlotTaken(
        f"{first.number} already holds this ad unit in '{title}'",
        errors=[_problem("episode_ids", h.episode_id, f"slot held by {h.number}") for h in holders],
        holder={"id": str(first.io_id), "number": first.number},
        episode_id=str(first.episode_id),
    )


async def _choose_codes(
    session: AsyncSession,
    subject: Subject,
    terms: dict[str, Any],
    parties: _Parties,
    generate_code: bool,
    generate_slug: bool,
    current: InsertionOrder | None,
) -> None:
    """Generates what was asked for, and checks a given code or slug is free (an unchanged one stays the order's)."""
    exclude = current.id if current is not None else None
    if generate_code:
        terms["promo_code"] = await _free_promo_code(session, subject, parties.sponsor.name, exclude)
    elif terms.get("promo_code") and not _same(terms["promo_code"], current.promo_code if current else None):
        holder = await repository.promo_code_holder(session, subject.tenant_id, terms["promo_code"], exclude)
        if holder is not None:
            raise _promo_taken(terms["promo_code"], holder)
    if generate_slug:
        terms["vanity_slug"] = await _free_vanity_slug(session, subject, parties.sponsor.name, parties.podcast, exclude)
    elif terms.get("vanity_slug") and not _same(terms["vanity_slug"], current.vanity_slug if current else None):
        slug = terms["vanity_slug"]
        await repository.lock_vanity_slug(session, slug)
        if not await _slug_free(session, subject, slug, exclude):
            raise _slug_taken(slug)


def _same(new: str, old: str | None) -> bool:
    return old is not None and new.lower() == old.lower()


def _promo_taken(code: str, holder: Holder | None) -> PromoCodeTaken:
    held_by = f" by {holder.number}" if holder else ""
    return PromoCodeTaken(
        f"promo code {code} is in use{held_by}; codes are unique in the workspace, ignoring case",
        errors=[_problem("promo_code", code, f"in use{held_by}")],
        **({"holder": {"id": str(holder.io_id), "number": holder.number}} if holder else {}),
    )


def _slug_taken(slug: str) -> VanitySlugTaken:
    # Another workspace's order is not named: only that the address is taken.
    return VanitySlugTaken(
        f"/v/{slug} is taken; vanity URLs are shared by every workspace, so choose another",
        errors=[_problem("vanity_slug", slug, "in use")],
    )


async def _free_promo_code(
    session: AsyncSession, subject: Subject, sponsor_name: str, exclude: uuid.UUID | None
) -> str:
    for candidate in codes.promo_code_candidates(sponsor_name):
        if await repository.promo_code_holder(session, subject.tenant_id, candidate, exclude) is None:
            return candidate
    raise PromoCodeTaken("no free promo code was found; give one", errors=[_problem("promo_code", None, "none free")])


async def _free_vanity_slug(
    session: AsyncSession, subject: Subject, sponsor_name: str, podcast: Any, exclude: uuid.UUID | None
) -> str:
    for candidate in codes.vanity_slug_candidates(sponsor_name, podcast.title if podcast else ""):
        # Look before locking, so only the slug taken is held: fewer locks, none waited on needlessly.
        if await _slug_free(session, subject, candidate, exclude):
            await repository.lock_vanity_slug(session, candidate)
            if await _slug_free(session, subject, candidate, exclude):
                return candidate
    raise VanitySlugTaken("no free vanity slug was found; give one", errors=[_problem("vanity_slug", None, "none")])


async def _slug_free(session: AsyncSession, subject: Subject, slug: str, exclude: uuid.UUID | None) -> bool:
    owner = await repository.vanity_slug_owner(session, slug)
    if owner is None:
        return True
    if owner != subject.tenant_id:
        return False
    return await repository.vanity_slug_holder(session, subject.tenant_id, slug, exclude) is None


async def _refusal(
    session: AsyncSession,
    subject: Subject,
    exc: IntegrityError,
    terms: dict[str, Any],
    parties: _Parties,
    io_id: uuid.UUID | None,
) -> AppError | None:
    """A unique index refused the write (a concurrent booking got there first): the conflict, named as the checks
    before would have named it."""
    name = repository.violated_constraint(exc)
    if name == "uq_io_placements_tenant_slot":
        episode_ids = [e.id for e in parties.episodes]
        holders = await repository.slot_holders(session, subject.tenant_id, parties.ad_unit.id, episode_ids, io_id)
        titles = {e.id: e.title for e in parties.episodes}
        return _slot_taken(holders, titles) if holders else Conflict("another IO took one of these slots; try again")
    if name == "uq_insertion_orders_tenant_promo_code":
        code = terms["promo_code"]
        return _promo_taken(code, await repository.promo_code_holder(session, subject.tenant_id, code, io_id))
    if name == "uq_insertion_orders_tenant_vanity_slug":
        return _slug_taken(terms["vanity_slug"])
    # Anything else is not a conflict this service can explain: it surfaces as the fault it is.
    return None


# --- Insertion orders: changing ----------------------------------------------------------------------------------


async def _io_for_change(session: AsyncSession, subject: Subject, io_id: uuid.UUID) -> InsertionOrder:
    """The order, locked against a concurrent change or status move until the transaction ends."""
    io = await repository.get_io(
        session, subject.tenant_id, io_id, only_sponsor=_only_sponsor(subject), for_update=True
    )
    if io is None:
        raise NotFound("no such insertion order")
    return io


def _check_editable(io: InsertionOrder, fields: set[str]) -> None:
    if io.status == "scheduled":
        return
    if io.status != "active":
        raise IoLocked(f"{io.number} is {io.status}: it can no longer change", status_now=io.status)
    frozen = sorted(fields - EDITABLE_WHILE_ACTIVE)
    if frozen:
        raise IoLocked(
            f"{io.number} is active: only {', '.join(sorted(EDITABLE_WHILE_ACTIVE))} may change during its flight",
            errors=[_problem(name, None, "fixed while the IO is active") for name in frozen],
            status_now=io.status,
        )


async def update_io(session: AsyncSession, subject: Subject, io_id: uuid.UUID, data: IoPatch) -> Booking:
    io = await _io_for_change(session, subject, io_id)
    changes = plain(data, exclude_unset=True)
    generate_code = bool(changes.pop("generate_promo_code", False))
    generate_slug = bool(changes.pop("generate_vanity_slug", False))
    asked = set(changes) | ({"promo_code"} if generate_code else set()) | ({"vanity_slug"} if generate_slug else set())
    _check_editable(io, asked)
    placements = await repository.placements_of(session, subject.tenant_id, [io.id])
    if not asked:
        return Booking(io, placements)
    if "pricing_model" in changes:
        # The old model's prices go with it, unless the change sets them.
        needed = PRICES_BY_MODEL[changes["pricing_model"]]
        changes |= {name: None for name in PRICE_FIELDS if name not in needed and name not in changes}
    episode_ids = changes.pop("episode_ids", None)
    terms = {name: getattr(io, name) for name in TERM_FIELDS} | changes
    _check_terms(terms, generate_code=generate_code, generate_slug=generate_slug)
    if io.status == "scheduled":
        booked = [p.episode_id for p in placements if not p.bonus]
        parties = await _parties(session, subject, terms, booked if episode_ids is None else episode_ids)
        await _check_slots(session, subject, terms, parties, io.id)
        await _choose_codes(session, subject, terms, parties, generate_code, generate_slug, io)
        placements = await _rebook(session, subject, io, terms, parties, placements)
    else:
        for name in changes:
            setattr(io, name, terms[name])
        await session.flush()
    await events.record(
        session,
        subject,
        "io.updated",
        subject_type="insertion_order",
        subject_id=io.id,
        payload={"number": io.number, "fields": sorted(asked)},
    )
    return Booking(io, placements)


async def _rebook(
    session: AsyncSession,
    subject: Subject,
    io: InsertionOrder,
    terms: dict[str, Any],
    parties: _Parties,
    placements: list[IoPlacement],
) -> list[IoPlacement]:
    """Applies checked terms to a scheduled order and moves its sold slots to the new episodes / ad unit."""
    io_id = io.id  # a refused write expires the order; its id is still needed to name the conflict
    wanted = {(parties.ad_unit.id, e.id) for e in parties.episodes}
    sold = [p for p in placements if not p.bonus]
    removed = [p for p in sold if (p.ad_unit_id, p.episode_id) not in wanted]
    kept = [p for p in placements if p not in removed]
    held = {(p.ad_unit_id, p.episode_id) for p in sold}
    new_episodes = [e for e in parties.episodes if (parties.ad_unit.id, e.id) not in held]
    added = _placements(subject, io_id, parties, new_episodes)
    try:
        async with repository.savepoint(session):
            for name in TERM_FIELDS:
                setattr(io, name, terms[name])
            io.sponsor_id, io.currency = parties.sponsor.id, parties.campaign.currency
            for placement in kept:
                placement.industry = parties.sponsor.industry
            await repository.replace_placements(session, removed, added)
    except IntegrityError as exc:
        refusal = await _refusal(session, subject, exc, terms, parties, io_id)
        if refusal is None:
            raise
        raise refusal from exc
    return sorted(kept + added, key=lambda p: (p.bonus, p.episode_id))


async def cancel_io(session: AsyncSession, subject: Subject, io_id: uuid.UUID) -> Booking:
    """Cancels an order before it completes: its episode slots, promo code and vanity slug are free again."""
    io = await _io_for_change(session, subject, io_id)
    if io.status not in CANCELLABLE:
        raise IoLocked(
            f"{io.number} is {io.status}: only a scheduled or active IO can be cancelled", status_now=io.status
        )
    previous = io.status
    io.status, io.status_changed_at = "cancelled", datetime.now(UTC)
    released = await repository.delete_placements(session, subject.tenant_id, io.id)
    await session.flush()
    await events.record(
        session,
        subject,
        "io.cancelled",
        subject_type="insertion_order",
        subject_id=io.id,
        payload={"number": io.number, "from": previous, "released_slots": released},
    )
    return Booking(io, [])


# --- Suggestions for the booking wizard --------------------------------------------------------------------------


async def suggest_promo_code(session: AsyncSession, subject: Subject, campaign_id: uuid.UUID | None) -> str:
    """A free, readable code from the deal's sponsor name (or random without one); not reserved until booked."""
    return await _free_promo_code(session, subject, await _sponsor_name(session, subject, campaign_id), None)


async def suggest_vanity_slug(
    session: AsyncSession, subject: Subject, campaign_id: uuid.UUID | None, podcast_id: uuid.UUID | None
) -> str:
    sponsor_name = await _sponsor_name(session, subject, campaign_id)
    podcast = None
    if podcast_id is not None:
        try:
            podcast = await catalog.get_podcast(session, subject, podcast_id)
        except NotFound:
            podcast = None
    for candidate in codes.vanity_slug_candidates(sponsor_name, podcast.title if podcast else ""):
        if await _slug_free(session, subject, candidate, None):
            return candidate
    return codes.slugify(f"offer {codes.random_promo_code()}")


async def _sponsor_name(session: AsyncSession, subject: Subject, campaign_id: uuid.UUID | None) -> str:
    if campaign_id is None:
        return ""
    try:
        campaign = await sales.get_campaign(session, subject, campaign_id)
        return str((await sales.get_sponsor(session, subject, campaign.sponsor_id)).name)
    except NotFound:
        return ""
