"""Every query of the prefix redirect: the tenant-less show lookup, day partitions, and the batched hit insert.

The writer talks to PostgreSQL through dedicated psycopg connections rather than the ORM: a batch is one message,
one round trip (BEGIN; per tenant: the transaction-local tenant setting, one INSERT of all its rows; COMMIT), values
inlined as quoted literals (the simple query protocol takes several statements only without parameters). Measured,
psycopg's pipeline mode, the other way to one round trip, spent more CPU polling the socket than the rest of the
batch did. COPY is not an option: PostgreSQL refuses COPY FROM into a table with row-level security.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from json.encoder import encode_basestring_ascii as _escaped  # type: ignore[attr-defined]

from psycopg import AsyncConnection, sql
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.measurement.hit_models import Hit

SET_TENANT = sql.SQL("SELECT set_config('app.tenant_id', {tenant}, true)")

# The rows travel as one JSON array of objects, which PostgreSQL parses once into typed columns (adapting eleven typed
# arrays element by element in Python cost twice as much). Each object is written from a template with only the
# free-text values escaped, at half the cost of building dicts for `json.dumps`.
INSERT_HITS = """
INSERT INTO download_requests
  (tenant_id, id, ts, podcast_id, method, url, destination, range_header, user_agent, referer, ip_hash, country,
   datacenter, status)
SELECT {tenant}::uuid, r.* FROM json_to_recordset({rows}::json) AS r(
  id uuid, ts timestamptz, podcast_id uuid, method text, url text, destination text, range_header text,
  user_agent text, referer text, ip_hash text, country text, datacenter text, status smallint)
"""
# A replayed batch may already be stored (its commit's outcome was unknown when it was spilled: a timeout, a
# connection lost after COMMIT was sent): its hits keep the ids they were given at request time, and land once.
REPLAY_HITS = sql.SQL(INSERT_HITS + "ON CONFLICT DO NOTHING")
NEW_HITS = sql.SQL(INSERT_HITS)

RESOLVE_TOKENS = """
SELECT t.token, s.tenant_id, s.podcast_id
FROM unnest(%s::text[]) AS t(token), LATERAL measurement_show_for_token(t.token) AS s
"""

SHOW_FOR_TOKEN = text("SELECT tenant_id, podcast_id FROM measurement_show_for_token(:token)")

Show = tuple[uuid.UUID, uuid.UUID]


async def show_for_token(session: AsyncSession, token: str) -> Show | None:
    row = (await session.execute(SHOW_FOR_TOKEN, {"token": token})).first()
    return (row[0], row[1]) if row else None


async def ensure_partitions(conn: AsyncConnection, first: date, last: date) -> int:
    """Day partitions from `first` to `last` (UTC days), in a transaction of their own; how many were created."""
    async with conn.transaction():
        cursor = await conn.execute("SELECT measurement_ensure_hit_partitions(%s, %s)", [first, last])
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def ping(conn: AsyncConnection) -> None:
    async with conn.transaction():
        await conn.execute("SELECT 1")


async def insert_hits(conn: AsyncConnection, hits: Sequence[Hit], *, replay: bool = False) -> list[Hit]:
    """Store `hits` in one transaction, tenant by tenant (RLS checks each row against the tenant set for it).
    Hits whose show was not looked up are resolved first; those whose token matches no show are returned, unstored.
    `replay` skips hits already stored."""
    unknown = await _resolve(conn, [hit for hit in hits if hit.tenant_id is None])
    groups: dict[uuid.UUID, list[Hit]] = defaultdict(list)
    for hit in hits:
        if hit.tenant_id is not None:
            groups[hit.tenant_id].append(hit)
    if not groups:
        return unknown
    insert = REPLAY_HITS if replay else NEW_HITS
    statements: list[sql.Composable] = [sql.SQL("BEGIN")]
    for tenant_id, group in groups.items():
        tenant = sql.Literal(str(tenant_id))
        statements += [SET_TENANT.format(tenant=tenant), insert.format(tenant=tenant, rows=sql.Literal(_rows(group)))]
    statements.append(sql.SQL("COMMIT"))
    # On any error the rest of the message is skipped and the transaction is left aborted; the writer then closes
    # this connection, which rolls it back.
    await conn.execute(sql.SQL(";\n").join(statements))
    return unknown


async def _resolve(conn: AsyncConnection, hits: list[Hit]) -> list[Hit]:
    if not hits:
        return []
    cursor = await conn.execute(RESOLVE_TOKENS, [sorted({hit.token for hit in hits})])
    shows = {token: (tenant_id, podcast_id) for token, tenant_id, podcast_id in await cursor.fetchall()}
    unknown = []
    for hit in hits:
        show = shows.get(hit.token)
        if show is None:
            unknown.append(hit)
        else:
            hit.tenant_id, hit.podcast_id = show
    return unknown


def _rows(hits: Iterable[Hit]) -> str:
    return "[" + ",".join(map(_row, hits)) + "]"


def _row(h: Hit) -> str:
    # Ids, the time and the status are written unescaped: uuid.hex, an ISO time and an int need none. Inline, not a
    # helper per value: the calls cost more than the escaping.
    q = _escaped
    podcast = "null" if h.podcast_id is None else '"' + h.podcast_id.hex + '"'
    return (
        f'{{"id":"{h.id.hex}","ts":"{h.ts.isoformat()}","podcast_id":{podcast},"method":{q(h.method)},'
        f'"url":{q(h.url)},"destination":{q(h.destination)},'
        f'"range_header":{"null" if h.range_header is None else q(h.range_header)},'
        f'"user_agent":{"null" if h.user_agent is None else q(h.user_agent)},'
        f'"referer":{"null" if h.referer is None else q(h.referer)},"ip_hash":{q(h.ip_hash)},'
        f'"country":{"null" if h.country is None else q(h.country)},'
        f'"datacenter":{"null" if h.datacenter is None else q(h.datacenter)},"status":{h.status:d}}}'
    )
