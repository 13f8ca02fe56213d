"""Reference lists as published: where they are read from, and the checks a file must pass before it is loaded.

Eight lists, each a file with a fixed name:
- OPAWG user-agents-v2 (MIT): bots.json, apps.json, libraries.json, browsers.json, devices.json, referrers.json;
- OPAWG podcast-prefixes (MIT): prefixes.json;
- ipcat (MIT): datacenters.csv (IPv4 start, end inclusive, provider, url).

A source is a folder or an http(s) address holding files with those names (or one such file). Without a source the
lists' public raw addresses are fetched. Fetching goes through `podsponsor.outbound` (no private addresses unless
allow-listed, size cap, timeout). A file that fails a check is refused whole, naming the entry or line, so a broken
download never replaces a working list.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import ipaddress
import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from podsponsor.measurement.exceptions import ListFormatError, ListSourceError
from podsponsor.measurement.jsregex import UnsupportedPattern, compile_js
from podsponsor.outbound import OutboundError, OutboundHTTPError, fetch

PATTERN_KINDS = ("bots", "apps", "libraries", "browsers", "devices", "referrers")
KINDS = (*PATTERN_KINDS, "prefixes", "datacenters")
FILE_NAMES = {
    **{kind: f"{kind}.json" for kind in PATTERN_KINDS},
    "prefixes": "prefixes.json",
    "datacenters": "datacenters.csv",
}
_RAW = "https://raw.githubusercontent.com"
DEFAULT_SOURCES = {
    **{kind: f"{_RAW}/opawg/user-agents-v2/master/src/{kind}.json" for kind in PATTERN_KINDS},
    "prefixes": f"{_RAW}/opawg/podcast-prefixes/master/src/prefixes.json",
    "datacenters": f"{_RAW}/client9/ipcat/master/datacenters.csv",
}
MAX_BYTES = 20 * 1024 * 1024
FETCH_TIMEOUT = 30.0
MAX_REPORTED = 20
CATEGORY_MAX = 40
_URL = re.compile(r"^https?://", re.IGNORECASE)


@dataclass(frozen=True)
class ListFile:
    kind: str
    source: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class Entry:
    position: int
    name: str
    pattern: str | None = None
    category: str | None = None
    range_start: int | None = None
    range_end: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedList:
    kind: str
    source: str
    sha256: str
    entries: tuple[Entry, ...]


# Reading -----------------------------------------------------------------------------------------------------------


async def read_sources(sources: Sequence[str] | None) -> tuple[list[ListFile], list[str]]:
    """Every list found in `sources` (the first source holding a list wins), and the kinds found in none.
    Without sources, each list is fetched from its public address and any failure is an error."""
    if not sources:
        return [await _fetch_required(kind, DEFAULT_SOURCES[kind]) for kind in KINDS], []
    found: dict[str, ListFile] = {}
    for source in sources:
        for kind in (kind for kind in _kinds_in(source) if kind not in found):
            file = await _read(kind, source)
            if file is not None:
                found[kind] = file
    return [found[kind] for kind in KINDS if kind in found], [kind for kind in KINDS if kind not in found]


def _kinds_in(source: str) -> tuple[str, ...]:
    """A source naming one list file holds only that list; a folder or base address may hold them all."""
    name = source.rstrip("/").rsplit("/", 1)[-1]
    single = [kind for kind, file_name in FILE_NAMES.items() if file_name == name]
    return tuple(single) or KINDS


async def _read(kind: str, source: str) -> ListFile | None:
    file_name = FILE_NAMES[kind]
    if _URL.match(source):
        url = source if source.rstrip("/").endswith("/" + file_name) else source.rstrip("/") + "/" + file_name
        return await _fetch(kind, url, missing_ok=True)
    return await asyncio.to_thread(_read_local, kind, source)


def _read_local(kind: str, source: str) -> ListFile | None:
    file_name = FILE_NAMES[kind]
    path = Path(source).expanduser()
    if not path.exists():
        raise ListSourceError(f"{source}: no such file or folder")
    if path.is_file() and path.name not in FILE_NAMES.values():
        raise ListSourceError(f"{source}: a list file is named one of {', '.join(FILE_NAMES.values())}")
    target = path if path.is_file() else path / file_name
    if not target.is_file():
        return None
    if target.stat().st_size > MAX_BYTES:
        raise ListSourceError(f"{target}: larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        return ListFile(kind, str(target.resolve()), target.read_bytes())
    except OSError as exc:
        raise ListSourceError(f"{target}: cannot be read ({exc.strerror})") from exc


async def _fetch_required(kind: str, url: str) -> ListFile:
    file = await _fetch(kind, url, missing_ok=False)
    if file is None:
        raise ListSourceError(f"could not fetch the {kind} list from {url}: it is not there")
    return file


async def _fetch(kind: str, url: str, *, missing_ok: bool) -> ListFile | None:
    try:
        result = await fetch(url, timeout=FETCH_TIMEOUT, max_bytes=MAX_BYTES, label="reference list")
    except OutboundHTTPError as exc:
        if missing_ok and exc.status_code in (404, 410):
            return None
        raise ListSourceError(f"could not fetch the {kind} list from {url}: {exc.reason}") from exc
    except OutboundError as exc:
        raise ListSourceError(f"could not fetch the {kind} list from {url}: {exc.reason}") from exc
    return ListFile(kind, result.final_url, result.content)


# Checking ----------------------------------------------------------------------------------------------------------


def parse(file: ListFile) -> ParsedList:
    """The entries of one list file, or ListFormatError naming every problem (up to MAX_REPORTED)."""
    if file.kind in PATTERN_KINDS:
        entries = _pattern_entries(file)
    elif file.kind == "prefixes":
        entries = _prefix_entries(file)
    else:
        entries = _datacenter_entries(file)
    if not entries:
        _refuse(file, [{"field": FILE_NAMES[file.kind], "reason": "the list has no entries"}])
    return ParsedList(file.kind, file.source, file.sha256, tuple(entries))


def _refuse(file: ListFile, errors: list[dict[str, Any]]) -> NoReturn:
    name = FILE_NAMES[file.kind]
    more = f" (the first {MAX_REPORTED} shown)" if len(errors) > MAX_REPORTED else ""
    raise ListFormatError(
        f"{name} from {file.source} has {len(errors)} problem(s){more}; nothing was loaded",
        errors=errors[:MAX_REPORTED],
    )


def _json(file: ListFile) -> Any:
    try:
        return json.loads(file.content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        _refuse(file, [{"field": FILE_NAMES[file.kind], "reason": "not UTF-8 text"}])
    except json.JSONDecodeError as exc:
        _refuse(file, [{"field": FILE_NAMES[file.kind], "line": exc.lineno, "reason": f"not JSON: {exc.msg}"}])


def _pattern_entries(file: ListFile) -> list[Entry]:
    document = _json(file)
    raw = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(raw, list):
        _refuse(file, [{"field": FILE_NAMES[file.kind], "reason": "expected an object with an 'entries' array"}])
    entries: list[Entry] = []
    errors: list[dict[str, Any]] = []
    for position, item in enumerate(raw or []):
        problem = _pattern_problem(item)
        if problem:
            name = item.get("name") if isinstance(item, dict) else None
            errors.append({"field": f"{FILE_NAMES[file.kind]} entry {position}", "name": name, "reason": problem})
            continue
        extra = {key: value for key, value in item.items() if key not in ("name", "pattern", "category")}
        entries.append(Entry(position, item["name"], item["pattern"], item.get("category"), attributes=extra))
    if errors:
        _refuse(file, errors)
    return entries


def _pattern_problem(item: Any) -> str | None:
    if not isinstance(item, dict):
        return "an entry must be an object"
    if not isinstance(item.get("name"), str) or not item["name"].strip():
        return "'name' must be a non-empty string"
    if not isinstance(item.get("pattern"), str) or not item["pattern"]:
        return "'pattern' must be a non-empty string"
    category = item.get("category")
    if category is not None and (not isinstance(category, str) or len(category) > CATEGORY_MAX):
        return f"'category' must be a string of at most {CATEGORY_MAX} characters"
    try:
        compile_js(item["pattern"])
    except (UnsupportedPattern, re.error) as exc:
        return f"the pattern cannot be used: {exc}"
    return None


def _prefix_entries(file: ListFile) -> list[Entry]:
    document = _json(file)
    if not isinstance(document, list):
        _refuse(file, [{"field": "prefixes.json", "reason": "expected an array of prefix objects"}])
    entries: list[Entry] = []
    errors: list[dict[str, Any]] = []
    for position, item in enumerate(document):
        pattern = item.get("prefixpattern") if isinstance(item, dict) else None
        if not isinstance(pattern, str) or not pattern.strip(" /"):
            errors.append({"field": f"prefixes.json entry {position}", "reason": "'prefixpattern' must be a string"})
            continue
        name = item.get("prefixname")
        extra = {key: value for key, value in item.items() if key not in ("prefixpattern", "prefixname")}
        entries.append(
            Entry(
                position, name if isinstance(name, str) and name.strip() else pattern, pattern, None, attributes=extra
            )
        )
    if errors:
        _refuse(file, errors)
    return entries


def _datacenter_entries(file: ListFile) -> list[Entry]:
    try:
        text = file.content.decode("utf-8-sig")
    except UnicodeDecodeError:
        _refuse(file, [{"field": "datacenters.csv", "reason": "not UTF-8 text"}])
    rows: list[tuple[int, int, int, str, str]] = []
    errors: list[dict[str, Any]] = []
    for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        parsed = _range_row(row)
        if isinstance(parsed, str):
            errors.append({"field": "datacenters.csv", "line": line, "reason": parsed})
        else:
            rows.append((parsed[0], parsed[1], line, parsed[2], parsed[3]))
    rows.sort()
    for before, after in itertools.pairwise(rows):
        if after[0] <= before[1]:
            reason = f"overlaps the range on line {before[2]}"
            errors.append({"field": "datacenters.csv", "line": after[2], "reason": reason})
    if errors:
        _refuse(file, errors)
    return [
        Entry(position, provider, None, None, start, end, {"url": url} if url else {})
        for position, (start, end, _, provider, url) in enumerate(rows)
    ]


def _range_row(row: list[str]) -> tuple[int, int, str, str] | str:
    if len(row) < 3:
        return "expected start,end,provider[,url]"
    try:
        start = int(ipaddress.IPv4Address(row[0].strip()))
        end = int(ipaddress.IPv4Address(row[1].strip()))
    except ValueError:
        return f"{row[0].strip()!r} to {row[1].strip()!r} is not an IPv4 range"
    if start > end:
        return "the range starts after it ends"
    provider = row[2].strip()
    if not provider:
        return "the provider is empty"
    return start, end, provider, row[3].strip() if len(row) > 3 else ""
