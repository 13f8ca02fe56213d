"""The inventory calendar: a show's episodes (published, scheduled and expected from its cadence) by its ad units,
week by week, each slot booked (by which IO) or open; and the IOs booked "unassigned within the flight".

Expected episodes are projected from the show's cadence: the median gap between its last 13 releases, stepped on
from the latest release. They carry no episode yet, so they can only be sold as unassigned flight inventory; the
calendar shows them so a seller sees the weeks' real capacity.
"""

from __future__ import annotations

import itertools
import statistics
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import Subject
from podsponsor.bookings import inventory_repository as repository
from podsponsor.catalog import service as catalog
from podsponsor.errors import ValidationFailed
from podsponsor.listing import window

CADENCE_SAMPLE: Final = 13
MAX_WEEKS: Final = 52
EPISODES_MAX: Final = 500


@dataclass
class Slot:
    ad_unit_id: uuid.UUID
    booked: bool
    io_id: uuid.UUID | None = None
    io_number: str | None = None
    sponsor: str | None = None
    bonus: bool = False


@dataclass
class EpisodeRow:
    episode_id: uuid.UUID | None
    title: str
    day: date
    kind: str  # published | scheduled | expected
    slots: list[Slot] = field(default_factory=list)


@dataclass
class FlightBooking:
    io_id: uuid.UUID
    io_number: str
    ad_unit_id: uuid.UUID
    sponsor: str | None
    flight_start: date
    flight_end: date


@dataclass
class Week:
    start: date
    episodes: list[EpisodeRow]
    flight_bookings: list[FlightBooking]

    @property
    def booked(self) -> int:
        return sum(slot.booked for row in self.episodes for slot in row.slots)

    @property
    def open(self) -> int:
        return sum(not slot.booked for row in self.episodes for slot in row.slots if row.kind != "expected")


@dataclass
class Inventory:
    podcast_id: uuid.UUID
    podcast_title: str
    ad_units: list[dict[str, Any]]
    cadence_days: int | None
    weeks: list[Week]

    @property
    def sell_through(self) -> float | None:
        """Booked share of the slots of published and scheduled episodes."""
        booked = sum(week.booked for week in self.weeks)
        total = booked + sum(week.open for week in self.weeks)
        return booked / total if total else None


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def cadence(publish_days: list[date]) -> int | None:
    """The show's typical gap between releases in days (median of the latest gaps), or None with fewer than two."""
    ordered = sorted(set(publish_days))[-CADENCE_SAMPLE:]
    gaps = [(later - earlier).days for earlier, later in itertools.pairwise(ordered)]
    return max(1, round(statistics.median(gaps))) if gaps else None


def expected_days(last_release: date | None, every: int | None, start: date, end: date, today: date) -> list[date]:
    """Release days projected from the latest one, within [start, end] and not before today."""
    if last_release is None or every is None:
        return []
    days, step = [], last_release + timedelta(days=every)
    while step <= end:
        if step >= max(start, today):
            days.append(step)
        step += timedelta(days=every)
    return days


def _check(weeks: int) -> None:
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValidationFailed(
            f"weeks must be between 1 and {MAX_WEEKS}",
            errors=[{"field": "weeks", "value": weeks, "reason": f"1 to {MAX_WEEKS}"}],
        )


async def calendar(
    session: AsyncSession,
    subject: Subject,
    podcast_id: uuid.UUID,
    *,
    start: date | None = None,
    weeks: int = 12,
    today: date | None = None,
) -> Inventory:
    _check(weeks)
    today = today or datetime.now(UTC).date()
    first = monday(start or today)
    last = first + timedelta(days=7 * weeks - 1)
    show = await catalog.get_podcast(session, subject, podcast_id)
    ad_units = await repository.ad_units(session, subject.tenant_id, podcast_id)
    recent, _ = await catalog.list_episodes(
        session,
        subject,
        podcast_id,
        None,
        None,
        None,
        window(CADENCE_SAMPLE, 0, "-publish_date", ("publish_date",), 50),
    )
    released = [e.publish_date.astimezone(UTC).date() for e in recent if e.publish_date is not None]
    released = [day for day in released if day <= today]
    every = cadence(released)
    in_range, _ = await catalog.list_episodes(
        session,
        subject,
        podcast_id,
        None,
        datetime.combine(first, time(), tzinfo=UTC),
        datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC),
        window(EPISODES_MAX, 0, "publish_date", ("publish_date",), EPISODES_MAX),
    )
    placements = await repository.placements(session, subject.tenant_id, [e.id for e in in_range])
    own_sponsor = subject.sponsor_id if subject.is_advertiser else None
    rows = [
        EpisodeRow(
            episode_id=episode.id,
            title=episode.title,
            day=episode.publish_date.astimezone(UTC).date(),
            kind="published" if episode.publish_date.astimezone(UTC).date() <= today else "scheduled",
            slots=[_slot(unit["id"], placements.get((unit["id"], episode.id)), own_sponsor) for unit in ad_units],
        )
        for episode in in_range
        if episode.publish_date is not None
    ]
    rows += [
        EpisodeRow(None, "Expected episode", day, "expected", [Slot(unit["id"], False) for unit in ad_units])
        for day in expected_days(max(released, default=None), every, first, last, today)
    ]
    flights = await repository.flight_bookings(session, subject.tenant_id, podcast_id, first, last)
    result = []
    for offset in range(weeks):
        week_start = first + timedelta(days=7 * offset)
        week_end = week_start + timedelta(days=6)
        result.append(
            Week(
                start=week_start,
                episodes=sorted((r for r in rows if week_start <= r.day <= week_end), key=lambda r: r.day),
                flight_bookings=[
                    FlightBooking(
                        io_id=f["io_id"],
                        io_number=f["number"],
                        ad_unit_id=f["ad_unit_id"],
                        sponsor=_sponsor_name(f, own_sponsor),
                        flight_start=f["flight_start"],
                        flight_end=f["flight_end"],
                    )
                    for f in flights
                    if f["flight_start"] <= week_end and f["flight_end"] >= week_start
                ],
            )
        )
    return Inventory(show.id, show.title, list(ad_units), every, result)


def _sponsor_name(booking: dict[str, Any], own_sponsor: uuid.UUID | None) -> str | None:
    """Advertiser users see who booked a slot only when it is their own sponsor."""
    if own_sponsor is not None and booking["sponsor_id"] != own_sponsor:
        return None
    return str(booking["sponsor_name"])


def _slot(ad_unit_id: uuid.UUID, booking: dict[str, Any] | None, own_sponsor: uuid.UUID | None) -> Slot:
    if booking is None:
        return Slot(ad_unit_id, False)
    hidden = own_sponsor is not None and booking["sponsor_id"] != own_sponsor
    return Slot(
        ad_unit_id,
        True,
        io_id=None if hidden else booking["io_id"],
        io_number=None if hidden else booking["number"],
        sponsor=_sponsor_name(booking, own_sponsor),
        bonus=bool(booking["bonus"]),
    )
