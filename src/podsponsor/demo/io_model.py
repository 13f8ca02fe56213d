"""The demo's bookings while they are planned: the shows with their ad units and releases, the ledger of what is
held (episode slots, each episode's sponsors by industry, promo codes, vanity slugs), and the orders."""

from __future__ import annotations

import random
import uuid
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from podsponsor.demo.generate import TenantRows
from podsponsor.demo.listening import LISTENING_DAYS

ACCRUAL_DAYS: Final = 30  # the workspace default (docs/delivery.md); the demo sets none
REFRESH_MINUTE: Final = 17  # the delivery job runs at minute 17 of each hour
Row = dict[str, Any]


@dataclass(frozen=True)
class Aim:
    """What the loader sizes an order's goal for once it knows the order's delivery: `pacing` (delivered ÷ expected
    by today) for a live order, `delivered` (delivered ÷ goal) for an ended one (at least 1: completed)."""

    kind: str
    ratio: float


@dataclass
class ShowBook:
    """A show as booking sees it: its ad units, its release days (UTC, oldest first) and its audience."""

    podcast: Row
    units: list[Row]
    days: list[date]
    episodes: list[Row]
    daily: float  # downloads per day

    @property
    def gap(self) -> float:
        return (self.days[-1] - self.days[0]).days / max(len(self.days) - 1, 1)

    @property
    def per_episode(self) -> float:
        """Downloads an episode gets in its accrual window, about."""
        return self.daily * min(self.gap, ACCRUAL_DAYS) * 0.7

    def released(self, first: date, last: date) -> list[int]:
        return list(range(bisect_left(self.days, first), bisect_right(self.days, last)))


@dataclass
class Ledger:
    """Who holds what: episode slots (an ad unit in an episode), and each episode's sponsors by industry."""

    slots: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)
    sponsors: dict[uuid.UUID, list[tuple[uuid.UUID, str, bool]]] = field(default_factory=dict)
    promo_codes: set[str] = field(default_factory=set)
    slugs: set[str] = field(default_factory=set)

    def free(self, unit_id: uuid.UUID, episode_id: uuid.UUID, sponsor: Row, waived: bool) -> bool:
        if (unit_id, episode_id) in self.slots:
            return False
        industry = str(sponsor["industry"]).lower()
        return waived or not any(
            other != sponsor["id"] and other_industry == industry and not other_waived
            for other, other_industry, other_waived in self.sponsors.get(episode_id, [])
        )

    def hold(self, unit_id: uuid.UUID, episode_id: uuid.UUID, sponsor: Row, waived: bool) -> None:
        self.slots.add((unit_id, episode_id))
        self.sponsors.setdefault(episode_id, []).append((sponsor["id"], str(sponsor["industry"]).lower(), waived))


@dataclass
class Order:
    id: uuid.UUID
    kind: str
    deal: Row
    sponsor: Row
    show: ShowBook
    unit: Row
    start: date
    end: date
    created_at: datetime
    booked: list[int]
    waived: bool
    goal: int = 0
    columns: Row = field(default_factory=dict)  # prices and creative terms, as the IO's columns
    status: str = "scheduled"
    status_changed_at: datetime | None = None
    delivered: int = 0
    activated_at: datetime | None = None
    outcome_at: datetime | None = None  # completed, or judged short (a makegood)
    makegood: Row | None = None
    bonus: int | None = None  # the bonus episode given as a makegood
    final_at: datetime | None = None  # completed after a bonus episode or a longer flight
    booked_end: date | None = None  # the flight's end as booked, before a makegood extended it
    aim: Aim | None = None
    number: str = ""


@dataclass
class Context:
    rng: random.Random
    rows: TenantRows
    now: datetime
    shows: list[ShowBook]
    ledger: Ledger
    seller: uuid.UUID
    settlements: Counter[str] = field(default_factory=Counter)

    @property
    def today(self) -> date:
        return self.now.astimezone(UTC).date()

    @property
    def first_counted(self) -> date:
        """The first day of the listening window: downloads exist from here on."""
        return self.today - timedelta(days=LISTENING_DAYS)


def day_start(day: date, minutes: int = 0) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC) + timedelta(minutes=minutes)
