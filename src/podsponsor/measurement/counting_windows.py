"""Uniques (IAB v2.3 §5.5.1 and step 3): which requests share a window, and which opens it.

A window belongs to one listener (address hash + user agent), one episode and one source kind:
- calendar day: one window per UTC day;
- first-touch rolling 24 h: a window opens at a request and covers the 24 h after it; the first request more than
  24 h after the opening opens the next window;
- extending rolling 24 h: each request less than (or exactly) 24 h after the previous one extends the window; a gap
  of more than 24 h opens a new one.
Calendar windows are a group key. Rolling windows need each listener's requests in time order, so the qualifying
requests are sorted by key once (stable: they arrive in time order); extending windows are then a gap test, and
first-touch windows are assigned in rounds, each round closing every key's earliest open window, so the rounds number
the windows of the busiest key (about one per day of the batch), not the requests.
"""

from __future__ import annotations

import polars as pl

from podsponsor.measurement.counting_input import source_key
from podsponsor.measurement.counting_rules import (
    SEED_DAY,
    SEED_EPISODE,
    SEED_IP,
    SEED_UA,
    SEED_WINDOW,
    US_PER_DAY,
    WindowType,
)


def with_day_keys(qualifying: pl.DataFrame) -> pl.DataFrame:
    """Adds `skey` (listener, episode, source), `day_key` (the same on one UTC day), the first request of each day
    key (`day_first_row`, rows being in time order) and how many requests share it (`day_requests`)."""
    keys = qualifying.lazy().with_columns(source_key().alias("skey"))
    keys = keys.with_columns((pl.col("skey") ^ pl.col("day_n").hash(SEED_DAY)).alias("day_key"))
    return keys.with_columns(
        pl.col("_row").min().over("day_key").alias("day_first_row"),
        pl.len().over("day_key").cast(pl.Int64).alias("day_requests"),
    ).collect()


def ip_volume(qualifying: pl.DataFrame, limit: int) -> pl.DataFrame:
    """(address_day, potential) of the addresses with more than `limit` potential downloads that UTC day."""
    firsts = qualifying.lazy().filter(pl.col("_row") == pl.col("day_first_row"))
    per_address = firsts.group_by(address_day()).agg(pl.len().cast(pl.Int64).alias("potential"))
    return per_address.filter(pl.col("potential") > limit).collect()


def address_day() -> pl.Expr:
    """One address on one UTC day, as one 64-bit key (one key groups much faster than two columns)."""
    return (pl.col("ip_h") ^ pl.col("day_n").hash(SEED_DAY)).alias("address_day")


def assign(
    qualifying: pl.DataFrame, window: WindowType, prior: pl.DataFrame | None, id_type: pl.DataType
) -> pl.DataFrame:
    """Adds `wkey` (the window), `wstart_us` (its opening time; null for a calendar day), `first_row` (its first
    request in the batch), `requests` (how many it holds), `opener` (whether this request opened it), and for
    rolling windows `prior` (whether the window opened before the batch) and `prior_id` (that earlier window's
    first request, when known)."""
    if window == "calendar_day":
        # No calendar window starts before the batch: `prior` and `prior_id` are left out rather than filled.
        return qualifying.rename(
            {"day_key": "wkey", "day_first_row": "first_row", "day_requests": "requests"}
        ).with_columns((pl.col("_row") == pl.col("first_row")).alias("opener"))
    frame = qualifying.sort("skey", maintain_order=True)
    frame = _extending(frame, id_type) if window == "extending_24h" else _first_touch(frame, prior, id_type)
    frame = frame.with_columns((pl.col("skey") ^ pl.col("wstart_us").hash(SEED_WINDOW)).alias("wkey"))
    # A window's rows are contiguous here, so per-window figures are differences of running sums. Its requests
    # are those within 24 h of its opening, like its bytes, so the figure does not depend on the batch's end.
    starts = (pl.col("wkey") != pl.col("wkey").shift(1)).fill_null(True)
    ends = (pl.col("wkey") != pl.col("wkey").shift(-1)).fill_null(True)
    run = (pl.col("ts_us") <= pl.col("wstart_us") + US_PER_DAY).cast(pl.Int64).cum_sum()
    frame = frame.with_columns(
        pl.when(starts).then(pl.col("_row")).forward_fill().alias("first_row"),
        (
            pl.when(ends).then(run).backward_fill() - pl.when(starts).then(run.shift(1).fill_null(0)).forward_fill()
        ).alias("requests"),
    )
    # A window whose first request in the batch did not open it was opened before the batch.
    earlier = pl.when(starts).then(pl.col("ts_us") != pl.col("wstart_us")).forward_fill()
    frame = frame.with_columns(earlier.alias("prior"))
    return frame.with_columns(((pl.col("_row") == pl.col("first_row")) & ~pl.col("prior")).alias("opener"))


def _extending(frame: pl.DataFrame, id_type: pl.DataType) -> pl.DataFrame:
    new_key = (pl.col("skey") != pl.col("skey").shift(1)).fill_null(True)
    gap = pl.col("ts_us") - pl.col("ts_us").shift(1)
    opens = new_key | (gap > US_PER_DAY)
    return frame.with_columns(
        pl.when(opens).then(pl.col("ts_us")).forward_fill().alias("wstart_us"),
        pl.lit(None, id_type).alias("prior_id"),
    )


def _first_touch(frame: pl.DataFrame, prior: pl.DataFrame | None, id_type: pl.DataType) -> pl.DataFrame:
    if not frame.height:
        return frame.with_columns(pl.lit(None, pl.Int64).alias("wstart_us"), pl.lit(None, id_type).alias("prior_id"))
    pending = frame.select("skey", "ts_us").with_row_index("_at")
    if prior is not None and prior.height:
        pending = pending.join(prior, on="skey", how="left", maintain_order="left")
    else:
        pending = pending.with_columns(pl.lit(None, pl.Int64).alias("seed_us"), pl.lit(None, id_type).alias("seed_id"))
    first_of_key = (pl.col("skey") != pl.col("skey").shift(1)).fill_null(True)
    assigned: list[pl.DataFrame] = []
    while pending.height:
        # A key's earliest pending request opens its next window, unless a window opened before the batch
        # (a seed, used only in the first round) still covers it.
        live = (pl.col("seed_us") + US_PER_DAY >= pl.col("ts_us")).fill_null(False)
        pending = pending.with_columns(
            pl.when(first_of_key).then(live).forward_fill().alias("_live"),
        ).with_columns(
            pl.when(first_of_key)
            .then(pl.when(pl.col("_live")).then(pl.col("seed_us")).otherwise(pl.col("ts_us")))
            .forward_fill()
            .alias("wstart_us"),
            pl.when(pl.col("_live")).then(pl.col("seed_id")).alias("prior_id"),
        )
        inside = pl.col("ts_us") <= pl.col("wstart_us") + US_PER_DAY
        assigned.append(pending.filter(inside).select("_at", "wstart_us", "prior_id"))
        pending = (
            pending.filter(~inside)
            .select("_at", "skey", "ts_us")
            .with_columns(pl.lit(None, pl.Int64).alias("seed_us"), pl.lit(None, id_type).alias("seed_id"))
        )
    found = pl.concat(assigned).sort("_at")
    return frame.with_columns(found["wstart_us"], found["prior_id"].cast(id_type))


def prior_seeds(prior_windows: pl.DataFrame, batch_start_us: int, id_type: pl.DataType) -> pl.DataFrame:
    """The latest window each key opened before the batch, as (skey, seed_us, seed_id)."""
    needed = {"ip_hash", "user_agent", "episode_id", "source_kind", "window_start"}
    missing = needed - set(prior_windows.columns)
    if missing:
        raise ValueError(f"prior_windows lack column(s): {', '.join(sorted(missing))}")
    first_id = pl.col("first_request_id") if "first_request_id" in prior_windows.columns else pl.lit(None)
    frame = prior_windows.select(
        pl.col("ip_hash").cast(pl.Utf8),
        pl.col("user_agent").cast(pl.Utf8),
        pl.col("episode_id").cast(pl.Utf8),
        (pl.col("source_kind") == "logs").alias("is_logs"),
        pl.col("window_start").dt.epoch("us").alias("seed_us"),
        first_id.cast(id_type).alias("seed_id"),
    )
    frame = frame.with_columns(
        pl.col("ip_hash").hash(SEED_IP).alias("ip_h"),
        pl.col("user_agent").hash(SEED_UA).alias("ua_h"),
        pl.col("episode_id").hash(SEED_EPISODE).alias("ep_h"),
    ).with_columns(source_key().alias("skey"))
    frame = frame.filter(pl.col("seed_us") < batch_start_us).sort("seed_us")
    return frame.group_by("skey").agg(pl.col("seed_us").last(), pl.col("seed_id").last())
