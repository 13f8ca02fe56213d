"""Matching a campaign's conversions to its orders, and laying out each matched conversion's path of touchpoints.

Pure: polars frames in, polars frames out; no database and no clock. The rules (docs/attribution.md):

1. deterministic first: a promo code equal to an order's (ignoring case) ties the conversion to that order; else a
   vanity click of the order by the conversion's household within the lookback does;
2. else the household: an exposure (a counted download of the order's episodes) from the conversion's address hash,
   with a compatible device family (the same, or unknown on either side), in [conversion - lookback, conversion);
3. a household whose exposures in the lookback show more than `max_user_agents` distinct user agents is shared (an
   office, a campus, a carrier's NAT) and is used for nothing: no vanity or household match, no exposure on a path.

A conversion's path is its household's touchpoints in the lookback, in time order, restricted for a deterministic
match to the orders it names (a promo code or a click says which order, and credit stays there); a promo-code match
without any touchpoint gets one of its own, so the order takes the whole credit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final

import polars as pl

MATCH_TYPES: Final = ("promo_code", "vanity", "household")
DETERMINISTIC: Final = frozenset({"promo_code", "vanity"})
# Touchpoint kinds on a path: a counted download, a vanity URL visit, and the code typed at checkout.
DOWNLOAD, CLICK, PROMO = "download", "vanity_click", "promo_code"
# Device families that say nothing: either side unknown matches any family.
UNKNOWN_FAMILIES: Final = ("other",)
MAX_USER_AGENTS: Final = 10
_US_PER_DAY: Final = 86_400_000_000

UTC_US = pl.Datetime("us", "UTC")
CONVERSION_SCHEMA: Final[dict[str, pl.DataType]] = {
    "conversion_id": pl.Utf8(),
    "occurred_at": UTC_US,
    "value_cents": pl.Int64(),
    "currency": pl.Utf8(),
    "promo_codes": pl.List(pl.Utf8()),
    "ip_hash": pl.Utf8(),
    "ua_family": pl.Utf8(),
}
EXPOSURE_SCHEMA: Final[dict[str, pl.DataType]] = {
    "io_id": pl.Utf8(),
    "episode_id": pl.Utf8(),
    "at": UTC_US,
    "household": pl.Utf8(),
    "ua_digest": pl.Utf8(),
    "ua_family": pl.Utf8(),
}
CLICK_SCHEMA: Final[dict[str, pl.DataType]] = {"io_id": pl.Utf8(), "at": UTC_US, "household": pl.Utf8()}
IO_SCHEMA: Final[dict[str, pl.DataType]] = {"io_id": pl.Utf8(), "promo_code": pl.Utf8()}
# A conversion beside one exposure (or one vanity visit) of its household in its lookback.
SEEN_SCHEMA: Final[dict[str, pl.DataType]] = {
    "conversion_id": pl.Utf8(),
    "io_id": pl.Utf8(),
    "episode_id": pl.Utf8(),
    "at": UTC_US,
    "ua_digest": pl.Utf8(),
    "ua_family": pl.Utf8(),
}
CLICKED_SCHEMA: Final[dict[str, pl.DataType]] = {"conversion_id": pl.Utf8(), "io_id": pl.Utf8(), "at": UTC_US}
TOUCHPOINT_SCHEMA: Final[dict[str, pl.DataType]] = {
    "conversion_id": pl.Utf8(),
    "match_type": pl.Utf8(),
    "household": pl.Utf8(),
    "io_id": pl.Utf8(),
    "episode_id": pl.Utf8(),
    "at": UTC_US,
    "kind": pl.Utf8(),
    "position": pl.UInt32(),
    "n": pl.UInt32(),
    "age_days": pl.Float64(),
}


@dataclass(frozen=True)
class MatchSettings:
    lookback_days: int
    max_user_agents: int = MAX_USER_AGENTS

    @property
    def lookback(self) -> timedelta:
        return timedelta(days=self.lookback_days)


@dataclass(frozen=True)
class MatchStats:
    conversions: int
    with_household: int
    unusable: int
    matched: dict[str, int] = field(default_factory=dict)
    # Exposures and vanity visits of the conversions' households in their lookbacks, one per conversion each.
    exposures: int = 0
    clicks: int = 0

    @property
    def unmatched(self) -> int:
        return self.conversions - sum(self.matched.values())

    @property
    def unusable_ip_share(self) -> float | None:
        """Conversions whose household is shared ÷ conversions that carry an address hash."""
        return self.unusable / self.with_household if self.with_household else None


@dataclass(frozen=True)
class Matching:
    """`touchpoints`: one row per touchpoint of every matched conversion (TOUCHPOINT_SCHEMA), in path order."""

    touchpoints: pl.DataFrame
    stats: MatchStats


def with_device_families(
    exposures: pl.DataFrame, family_of: Callable[[str | None, str | None], str | None]
) -> pl.DataFrame:
    """Exposures carrying `device` and `device_category` get `ua_family` from `family_of`, called once per pair."""
    pairs = exposures.select("device", "device_category").unique()
    families = pairs.with_columns(
        pl.Series(
            "ua_family",
            [family_of(device, category) for device, category in pairs.iter_rows()],
            dtype=pl.Utf8,
        )
    )
    return exposures.join(families, on=["device", "device_category"], how="left", nulls_equal=True).drop(
        "device", "device_category"
    )


def match(
    conversions: pl.DataFrame,
    exposures: pl.DataFrame,
    clicks: pl.DataFrame,
    ios: pl.DataFrame,
    settings: MatchSettings,
) -> Matching:
    """Match conversions (CONVERSION_SCHEMA) to the orders `ios` (IO_SCHEMA) through `exposures` (EXPOSURE_SCHEMA)
    and vanity `clicks` (CLICK_SCHEMA) of the same orders."""
    converted = _converted(conversions)
    seen = _in_lookback(converted, exposures, settings).select(list(SEEN_SCHEMA))
    clicked = _in_lookback(converted, clicks, settings).select(list(CLICKED_SCHEMA))
    return match_pairs(conversions, seen, clicked, ios, settings)


def match_pairs(
    conversions: pl.DataFrame,
    seen: pl.DataFrame,
    clicked: pl.DataFrame,
    ios: pl.DataFrame,
    settings: MatchSettings,
) -> Matching:
    """`match`, from each conversion's household events in its lookback already paired with it: `seen`
    (SEEN_SCHEMA: the exposures) and `clicked` (CLICKED_SCHEMA: the vanity visits), as a database join on the
    address hash gives them."""
    converted = _converted(conversions)
    seen = seen.join(converted, on="conversion_id", how="inner")
    clicked = clicked.join(converted, on="conversion_id", how="inner")
    shared = seen.group_by("conversion_id").agg(pl.col("ua_digest").n_unique().alias("agents"))
    shared = shared.filter(pl.col("agents") > settings.max_user_agents).select("conversion_id")
    compatible = seen.join(shared, on="conversion_id", how="anti").filter(_compatible())
    clicked = clicked.join(shared, on="conversion_id", how="anti")

    promo = _promo_matches(conversions, ios)
    vanity = clicked.select("conversion_id", "io_id").unique().join(promo, on="conversion_id", how="anti")
    deterministic = pl.concat(
        [promo.with_columns(match_type=pl.lit("promo_code")), vanity.with_columns(match_type=pl.lit("vanity"))]
    )
    household = (
        compatible.select("conversion_id")
        .unique()
        .join(deterministic, on="conversion_id", how="anti")
        .with_columns(match_type=pl.lit("household"))
    )
    touchpoints = _paths(converted, compatible, clicked, deterministic, household)
    matched = pl.concat([deterministic.select("conversion_id", "match_type"), household]).unique("conversion_id")
    counts = dict(matched.group_by("match_type").len().iter_rows())
    stats = MatchStats(
        conversions=conversions.height,
        with_household=conversions.filter(pl.col("ip_hash").is_not_null()).height,
        unusable=shared.height,
        matched={kind: int(counts.get(kind, 0)) for kind in MATCH_TYPES},
        exposures=seen.height,
        clicks=clicked.height,
    )
    return Matching(touchpoints, stats)


def _converted(conversions: pl.DataFrame) -> pl.DataFrame:
    return conversions.select(
        "conversion_id", pl.col("occurred_at").alias("converted_at"), "ip_hash", pl.col("ua_family").alias("family")
    )


def _in_lookback(converted: pl.DataFrame, events: pl.DataFrame, settings: MatchSettings) -> pl.DataFrame:
    """Each conversion with an address hash, beside each of its household's events in [conversion - lookback,
    conversion)."""
    with_household = converted.filter(pl.col("ip_hash").is_not_null())
    joined = with_household.join(events, left_on="ip_hash", right_on="household", how="inner")
    window = (pl.col("at") >= pl.col("converted_at") - settings.lookback) & (pl.col("at") < pl.col("converted_at"))
    return joined.filter(window)


def _compatible() -> pl.Expr:
    """The conversion's device family (`family`) and the exposure's (`ua_family`) may be the same device's."""
    unknown_conversion = pl.col("family").is_null() | pl.col("family").is_in(UNKNOWN_FAMILIES)
    unknown_exposure = pl.col("ua_family").is_null() | pl.col("ua_family").is_in(UNKNOWN_FAMILIES)
    return unknown_conversion | unknown_exposure | (pl.col("family") == pl.col("ua_family"))


def _promo_matches(conversions: pl.DataFrame, ios: pl.DataFrame) -> pl.DataFrame:
    codes = ios.filter(pl.col("promo_code").is_not_null()).select(
        pl.col("promo_code").str.strip_chars().str.to_lowercase().alias("code"), "io_id"
    )
    typed = conversions.select("conversion_id", pl.col("promo_codes").alias("code")).explode("code")
    typed = typed.filter(pl.col("code").is_not_null()).with_columns(pl.col("code").str.strip_chars().str.to_lowercase())
    return typed.join(codes, on="code", how="inner").select("conversion_id", "io_id").unique()


def _paths(
    converted: pl.DataFrame,
    compatible: pl.DataFrame,
    clicked: pl.DataFrame,
    deterministic: pl.DataFrame,
    household: pl.DataFrame,
) -> pl.DataFrame:
    downloads = compatible.select(
        "conversion_id", "converted_at", "ip_hash", "io_id", "episode_id", "at", kind=pl.lit(DOWNLOAD)
    )
    visits = clicked.select(
        "conversion_id",
        "converted_at",
        "ip_hash",
        "io_id",
        pl.lit(None, pl.Utf8).alias("episode_id"),
        "at",
        kind=pl.lit(CLICK),
    )
    # A deterministic match keeps to the orders it names; a household match takes every exposure it has.
    named = pl.concat([downloads, visits]).join(deterministic, on=["conversion_id", "io_id"], how="inner")
    modeled = downloads.join(household, on="conversion_id", how="inner")
    touched = pl.concat([named, modeled])
    bare = deterministic.join(touched.select("conversion_id").unique(), on="conversion_id", how="anti")
    own = bare.join(converted, on="conversion_id", how="inner").select(
        "conversion_id",
        "converted_at",
        "ip_hash",
        "io_id",
        pl.lit(None, pl.Utf8).alias("episode_id"),
        pl.col("converted_at").alias("at"),
        kind=pl.lit(PROMO),
        match_type="match_type",
    )
    paths = pl.concat([touched, own]).sort(["conversion_id", "at", "kind", "io_id", "episode_id"], nulls_last=True)
    age_us = (pl.col("converted_at") - pl.col("at")).dt.total_microseconds()
    return paths.select(
        "conversion_id",
        "match_type",
        pl.col("ip_hash").alias("household"),
        "io_id",
        "episode_id",
        "at",
        "kind",
        pl.int_range(pl.len(), dtype=pl.UInt32).over("conversion_id").alias("position"),
        pl.len().over("conversion_id").cast(pl.UInt32).alias("n"),
        (age_us.cast(pl.Float64) / _US_PER_DAY).alias("age_days"),
    )
