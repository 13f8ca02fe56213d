"""Lists in the database and the review queue, through the service as the counting job and the CLI use it."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from podsponsor.auth.subject import system_subject
from podsponsor.db.tenancy import tenant_transaction, unscoped_transaction
from podsponsor.errors import NotFound, ValidationFailed
from podsponsor.listing import Window, window
from podsponsor.measurement import service
from podsponsor.measurement.lists import FILE_NAMES, ListFile
from podsponsor.measurement.schemas import LabelIn
from tests.factories.identity import make_tenant
from tests.measurement.reference_data import UA_FILES, entries, shared_classifier, shared_file


async def _load(files: list[ListFile]) -> dict[str, service.LoadResult]:
    async with unscoped_transaction() as session:
        return {result.kind: result for result in await service.update_lists(session, files)}


def _page() -> Window:
    return window(50, 0, "-hits", service.UNKNOWN_SORTS, 50)


def _shared() -> list[ListFile]:
    return [shared_file(kind) for kind in FILE_NAMES]


def _with_extra_bot(name: str) -> ListFile:
    document = json.loads(shared_file("bots").content)
    document["entries"].append({"name": name, "pattern": f"^{name}/"})
    return ListFile("bots", f"test:{name}", json.dumps(document).encode())


async def _queue(tenant_id: uuid.UUID) -> dict[str, tuple[int, datetime, datetime]]:
    async with tenant_transaction(tenant_id) as session:
        rows = await session.execute(text("SELECT user_agent, hits, first_seen, last_seen FROM unknown_user_agents"))
        return {ua: (hits, first, last) for ua, hits, first, last in rows}


async def test_loading_the_same_lists_again_changes_nothing(db) -> None:
    first = await _load(_shared())
    again = await _load(_shared())
    assert set(again) == set(FILE_NAMES)
    assert {r.outcome for r in again.values()} == {"unchanged"}
    assert {k: r.version_id for k, r in again.items()} == {k: r.version_id for k, r in first.items()}
    async with unscoped_transaction() as session:
        active = {v.kind: v for v in await service.active_versions(session)}
    assert {k: v.id for k, v in active.items()} == {k: r.version_id for k, r in again.items()}
    assert active["apps"].entry_count == 559
    assert active["datacenters"].sha256 == shared_file("datacenters").sha256


async def test_a_new_content_is_a_new_active_version_and_the_old_one_can_return(db) -> None:
    original = (await _load(_shared()))["bots"]
    changed = (await _load([_with_extra_bot(f"ProbeBot{uuid.uuid4().hex[:6]}")]))["bots"]
    assert changed.outcome == "loaded"
    assert changed.version_id != original.version_id
    assert changed.entry_count == original.entry_count + 1
    back = (await _load([shared_file("bots")]))["bots"]
    assert (back.outcome, back.version_id) == ("reactivated", original.version_id)
    async with unscoped_transaction() as session:
        kept = await session.scalar(
            text("SELECT count(*) FROM reference_list_entries WHERE version_id = :v"), {"v": changed.version_id}
        )
        active = await session.scalar(
            text("SELECT count(*) FROM reference_list_versions WHERE kind = 'bots' AND active")
        )
    assert kept == changed.entry_count, "an inactive version keeps its entries for the counts that used it"
    assert active == 1


async def test_the_runtime_role_cannot_rewrite_a_loaded_list(db) -> None:
    version = (await _load(_shared()))["apps"].version_id
    for statement in (
        "UPDATE reference_list_entries SET pattern = 'x' WHERE version_id = :v",
        "DELETE FROM reference_list_entries WHERE version_id = :v",
        "UPDATE reference_list_versions SET sha256 = 'x' WHERE id = :v",
        "DELETE FROM reference_list_versions WHERE id = :v",
    ):
        with pytest.raises(Exception, match="permission denied"):
            async with unscoped_transaction() as session:
                await session.execute(text(statement), {"v": version})


async def test_the_classifier_from_the_database_answers_as_the_files_do(db) -> None:
    loaded = await _load(_shared())
    async with unscoped_transaction() as session:
        classifier = await service.classifier(session, require_complete=True)
        assert await service.classifier(session) is classifier
    assert classifier.versions == {kind: result.version_id for kind, result in loaded.items()}
    reference = shared_classifier()
    examples = [example for file in UA_FILES for entry in entries(file) for example in entry.get("examples", [])]
    assert [classifier.classify(e) for e in examples] == [reference.classify(e) for e in examples]
    assert classifier.is_datacenter("3.1.255.255") == "Amazon AWS"
    async with unscoped_transaction() as session:
        prefixes = await service.prefix_entries(session)
    assert [p.name for p in prefixes][:2] == ["AdBarker", "ArtsAI"]


async def test_noted_user_agents_add_up_per_tenant(db, server: str) -> None:
    tenant = uuid.UUID(make_tenant(server).id)
    other = uuid.UUID(make_tenant(server).id)
    monday = datetime(2026, 11, 16, 9, tzinfo=UTC)
    long_agent = "LongPlayer/1.0 " + "y" * 700
    async with tenant_transaction(tenant) as session:
        noted = await service.note_unknown(
            session, tenant, {"OddCast/1.0": 3, "OddCast/1.0\r\n": 2, long_agent: 1, "": 4, "Zero/1": 0}, monday
        )
    assert noted == 2
    async with tenant_transaction(tenant) as session:
        await service.note_unknown(session, tenant, {"OddCast/1.0": 10}, monday + timedelta(days=2))
        await service.note_unknown(session, tenant, {"OddCast/1.0": 1}, monday - timedelta(days=1))
    queue = await _queue(tenant)
    assert set(queue) == {"OddCast/1.0", long_agent[:512]}
    assert queue["OddCast/1.0"] == (16, monday - timedelta(days=1), monday + timedelta(days=2))
    assert await _queue(other) == {}


async def test_labels_become_the_tenants_overrides(db, server: str) -> None:
    tenant = uuid.UUID(make_tenant(server).id)
    async with tenant_transaction(tenant) as session:
        await service.note_unknown(session, tenant, {"OddCast/2.0 (Android 14)": 5, "Probe/1": 1, "Meh/1": 1})
    async with tenant_transaction(tenant) as session:
        rows = {
            row.user_agent: row.id
            for row in (await service.list_unknown(session, system_subject(tenant), "all", _page()))[0]
        }
        subject = system_subject(tenant)
        await service.label_unknown(
            session, subject, rows["OddCast/2.0 (Android 14)"], LabelIn(label="app", name="OddCast")
        )
        await service.label_unknown(session, subject, rows["Probe/1"], LabelIn(label="bot", name=None))
        await service.label_unknown(session, subject, rows["Meh/1"], LabelIn(label="ignore", name=None))
        overrides = await service.overrides(session, tenant)
    assert set(overrides) == {"OddCast/2.0 (Android 14)", "Probe/1"}
    found = shared_classifier().classify("OddCast/2.0 (Android 14)", None, overrides)
    assert (found.kind, found.app, found.device, found.labelled) == ("app", "OddCast", "Android Phone", True)
    assert shared_classifier().classify("Probe/1", None, overrides).is_bot


async def test_an_app_label_needs_a_name_and_another_tenants_row_is_not_found(db, server: str) -> None:
    tenant = uuid.UUID(make_tenant(server).id)
    other = uuid.UUID(make_tenant(server).id)
    async with tenant_transaction(tenant) as session:
        await service.note_unknown(session, tenant, {"Nameless/1": 1})
    async with tenant_transaction(tenant) as session:
        (row,), _ = await service.list_unknown(session, system_subject(tenant), "pending", _page())
        with pytest.raises(ValidationFailed) as refused:
            await service.label_unknown(session, system_subject(tenant), row.id, LabelIn(label="app", name=None))
    assert refused.value.errors == [{"field": "name", "value": None, "reason": "required when the label is app"}]
    async with tenant_transaction(other) as session:
        with pytest.raises(NotFound):
            await service.label_unknown(session, system_subject(other), row.id, LabelIn(label="bot", name=None))
