"""Makegoods: the orders that ended under goal, and how each is made good.

- a **bonus episode** of the same show carries the spot (a bonus slot, same ad unit, not billed); the order goes back
  to active and is judged again once the bonus episode's accrual window has passed;
- an **extended flight** moves the order's end later; the order goes back to active and is judged at the new end;
- a **credit** closes it: the order stays `makegood`, and the credit (by default the shortfall's value) is recorded.

A makegood is settled once; an order judged short again after a bonus episode or an extension gets a new makegood
for what is still missing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import Subject
from podsponsor.bookings import delivery
from podsponsor.bookings import delivery_repository as repository
from podsponsor.bookings import repository as bookings
from podsponsor.bookings.exceptions import CompetitiveConflict, SlotTaken
from podsponsor.bookings.models import InsertionOrder, IoPlacement, Makegood
from podsponsor.errors import Conflict, NotFound, ValidationFailed
from podsponsor.events import service as events
from podsponsor.listing import Window
from podsponsor.sales import service as sales

SORTS: Final = ("created_at", "settled_at", "shortfall_impressions")
# What each kind of settlement takes; anything else sent with it is refused rather than silently ignored.
FIELDS: Final = {"bonus_episode": "episode_id", "extended_flight": "extended_to", "credit": "credit_cents"}


class MakegoodSettled(Conflict):
    type = "makegood-settled"
    title = "The makegood is already settled"


class OrderNotInMakegood(Conflict):
    type = "io-not-in-makegood"
    title = "The order is no longer waiting for a makegood"


@dataclass(frozen=True)
class Settlement:
    kind: str
    episode_id: uuid.UUID | None = None
    extended_to: date | None = None
    credit_cents: int | None = None
    note: str = ""


async def list_makegoods(
    session: AsyncSession, subject: Subject, *, settled: bool | None, io_id: uuid.UUID | None, page: Window
) -> tuple[list[tuple[Makegood, InsertionOrder]], int]:
    return await repository.list_makegoods(
        session,
        subject.tenant_id,
        only_sponsor=delivery.only_sponsor(subject),
        settled=settled,
        io_id=io_id,
        page=page,
    )


async def get_makegood(
    session: AsyncSession, subject: Subject, makegood_id: uuid.UUID, *, for_update: bool = False
) -> tuple[Makegood, InsertionOrder]:
    found = await repository.get_makegood(
        session, subject.tenant_id, makegood_id, only_sponsor=delivery.only_sponsor(subject), for_update=for_update
    )
    if found is None:
        raise NotFound("no such makegood")
    return found


async def settle(
    session: AsyncSession, subject: Subject, makegood_id: uuid.UUID, settlement: Settlement, *, now: datetime
) -> tuple[Makegood, InsertionOrder]:
    makegood, io = await get_makegood(session, subject, makegood_id, for_update=True)
    if makegood.settled_at is not None:
        raise MakegoodSettled(f"this makegood was settled by {makegood.settlement} on {makegood.settled_at:%Y-%m-%d}")
    if io.status != "makegood":
        raise OrderNotInMakegood(f"order {io.number} is {io.status}: there is nothing to make good")
    _check_fields(settlement)
    status_before = io.status
    if settlement.kind == "bonus_episode":
        await _bonus_episode(session, subject, io, makegood, settlement)
    elif settlement.kind == "extended_flight":
        _extend(io, makegood, settlement, now.astimezone(UTC).date())
    else:
        _credit(makegood, settlement)
    if settlement.kind != "credit":
        io.status, io.status_changed_at = "active", now
    makegood.settlement, makegood.settled_at, makegood.settled_by = settlement.kind, now, subject.user_id
    makegood.note = settlement.note
    await session.flush()
    await events.record(
        session,
        subject,
        "makegood.settled",
        subject_type="makegood",
        subject_id=makegood.id,
        payload=_payload(makegood, io, status_before),
    )
    return makegood, io


def _check_fields(settlement: Settlement) -> None:
    given = {
        "episode_id": settlement.episode_id,
        "extended_to": settlement.extended_to,
        "credit_cents": settlement.credit_cents,
    }
    wanted = FIELDS[settlement.kind]
    errors: list[dict[str, Any]] = [
        {"field": name, "value": str(value), "reason": f"not used by a {settlement.kind} settlement"}
        for name, value in given.items()
        if value is not None and name != wanted
    ]
    if given[wanted] is None and settlement.kind != "credit":
        errors.append({"field": wanted, "value": None, "reason": f"required for a {settlement.kind} settlement"})
    if errors:
        raise ValidationFailed("the settlement's fields do not match its kind", errors=errors)


async def _bonus_episode(
    session: AsyncSession, subject: Subject, io: InsertionOrder, makegood: Makegood, settlement: Settlement
) -> None:
    """The slot and separation rules of booking, applied to the bonus slot; the episode row is locked as a booking
    locks it, so a concurrent booking of the episode checks after this one."""
    episode_id = settlement.episode_id
    assert episode_id is not None  # checked by _check_fields
    locked = await bookings.lock_episodes(session, io.tenant_id, [episode_id])
    episode = locked[0] if locked else None
    if episode is None or episode.podcast_id != io.podcast_id:
        raise ValidationFailed(
            "a bonus episode must be an episode of the order's show",
            errors=[{"field": "episode_id", "value": str(episode_id), "reason": "not an episode of this show"}],
        )
    holders = await bookings.slot_holders(session, io.tenant_id, io.ad_unit_id, [episode.id], None)
    if holders:
        raise _slot_taken(io, holders[0].io_id, holders[0].number, episode.title)
    sponsor = await sales.get_sponsor(session, subject, io.sponsor_id)
    rivals = (
        []
        if io.separation_waived
        else await bookings.competitors(session, io.tenant_id, [episode.id], sponsor.industry, io.sponsor_id, io.id)
    )
    if rivals:
        raise CompetitiveConflict(
            f"{rivals[0].number} books a competing {sponsor.industry} sponsor in '{episode.title}'; waive separation "
            "on one of the two orders to share the episode",
            errors=[
                {
                    "field": "episode_id",
                    "value": str(episode.id),
                    "reason": f"{r.number} is booked here for the same industry",
                }
                for r in rivals
            ],
            competing_io={"id": str(rivals[0].io_id), "number": rivals[0].number},
        )
    placement = IoPlacement(
        tenant_id=io.tenant_id,
        io_id=io.id,
        ad_unit_id=io.ad_unit_id,
        episode_id=episode.id,
        industry=sponsor.industry,
        bonus=True,
    )
    try:
        async with session.begin_nested():
            await bookings.add(session, placement)
    except IntegrityError as exc:  # the unique slot index: a booking that did not lock the episode took it
        raise SlotTaken("another order holds this ad unit in that episode") from exc
    makegood.bonus_episode_id = episode.id


def _slot_taken(io: InsertionOrder, holder_id: uuid.UUID, number: str, title: str) -> SlotTaken:
    detail = (
        f"{io.number} already runs in '{title}'"
        if holder_id == io.id
        else f"{number} already holds this ad unit in '{title}'"
    )
    return SlotTaken(detail, holder={"id": str(holder_id), "number": number})


def _extend(io: InsertionOrder, makegood: Makegood, settlement: Settlement, today: date) -> None:
    extended_to = settlement.extended_to
    assert extended_to is not None  # checked by _check_fields
    if extended_to <= io.flight_end or extended_to < today:
        raise ValidationFailed(
            "an extended flight ends after the current end, and not in the past",
            errors=[
                {
                    "field": "extended_to",
                    "value": extended_to.isoformat(),
                    "reason": f"must be after {io.flight_end.isoformat()} and on or after {today.isoformat()}",
                }
            ],
        )
    io.flight_end = makegood.extended_to = extended_to


def _credit(makegood: Makegood, settlement: Settlement) -> None:
    credit = settlement.credit_cents if settlement.credit_cents is not None else makegood.shortfall_cents
    if credit is None:
        raise ValidationFailed(
            "this order's shortfall has no price (CPA): say how much to credit",
            errors=[{"field": "credit_cents", "value": None, "reason": "required when the shortfall has no price"}],
        )
    makegood.credit_cents = credit


def _payload(makegood: Makegood, io: InsertionOrder, status_before: str) -> dict[str, Any]:
    return {
        "io_id": str(io.id),
        "number": io.number,
        "settlement": makegood.settlement,
        "shortfall_impressions": makegood.shortfall_impressions,
        "bonus_episode_id": str(makegood.bonus_episode_id) if makegood.bonus_episode_id else None,
        "extended_to": makegood.extended_to.isoformat() if makegood.extended_to else None,
        "credit_cents": makegood.credit_cents,
        "io_status": {"from": status_before, "to": io.status},
    }
