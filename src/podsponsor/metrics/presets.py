"""Which column holds what: the canonical format, the platform exports we recognise, and a mapping by hand.

A header is matched by normalised name (case, spacing and punctuation ignored, `%` kept), each target field taking
the first of its aliases the file has. Detection tries the canonical format, then each platform export from the
most to the least specific signature, then falls back to "generic", where the user assigns the columns.
docs/metrics-import.md documents every alias.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

FIELDS: dict[str, str] = {
    "day": "Day",
    "episode_id": "Episode id",
    "episode_guid": "Episode GUID",
    "episode_title": "Episode title",
    "episode_date": "Episode release date",
    "podcast": "Show",
    "source": "Source",
    "downloads": "Downloads",
    "listeners": "Listeners",
    "completion_rate": "Completion rate",
    "ctr": "Click-through rate",
    "conversions": "Conversions",
    "revenue_cents": "Revenue",
}
EPISODE_KEYS = ("episode_id", "episode_guid", "episode_title")
METRICS = ("downloads", "listeners", "completion_rate", "ctr", "conversions", "revenue_cents")
RATES = ("completion_rate", "ctr")
CANONICAL_COLUMNS = (
    "day",
    "episode_id",
    "source",
    "downloads",
    "listeners",
    "completion_rate",
    "ctr",
    "conversions",
    "revenue_cents",
)
FORMATS = ("canonical", "spotify", "megaphone", "youtube", "apple", "generic")


def normalise(header: str) -> str:
    return re.sub(r"[^a-z0-9%]+", " ", header.lower()).strip()


def clean(header: str) -> str:
    return header.replace("\ufeff", "").strip().strip('"').strip()


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    source: str | None
    columns: tuple[str, ...]  # the header row as the platform writes it, for the docs and the UI
    fields: dict[str, tuple[str, ...]]  # target field → normalised aliases, preferred first
    signature: tuple[str, ...] = ()  # a file is this export only if it has one of these columns
    cap_completion: bool = False


CANONICAL = Preset(
    name="canonical",
    label="Canonical CSV",
    source=None,
    columns=CANONICAL_COLUMNS,
    fields={name: (normalise(name),) for name in CANONICAL_COLUMNS},
)
SPOTIFY = Preset(
    name="spotify",
    label="Spotify for Creators",
    source="spotify",
    columns=("Date", "Episode", "Release date", "Plays", "Streams", "Starts", "Listeners", "Followers"),
    fields={
        "day": ("date", "day"),
        "episode_title": ("episode", "episode title", "episode name", "name", "title"),
        "episode_date": ("release date", "published", "publish date", "date published", "episode release date"),
        "downloads": ("plays", "streams", "starts"),
        "listeners": ("listeners", "unique listeners", "audience size"),
    },
    signature=("plays", "streams", "starts"),
)
MEGAPHONE = Preset(
    name="megaphone",
    label="Megaphone",
    source="megaphone",
    columns=("Date", "Podcast", "Episode", "Episode ID", "Published", "Downloads", "Unique Listeners"),
    fields={
        "day": ("date", "day"),
        "podcast": ("podcast", "podcast title", "podcast name", "show"),
        "episode_guid": ("episode guid", "guid", "episode id", "episode uid", "episode uuid"),
        "episode_title": ("episode", "episode title", "episode name", "title"),
        "episode_date": ("published", "pub date", "publish date", "published date", "release date"),
        "downloads": ("downloads", "total downloads"),
        "listeners": ("unique listeners", "listeners", "uniques"),
    },
    signature=("downloads", "total downloads"),
)
YOUTUBE = Preset(
    name="youtube",
    label="YouTube Studio",
    source="youtube",
    columns=(
        "Date",
        "Content",
        "Video title",
        "Video publish time",
        "Duration",
        "Views",
        "Unique viewers",
        "Average percentage viewed (%)",
        "Impressions",
        "Impressions click-through rate (%)",
        "Estimated revenue (USD)",
    ),
    fields={
        "day": ("date", "day"),
        "episode_guid": ("content", "video", "video id"),
        "episode_title": ("video title", "title"),
        "episode_date": ("video publish time", "publish time", "published"),
        "downloads": ("views",),
        "listeners": ("unique viewers",),
        "completion_rate": ("average percentage viewed %", "average percentage viewed", "avg percentage viewed %"),
        "ctr": ("impressions click through rate %", "impressions ctr %", "click through rate %"),
        "revenue_cents": ("estimated revenue usd", "your estimated revenue usd", "estimated revenue", "revenue usd"),
    },
    signature=("video title", "views", "average percentage viewed %", "impressions click through rate %"),
)
APPLE = Preset(
    name="apple",
    label="Apple Podcasts Connect",
    source="apple",
    columns=(
        "Date",
        "Episode",
        "Release Date",
        "Listeners",
        "Engaged Listeners",
        "Plays",
        "Time Listened",
        "Average Consumption",
    ),
    fields={
        "day": ("date", "report date", "day"),
        "podcast": ("show", "show name", "podcast"),
        "episode_guid": ("episode guid", "guid"),
        "episode_title": ("episode", "episode title", "episode name", "title"),
        "episode_date": ("release date", "episode release date", "published", "publish date", "pub date"),
        "downloads": ("plays", "total plays", "play count"),
        "listeners": ("listeners", "unique listeners", "devices", "unique devices"),
        "completion_rate": (
            "average consumption",
            "average consumption %",
            "avg consumption",
            "avg consumption %",
            "consumption",
        ),
    },
    signature=(
        "engaged listeners",
        "time listened",
        "total time listened",
        "average consumption",
        "average consumption %",
        "avg consumption",
        "avg consumption %",
    ),
    # Apple reports more than 100 % when devices listen to an episode more than once: stored as complete.
    cap_completion=True,
)
GENERIC = Preset(name="generic", label="Mapped by hand", source=None, columns=(), fields={})
PRESETS: dict[str, Preset] = {p.name: p for p in (CANONICAL, SPOTIFY, MEGAPHONE, YOUTUBE, APPLE, GENERIC)}
# Most specific signature first: Apple's and YouTube's columns are unmistakable, "plays" alone is not.
DETECTION_ORDER = (YOUTUBE, APPLE, MEGAPHONE, SPOTIFY)


@dataclass
class Layout:
    """What a file's header means: its format, each target field's column, and what is wrong with it."""

    format: str
    delimiter: str
    columns: list[str]
    fields: dict[str, int]
    default_source: str | None
    cap_completion: bool = False
    problems: list[dict[str, object]] = field(default_factory=list)

    def column(self, name: str) -> str:
        return self.columns[self.fields[name]]

    def percent(self, name: str) -> bool:
        header = self.column(name).lower()
        return "%" in header or "percent" in header

    def revenue_in_cents(self) -> bool:
        return "cent" in self.column("revenue_cents").lower()

    @property
    def mapping(self) -> dict[str, str]:
        return {name: self.columns[index] for name, index in self.fields.items()}


def _resolve(preset: Preset, keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for name, aliases in preset.fields.items():
        for alias in aliases:
            if alias in keys and keys.index(alias) not in found.values():
                found[name] = keys.index(alias)
                break
    return found


def _complete(fields: dict[str, int]) -> bool:
    return "day" in fields and any(k in fields for k in EPISODE_KEYS) and any(m in fields for m in METRICS)


def detect(keys: list[str]) -> Preset:
    canonical = {normalise(name) for name in CANONICAL_COLUMNS}
    if "day" in keys and len(canonical.intersection(keys)) >= 3:
        return CANONICAL
    for preset in DETECTION_ORDER:
        if set(preset.signature).intersection(keys) and _complete(_resolve(preset, keys)):
            return preset
    return GENERIC


def guess(keys: list[str]) -> dict[str, int]:
    """A best guess for a generic file, from every preset's aliases, so the mapping form starts filled in."""
    found: dict[str, int] = {}
    for preset in (CANONICAL, *DETECTION_ORDER):
        for name, index in _resolve(preset, keys).items():
            if name not in found and index not in found.values():
                found[name] = index
    return found


def layout(
    header: list[str],
    delimiter: str,
    *,
    preset: str | None = None,
    mapping: dict[str, str | None] | None = None,
    source: str | None = None,
) -> Layout:
    columns = [clean(cell) for cell in header]
    keys = [normalise(cell) for cell in columns]
    chosen = PRESETS[preset] if preset else detect(keys)
    fields = _resolve(chosen, keys) if chosen is not GENERIC else guess(keys)
    result = Layout(
        format=chosen.name,
        delimiter=delimiter,
        columns=columns,
        fields=fields,
        default_source=source or chosen.source,
        cap_completion=chosen.cap_completion,
    )
    if mapping:
        _apply_mapping(result, mapping)
    if chosen is CANONICAL and not mapping:
        _check_canonical(result, keys)
    _check_required(result, header_looks_like_data=_looks_like_data(columns))
    return result


def _apply_mapping(result: Layout, mapping: dict[str, str | None]) -> None:
    for name, wanted in mapping.items():
        result.fields.pop(name, None)
        if not wanted:
            continue
        index = _find_column(result.columns, wanted)
        if index is None:
            result.problems.append(
                header_problem(
                    wanted,
                    f"the mapping for {FIELDS[name].lower()} names no column of the file",
                    _closest(wanted, result.columns),
                )
            )
            continue
        result.fields[name] = index


def _find_column(columns: list[str], wanted: str) -> int | None:
    if wanted in columns:
        return columns.index(wanted)
    keys = [normalise(c) for c in columns]
    return keys.index(normalise(wanted)) if normalise(wanted) in keys else None


def _check_canonical(result: Layout, keys: list[str]) -> None:
    expected = {normalise(name): name for name in CANONICAL_COLUMNS}
    for column, key in zip(result.columns, keys, strict=True):
        if key not in expected:
            result.problems.append(
                header_problem(column, "not a column of the canonical format", _closest(column, CANONICAL_COLUMNS))
            )
    for key, name in expected.items():
        if key not in keys and not (name == "source" and result.default_source):
            result.problems.append(
                header_problem(name, "missing column (leave its cells empty when you have no numbers for it)")
            )


def _check_required(result: Layout, *, header_looks_like_data: bool) -> None:
    if result.problems and result.format == "canonical":
        return
    missing = []
    if "day" not in result.fields:
        missing.append("the day")
    if not any(key in result.fields for key in EPISODE_KEYS):
        missing.append("the episode (id, GUID or title)")
    if not any(metric in result.fields for metric in METRICS):
        missing.append("at least one number (downloads, listeners, …)")
    if "source" not in result.fields and not result.default_source:
        missing.append("the source (a column, or the source label of the import)")
    if not missing:
        return
    if header_looks_like_data:
        reason = "the first row looks like data, not a header: add a header row (day,episode_id,source,downloads,…)"
        result.problems.append(header_problem(result.columns[0] if result.columns else None, reason))
        return
    for what in missing:
        result.problems.append(header_problem(None, f"no column holds {what}: map one"))


def _looks_like_data(columns: list[str]) -> bool:
    return any(re.fullmatch(r"[\d\s.,:/%$-]+", cell) and any(ch.isdigit() for ch in cell) for cell in columns)


def _closest(value: str, choices: list[str] | tuple[str, ...]) -> str | None:
    found = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{found[0]}'?" if found else None


def header_problem(column: str | None, reason: str, suggestion: str | None = None) -> dict[str, object]:
    problem: dict[str, object] = {"row": 1, "column": column, "value": column, "reason": reason}
    if suggestion:
        problem["suggestion"] = suggestion
    return problem


def catalogue() -> list[dict[str, object]]:
    """The presets as the preview lists them."""
    return [{"name": p.name, "label": p.label, "columns": list(p.columns)} for p in PRESETS.values()]
