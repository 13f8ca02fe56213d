"""Which episode a row is about: by id, by GUID, or by title (and release date, and show, when the file has them).

Platform exports name episodes by title; our own files by id. The index holds every live episode of the tenant,
so matching a million rows is dictionary lookups; each distinct key is resolved once.
"""

from __future__ import annotations

import difflib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from podsponsor.metrics.values import BadValue, parse_date

KEY_FIELDS = ("episode_id", "episode_guid", "episode_title", "episode_date", "podcast")
SUGGESTION_BUDGET = 200  # closest-title searches per import; each scans every title
RESOLVED_CACHE_SIZE = 200_000
QUOTES = "\"'\u201c\u201d\u2018\u2019"


@dataclass(frozen=True)
class Candidate:
    episode_id: str
    podcast_id: str
    published: date | None
    show: str


Match = tuple[str, str]  # episode id, podcast id
KeyErrors = list[tuple[int, str, BadValue]]  # index in the chunk, the field to blame, why


def title_key(text: str) -> str:
    return " ".join(text.strip().strip(QUOTES).casefold().split())


class EpisodeIndex:
    def __init__(self, episodes: Iterable[tuple[uuid.UUID, uuid.UUID, str, str, datetime | None, str]]) -> None:
        """`episodes`: (id, podcast id, guid, title, publish date, show title) of every live episode."""
        self.by_id: dict[str, Match] = {}
        self.by_guid: dict[str, list[Candidate]] = {}
        self.by_title: dict[str, list[Candidate]] = {}
        self.titles: dict[str, str] = {}
        for episode_id, podcast_id, guid, title, published, show in episodes:
            candidate = Candidate(
                str(episode_id), str(podcast_id), published.date() if published else None, title_key(show)
            )
            self.by_id[candidate.episode_id] = (candidate.episode_id, candidate.podcast_id)
            self.by_guid.setdefault(guid.strip(), []).append(candidate)
            self.by_title.setdefault(title_key(title), []).append(candidate)
            self.titles.setdefault(title_key(title), title)
        self._resolved: dict[tuple[str, ...], Match | tuple[str, BadValue]] = {}
        self._suggestions_left = SUGGESTION_BUDGET

    def __len__(self) -> int:
        return len(self.by_id)

    def resolve(
        self, columns: Mapping[str, Sequence[str]], days: Sequence[str]
    ) -> tuple[list[str], list[str], KeyErrors]:
        """Episode ids and podcast ids for a chunk (empty strings where a row failed), and the failures."""
        if set(columns) == {"episode_id"}:
            found = list(map(self.by_id.get, columns["episode_id"]))
            if None not in found:
                return [m[0] for m in found if m], [m[1] for m in found if m], []
        names = [name for name in KEY_FIELDS if name in columns]
        # The day picks among same-titled episodes only when no release date says which.
        by_day = "episode_title" in columns and "episode_date" not in columns
        keys = zip(*(columns[name] for name in names), *([days] if by_day else []), strict=True)
        episodes: list[str] = []
        podcasts: list[str] = []
        errors: KeyErrors = []
        if len(self._resolved) > RESOLVED_CACHE_SIZE:
            self._resolved.clear()
        for index, key in enumerate(keys):
            outcome = self._resolved.get(key)
            if outcome is None:
                day = key[-1] if by_day else ""
                outcome = self._resolved[key] = self._one(dict(zip(names, key, strict=False)), day)
            if isinstance(outcome[1], BadValue):
                errors.append((index, outcome[0], outcome[1]))
                episodes.append("")
                podcasts.append("")
            else:
                episodes.append(outcome[0])
                podcasts.append(outcome[1])
        return episodes, podcasts, errors

    def _one(self, given: dict[str, str], day: str) -> Match | tuple[str, BadValue]:
        cells = {name: value.strip() for name, value in given.items() if value.strip()}
        show = title_key(cells.get("podcast", ""))
        for name in ("episode_id", "episode_guid"):
            if name in cells:
                found = self._by_identifier(cells[name], show)
                if found is not None:
                    return found
        if "episode_title" in cells:
            try:
                released = parse_date(cells["episode_date"]) if "episode_date" in cells else None
            except BadValue as exc:
                return "episode_date", exc
            try:
                return self._by_title(cells["episode_title"], released, show, day)
            except BadValue as exc:
                return "episode_title", exc
        blamed = next((name for name in ("episode_id", "episode_guid") if name in cells), None)
        if blamed is None:
            empty = next(name for name in ("episode_id", "episode_guid", "episode_title") if name in given)
            return empty, BadValue("empty: every row needs its episode")
        what = "id or GUID" if blamed == "episode_id" else "GUID"
        return blamed, BadValue(f"no episode has this {what}", "check the episode exists in the catalog here")

    def _by_identifier(self, value: str, show: str) -> Match | None:
        try:
            canonical = str(uuid.UUID(value))
        except ValueError:
            canonical = value
        if canonical in self.by_id:
            return self.by_id[canonical]
        candidates = _in_show(self.by_guid.get(value, []), show)
        return (candidates[0].episode_id, candidates[0].podcast_id) if len(candidates) == 1 else None

    def _by_title(self, title: str, released: date | None, show: str, day: str) -> Match:
        candidates = _in_show(self.by_title.get(title_key(title), []), show)
        if not candidates:
            raise BadValue("no episode has this title" + (" in this show" if show else ""), self._closest(title))
        if released is not None:
            # A platform dates the release in its own time zone; the feed's date may be a day off in UTC.
            chosen = [c for c in candidates if c.published is not None and abs((c.published - released).days) <= 1]
            if not chosen:
                dates = ", ".join(sorted(str(c.published) for c in candidates if c.published)) or "no date"
                raise BadValue(
                    f"no episode with this title was released on {released.isoformat()}",
                    f"the catalog has it released on {dates}",
                )
            candidates = chosen
        if len(candidates) > 1:
            # A title reused over time (a rerun, "Bonus") means the latest one out by that day; two out on the
            # same day, or in two shows, cannot be told apart.
            before = [c for c in candidates if c.published is not None and c.published.isoformat() <= day]
            latest = max((c.published for c in before if c.published), default=None)
            candidates = [c for c in before if c.published == latest]
            if len(candidates) != 1:
                raise BadValue("several episodes have this title", "add a show, release-date or GUID column")
        return candidates[0].episode_id, candidates[0].podcast_id

    def _closest(self, title: str) -> str | None:
        if self._suggestions_left <= 0 or not self.titles:
            return None
        self._suggestions_left -= 1
        found = difflib.get_close_matches(title_key(title), list(self.titles), n=1, cutoff=0.6)
        return f"did you mean '{self.titles[found[0]]}'?" if found else None


def _in_show(candidates: list[Candidate], show: str) -> list[Candidate]:
    if not show:
        return candidates
    narrowed = [c for c in candidates if c.show == show]
    return narrowed or candidates
