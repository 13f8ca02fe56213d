"""Reference lists (load, version, activate), the classifier built from the active ones, and the review queue.

For the counting job:
    classifier = await service.classifier(session)          # cached per set of active list versions
    overrides = await service.overrides(session, tenant_id)  # the tenant's labels from the review queue
    verdict = classifier.classify(user_agent, referer, overrides)
    provider = classifier.is_datacenter(ip)                  # IPv4 ranges from ipcat
    country = geo.country(ip)
    await service.note_unknown(session, tenant_id, {ua: hits for the ones with verdict.needs_review})
and record `classifier.versions` (kind → version id) with the counts.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, cast

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import Subject
from podsponsor.errors import NotFound, ValidationFailed
from podsponsor.events import service as events
from podsponsor.listing import Window
from podsponsor.measurement import repository
from podsponsor.measurement.classify import (
    Classifier,
    DatacenterRange,
    Label,
    Override,
    PatternEntry,
    ReferenceLists,
    review_key,
)
from podsponsor.measurement.exceptions import ReferenceListsMissing
from podsponsor.measurement.lists import PATTERN_KINDS, ListFile, ParsedList, parse
from podsponsor.measurement.models import ReferenceListEntry, ReferenceListVersion, UnknownUserAgent
from podsponsor.measurement.schemas import LabelIn

log = logging.getLogger(__name__)

UNKNOWN_SORTS = ("hits", "last_seen", "first_seen", "user_agent", "labelled_at")
NAMED_LABELS = frozenset({"app", "browser", "library"})
CLASSIFIERS_KEPT = 4
_classifiers: dict[tuple[uuid.UUID, ...], Classifier] = {}


@dataclass(frozen=True)
class LoadResult:
    kind: str
    outcome: Literal["loaded", "unchanged", "reactivated"]
    version_id: uuid.UUID
    entry_count: int
    sha256: str
    source: str


# Reference lists -----------------------------------------------------------------------------------------------------


async def update_lists(session: AsyncSession, files: Sequence[ListFile]) -> list[LoadResult]:
    """Check every file first (one bad file loads nothing), then make each the active version of its list:
    the same content as the active version changes nothing, the same as an older version reactivates it."""
    parsed = [parse(file) for file in files]
    await repository.lock_lists(session)
    results = [await _load(session, one) for one in parsed]
    for result in results:
        log.info(
            "reference list %s: %s",
            result.kind,
            result.outcome,
            extra={"version_id": str(result.version_id), "entries": result.entry_count, "source": result.source},
        )
    return results


async def _load(session: AsyncSession, parsed: ParsedList) -> LoadResult:
    existing = await repository.version_by_sha(session, parsed.kind, parsed.sha256)
    if existing is not None and existing.active:
        return _result(existing, "unchanged")
    await repository.deactivate(session, parsed.kind)
    if existing is not None:
        await repository.activate(session, existing.id)
        await session.refresh(existing)
        return _result(existing, "reactivated")
    version = ReferenceListVersion(
        kind=parsed.kind, source=parsed.source, sha256=parsed.sha256, entry_count=len(parsed.entries), active=True
    )
    await repository.add_version(session, version)
    await repository.add_entries(
        session,
        [
            {
                "version_id": version.id,
                "position": entry.position,
                "name": entry.name,
                "pattern": entry.pattern,
                "category": entry.category,
                "range_start": entry.range_start,
                "range_end": entry.range_end,
                "attributes": entry.attributes,
            }
            for entry in parsed.entries
        ],
    )
    return _result(version, "loaded")


def _result(version: ReferenceListVersion, outcome: Literal["loaded", "unchanged", "reactivated"]) -> LoadResult:
    return LoadResult(version.kind, outcome, version.id, version.entry_count, version.sha256, version.source)


async def active_versions(session: AsyncSession) -> Sequence[ReferenceListVersion]:
    return await repository.active_versions(session)


async def version_counts(session: AsyncSession) -> dict[str, int]:
    """How many versions of each list were ever loaded."""
    return await repository.version_counts(session)


async def classifier(session: AsyncSession, *, require_complete: bool = False) -> Classifier:
    """The classifier of the active lists, built once per set of versions and kept in this process.

    With `require_complete`, ReferenceListsMissing when any list was never loaded (counting should not guess)."""
    found = await _cached(session, await repository.active_versions(session))
    if require_complete and found.missing:
        raise ReferenceListsMissing(
            f"these reference lists were never loaded: {', '.join(found.missing)}; run `podsponsor lists update`"
        )
    return found


async def classifier_of(session: AsyncSession, version_ids: Sequence[uuid.UUID]) -> Classifier:
    """The classifier of exactly these list versions (a past count's), built once per set and kept."""
    return await _cached(session, await repository.versions_by_id(session, version_ids))


async def _cached(session: AsyncSession, versions: Sequence[ReferenceListVersion]) -> Classifier:
    key = tuple(sorted(version.id for version in versions))
    found = _classifiers.get(key)
    if found is None:
        found = Classifier(await _reference_lists(session, versions))
        while len(_classifiers) >= CLASSIFIERS_KEPT:
            _classifiers.pop(next(iter(_classifiers)))
        _classifiers[key] = found
    return found


async def _reference_lists(session: AsyncSession, versions: Sequence[ReferenceListVersion]) -> ReferenceLists:
    kinds = {version.id: version.kind for version in versions}
    patterns: dict[str, list[PatternEntry]] = {kind: [] for kind in PATTERN_KINDS}
    datacenters: list[DatacenterRange] = []
    for entry in await repository.entries_of(session, list(kinds)):
        kind = kinds[entry.version_id]
        if kind in patterns and entry.pattern is not None:
            patterns[kind].append(PatternEntry(entry.name, entry.pattern, entry.category))
        elif kind == "datacenters" and entry.range_start is not None and entry.range_end is not None:
            datacenters.append(DatacenterRange(entry.range_start, entry.range_end, entry.name))
    return ReferenceLists(
        patterns=patterns, datacenters=datacenters, versions={version.kind: version.id for version in versions}
    )


async def prefix_entries(session: AsyncSession) -> Sequence[ReferenceListEntry]:
    """The active podcast-prefixes list, in published order (pattern = prefixpattern, name = prefixname)."""
    versions = [version for version in await repository.active_versions(session) if version.kind == "prefixes"]
    return await repository.entries_of(session, [version.id for version in versions]) if versions else ()


# Review queue --------------------------------------------------------------------------------------------------------


async def note_unknown(
    session: AsyncSession, tenant_id: uuid.UUID, counts: Mapping[str, int], seen_at: datetime | None = None
) -> int:
    """Add `counts` (user agent → hits) to the tenant's review queue; returns how many user agents were noted.

    User agents are stored as `classify.review_key` makes them (line breaks removed, capped at 512 characters), so
    a label found there applies through `overrides`. Hits add up on every call: a re-run of a count adds again,
    which is right for what they are, a priority for review, not an audited number."""
    merged: dict[str, int] = {}
    for user_agent, hits in counts.items():
        key = review_key(user_agent)
        if key.strip() and hits > 0:
            merged[key] = merged.get(key, 0) + hits
    await repository.note_unknown(session, tenant_id, sorted(merged.items()), seen_at or datetime.now(UTC))
    return len(merged)


async def overrides(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, Override]:
    """The tenant's labels (not the ignored ones), by review key, for `Classifier.classify`."""
    return {
        row.user_agent: Override(cast(Label, row.label), row.name)
        for row in await repository.labelled(session, tenant_id)
        if row.label is not None
    }


async def list_unknown(
    session: AsyncSession, subject: Subject, status: str, page: Window
) -> tuple[Sequence[UnknownUserAgent], int]:
    return await repository.list_unknown(session, subject.tenant_id, status, page)


async def label_unknown(session: AsyncSession, subject: Subject, row_id: uuid.UUID, data: LabelIn) -> UnknownUserAgent:
    row = await repository.get_unknown(session, subject.tenant_id, row_id)
    if row is None:
        raise NotFound("no such user agent in the review queue")
    if data.label in NAMED_LABELS and not data.name:
        raise ValidationFailed(
            f"say which {data.label} it is",
            errors=[{"field": "name", "value": None, "reason": f"required when the label is {data.label}"}],
        )
    previous = row.label
    row.label = data.label
    row.name = data.name
    row.labelled_by = subject.user_id
    row.labelled_at = datetime.now(UTC)
    await session.flush()
    await events.record(
        session,
        subject,
        "measurement.user_agent_labelled",
        subject_type="unknown_user_agent",
        subject_id=row.id,
        payload={"user_agent": row.user_agent, "label": data.label, "name": data.name, "previous": previous},
    )
    return row
