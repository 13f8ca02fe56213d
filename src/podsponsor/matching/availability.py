"""Open ad slots per show, day and position over the inventory horizon, as the inventory calendar counts them: every
published, scheduled or cadence-projected episode offers one slot per active ad unit; a slot is taken by an order
placed in that episode, and an order booked without episodes takes its ad unit in every episode of its flight."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, timedelta
from typing import Any, Final

import numpy as np

from podsponsor.bookings.inventory import cadence, expected_days
from podsponsor.matching.inputs import POSITIONS, Inventory

HORIZON_DAYS: Final = 365
CADENCE_LOOKBACK_DAYS: Final = 180


def build(
    show_ids: list[uuid.UUID],
    today: date,
    ad_units: list[dict[str, Any]],
    releases: list[dict[str, Any]],
    booked: list[dict[str, Any]],
    unassigned: list[dict[str, Any]],
) -> Inventory:
    row_of = {show: i for i, show in enumerate(show_ids)}
    end = today + timedelta(days=HORIZON_DAYS - 1)
    units: dict[uuid.UUID, list[tuple[uuid.UUID, int]]] = defaultdict(list)
    sells = np.zeros((len(show_ids), len(POSITIONS)), dtype=np.bool_)
    for ad_unit in ad_units:
        if ad_unit["podcast_id"] in row_of and ad_unit["position"] in POSITIONS:
            position = POSITIONS.index(ad_unit["position"])
            units[ad_unit["podcast_id"]].append((ad_unit["id"], position))
            sells[row_of[ad_unit["podcast_id"]], position] = True
    past: dict[uuid.UUID, list[date]] = defaultdict(list)
    coming: dict[uuid.UUID, list[tuple[date, uuid.UUID | None]]] = defaultdict(list)
    for release in releases:
        if release["day"] <= today:
            past[release["podcast_id"]].append(release["day"])
        else:
            coming[release["podcast_id"]].append((release["day"], release["id"]))
    taken = {(slot["ad_unit_id"], slot["episode_id"]) for slot in booked}
    flights: dict[uuid.UUID, list[tuple[date, date]]] = defaultdict(list)
    for order in unassigned:
        flights[order["ad_unit_id"]].append((order["flight_start"], order["flight_end"]))
    open_slots = np.zeros((len(show_ids), HORIZON_DAYS, len(POSITIONS)), dtype=np.int32)
    for show, row in row_of.items():
        episodes = [(day, episode) for day, episode in coming[show] if day <= end]
        released = past[show]
        projected = expected_days(max(released, default=None), cadence(released), today + timedelta(days=1), end, today)
        known = {day for day, _ in episodes}
        episodes += [(day, None) for day in projected if day not in known]
        for day, episode in episodes:
            offset = (day - today).days
            for unit, position in units[show]:
                if episode is not None and (unit, episode) in taken:
                    continue
                if any(first <= day <= last for first, last in flights[unit]):
                    continue
                open_slots[row, offset, position] += 1
    cumulative = np.zeros((len(show_ids), HORIZON_DAYS + 1, len(POSITIONS)), dtype=np.int32)
    np.cumsum(open_slots, axis=1, out=cumulative[:, 1:, :])
    return Inventory(today, HORIZON_DAYS, cumulative, sells)
