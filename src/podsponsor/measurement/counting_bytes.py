"""The file threshold (IAB v2.3 §5.5.3) for sources that know the bytes they served (host and CDN logs).

The byte ranges one listener fetched of one episode in one window are merged (overlapping, adjacent and out-of-order
ranges count each byte once) and compared with the ID3 header plus one minute of audio:
`header + (file bytes - header) / duration * 60`. When the episode is shorter than a minute, or its size or
duration is unknown, 99 % of the file is required instead. A file's size, when the episode does not say, is taken
as the furthest byte any qualifying request of the batch reached (the file is at least that long).

What a request covered: the bytes the log says were sent, from the start of its range (a request without a range
starts at byte 0, a suffix range `-N` at N bytes before the end of the file), never past the range's end or the
file's. A log row that does not say how many bytes were sent covers nothing. CloudFront's `sc-bytes` includes the
few hundred bytes of response headers, so a CloudFront request is credited that much more than the audio it carried.
For rolling windows only the requests within 24 h of the window's opening are merged, so a
day's count never depends on requests more than a day after it.
"""

from __future__ import annotations

import polars as pl

from podsponsor.measurement.counting_rules import THRESHOLD_SECONDS, US_PER_DAY, WHOLE_FILE_PERCENT

COLUMNS = ("_row", "bytes_covered", "bytes_required", "passed")
# A byte offset's place in a 64-bit sort key under the window's number: files up to 128 GiB.
OFFSET_BITS = 37
OFFSET_MAX = (1 << OFFSET_BITS) - 1


def window_bytes(rows: pl.DataFrame, facts: pl.DataFrame, *, header_default: int, rolling: bool) -> pl.DataFrame:
    """Per request of byte-carrying windows: its window's bytes covered, bytes required, and whether it passed.

    `rows` are qualifying requests with `_row`, `first_row` (their window's first request: the window's identity),
    `requests` (the window's size), `wstart_us`, `ts_us`, `ep_h`, the parsed range (`rng_first`, `rng_last`,
    `rng_suffix`) and `bytes_sent`; `facts` the episodes' enclosure_bytes, duration_seconds and header_bytes by
    `ep_h`."""
    frame = rows.lazy().select(
        "_row", "first_row", "requests", "ts_us", "ep_h", "rng_first", "rng_last", "rng_suffix", "bytes_sent"
    )
    if rolling:
        frame = frame.with_columns(rows["wstart_us"])
    frame = _extents(frame.join(facts.lazy(), on="ep_h", how="left", maintain_order="left"))
    if rolling:
        frame = frame.with_columns(pl.col("valid") & (pl.col("ts_us") <= pl.col("wstart_us") + US_PER_DAY))
    frame = frame.collect().lazy()
    # A window of one request (most of them) needs no merging. `requests` counts those within 24 h of the opening,
    # and a later request can only be in the window through one within 24 h, so 1 means the window has one row.
    alone = pl.when(pl.col("valid")).then(pl.col("end") - pl.col("start") + 1).otherwise(0)
    single = frame.filter(pl.col("requests") == 1).with_columns(alone.alias("bytes_covered"))
    several = _covered(frame.filter(pl.col("requests") > 1))
    both = pl.concat([single, several], how="diagonal_relaxed")
    passed = (pl.col("bytes_covered") >= pl.col("bytes_required")).fill_null(False)
    both = both.with_columns(_required(header_default).cast(pl.Int64).alias("bytes_required"))
    return both.with_columns(passed.alias("passed")).select(COLUMNS).collect()


def _extents(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Adds each request's covered `start`..`end` (inclusive), whether it covers anything (`valid`), and the
    episode's `file_bytes` (known, or inferred from the furthest byte sent)."""
    sent = pl.col("bytes_sent")
    frame = frame.with_columns(
        pl.when(pl.col("rng_suffix").is_null()).then(pl.col("rng_first").fill_null(0)).alias("start0"),
    )
    sent_end = pl.col("start0") + sent - 1
    frame = frame.with_columns(_capped(sent_end, pl.col("rng_last")).alias("end0"))
    known = pl.when(pl.col("enclosure_bytes") > 0).then(pl.col("enclosure_bytes"))
    unknown = frame.filter(known.is_null()).group_by("ep_h").agg((pl.col("end0").max() + 1).alias("_seen"))
    frame = frame.join(unknown, on="ep_h", how="left", maintain_order="left")
    frame = frame.with_columns(pl.coalesce(known, pl.col("_seen")).alias("file_bytes"))
    start = pl.coalesce(pl.col("start0"), pl.col("file_bytes") - pl.col("rng_suffix")).clip(0, OFFSET_MAX)
    frame = frame.with_columns(start.alias("start"))
    end = _capped(pl.col("start") + sent - 1, pl.col("rng_last"), pl.col("file_bytes") - 1, pl.lit(OFFSET_MAX))
    frame = frame.with_columns(end.alias("end"))
    return frame.with_columns((pl.col("end") >= pl.col("start")).fill_null(False).alias("valid"))


def _capped(value: pl.Expr, *caps: pl.Expr) -> pl.Expr:
    """`value` no larger than any cap that is known; null when `value` is."""
    return pl.when(value.is_not_null()).then(pl.min_horizontal(value, *caps))


def _covered(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Adds `bytes_covered`, the size of the union of each window's extents, to every row of the window.

    Rows are sorted by window, then start (one 64-bit key: the window's first row above the offset bits); each
    extent adds what lies past the furthest byte reached before it in its window. Window number `g` is offset by
    `g << OFFSET_BITS` so that one running maximum and one running sum over the whole frame never mix windows."""
    key = (pl.col("first_row").cast(pl.UInt64) * (OFFSET_MAX + 1) + pl.col("start").cast(pl.UInt64)).alias("_key")
    ordered = frame.with_columns(key).sort("_key")
    first = (pl.col("first_row") != pl.col("first_row").shift(1)).fill_null(True)
    last = (pl.col("first_row") != pl.col("first_row").shift(-1)).fill_null(True)
    ordered = ordered.with_columns(
        first.cum_sum().cast(pl.Int64).alias("_g"), first.alias("_first"), last.alias("_last")
    )
    base = pl.col("_g") * (OFFSET_MAX + 1)
    line_end = pl.when(pl.col("valid")).then(base + pl.col("end")).otherwise(base - 1)
    reach = line_end.cum_max().shift(1).fill_null(-1) - base
    added = pl.when(pl.col("valid")).then((pl.col("end") - pl.max_horizontal(pl.col("start") - 1, reach)).clip(0))
    ordered = ordered.with_columns(added.fill_null(0).cum_sum().alias("_run"))
    before = pl.when(pl.col("_first")).then(pl.col("_run").shift(1).fill_null(0)).forward_fill()
    through = pl.when(pl.col("_last")).then(pl.col("_run")).backward_fill()
    return ordered.with_columns((through - before).alias("bytes_covered"))


def _required(header_default: int) -> pl.Expr:
    size = pl.col("enclosure_bytes")
    header = pl.coalesce(pl.col("header_bytes"), pl.lit(header_default))
    duration = pl.col("duration_seconds")
    one_minute = header + ((size - header) * THRESHOLD_SECONDS / duration).ceil().cast(pl.Int64)
    computable = (size > 0) & (duration >= THRESHOLD_SECONDS) & (header < size)
    # 99 % of the file, rounded up, in integers so that no float rounding moves it by a byte.
    whole = (pl.col("file_bytes") * WHOLE_FILE_PERCENT + 99) // 100
    return pl.when(computable.fill_null(False)).then(one_minute).otherwise(whole)
