"""IAB v2.3 download counting: a pure function from a batch of requests to a reason for every request and one
counted download per listener, episode and window.

The five steps of the guideline (§5.5), in order:
1. filter each request (`counting_input.row_reasons`), then addresses with an implausible volume that UTC day;
2. apply the file threshold to byte-carrying sources (`counting_bytes`);
3. group into windows per listener (address hash + user agent), episode and source kind (`counting_windows`);
4. the downloads carry the dimensions (day, app, device, country, source kind) the metrics are built from;
5. every request keeps one reason, in the precedence of `REASONS`, for audit and `explain`.

Incremental use: the counts of UTC day D depend only on the requests of `batch_range(D, window)` (D itself for
calendar days; from the day before to the day after for rolling windows) and, for first-touch windows, on the
downloads counted in `prior_window_range(D, window)`. Count that batch with `day=D` and replace day D's counts; run
again whenever hits of those days arrive.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Literal

import polars as pl

from podsponsor.measurement.counting_bytes import window_bytes
from podsponsor.measurement.counting_input import (
    ClassifyFn,
    CountingInputError,
    prepare,
    row_reasons,
    user_agent_table,
)
from podsponsor.measurement.counting_ranges import with_ranges
from podsponsor.measurement.counting_rules import (
    CODE,
    PASSED,
    REASON_TEXT,
    REASONS,
    CountingSettings,
    WindowType,
)
from podsponsor.measurement.counting_windows import address_day, assign, ip_volume, prior_seeds, with_day_keys

__all__ = [
    "REASONS",
    "REASON_TEXT",
    "ClassifyFn",
    "CountResult",
    "CountingInputError",
    "CountingSettings",
    "WindowType",
    "batch_range",
    "count",
    "daily_downloads",
    "explain",
    "listeners",
    "prior_window_range",
]

REASON_TYPE: Final = pl.Enum(REASONS)
DIMENSIONS: Final = ("day", "episode_id", "source_kind", "app", "device", "device_category", "country")
EPOCH: Final = date(1970, 1, 1)
Period = Literal["day", "week", "month"]
Threshold = Callable[[pl.DataFrame], pl.DataFrame]
UA_DIMENSIONS: Final = ("app", "device", "device_category", "ua_digest")
DOWNLOAD_COLUMNS: Final = (
    "first_request_id",
    "window_start",
    "day",
    "episode_id",
    "source_kind",
    "ip_hash",
    "user_agent",
    "listener",
    "app",
    "device",
    "device_category",
    "country",
    "requests",
    "bytes_covered",
    "bytes_required",
)
# What windows and the threshold read of a qualifying request; the strings are fetched back only for downloads.
QUALIFYING_COLUMNS: Final = (
    "_row",
    "ts_us",
    "day_n",
    "ip_h",
    "ua_h",
    "ep_h",
    "is_logs",
    "rng_first",
    "rng_last",
    "rng_suffix",
    "bytes_sent",
)


@dataclass(frozen=True)
class CountResult:
    """`tags`: one row per request (id, reason, detail, ip_downloads, bytes_covered, bytes_required, counted_as).
    `downloads`: one row per counted download (see `count`)."""

    settings: CountingSettings
    tags: pl.DataFrame
    downloads: pl.DataFrame


def count(
    requests: pl.DataFrame,
    settings: CountingSettings,
    classify: ClassifyFn,
    *,
    episodes: pl.DataFrame | None = None,
    day: date | None = None,
    prior_windows: pl.DataFrame | None = None,
) -> CountResult:
    """Counts a batch of requests.

    `requests` columns: id (text or integer; a UUID as text), ts (datetime; naive means UTC), method ('GET',
    'HEAD', ...), status (int), user_agent, referer, ip_hash (the keyed hash, IPv6 already cut to /64), country
    (ISO-2), datacenter (provider), episode_id (str; null when unmatched), source_kind ('prefix' | 'logs'), and
    either range_header (prefix) or range_start, range_end, bytes_sent (logs). Optional columns may be absent.
    Episode facts (enclosure_bytes, duration_seconds, header_bytes) come from `episodes` (one row per episode_id)
    or from the requests' own columns.
    `classify(user_agent, referer)` is `Classifier.classify` (with the tenant's labels bound, if any).
    With `day`, only that UTC day's requests are tagged and only downloads whose window opened that day returned.
    Tags come in time order (ties in input order), downloads in the order their windows opened.
    `prior_windows` (first-touch only): downloads counted before the batch (ip_hash, user_agent, episode_id,
    source_kind, window_start, and optionally first_request_id), so windows still open at its start are respected.

    `downloads` columns: first_request_id, window_start (UTC), day (UTC date of window_start), episode_id,
    source_kind, ip_hash, user_agent, listener (ip_hash + ':' + a digest of the user agent), app, device,
    device_category, country, requests (in the window), bytes_covered and bytes_required (logs only), window."""
    batch = prepare(requests, episodes)
    frame, id_type = batch.frame, batch.frame.schema["id"]
    user_agents = user_agent_table(frame, classify)
    frame = with_ranges(frame)
    reasons = row_reasons(frame, user_agents)
    reason = reasons["reason"].clone()
    extra = _empty_extras(frame.height)
    extra["detail"] = reasons["detail"]
    passing = frame.lazy().select(*QUALIFYING_COLUMNS, pl.lit(reasons["reason"]).alias("_reason"))
    qualifying = with_day_keys(passing.filter(pl.col("_reason") == PASSED).drop("_reason").collect())
    qualifying = _drop_volume(qualifying, settings.ip_volume_limit, reason, extra)
    seeds = None
    if prior_windows is not None and settings.window == "first_touch_24h" and frame.height:
        seeds = prior_seeds(prior_windows, frame["ts_us"][0], id_type)
    windows = assign(qualifying, settings.window, seeds, id_type)
    rolling = settings.window != "calendar_day"

    def threshold(rows: pl.DataFrame) -> pl.DataFrame:
        return window_bytes(rows, batch.facts, header_default=settings.header_bytes, rolling=rolling)

    parts = [_settle(windows.filter(~pl.col("is_logs")), None), _settle(windows.filter(pl.col("is_logs")), threshold)]
    _record(parts, frame["id"], reason, extra)
    tags = _tags(frame, reason, extra, day)
    counted = pl.concat(
        [part.filter(pl.col("code") == CODE["counted"]).select(_counted_columns(part)) for part in parts]
    ).sort("_row")
    downloads = _downloads(counted, frame, user_agents, classify).with_columns(pl.lit(settings.window).alias("window"))
    if day is not None:
        downloads = downloads.filter(pl.col("day") == day)
    return CountResult(settings=settings, tags=tags, downloads=downloads)


def _record(parts: Sequence[pl.DataFrame], ids: pl.Series, reason: pl.Series, extra: dict[str, pl.Series]) -> None:
    """Writes the settled codes, window bytes and `counted_as` of the qualifying requests into the batch's columns.
    A duplicate points at its window's first request by position (one gather at the end is cheaper than millions
    of string writes), or at a window opened before the batch by that window's id."""
    counted_at = pl.repeat(None, len(ids), dtype=pl.UInt32, eager=True)
    prior: list[pl.DataFrame] = []
    for settled in parts:
        rows = settled["_row"]
        reason.scatter(rows, settled["code"])
        if "bytes_covered" in settled.columns:
            for name in ("bytes_covered", "bytes_required"):
                extra[name].scatter(rows, settled[name])
        duplicates = settled.filter((pl.col("code") == CODE["duplicate_in_window"]) & ~pl.col("prior"))
        counted_at.scatter(duplicates["_row"], duplicates["first_row"])
        if "prior_id" in settled.columns:
            prior.append(settled.filter(pl.col("prior_id").is_not_null()).select("_row", "prior_id"))
    counted_as = ids.gather(counted_at).alias("counted_as")
    earlier = pl.concat(prior) if prior else None
    if earlier is not None and earlier.height:
        counted_as.scatter(earlier["_row"], earlier["prior_id"])
    extra["counted_as"] = counted_as


def _counted_columns(part: pl.DataFrame) -> list[pl.Expr]:
    """What a download takes from its window: position, request count, and bytes (null for the prefix)."""
    bytes_known = "bytes_covered" in part.columns
    return [
        pl.col("_row"),
        pl.col("requests"),
        *(
            pl.col(name) if bytes_known else pl.lit(None, pl.Int64).alias(name)
            for name in ("bytes_covered", "bytes_required")
        ),
    ]


def _empty_extras(rows: int) -> dict[str, pl.Series]:
    columns: dict[str, pl.DataType] = {
        "ip_downloads": pl.Int64(),
        "bytes_covered": pl.Int64(),
        "bytes_required": pl.Int64(),
    }
    return {name: pl.repeat(None, rows, dtype=dtype, eager=True).alias(name) for name, dtype in columns.items()}


def _drop_volume(qualifying: pl.DataFrame, limit: int, reason: pl.Series, extra: dict[str, pl.Series]) -> pl.DataFrame:
    flagged = ip_volume(qualifying, limit)
    if not flagged.height:
        return qualifying
    joined = qualifying.with_columns(address_day()).join(flagged, on="address_day", how="left", maintain_order="left")
    excluded = joined.filter(pl.col("potential").is_not_null())
    reason.scatter(excluded["_row"], CODE["ip_volume"])
    extra["ip_downloads"].scatter(excluded["_row"], excluded["potential"])
    return joined.filter(pl.col("potential").is_null()).drop("potential", "address_day")


def _settle(windows: pl.DataFrame, threshold: Threshold | None) -> pl.DataFrame:
    """Each qualifying request's final code: counted (opened a window that passed), duplicate_in_window, or
    below_threshold; with its window's bytes when the source carries them."""
    if threshold is not None and windows.height:
        windows = windows.join(threshold(windows), on="_row", how="left", maintain_order="left")
        passed = pl.col("passed")
    else:
        passed = pl.lit(True)
    prior = pl.col("prior") if "prior" in windows.columns else pl.lit(False)
    code = (
        pl.when(prior)
        .then(CODE["duplicate_in_window"])
        .when(~passed)
        .then(CODE["below_threshold"])
        .when(pl.col("opener"))
        .then(CODE["counted"])
        .otherwise(CODE["duplicate_in_window"])
        .cast(pl.UInt8)
    )
    return windows.with_columns(code.alias("code"), prior.alias("prior"))


def _tags(frame: pl.DataFrame, reason: pl.Series, extra: dict[str, pl.Series], day: date | None) -> pl.DataFrame:
    names = pl.Series("reason", REASONS).cast(REASON_TYPE)
    tags = pl.DataFrame(
        [
            frame["id"],
            names.gather(reason.cast(pl.Int64) - 1).alias("reason"),
            extra["detail"],
            extra["ip_downloads"],
            extra["bytes_covered"],
            extra["bytes_required"],
            extra["counted_as"],
        ]
    )
    if day is not None:
        on_day = frame["day_n"] == (day - EPOCH).days
        tags = tags.filter(on_day)
    return tags


def _downloads(
    counted: pl.DataFrame, frame: pl.DataFrame, user_agents: pl.DataFrame, classify: ClassifyFn
) -> pl.DataFrame:
    """The counted downloads with their dimensions, read from each window's first request (`counted` is in row
    order, so a filter by position picks them in the same order, and much faster than gathering)."""
    picked = pl.repeat(False, frame.height, eager=True).scatter(counted["_row"], True)
    # The user agent's dimensions by its position in the small table: a lookup, not a join of millions of rows.
    at = pl.col("ua_h").replace_strict(
        user_agents["ua_h"], pl.int_range(user_agents.height, dtype=pl.UInt32, eager=True), return_dtype=pl.UInt32
    )
    dims = [pl.lit(user_agents[name]).gather(pl.col("_ua")).alias(name) for name in UA_DIMENSIONS]
    chosen = (
        frame.lazy()
        .select("id", "ts", "episode_id", "source_kind", "ip_hash", "user_agent", "referer", "country", "ua_h")
        .filter(pl.lit(picked))
        .with_columns(
            pl.col("ts").dt.date().alias("day"),
            pl.lit(counted["requests"]),
            pl.lit(counted["bytes_covered"]),
            pl.lit(counted["bytes_required"]),
            at.alias("_ua"),
        )
        .with_columns(dims)
        .rename({"id": "first_request_id", "ts": "window_start"})
    )
    listener = pl.concat_str(pl.col("ip_hash"), pl.lit(":"), pl.col("ua_digest"))
    found = chosen.with_columns(listener.alias("listener")).collect()
    browsers = user_agents.filter(pl.col("kind") == "browser")["ua_h"]
    return _referrer_apps(found, browsers, classify).select(DOWNLOAD_COLUMNS)


def _referrer_apps(found: pl.DataFrame, browsers: pl.Series, classify: ClassifyFn) -> pl.DataFrame:
    """A browser's download names the web player that referred it (OPAWG referrers), when one did."""
    if not len(browsers):
        return found
    referred = found.lazy().filter(pl.col("referer").is_not_null() & pl.col("ua_h").is_in(browsers.implode()))
    pairs = referred.select("user_agent", "referer").unique().collect()
    if not pairs.height:
        return found
    apps = [classify(user_agent, referer).app for user_agent, referer in pairs.iter_rows()]
    table = pairs.with_columns(pl.Series("_app", apps, dtype=pl.Utf8))
    found = found.join(table, on=["user_agent", "referer"], how="left", maintain_order="left")
    return found.with_columns(pl.coalesce("_app", "app").alias("app")).drop("_app")


# Using the counts ----------------------------------------------------------------------------------------------------


def batch_range(day: date, window: WindowType) -> tuple[datetime, datetime]:
    """[start, end) of the requests whose tags and downloads on UTC `day` depend on: the day itself for calendar
    days; for rolling windows also the day before (windows opened then may still be open) and the day after (bytes
    fetched within 24 h of a window's opening count toward its threshold)."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    if window == "calendar_day":
        return start, start + timedelta(days=1)
    return start - timedelta(days=1), start + timedelta(days=2)


def prior_window_range(day: date, window: WindowType) -> tuple[datetime, datetime] | None:
    """[start, end) of the window_start of earlier downloads to pass as `prior_windows` when counting `day`: a
    first-touch window opened the day before the batch may still be open when the batch starts."""
    if window != "first_touch_24h":
        return None
    batch_start, _ = batch_range(day, window)
    return batch_start - timedelta(days=1), batch_start


def daily_downloads(downloads: pl.DataFrame, by: Sequence[str] = DIMENSIONS) -> pl.DataFrame:
    """Downloads per day and dimensions (the rows of a `downloads`/`metrics_daily` roll-up)."""
    return downloads.group_by(list(by)).agg(pl.len().cast(pl.Int64).alias("downloads")).sort(list(by), nulls_last=True)


def listeners(downloads: pl.DataFrame, period: Period, by: Sequence[str] = ()) -> pl.DataFrame:
    """Listeners (distinct listener keys, IAB v2.3 §6.2) per `period` starting on `period_start` (ISO weeks start on
    Monday), optionally per `by` columns (e.g. a show id the caller joined on). A listener who downloads on two days
    of one week is one listener that week."""
    if period == "day":
        start = pl.col("day")
    elif period == "week":
        start = pl.col("day").dt.truncate("1w")
    elif period == "month":
        start = pl.col("day").dt.truncate("1mo")
    else:
        raise ValueError(f"period must be day, week or month, not {period!r}")
    keys = ["period_start", *by]
    grouped = downloads.with_columns(start.alias("period_start")).group_by(keys)
    return grouped.agg(pl.col("listener").n_unique().cast(pl.Int64).alias("listeners")).sort(keys)


def explain(tag: Mapping[str, object], settings: CountingSettings | None = None) -> str:
    """One sentence saying why a request did or did not count, from its row of `CountResult.tags`."""
    reason = str(tag["reason"])
    sentence = REASON_TEXT[reason]
    detail = tag.get("detail")
    if detail:
        sentence += f" ({detail})"
    if tag.get("ip_downloads") is not None:
        limit = f"; the limit is {settings.ip_volume_limit}" if settings else ""
        sentence += f": {tag['ip_downloads']} potential downloads{limit}"
    if tag.get("bytes_required") is not None:
        sentence += f"; the window covered {tag['bytes_covered']} of {tag['bytes_required']} bytes required"
    if tag.get("counted_as") is not None:
        sentence += f"; its download was counted at request {tag['counted_as']}"
    prefix = "Counted" if reason == "counted" else "Not counted"
    return f"{prefix}: {sentence}."
