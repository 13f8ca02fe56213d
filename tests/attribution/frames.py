"""Small engine inputs written as rows: conversions, exposures, vanity clicks and orders, around one moment."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from podsponsor.attribution.engine import (
    CLICK_SCHEMA,
    CONVERSION_SCHEMA,
    EXPOSURE_SCHEMA,
    IO_SCHEMA,
    Matching,
    MatchSettings,
    match,
)

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
PROMO_IO, OTHER_IO = "io-promo", "io-other"
ORDERS = [(PROMO_IO, "SLEEP20"), (OTHER_IO, None)]


def before(days: float) -> datetime:
    return AT - timedelta(days=days)


def conversion(conversion_id: str = "c1", **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "conversion_id": conversion_id,
        "occurred_at": AT,
        "value_cents": 5000,
        "currency": "USD",
        "promo_codes": [],
        "ip_hash": "home",
        "ua_family": "iOS",
    }
    return row | fields


def exposure(days_before: float, io_id: str = OTHER_IO, episode_id: str = "ep1", **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "io_id": io_id,
        "episode_id": episode_id,
        "at": before(days_before),
        "household": "home",
        "ua_digest": "phone",
        "ua_family": "iOS",
    }
    return row | fields


def click(days_before: float, io_id: str = OTHER_IO, household: str = "home") -> dict[str, Any]:
    return {"io_id": io_id, "at": before(days_before), "household": household}


def run(
    conversions: list[dict[str, Any]],
    exposures: Sequence[dict[str, Any]] = (),
    clicks: Sequence[dict[str, Any]] = (),
    lookback_days: int = 30,
) -> Matching:
    return match(
        pl.DataFrame(conversions, schema=CONVERSION_SCHEMA),
        pl.DataFrame(list(exposures), schema=EXPOSURE_SCHEMA),
        pl.DataFrame(list(clicks), schema=CLICK_SCHEMA),
        pl.DataFrame(ORDERS, schema=IO_SCHEMA, orient="row"),
        MatchSettings(lookback_days),
    )


def matched(found: Matching) -> dict[str, tuple[str, list[str]]]:
    """conversion → (match type, the orders on its path in path order)."""
    result: dict[str, tuple[str, list[str]]] = {}
    for row in found.touchpoints.iter_rows(named=True):
        kind, ios = result.get(row["conversion_id"], (row["match_type"], []))
        result[row["conversion_id"]] = (kind, [*ios, row["io_id"]])
    return result
