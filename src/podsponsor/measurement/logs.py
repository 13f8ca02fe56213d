"""Host and CDN access logs as counting input: CloudFront standard logs and a documented generic shape.

Both readers stream: they take lines (a file object, or `read_lines(path)` for plain or gzipped files) and yield
`LogChunk`s of at most `chunk_size` rows, so a log of any size is read in bounded memory. A line that cannot be
read becomes a `LogError` naming its line number and why; reading goes on.

Each row becomes what `counting.count` reads, with `source_kind` 'logs': `id` (`<source>:<line>`, stable across
imports of the same file), `line`, `ts` (UTC), `method`, `url` (host and path, for matching to an episode: the
caller adds `episode_id`), `status`, `range_start`, `range_end`, `bytes_sent`, `user_agent`, `referer`, `ip_hash`
(`podsponsor.clients.hash_address`: keyed, IPv6 cut to /64 first; the address itself is not kept), `country` and
`datacenter` (from the injected lookups, computed here because only here is the address known).

**CloudFront standard logs** (W3C extended: `#Version` and `#Fields` header lines, then tab-separated values, `-`
for empty, user agent and referer URL-encoded). Columns are found by name from the `#Fields` line, so any field
order or version works. Byte ranges come from `sc-range-start`/`sc-range-end` when the log has them; without them
a request is credited with `sc-bytes` from the start of the file (which counts the response headers too).

**Generic shape**, CSV with a header row or JSON lines, one request per row/object with these keys:
`ts` (ISO 8601; without an offset it is UTC), `method`, `url`, `status`, `bytes_sent` (bytes of the body sent),
`range_start` and `range_end` (inclusive byte offsets of the range served; empty when the whole file was asked
for; `range_end` empty for an open range), `user_agent`, `referer`, `ip` (the client address). Unknown keys are
ignored; `referer`, `user_agent` and the range may be empty.
"""

from __future__ import annotations

import csv
import gzip
import io
import ipaddress
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import unquote

import polars as pl

Lookup = Callable[[str], str | None]
CHUNK_SIZE: Final = 50_000
SCHEMA: Final[dict[str, pl.DataType]] = {
    "id": pl.Utf8(),
    "line": pl.Int64(),
    "ts": pl.Datetime("us", "UTC"),
    "method": pl.Utf8(),
    "url": pl.Utf8(),
    "status": pl.Int32(),
    "range_start": pl.Int64(),
    "range_end": pl.Int64(),
    "bytes_sent": pl.Int64(),
    "user_agent": pl.Utf8(),
    "referer": pl.Utf8(),
    "ip_hash": pl.Utf8(),
    "country": pl.Utf8(),
    "datacenter": pl.Utf8(),
    "source_kind": pl.Utf8(),
}
GENERIC_FIELDS: Final = (
    "ts",
    "method",
    "url",
    "status",
    "bytes_sent",
    "range_start",
    "range_end",
    "user_agent",
    "referer",
    "ip",
)
CLOUDFRONT_REQUIRED: Final = (
    "date",
    "time",
    "sc-bytes",
    "c-ip",
    "cs-method",
    "cs-uri-stem",
    "sc-status",
    "cs(User-Agent)",
)
FIELD_MAX: Final = 4096


class BadLine(ValueError):
    """One line that cannot become a request; the message says why."""


@dataclass(frozen=True, slots=True)
class LogError:
    line: int
    reason: str


@dataclass
class LogChunk:
    """Up to `chunk_size` requests in counting's input shape, and the lines among them that could not be read."""

    rows: pl.DataFrame
    errors: list[LogError] = field(default_factory=list)


@dataclass
class _Builder:
    """Collects rows and errors, handing out a chunk whenever it is full."""

    source: str
    address: Callable[[str], tuple[str, str | None, str | None]]
    chunk_size: int
    columns: dict[str, list[Any]] = field(default_factory=lambda: {name: [] for name in SCHEMA})
    errors: list[LogError] = field(default_factory=list)

    def add(self, line: int, fields: Mapping[str, Any]) -> None:
        ip_hash, country, datacenter = self.address(fields["ip"])
        row = {
            **fields,
            "id": f"{self.source}:{line}",
            "line": line,
            "ip_hash": ip_hash,
            "country": country,
            "datacenter": datacenter,
            "source_kind": "logs",
        }
        for name, values in self.columns.items():
            values.append(row.get(name))

    def fail(self, line: int, reason: str) -> None:
        self.errors.append(LogError(line, reason))

    def full(self) -> bool:
        return len(self.columns["id"]) + len(self.errors) >= self.chunk_size

    def take(self) -> LogChunk:
        chunk = LogChunk(pl.DataFrame(self.columns, schema=SCHEMA), self.errors)
        self.columns = {name: [] for name in SCHEMA}
        self.errors = []
        return chunk

    def pending(self) -> bool:
        return bool(self.columns["id"] or self.errors)


def read_lines(path: str | Path) -> Iterator[str]:
    """The lines of a log file, gunzipped when it is gzipped (CloudFront writes `.gz` files); bytes that are not
    UTF-8 are replaced rather than failing the file."""
    with Path(path).open("rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    if gzipped:
        with gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="") as unzipped:
            yield from unzipped
    else:
        with Path(path).open(encoding="utf-8", errors="replace", newline="") as plain:
            yield from plain


def address_facts(
    country: Lookup, datacenter: Lookup, hash_ip: Callable[[str], str] | None = None
) -> Callable[[str], tuple[str, str | None, str | None]]:
    """(ip_hash, country, datacenter) of an address, remembered per address (a log repeats them a lot).
    `hash_ip` defaults to `podsponsor.clients.hash_address`."""
    if hash_ip is None:
        # Imported here: `clients` also reads requests (Starlette), which the counting side must not import.
        from podsponsor.hashing import hash_address

        hash_ip = hash_address
    seen: dict[str, tuple[str, str | None, str | None]] = {}

    def facts(ip: str) -> tuple[str, str | None, str | None]:
        found = seen.get(ip)
        if found is None:
            found = (hash_ip(ip), country(ip), datacenter(ip))
            if len(seen) < 1 << 20:
                seen[ip] = found
        return found

    return facts


def read_cloudfront(
    lines: Iterable[str],
    *,
    source: str,
    country: Lookup,
    datacenter: Lookup,
    hash_ip: Callable[[str], str] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[LogChunk]:
    """Requests of a CloudFront standard log. `source` names the file in the rows' ids."""
    builder = _Builder(source, address_facts(country, datacenter, hash_ip), chunk_size)
    names: list[str] | None = None
    for number, text in enumerate(lines, start=1):
        text = text.rstrip("\r\n")
        if text.startswith("#Fields:"):
            names = text[len("#Fields:") :].split()
            missing = [name for name in CLOUDFRONT_REQUIRED if name not in names]
            if missing:
                builder.fail(number, f"the #Fields line lacks {', '.join(missing)}")
                names = None
        elif text.startswith("#") or not text.strip():
            continue
        elif names is None:
            builder.fail(number, "no usable #Fields line before this line")
        else:
            try:
                builder.add(number, _cloudfront_row(names, text))
            except BadLine as exc:
                builder.fail(number, str(exc))
        if builder.full():
            yield builder.take()
    if builder.pending():
        yield builder.take()


def _cloudfront_row(names: list[str], text: str) -> dict[str, Any]:
    values = text.split("\t")
    if len(values) != len(names):
        raise BadLine(f"expected {len(names)} tab-separated fields, found {len(values)}")
    row = {name: (None if value == "-" else value) for name, value in zip(names, values, strict=True)}
    host = row.get("x-host-header") or row.get("cs(Host)") or ""
    query = row.get("cs-uri-query")
    return {
        "ts": _timestamp(f"{row['date']}T{row['time']}"),
        "method": _method(row["cs-method"]),
        "url": _text(host + (row["cs-uri-stem"] or "") + (f"?{query}" if query else ""), "url", required=True),
        "status": _integer(row["sc-status"], "sc-status", required=True),
        "bytes_sent": _integer(row["sc-bytes"], "sc-bytes"),
        "range_start": _integer(row.get("sc-range-start"), "sc-range-start"),
        "range_end": _integer(row.get("sc-range-end"), "sc-range-end"),
        "user_agent": _text(_decoded(row["cs(User-Agent)"]), "cs(User-Agent)"),
        "referer": _text(_decoded(row.get("cs(Referer)")), "cs(Referer)"),
        "ip": _ip(row["c-ip"], "c-ip"),
    }


def read_generic(
    lines: Iterable[str],
    *,
    shape: Literal["csv", "jsonl"],
    source: str,
    country: Lookup,
    datacenter: Lookup,
    hash_ip: Callable[[str], str] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[LogChunk]:
    """Requests of a log in the generic shape, as CSV (header row first) or JSON lines."""
    builder = _Builder(source, address_facts(country, datacenter, hash_ip), chunk_size)
    records = _csv_records(lines) if shape == "csv" else _json_records(lines)
    for number, record in records:
        try:
            if isinstance(record, BadLine):
                raise record
            builder.add(number, _generic_row(record))
        except BadLine as exc:
            builder.fail(number, str(exc))
        if builder.full():
            yield builder.take()
    if builder.pending():
        yield builder.take()


def _csv_records(lines: Iterable[str]) -> Iterator[tuple[int, Mapping[str, Any] | BadLine]]:
    reader = csv.reader(lines)
    header: list[str] | None = None
    for row in reader:
        number = reader.line_num
        if not row or not "".join(row).strip():
            continue
        if header is None:
            header = [name.strip().lower() for name in row]
            missing = [name for name in ("ts", "method", "url", "status", "ip") if name not in header]
            if missing:
                yield number, BadLine(f"the header row lacks {', '.join(missing)}")
                header = []
            continue
        if not header:
            yield number, BadLine("no usable header row before this line")
        elif len(row) != len(header):
            yield number, BadLine(f"expected {len(header)} fields, found {len(row)}")
        else:
            yield number, dict(zip(header, row, strict=True))


def _json_records(lines: Iterable[str]) -> Iterator[tuple[int, Mapping[str, Any] | BadLine]]:
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            yield number, BadLine(f"not JSON: {exc.msg}")
            continue
        if not isinstance(record, dict):
            yield number, BadLine("expected a JSON object")
            continue
        yield number, record


def _generic_row(record: Mapping[str, Any]) -> dict[str, Any]:
    def value(name: str) -> Any:
        found = record.get(name)
        return None if found is None or (isinstance(found, str) and not found.strip()) else found

    start, end = _integer(value("range_start"), "range_start"), _integer(value("range_end"), "range_end")
    if end is not None and (start is None or end < start):
        raise BadLine("range_end needs a range_start no larger than it")
    return {
        "ts": _timestamp(value("ts")),
        "method": _method(value("method")),
        "url": _text(value("url"), "url", required=True),
        "status": _integer(value("status"), "status", required=True),
        "bytes_sent": _integer(value("bytes_sent"), "bytes_sent"),
        "range_start": start,
        "range_end": end,
        "user_agent": _text(value("user_agent"), "user_agent"),
        "referer": _text(value("referer"), "referer"),
        "ip": _ip(value("ip"), "ip"),
    }


# Field checks --------------------------------------------------------------------------------------------------------


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise BadLine("ts is missing")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError as exc:
        raise BadLine(f"ts {text[:40]!r} is not an ISO 8601 time") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _method(value: Any) -> str:
    if not isinstance(value, str) or not value.strip().isalpha():
        raise BadLine("method is missing or not an HTTP method")
    return value.strip().upper()


def _integer(value: Any, name: str, *, required: bool = False) -> int | None:
    if value is None:
        if required:
            raise BadLine(f"{name} is missing")
        return None
    if isinstance(value, bool):
        raise BadLine(f"{name} must be a whole number")
    try:
        number = int(value.strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError) as exc:
        raise BadLine(f"{name} {str(value)[:40]!r} is not a whole number") from exc
    if isinstance(value, float) and value != number:
        raise BadLine(f"{name} must be a whole number")
    if number < 0 or number >= 1 << 62:
        raise BadLine(f"{name} {number} is out of range")
    return number


def _text(value: Any, name: str, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise BadLine(f"{name} is missing")
        return None
    if not isinstance(value, str):
        raise BadLine(f"{name} must be text")
    return value[:FIELD_MAX]


def _decoded(value: str | None) -> str | None:
    if not value:
        return value
    decoded = unquote(value)
    # Some CloudFront log versions encode twice (a space logged as %2520); a user agent never holds %20 itself.
    return unquote(decoded) if "%20" in decoded else decoded


def _ip(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadLine(f"{name} is missing")
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError as exc:
        raise BadLine(f"{name} {value.strip()[:45]!r} is not an IP address") from exc


def lines_of(text: str) -> Iterator[str]:
    """The lines of an in-memory log (an upload), for the readers."""
    return iter(io.StringIO(text, newline=""))
