"""Two tenants through a pool of two connections: 1,000 interleaved requests, 32 at a time, over real HTTP.

Every request of either tenant runs on one of the same two connections, one after another, so a tenant setting that
survived its transaction, or a failed transaction that was not rolled back, would surface in the next request of the
other tenant. The mix: lists and single rows of sponsors, shows and campaigns; writes (sponsor notes, new campaigns,
two simultaneous creates of one sponsor name, settled by the unique index when both pass the check); and requests
that fail after the tenant is set (another tenant's ids → 404, a rename onto a taken name → 409, a campaign pointing
at another tenant's sponsor → 422) or before it (an offset past PostgreSQL's bigint → 422).

Each tenant's names carry its tag; no response may carry the other tenant's tag or an id of the other tenant's rows
(save one the request itself sent). At the end every pooled connection is read between transactions: none may still
carry `app.tenant_id`. The run's figures go to test-artifacts/pool-leak.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import psycopg
import pytest

from podsponsor.db.bootstrap import DatabaseUrls
from tests.conftest import ARTIFACTS
from tests.factories.app_server import serve_app
from tests.factories.identity import Tenant, make_tenant
from tests.security.pool_probe_app import PROBE_PATH, SESSION_TENANT_ENV

pytestmark = pytest.mark.isolation

POOL_SIZE = 2
REQUESTS = 1000
CONCURRENCY = 32
SPONSORS = 6
SHOWS = 4
CAMPAIGNS = 3
FACTORY = "tests.security.pool_probe_app:build"
# One tenant's share of the run, repeated: 14 reads, 4 writes (two of them racing for one name), 2 failing writes.
CYCLE = (
    "list_sponsors",
    "sponsor",
    "list_shows",
    "create_sponsor",
    "create_sponsor",
    "show",
    "list_campaigns",
    "other_tenants_sponsor",
    "sponsor",
    "write_notes",
    "list_sponsors",
    "rename_onto_taken_name",
    "campaign",
    "list_shows",
    "campaign_with_other_tenants_sponsor",
    "sponsor",
    "create_campaign",
    "other_tenants_show",
    "list_sponsors",
    "offset_past_bigint",
)
EXPECTED_STATUS = {
    "list_sponsors": 200,
    "sponsor": 200,
    "list_shows": 200,
    "show": 200,
    "list_campaigns": 200,
    "campaign": 200,
    "write_notes": 200,
    "create_campaign": 201,
    "other_tenants_sponsor": 404,
    "other_tenants_show": 404,
    "rename_onto_taken_name": 409,
    "campaign_with_other_tenants_sponsor": 422,
    "offset_past_bigint": 422,
}
Row = dict[str, Any]


@dataclass
class Side:
    """One tenant of the two, with the rows it was given."""

    tenant: Tenant
    tag: str
    sponsors: list[Row] = field(default_factory=list)
    shows: list[Row] = field(default_factory=list)
    campaigns: list[Row] = field(default_factory=list)

    @property
    def ids(self) -> set[str]:
        return {row["id"] for row in self.sponsors + self.shows + self.campaigns}

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tenant.tokens['owner']}"}


@dataclass
class Call:
    side: Side
    other: Side
    kind: str
    round: int
    method: str
    url: str
    body: Row | None = None

    @property
    def sent(self) -> str:
        return self.url + json.dumps(self.body or {})


@pytest.fixture(scope="module")
def pool_of_two(database: DatabaseUrls) -> Iterator[str]:
    env = {**os.environ, "DB_POOL_SIZE": str(POOL_SIZE), "DB_MAX_OVERFLOW": "0"}
    with serve_app(env, ARTIFACTS / "pool-leak-server.log", factory=FACTORY) as base:
        yield base


def _created(client: httpx.Client, url: str, body: Row) -> Row:
    response = client.post(url, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _side(base: str, tag: str) -> Side:
    side = Side(make_tenant(base, name=f"{tag} network"), tag)
    with side.tenant.client() as owner:
        for n in range(SPONSORS):
            side.sponsors.append(
                _created(owner, "/api/v1/sponsors", {"name": f"{tag} sponsor {n}", "industry": "software"})
            )
        for n in range(SHOWS):
            side.shows.append(_created(owner, "/api/v1/podcasts", {"title": f"{tag} show {n}"}))
        for n in range(CAMPAIGNS):
            body = {"sponsor_id": side.sponsors[n]["id"], "name": f"{tag} campaign {n}"}
            side.campaigns.append(_created(owner, "/api/v1/campaigns", body))
    return side


def _call(side: Side, other: Side, kind: str, n: int) -> Call:
    sponsor, show = side.sponsors[n % SPONSORS], side.shows[n % SHOWS]
    campaign = side.campaigns[n % CAMPAIGNS]
    requests: dict[str, tuple[str, str, Row | None]] = {
        "list_sponsors": ("GET", "/api/v1/sponsors?limit=200", None),
        "sponsor": ("GET", f"/api/v1/sponsors/{sponsor['id']}", None),
        "list_shows": ("GET", "/api/v1/podcasts?limit=200", None),
        "show": ("GET", f"/api/v1/podcasts/{show['id']}", None),
        "list_campaigns": ("GET", "/api/v1/campaigns?limit=200", None),
        "campaign": ("GET", f"/api/v1/campaigns/{campaign['id']}", None),
        "write_notes": ("PATCH", f"/api/v1/sponsors/{sponsor['id']}", {"notes": f"{side.tag} note {n}"}),
        "create_sponsor": ("POST", "/api/v1/sponsors", {"name": f"{side.tag} new sponsor {n}", "industry": "retail"}),
        "create_campaign": ("POST", "/api/v1/campaigns", {"sponsor_id": sponsor["id"], "name": f"{side.tag} new {n}"}),
        "other_tenants_sponsor": ("GET", f"/api/v1/sponsors/{other.sponsors[n % SPONSORS]['id']}", None),
        "other_tenants_show": ("GET", f"/api/v1/podcasts/{other.shows[n % SHOWS]['id']}", None),
        "rename_onto_taken_name": (
            "PATCH",
            f"/api/v1/sponsors/{sponsor['id']}",
            {"name": side.sponsors[(n + 1) % SPONSORS]["name"]},
        ),
        "campaign_with_other_tenants_sponsor": (
            "POST",
            "/api/v1/campaigns",
            {"sponsor_id": other.sponsors[n % SPONSORS]["id"], "name": f"{side.tag} stray {n}"},
        ),
        "offset_past_bigint": ("GET", f"/api/v1/sponsors?offset={2**64}", None),
    }
    method, url, body = requests[kind]
    return Call(side, other, kind, n, method, url, body)


def plan(a: Side, b: Side) -> list[Call]:
    """The two tenants' requests alternating: A, B, A, B, … ; a round is one pass over CYCLE."""
    calls = []
    for i in range(REQUESTS // 2):
        kind, n = CYCLE[i % len(CYCLE)], i // len(CYCLE)
        calls += [_call(a, b, kind, n), _call(b, a, kind, n)]
    return calls


def _tagged(items: list[Row], key: str, tag: str) -> bool:
    return all(str(item[key]).startswith(f"{tag} ") for item in items)


def problems_with(call: Call, status: int, text: str) -> list[str]:
    """What is wrong with one response: its status, the other tenant in it, or rows that are not the caller's."""
    where = f"{call.side.tag} {call.kind} #{call.round} ({call.method} {call.url})"
    if status >= 500:
        return [f"{where}: {status} {text[:300]}"]
    found = []
    expected = EXPECTED_STATUS.get(call.kind)
    if expected is not None and status != expected:
        found.append(f"{where}: status {status}, want {expected}: {text[:300]}")
    if call.other.tag in text:
        found.append(f"{where}: the other tenant's tag is in the response: {text[:300]}")
    leaked = {row_id for row_id in call.other.ids if row_id in text and row_id not in call.sent}
    if leaked:
        found.append(f"{where}: ids of the other tenant's rows in the response: {sorted(leaked)}")
    if status < 300:
        found += _content_problems(call, json.loads(text), where)
    return found


def _content_problems(call: Call, body: Row, where: str) -> list[str]:
    side, kind = call.side, call.kind
    found = []
    if kind.startswith("list_"):
        key = "title" if kind == "list_shows" else "name"
        floor = {"list_sponsors": SPONSORS, "list_shows": SHOWS, "list_campaigns": CAMPAIGNS}[kind]
        if not _tagged(body["items"], key, side.tag) or body["total"] < floor or len(body["items"]) != body["total"]:
            found.append(f"{where}: {body['total']} rows, not all {side.tag}'s: {body['items'][:3]}")
        if kind == "list_shows" and body["total"] != SHOWS:
            found.append(f"{where}: {body['total']} shows, want exactly {SHOWS}")
    elif kind in {"sponsor", "show", "campaign"}:
        key = "title" if kind == "show" else "name"
        if body["id"] not in call.url or not _tagged([body], key, side.tag):
            found.append(f"{where}: got {body.get('id')} {body.get(key)!r}")
    elif kind == "write_notes" and call.body is not None and body["notes"] != call.body["notes"]:
        found.append(f"{where}: notes now {body['notes']!r}")
    elif kind in {"create_sponsor", "create_campaign"} and not _tagged([body], "name", side.tag):
        found.append(f"{where}: created {body['name']!r}")
    return found


@dataclass
class Run:
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    creates: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


async def fire(base: str, calls: list[Call]) -> Run:
    run = Run()
    gate = asyncio.Semaphore(CONCURRENCY)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)

    async def one(client: httpx.AsyncClient, call: Call) -> None:
        async with gate:
            try:
                response = await client.request(call.method, call.url, json=call.body, headers=call.side.headers)
            except httpx.HTTPError as exc:
                run.problems.append(f"{call.side.tag} {call.kind} #{call.round}: {type(exc).__name__} {exc}")
                return
        run.statuses[(call.kind, response.status_code)] += 1
        if call.kind == "create_sponsor":
            run.creates.setdefault((call.side.tag, call.round), []).append(response.status_code)
        run.problems += problems_with(call, response.status_code, response.text)

    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(one(client, call) for call in calls))
        run.seconds = time.perf_counter() - started
    return run


def _database_now(owner: psycopg.Connection) -> datetime:
    row = owner.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    now: datetime = row[0]
    return now


def _stored_rows_of_the_wrong_tenant(owner: psycopg.Connection, sides: tuple[Side, Side]) -> list[str]:
    """As the owner, past row-level security: every row the run wrote sits in the tenant whose tag it carries."""
    tags = {uuid.UUID(s.tenant.id): s.tag for s in sides}
    wrong = []
    for table, text_column in (("sponsors", "name || ' ' || notes"), ("campaigns", "name"), ("events", "payload")):
        for tenant_id, value in owner.execute(
            f"SELECT tenant_id, ({text_column})::text FROM {table} WHERE tenant_id = ANY(%s)", [list(tags)]
        ):
            others = [tag for tenant, tag in tags.items() if tenant != tenant_id and tag in value]
            if others:
                wrong.append(f"{table} of {tags[tenant_id]}: {value[:200]}")
    return wrong


def pooled_connections(base: str) -> list[Row]:
    response = httpx.get(f"{base}{PROBE_PATH}", timeout=60)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["pool_size"] == POOL_SIZE
    return list(body["connections"])


async def test_a_pool_of_two_serves_two_tenants_without_crossing(
    pool_of_two: str, owner_conn: psycopg.Connection
) -> None:
    a = _side(pool_of_two, f"alpha{uuid.uuid4().hex[:8]}")
    b = _side(pool_of_two, f"bravo{uuid.uuid4().hex[:8]}")
    calls = plan(a, b)
    assert len(calls) == REQUESTS

    run = await fire(pool_of_two, calls)
    finished = _database_now(owner_conn)
    connections = pooled_connections(pool_of_two)
    races = Counter(tuple(sorted(statuses)) for statuses in run.creates.values())
    summary = {
        "requests": sum(run.statuses.values()),
        "concurrency": CONCURRENCY,
        "pool_size": POOL_SIZE,
        "seconds": round(run.seconds, 2),
        "requests_per_second": round(REQUESTS / run.seconds, 1),
        "statuses": {f"{kind} {status}": count for (kind, status), count in sorted(run.statuses.items())},
        "same_name_creates": {"/".join(map(str, k)): v for k, v in races.items()},
        "pooled_connections": connections,
    }
    (ARTIFACTS / "pool-leak.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "statuses"}))

    assert not run.problems, f"{len(run.problems)} bad responses:\n  " + "\n  ".join(run.problems[:30])
    assert summary["requests"] == REQUESTS
    assert set(races) == {(201, 409)}, f"two creates of one name should give one 201 and one 409: {races}"
    assert not _stored_rows_of_the_wrong_tenant(owner_conn, (a, b))
    assert len({c["pid"] for c in connections}) == POOL_SIZE, connections
    assert all(datetime.fromisoformat(c["backend_start"]) < finished for c in connections), (
        f"a connection was opened after the run, so it is not one that served it: {connections}"
    )
    assert all(c["tenant"] in (None, "") for c in connections), (
        f"a pooled connection still carries a tenant between transactions: {connections}"
    )


@pytest.fixture(scope="module")
def leaking_pool(database: DatabaseUrls) -> Iterator[str]:
    env = {**os.environ, "DB_POOL_SIZE": str(POOL_SIZE), "DB_MAX_OVERFLOW": "0", SESSION_TENANT_ENV: "1"}
    with serve_app(env, ARTIFACTS / "pool-leak-control-server.log", factory=FACTORY) as base:
        yield base


def test_the_probe_sees_a_tenant_set_at_session_level(leaking_pool: str) -> None:
    """The control: with the tenant set by `set_config(…, false)` the same probe reports it, so its silence above
    means the connections are clean, not that it cannot see."""
    tenant = make_tenant(leaking_pool)
    with tenant.client() as owner:
        assert owner.get("/api/v1/sponsors").status_code == 200
    assert tenant.id in {c["tenant"] for c in pooled_connections(leaking_pool)}
