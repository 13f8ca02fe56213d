"""What scoring reads, gathered once per recalculation: the shows and advertisers in scope and everything the six
signals need from them, with no database handle, so that scoring is plain arithmetic over arrays."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from podsponsor.matching.topics import AdvertiserTerms, ShowText

POSITIONS: Final = ("pre", "mid", "post")
# Fewer located downloads than this and a show's country shares say more about chance than about its audience.
MIN_LOCATED_DOWNLOADS: Final = 100
GEO_DAYS: Final = 90  # measured country shares are read over this many days before the recalculation


@dataclass(frozen=True)
class Brief:
    flight_start: date | None
    flight_end: date | None
    positions: tuple[str, ...]
    slots_needed: int | None
    blocked_categories: frozenset[str]  # lower case


@dataclass(frozen=True)
class Advertiser:
    id: uuid.UUID
    name: str
    industry: str
    target_geo: tuple[str, ...]
    target_demo: dict[str, Any]
    tolerance: str
    brief: Brief | None
    terms: AdvertiserTerms


@dataclass(frozen=True)
class Show:
    id: uuid.UUID
    title: str
    categories: tuple[str, ...]
    explicit: bool
    located: Counter[str]  # measured downloads by country over GEO_DAYS
    audience: dict[str, Any]  # the imported/surveyed audience profile
    text: ShowText
    sensitive: Counter[str]  # occurrences of each sensitive word


@dataclass(frozen=True)
class ExclusiveOrder:
    """A live or future order whose sponsor asked for competitive exclusivity on a show."""

    podcast_id: uuid.UUID
    sponsor_id: uuid.UUID
    sponsor_name: str
    industry: str  # lower case
    flight_start: date
    flight_end: date


@dataclass(frozen=True)
class Delivered:
    """Attributed conversions and delivered impressions of one advertiser on one show."""

    sponsor_id: uuid.UUID
    industry: str  # lower case
    podcast_id: uuid.UUID
    conversions: float
    impressions: int


@dataclass
class Inventory:
    """Open ad slots per show, day and position from `start` for `days` days, as cumulative sums so that any flight's
    open slots are one subtraction: open(s, first..last, p) = cumulative[s, last + 1, p] - cumulative[s, first, p]."""

    start: date
    days: int
    cumulative: npt.NDArray[np.int32]  # shows x (days + 1) x positions
    sells: npt.NDArray[np.bool_]  # shows x positions: the show has an active ad unit there


@dataclass
class Inputs:
    today: date
    advertisers: list[Advertiser]
    shows: list[Show]
    corpus: list[ShowText] = field(default_factory=list)  # every show of the workspace, for topic weights
    delivered: list[Delivered] = field(default_factory=list)
    exclusive: list[ExclusiveOrder] = field(default_factory=list)
    inventory: Inventory | None = None
