"""A batch of requests as counting reads it: checked columns, 64-bit grouping keys, parsed byte ranges, and the
row-level filters of IAB v2.3 step 1 (each request's first reason to be excluded, or none).

Grouping uses 64-bit digests of the address hash, user agent and episode: millions of long strings cannot be grouped
fast, and the chance that two of the few million addresses in a batch share a digest is about one in ten million.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import polars as pl

from podsponsor.measurement.classify import Classification
from podsponsor.measurement.counting_rules import (
    CODE,
    PASSED,
    SEED_EPISODE,
    SEED_IP,
    SEED_SOURCE,
    SEED_UA,
    SOURCE_KINDS,
    US_PER_DAY,
)

ClassifyFn = Callable[[str | None, str | None], Classification]

REQUIRED: Final[dict[str, pl.DataType]] = {
    "ts": pl.Datetime("us", "UTC"),
    "method": pl.Utf8(),
    "status": pl.Int32(),
    "user_agent": pl.Utf8(),
    "ip_hash": pl.Utf8(),
    "episode_id": pl.Utf8(),
    "source_kind": pl.Utf8(),
}
OPTIONAL: Final[dict[str, pl.DataType]] = {
    "referer": pl.Utf8(),
    "range_header": pl.Utf8(),
    "range_start": pl.Int64(),
    "range_end": pl.Int64(),
    "bytes_sent": pl.Int64(),
    "country": pl.Utf8(),
    "datacenter": pl.Utf8(),
}
EPISODE_FACTS: Final[dict[str, pl.DataType]] = {
    "enclosure_bytes": pl.Int64(),
    "duration_seconds": pl.Float64(),
    "header_bytes": pl.Int64(),
}
# A prefix answers with a redirect; a host or CDN delivers with 200/206 (Akamai logs 000 for a 206 cut short).
SERVED_STATUSES: Final[dict[str, tuple[int, ...]]] = {
    "prefix": (200, 206, 301, 302, 303, 307, 308),
    "logs": (0, 200, 203, 206),
}
SINGLE_RANGE: Final = r"(?i)^\s*bytes\s*=\s*(\d{0,18})\s*-\s*(\d{0,18})\s*$"
_RANGE_PART = re.compile(r"^\s*(\d{0,18})\s*-\s*(\d{0,18})\s*$")
_UNIT = re.compile(r"(?i)^\s*bytes\s*=(.*)$")
KEYWORD_REASON = "user agent contains"
# The user agent's part of a listener key: a stable digest, so keys stay short and compare across runs.
UA_DIGEST_CHARS = 16


class CountingInputError(ValueError):
    """The batch cannot be counted as given (a column is missing or holds values counting does not know)."""


@dataclass(frozen=True)
class Batch:
    """The requests, typed and in time order, with `_row` (position), `ts_us`, `day_n` (days since 1970), 64-bit
    keys `ip_h`, `ua_h`, `ep_h` and `is_logs`; and the episode facts by `ep_h`."""

    frame: pl.DataFrame
    facts: pl.DataFrame


def prepare(requests: pl.DataFrame, episodes: pl.DataFrame | None = None) -> Batch:
    missing = [name for name in ("id", *REQUIRED) if name not in requests.columns]
    if missing:
        raise CountingInputError(f"the requests lack column(s): {', '.join(missing)}")
    frame = requests.select(
        "id",
        *(_typed(requests, name, dtype) for name, dtype in REQUIRED.items()),
        *(_optional(requests, name, dtype) for name, dtype in OPTIONAL.items()),
    )
    unknown = frame.lazy().filter(~pl.col("source_kind").is_in(SOURCE_KINDS)).select("source_kind").head(1).collect()
    if unknown.height:
        raise CountingInputError(f"source_kind must be one of {', '.join(SOURCE_KINDS)}, not {unknown.item()!r}")
    if frame["ts"].null_count():
        raise CountingInputError("every request needs a ts")
    if not frame["ts"].is_sorted():
        frame = frame.sort("ts", maintain_order=True)
    ts_us = pl.col("ts").dt.epoch("us")
    frame = (
        frame.lazy()
        .with_columns(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row"),
            ts_us.alias("ts_us"),
            (ts_us // US_PER_DAY).cast(pl.Int32).alias("day_n"),
            pl.col("ip_hash").hash(SEED_IP).alias("ip_h"),
            pl.col("user_agent").hash(SEED_UA).alias("ua_h"),
            pl.col("episode_id").hash(SEED_EPISODE).alias("ep_h"),
            (pl.col("source_kind") == "logs").alias("is_logs"),
        )
        .collect()
    )
    return Batch(frame, _facts(requests, episodes))


def _typed(requests: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Expr:
    column = pl.col(name)
    current = requests.schema[name]
    if current == dtype:
        return column
    if isinstance(dtype, pl.Datetime):
        if not isinstance(current, pl.Datetime):
            raise CountingInputError(f"{name} must be a datetime column, not {current}")
        column = column.dt.replace_time_zone("UTC") if current.time_zone is None else column
        return column.dt.convert_time_zone("UTC").cast(dtype).alias(name)
    return column.cast(dtype).alias(name)


def _optional(requests: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Expr:
    if name in requests.columns:
        return _typed(requests, name, dtype)
    return pl.lit(None, dtype).alias(name)


def _facts(requests: pl.DataFrame, episodes: pl.DataFrame | None) -> pl.DataFrame:
    """Enclosure size, duration and header size by `ep_h`, from `episodes` or else the requests' own columns."""
    source = episodes if episodes is not None else requests
    present = [name for name in EPISODE_FACTS if name in source.columns]
    if "episode_id" not in source.columns:
        raise CountingInputError("the episodes lack column: episode_id")
    columns = [
        pl.col(name).cast(dtype) if name in present else pl.lit(None, dtype).alias(name)
        for name, dtype in EPISODE_FACTS.items()
    ]
    facts = source.lazy()
    if episodes is None:
        if not present:
            return pl.DataFrame(schema={"ep_h": pl.UInt64, **EPISODE_FACTS})
        # Facts repeated on every request: one value per episode is enough.
        by_episode = facts.filter(pl.col("source_kind") == "logs").group_by("episode_id")
        facts = by_episode.agg(pl.col(name).drop_nulls().first() for name in present)
    facts = facts.select(pl.col("episode_id").cast(pl.Utf8).hash(SEED_EPISODE).alias("ep_h"), *columns)
    return facts.unique("ep_h", keep="first").collect()


def source_key() -> pl.Expr:
    """The grouping key of one listener, one episode and one source kind."""
    return pl.col("ip_h") ^ pl.col("ua_h") ^ pl.col("ep_h") ^ pl.col("is_logs").hash(SEED_SOURCE)


# User agents ---------------------------------------------------------------------------------------------------------


def user_agent_table(frame: pl.DataFrame, classify: ClassifyFn) -> pl.DataFrame:
    """Each distinct user agent of the batch classified once: its filter reason (0 = passes) and its dimensions."""
    distinct = frame.lazy().group_by("ua_h").agg(pl.col("user_agent").first()).collect()
    rows = [_user_agent_row(ua_h, ua, classify) for ua_h, ua in distinct.iter_rows()]
    return pl.DataFrame(
        rows,
        schema={
            "ua_h": pl.UInt64,
            "ua_reason": pl.UInt8,
            "ua_detail": pl.Utf8,
            "kind": pl.Utf8,
            "app": pl.Utf8,
            "device": pl.Utf8,
            "device_category": pl.Utf8,
            "ua_digest": pl.Utf8,
        },
        orient="row",
    )


def _user_agent_row(
    ua_h: int, user_agent: str | None, classify: ClassifyFn
) -> tuple[int, int, str | None, str, str | None, str | None, str | None, str]:
    digest = hashlib.sha256((user_agent or "").encode()).hexdigest()[:UA_DIGEST_CHARS]
    if user_agent is None or not user_agent.strip():
        return ua_h, CODE["missing_ua"], "missing user agent", "unknown", None, None, None, digest
    found = classify(user_agent, None)
    reason, detail = PASSED, None
    if found.apple_watch_duplicate:
        # Named for the IAB rule even when a list also calls it a bot: the rule is why it must go.
        reason, detail = CODE["apple_watch_duplicate"], found.bot_reason or "Apple Watch user agent"
    elif found.is_bot:
        detail = found.bot_reason
        keyword = (found.bot_reason or "").startswith(KEYWORD_REASON)
        reason = CODE["bot_keyword"] if keyword else CODE["bot_ua"]
        if found.bot_reason == "missing user agent":
            reason = CODE["missing_ua"]
    return ua_h, reason, detail, found.kind, found.app, found.device, found.device_category, digest


# Row-level filters ---------------------------------------------------------------------------------------------------


def row_reasons(frame: pl.DataFrame, user_agents: pl.DataFrame) -> pl.DataFrame:
    """Each request's first row-level reason to be excluded (`reason`, a code of `REASONS`; 0 when it passes them
    all) and what named it (`detail`: the bot list entry or keyword, or the data centre's provider). `frame` carries
    the parsed range flags (`counting_ranges.with_ranges`)."""
    # One lookup of each request's user agent in the small table, then its verdict and detail by position.
    at = pl.col("ua_h").replace_strict(
        user_agents["ua_h"], pl.int_range(user_agents.height, dtype=pl.UInt32, eager=True), return_dtype=pl.UInt32
    )
    ua_detail = pl.lit(user_agents["ua_detail"]).gather(pl.col("_ua_at"))
    served = (
        pl.when(pl.col("is_logs"))
        .then(pl.col("status").is_in(SERVED_STATUSES["logs"]))
        .otherwise(pl.col("status").is_in(SERVED_STATUSES["prefix"]))
        .fill_null(False)
    )
    reason = (
        pl.when(pl.col("episode_id").is_null())
        .then(_code("no_episode"))
        .when(pl.col("method") == "HEAD")
        .then(_code("head"))
        .when((pl.col("method") != "GET").fill_null(True))
        .then(_code("not_get"))
        .when(pl.col("status") == 304)
        .then(_code("not_modified_304"))
        .when(~served)
        .then(_code("bad_status"))
        .when(pl.col("rng_zero_one"))
        .then(_code("zero_one_range_only"))
        .when(pl.col("rng_tiny"))
        .then(_code("tiny_ranges_only"))
        .when(pl.col("_ua_reason") != PASSED)
        .then(pl.col("_ua_reason"))
        .when(pl.col("datacenter").is_not_null())
        .then(_code("datacenter"))
        .otherwise(pl.lit(PASSED, pl.UInt8))
    )
    detail = (
        pl.when((pl.col("reason") == pl.col("_ua_reason")) & (pl.col("reason") != PASSED))
        .then(ua_detail)
        .when(pl.col("reason") == CODE["datacenter"])
        .then(pl.col("datacenter"))
    )
    computed = (
        frame.lazy()
        .with_columns(at.alias("_ua_at"))
        .with_columns(pl.lit(user_agents["ua_reason"]).gather(pl.col("_ua_at")).alias("_ua_reason"))
    )
    return computed.with_columns(reason.alias("reason")).select("reason", detail.alias("detail")).collect()


def _code(reason: str) -> pl.Expr:
    return pl.lit(CODE[reason], pl.UInt8)
