"""Range headers and byte ranges: what a request asked for, and whether it asked only for a 2-byte probe
(`bytes=0-1`, which Apple sends before downloading) or only for ranges of at most 2 bytes (IAB v2.3 step 1.2).

Most prefix requests carry no Range, `bytes=0-1`, or an open range `bytes=N-`; those are recognised by plain string
comparison. Only the rest (closed, suffix or multiple ranges, odd spelling) are parsed, which keeps millions of
requests cheap. Logs give the range as numbers and are not parsed at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import polars as pl

SINGLE_RANGE: Final = r"(?i)^\s*bytes\s*=\s*(\d{0,18})\s*-\s*(\d{0,18})\s*$"
_RANGE_PART = re.compile(r"^\s*(\d{0,18})\s*-\s*(\d{0,18})\s*$")
_UNIT = re.compile(r"(?i)^\s*bytes\s*=(.*)$")
PROBE: Final = "bytes=0-1"
COLUMNS: Final = ("rng_first", "rng_last", "rng_suffix", "rng_zero_one", "rng_tiny")


@dataclass(frozen=True, slots=True)
class ByteRange:
    """One part of a Range header: `first`-`last` (`last` None when open-ended), or the last `suffix` bytes."""

    first: int | None
    last: int | None
    suffix: int | None = None

    @property
    def length(self) -> int | None:
        if self.suffix is not None:
            return self.suffix
        return None if self.first is None or self.last is None else self.last - self.first + 1


def parse_range_header(header: str | None) -> tuple[ByteRange, ...]:
    """The byte ranges a Range header asks for; () when absent or invalid (a server ignores an invalid Range and
    sends the whole file, RFC 9110 §14.2)."""
    match = _UNIT.match(header or "")
    if match is None:
        return ()
    parts: list[ByteRange] = []
    for text in match.group(1).split(","):
        part = _RANGE_PART.match(text)
        if part is None:
            return ()
        first, last = part.group(1), part.group(2)
        if first and last and int(last) >= int(first):
            parts.append(ByteRange(int(first), int(last)))
        elif first and not last:
            parts.append(ByteRange(int(first), None))
        elif last and not first and int(last) > 0:
            parts.append(ByteRange(None, None, int(last)))
        else:
            return ()
    return tuple(parts)


def with_ranges(frame: pl.DataFrame) -> pl.DataFrame:
    """Adds the first requested range (`rng_first`, `rng_last` (null when open), `rng_suffix` (the N of `-N`)),
    `rng_zero_one` (only `bytes=0-1`) and `rng_tiny` (no range longer than 2 bytes)."""
    start, end, header = pl.col("range_start"), pl.col("range_end"), pl.col("range_header")
    numbers = start.is_not_null() | end.is_not_null()
    valid = start.is_not_null() & (end.is_null() | (end >= start))
    probe = ~numbers & (header == PROBE).fill_null(False)
    columns = (
        frame.lazy()
        .select(
            "_row",
            pl.when(numbers & valid).then(start).when(probe).then(0).alias("rng_first"),
            pl.when(numbers & valid).then(end).when(probe).then(1).alias("rng_last"),
            pl.lit(None, pl.Int64).alias("rng_suffix"),
            (probe | (numbers & valid & (start == 0) & (end == 1)).fill_null(False)).alias("rng_zero_one"),
            (probe | (numbers & valid & (end - start + 1 <= 2)).fill_null(False)).alias("rng_tiny"),
            # An open range (`…-`) is never a probe nor tiny, and a prefix hit never needs its offsets.
            (~numbers & ~probe & header.is_not_null() & ~(header.str.ends_with("-") & ~pl.col("is_logs"))).alias(
                "_parse"
            ),
        )
        .collect()
    )
    parsed = _parsed(frame.filter(columns["_parse"]).select("_row", "range_header"))
    result = columns.drop("_parse")
    if parsed.height:
        rows = parsed["_row"]
        result = result.with_columns(result[name].scatter(rows, parsed[name]) for name in COLUMNS)
    return frame.with_columns(result.select(COLUMNS))


def _parsed(headers: pl.DataFrame) -> pl.DataFrame:
    """The range columns of headers that need parsing: single ranges by expression, several ranges one by one."""
    if not headers.height:
        return headers
    parts = pl.col("range_header").str.extract_groups(SINGLE_RANGE)
    first = parts.struct.field("1").replace("", None).cast(pl.Int64, strict=False)
    last = parts.struct.field("2").replace("", None).cast(pl.Int64, strict=False)
    with_parts = headers.lazy().with_columns(first.alias("_a"), last.alias("_b"))
    closed = pl.col("_a").is_not_null() & pl.col("_b").is_not_null() & (pl.col("_b") >= pl.col("_a"))
    opened = pl.col("_a").is_not_null() & pl.col("_b").is_null()
    suffix = pl.col("_a").is_null() & (pl.col("_b") > 0)
    single = with_parts.select(
        "_row",
        "range_header",
        pl.when(closed | opened).then(pl.col("_a")).alias("rng_first"),
        pl.when(closed).then(pl.col("_b")).alias("rng_last"),
        pl.when(suffix).then(pl.col("_b")).alias("rng_suffix"),
        (closed & (pl.col("_a") == 0) & (pl.col("_b") == 1)).fill_null(False).alias("rng_zero_one"),
        ((closed & (pl.col("_b") - pl.col("_a") + 1 <= 2)) | (suffix & (pl.col("_b") <= 2)))
        .fill_null(False)
        .alias("rng_tiny"),
    ).collect()
    several = single.filter(pl.col("range_header").str.contains(",", literal=True))
    if several.height:
        single = single.update(_several(several), on="_row", include_nulls=True)
    return single


def _several(headers: pl.DataFrame) -> pl.DataFrame:
    rows = []
    for row, header in headers.select("_row", "range_header").iter_rows():
        parts = parse_range_header(header)
        first = parts[0] if parts else ByteRange(None, None)
        tiny = bool(parts) and all(part.length is not None and part.length <= 2 for part in parts)
        rows.append((row, first.first, first.last, first.suffix, False, tiny))
    schema = {
        "_row": pl.UInt32,
        **dict.fromkeys(COLUMNS[:3], pl.Int64),
        "rng_zero_one": pl.Boolean,
        "rng_tiny": pl.Boolean,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")
