"""The review queue and the list versions over real HTTP: who may do what, labelling, and bad input."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from podsponsor.db.bootstrap import DatabaseUrls
from podsponsor.db.tenancy import tenant_transaction, unscoped_transaction
from podsponsor.db.urls import libpq_conninfo
from podsponsor.measurement import service
from podsponsor.measurement.lists import FILE_NAMES
from tests.factories.identity import Tenant, make_tenant
from tests.measurement.reference_data import shared_file

QUEUE = "/api/v1/measurement/unknown-user-agents"
ROLES = ("owner", "admin", "ops", "creator", "sales", "advertiser")
SEEN = {"RareCast/0.9 (Linux; Android 13)": 40, "Mystery Fetcher 2": 7, "QuietPlayer/1.0": 1}


async def _seed(tenant: Tenant, counts: dict[str, int] = SEEN) -> dict[str, str]:
    tenant_id = uuid.UUID(tenant.id)
    async with tenant_transaction(tenant_id) as session:
        await service.note_unknown(session, tenant_id, counts)
    with tenant.client() as api:
        rows = api.get(QUEUE, params={"status": "all"}).json()["items"]
    return {row["user_agent"]: row["id"] for row in rows}


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=ROLES)


def _label(tenant: Tenant, role: str, row_id: str, body: dict[str, Any]) -> Any:
    with tenant.client(role) as api:
        return api.post(f"{QUEUE}/{row_id}/label", json=body)


async def test_the_queue_lists_most_seen_first_and_filters_by_status(db, server: str) -> None:
    tenant = make_tenant(server, roles=("ops",))
    ids = await _seed(tenant)
    with tenant.client("ops") as api:
        pending = api.get(QUEUE)
        assert pending.status_code == 200, pending.text
        body = pending.json()
        assert [row["user_agent"] for row in body["items"]] == list(SEEN)
        assert [row["hits"] for row in body["items"]] == [40, 7, 1]
        assert body["total"] == 3
        labelled = api.post(f"{QUEUE}/{ids['Mystery Fetcher 2']}/label", json={"label": "bot", "name": "Fetcher"})
        assert labelled.status_code == 200, labelled.text
        assert [row["user_agent"] for row in api.get(QUEUE).json()["items"]] == [
            "RareCast/0.9 (Linux; Android 13)",
            "QuietPlayer/1.0",
        ]
        done = api.get(QUEUE, params={"status": "labelled"}).json()["items"]
        assert [(row["user_agent"], row["label"], row["name"]) for row in done] == [
            ("Mystery Fetcher 2", "bot", "Fetcher")
        ]
        least = api.get(QUEUE, params={"status": "all", "sort": "hits", "limit": 1}).json()
        assert (least["items"][0]["user_agent"], least["next_offset"]) == ("QuietPlayer/1.0", 1)


async def test_labelling_records_who_and_when_and_an_event(db, server: str, database: DatabaseUrls) -> None:
    tenant = make_tenant(server, roles=("ops",))
    ids = await _seed(tenant)
    row_id = ids["RareCast/0.9 (Linux; Android 13)"]
    response = _label(tenant, "ops", row_id, {"label": "app", "name": "  RareCast  "})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["label"], body["name"], body["labelled_by"]) == ("app", "RareCast", tenant.user_ids["ops"])
    assert body["labelled_at"] is not None
    relabelled = _label(tenant, "ops", row_id, {"label": "ignore"})
    assert (relabelled.json()["label"], relabelled.json()["name"]) == ("ignore", None)
    with psycopg.connect(libpq_conninfo(database.owner)) as conn:
        events = conn.execute(
            "SELECT payload->>'label', payload->>'previous' FROM events WHERE tenant_id = %s "
            "AND type = 'measurement.user_agent_labelled' AND subject_id = %s ORDER BY at",
            [tenant.id, row_id],
        ).fetchall()
    assert events == [("app", None), ("ignore", "app")]


@pytest.mark.parametrize("role", ROLES)
async def test_who_may_read_and_label(db, tenant: Tenant, role: str) -> None:
    ids = await _seed(tenant, {f"RoleProbe/{role}": 1})
    readers = {"owner", "admin", "ops", "creator", "sales"}
    labellers = {"owner", "admin", "ops"}
    with tenant.client(role) as api:
        assert api.get(QUEUE).status_code == (200 if role in readers else 403)
        assert api.get("/api/v1/measurement/lists").status_code == (200 if role in readers else 403)
    labelled = _label(tenant, role, ids[f"RoleProbe/{role}"], {"label": "bot"})
    assert labelled.status_code == (200 if role in labellers else 403), labelled.text
    if labelled.status_code == 403:
        assert labelled.headers["content-type"] == "application/problem+json"
        assert "measurement:write" in labelled.json()["detail"]


async def test_anonymous_callers_are_asked_to_sign_in(db, anon, tenant: Tenant) -> None:
    ids = await _seed(tenant, {"AnonProbe/1": 1})
    for response in (
        anon.get(QUEUE),
        anon.get("/api/v1/measurement/lists"),
        anon.post(f"{QUEUE}/{ids['AnonProbe/1']}/label", json={"label": "bot"}),
    ):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


async def test_another_workspaces_user_agent_is_not_found(db, server: str, tenant: Tenant) -> None:
    ids = await _seed(tenant, {"PrivateProbe/1": 1})
    stranger = make_tenant(server)
    with stranger.client() as api:
        assert "PrivateProbe/1" not in [
            row["user_agent"] for row in api.get(QUEUE, params={"status": "all"}).json()["items"]
        ]
        response = api.post(f"{QUEUE}/{ids['PrivateProbe/1']}/label", json={"label": "bot"})
        assert response.status_code == 404
        assert response.json()["type"].endswith("/not-found")
        assert api.post(f"{QUEUE}/{uuid.uuid4()}/label", json={"label": "bot"}).status_code == 404
    with tenant.client() as api:
        mine = api.get(QUEUE, params={"status": "all"}).json()["items"]
    assert next(row for row in mine if row["user_agent"] == "PrivateProbe/1")["label"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"label": "robot"}, "label"),
        ({}, "label"),
        ({"label": "app"}, "name"),
        ({"label": "library", "name": "   "}, "name"),
        ({"label": "browser", "name": "x" * 201}, "name"),
        ({"label": "bot", "hits": 0}, "hits"),
    ],
)
async def test_bad_labels_name_the_field(db, tenant: Tenant, body: dict[str, Any], field: str) -> None:
    ids = await _seed(tenant, {"BadInputProbe/1": 1})
    response = _label(tenant, "owner", ids["BadInputProbe/1"], body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "done"}, "query.status"),
        ({"limit": 0}, "limit"),
        ({"sort": "tenant_id"}, "sort"),
        ({"offset": -1}, "offset"),
    ],
)
def test_bad_list_parameters_name_the_field(tenant: Tenant, params: dict[str, Any], field: str) -> None:
    with tenant.client() as api:
        response = api.get(QUEUE, params=params)
    assert response.status_code == 422
    assert field in [error["field"] for error in response.json()["errors"]]


def test_a_malformed_id_is_a_field_error_not_a_server_error(tenant: Tenant) -> None:
    response = _label(tenant, "owner", "not-a-uuid", {"label": "bot"})
    assert response.status_code == 422
    assert "path.user_agent_id" in [error["field"] for error in response.json()["errors"]]


async def test_the_lists_in_use_are_listed_with_their_versions(db, tenant: Tenant) -> None:
    async with unscoped_transaction() as session:
        loaded = {r.kind: r for r in await service.update_lists(session, [shared_file(k) for k in FILE_NAMES])}
    with tenant.client("creator") as api:
        versions = {v["kind"]: v for v in api.get("/api/v1/measurement/lists").json()}
    assert set(versions) == set(FILE_NAMES)
    for kind, result in loaded.items():
        assert (versions[kind]["id"], versions[kind]["sha256"]) == (str(result.version_id), result.sha256)
        assert versions[kind]["entry_count"] == result.entry_count
