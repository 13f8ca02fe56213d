"""Two tenants, every tenant table, every verb: as the runtime role, setting the tenant the way the app does.

The tables come from pg_catalog and the rows from tests/security/rows.py, so a new table joins the matrix by
existing. Each test checks every table and reports every failing one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from podsponsor.db.bootstrap import DatabaseUrls
from podsponsor.db.urls import libpq_conninfo
from tests.security.rows import UNIQUE_BY_REFERENCES, CannotFill, build_row, fill_order, mutable_column, value_for
from tests.security.schema import KNOWN_TENANT_TABLES, TENANT_ROOT, Table

pytestmark = pytest.mark.isolation

SET_TENANT = "SELECT set_config('app.tenant_id', %s, true)"
RLS_REFUSED = "42501"
FK_VIOLATION = "23503"

Row = dict[str, Any]


@dataclass
class World:
    a: uuid.UUID
    b: uuid.UUID
    catalog: dict[str, Table]
    rows: dict[uuid.UUID, dict[str, Row]] = field(default_factory=dict)
    gaps: dict[str, str] = field(default_factory=dict)

    @property
    def tables(self) -> list[Table]:
        """The tables both tenants have a row in, parents first."""
        return [t for t in fill_order(self.catalog) if all(t.name in rows for rows in self.rows.values())]


@contextmanager
def as_tenant(conn: psycopg.Connection, tenant: uuid.UUID | None, *, keep: bool = False) -> Iterator[None]:
    """One transaction, tenant set like `podsponsor.db.tenancy.set_tenant`; rolled back unless `keep`."""
    with conn.transaction(force_rollback=not keep):
        if tenant is not None:
            conn.execute(SET_TENANT, [str(tenant)])
        yield


def refusal(conn: psycopg.Connection, statement: sql.Composed, params: list[Any]) -> str | None:
    """The SQLSTATE the statement fails with (inside a savepoint), or None when it succeeds."""
    try:
        with conn.transaction():
            conn.execute(statement, params)
    except psycopg.Error as exc:
        return exc.sqlstate
    return None


def _param(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, dict) else value


def _key(table: Table) -> tuple[str, ...]:
    return table.primary_key or (table.tenant_column,)


def _where(table: Table, row: Row) -> tuple[sql.Composed, list[Any]]:
    clause = sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in _key(table))
    return clause, [row[c] for c in _key(table)]


def _insert(table: Table, row: Row, tail: sql.Composable = sql.SQL("")) -> tuple[sql.Composed, list[Any]]:
    statement = sql.SQL("INSERT INTO {} ({}) VALUES ({}) {}").format(
        sql.Identifier(table.name),
        sql.SQL(", ").join(map(sql.Identifier, row)),
        sql.SQL(", ").join(sql.Placeholder() * len(row)),
        tail,
    )
    return statement, [_param(v) for v in row.values()]


def _upsert(
    world: World, tenant: uuid.UUID, table: Table, assignment: sql.Composable
) -> tuple[sql.Composed, list[Any]]:
    """An upsert of `tenant`'s stored row onto itself: the same key, so it always takes the DO UPDATE path."""
    stored = world.rows[tenant][table.name]
    columns = set(build_row(table, tenant, world.rows[tenant])) | set(_key(table))
    conflict = sql.SQL("ON CONFLICT ({}) DO UPDATE SET {}").format(
        sql.SQL(", ").join(map(sql.Identifier, _key(table))), assignment
    )
    return _insert(table, {c: stored[c] for c in table.columns if c in columns}, conflict)


def _fetch(conn: psycopg.Connection, table: Table, row: Row) -> list[Row]:
    where, params = _where(table, row)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            sql.SQL("SELECT * FROM {} WHERE {}").format(sql.Identifier(table.name), where), params
        ).fetchall()


def _seed(conn: psycopg.Connection, tenant: uuid.UUID, world: World) -> None:
    made: dict[str, Row] = {}
    with as_tenant(conn, tenant, keep=True):
        for table in fill_order(world.catalog):
            try:
                statement, params = _insert(table, build_row(table, tenant, made), sql.SQL("RETURNING *"))
                with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
                    made[table.name] = cur.execute(statement, params).fetchone() or {}
            except (CannotFill, psycopg.Error) as exc:
                world.gaps.setdefault(table.name, f"{type(exc).__name__}: {exc}")
    world.rows[tenant] = made


@pytest.fixture(scope="module")
def world(database: DatabaseUrls, catalog: dict[str, Table], owner_conn: psycopg.Connection) -> Iterator[World]:
    built = World(uuid.uuid4(), uuid.uuid4(), catalog)
    try:
        with psycopg.connect(libpq_conninfo(database.app), autocommit=True) as conn:
            _seed(conn, built.a, built)
            _seed(conn, built.b, built)
    except CannotFill as exc:
        built.gaps["*"] = str(exc)
    yield built
    owner_conn.execute("DELETE FROM tenants WHERE id = ANY(%s)", [[built.a, built.b]])


@pytest.fixture
def conn(database: DatabaseUrls) -> Iterator[psycopg.Connection]:
    with psycopg.connect(libpq_conninfo(database.app), autocommit=True) as connection:
        yield connection


def _report(problems: list[str]) -> str:
    return "\n  ".join(["", *problems])


def test_generator_fills_every_tenant_table(world: World) -> None:
    assert not world.gaps, "the matrix cannot make a row for these tables (see tests/security/rows.py):" + _report(
        [f"{name}: {why}" for name, why in world.gaps.items()]
    )
    assert {t.name for t in world.tables} == set(world.catalog)
    assert set(world.catalog) >= KNOWN_TENANT_TABLES, sorted(KNOWN_TENANT_TABLES - set(world.catalog))


def test_other_tenant_selects_none_of_the_rows(world: World, conn: psycopg.Connection) -> None:
    problems = []
    for table in world.tables:
        mine = world.rows[world.a][table.name]
        with as_tenant(conn, world.b):
            seen = _fetch(conn, table, mine)
            tenants = {r[table.tenant_column] for r in _select_all(conn, table)}
        if seen:
            problems.append(f"{table.name}: B selected A's row {seen}")
        if tenants != {world.b}:
            problems.append(f"{table.name}: B should see exactly its own rows, saw tenants {tenants}")
        if len(_fetch_as(conn, world.a, table, mine)) != 1:
            problems.append(f"{table.name}: A lost sight of its own row")
    assert not problems, _report(problems)


def _select_all(conn: psycopg.Connection, table: Table) -> list[Row]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table.name))).fetchall()


def _fetch_as(conn: psycopg.Connection, tenant: uuid.UUID, table: Table, row: Row) -> list[Row]:
    with as_tenant(conn, tenant):
        return _fetch(conn, table, row)


def _unchanged(conn: psycopg.Connection, world: World, table: Table) -> bool:
    original = world.rows[world.a][table.name]
    return _fetch_as(conn, world.a, table, original) == [original]


def test_other_tenant_updates_and_deletes_nothing(world: World, conn: psycopg.Connection) -> None:
    problems = []
    for table in world.tables:
        where, key = _where(table, world.rows[world.a][table.name])
        column = mutable_column(table)
        update = sql.SQL("UPDATE {} SET {} = %s WHERE {}").format(
            sql.Identifier(table.name), sql.Identifier(column), where
        )
        delete = sql.SQL("DELETE FROM {} WHERE {} RETURNING *").format(sql.Identifier(table.name), where)
        with as_tenant(conn, world.b, keep=True):
            updated = conn.execute(update, [_param(_fresh(table, column, world.b)), *key]).rowcount
            deleted = conn.execute(delete, key).fetchall()
        if updated or deleted or not _unchanged(conn, world, table):
            problems.append(f"{table.name}: B updated {updated} / deleted {len(deleted)} of A's rows")
    assert not problems, _report(problems)


def _fresh(table: Table, column: str, tenant: uuid.UUID) -> Any:
    return tenant if column == table.tenant_column else value_for(table.name, table.columns[column])


def test_other_tenant_cannot_insert_into_it(world: World, conn: psycopg.Connection) -> None:
    problems = []
    for table in world.tables:
        statement, params = _insert(table, build_row(table, world.a, world.rows[world.a]))
        with as_tenant(conn, world.b):
            state = refusal(conn, statement, params)
        if state != RLS_REFUSED:
            problems.append(f"{table.name}: B inserting a row of A gave SQLSTATE {state}, want {RLS_REFUSED}")
    assert not problems, _report(problems)


def test_upsert_cannot_reach_or_move_into_the_other_tenant(world: World, conn: psycopg.Connection) -> None:
    problems = []
    for table in world.tables:
        column = sql.Identifier(mutable_column(table))
        onto_a = _upsert(world, world.a, table, sql.SQL("{0} = EXCLUDED.{0}").format(column))
        into_a = sql.SQL("{} = {}").format(sql.Identifier(table.tenant_column), sql.Literal(str(world.a)))
        b_into_a = _upsert(world, world.b, table, into_a)
        with as_tenant(conn, world.b):
            states = refusal(conn, *onto_a), refusal(conn, *b_into_a)
        if states != (RLS_REFUSED, RLS_REFUSED) or not _unchanged(conn, world, table):
            problems.append(f"{table.name}: upsert onto A / moving B's row into A gave SQLSTATEs {states}")
    assert not problems, _report(problems)


def test_rows_cannot_move_between_tenants(world: World, conn: psycopg.Connection) -> None:
    problems = []
    for table in world.tables:
        where, key = _where(table, world.rows[world.a][table.name])
        move = sql.SQL("UPDATE {} SET {} = %s WHERE {}").format(
            sql.Identifier(table.name), sql.Identifier(table.tenant_column), where
        )
        # Without WHERE or RETURNING the new row is checked by the UPDATE policy alone, not also by SELECT's.
        move_all = sql.SQL("UPDATE {} SET {} = %s").format(
            sql.Identifier(table.name), sql.Identifier(table.tenant_column)
        )
        with as_tenant(conn, world.b):
            pulled = conn.execute(move, [world.b, *key]).rowcount
        with as_tenant(conn, world.a):
            pushed = refusal(conn, move, [world.b, *key]), refusal(conn, move_all, [world.b])
        if pulled or pushed != (RLS_REFUSED, RLS_REFUSED) or not _unchanged(conn, world, table):
            problems.append(f"{table.name}: B pulled {pulled} row(s); A pushing rows to B gave SQLSTATEs {pushed}")
    assert not problems, _report(problems)


def test_returning_shows_only_the_current_tenants_rows(world: World, conn: psycopg.Connection) -> None:
    problems = []
    for table in world.tables:
        tenant_column = sql.Identifier(table.tenant_column)
        touch = sql.SQL("UPDATE {} SET {} = {} RETURNING {}").format(
            sql.Identifier(table.name), tenant_column, tenant_column, tenant_column
        )
        with as_tenant(conn, world.b):
            touched = {r[0] for r in conn.execute(touch).fetchall()}
            inserted = _insert_returning(conn, world, table)
        if touched != {world.b} or inserted not in ([(world.b,)], None):
            problems.append(f"{table.name}: UPDATE … RETURNING gave {touched}; INSERT … RETURNING gave {inserted}")
    assert not problems, _report(problems)


def _make_room(conn: psycopg.Connection, table: Table) -> None:
    """Clears the current tenant's rows of a table whose unique key is made of references only (see rows.py); the
    caller's transaction is rolled back, so they return."""
    if table.name in UNIQUE_BY_REFERENCES:
        conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table.name)))


def _insert_returning(conn: psycopg.Connection, world: World, table: Table) -> list[tuple[Any, ...]] | None:
    """B inserts one more row and sees it back; `tenants` is skipped, since B's only row there is B itself."""
    if table.name == TENANT_ROOT:
        return None
    tail = sql.SQL("RETURNING {}").format(sql.Identifier(table.tenant_column))
    _make_room(conn, table)
    statement, params = _insert(table, build_row(table, world.b, world.rows[world.b]), tail)
    return list(conn.execute(statement, params).fetchall())


def test_no_tenant_set_sees_nothing_and_raises_nothing(world: World, conn: psycopg.Connection) -> None:
    problems = []
    with as_tenant(conn, None):
        fresh = conn.execute("SELECT current_setting('app.tenant_id', true)").fetchone()
        problems += _visible_anywhere(conn, world, "in a fresh session")
        problems += _inserts_accepted(conn, world)
    with as_tenant(conn, world.a, keep=True):
        assert all(_fetch(conn, t, world.rows[world.a][t.name]) for t in world.tables), "A cannot see its own rows"
    with as_tenant(conn, None):
        after = conn.execute("SELECT current_setting('app.tenant_id', true)").fetchone()
        problems += _visible_anywhere(conn, world, "after A's transaction committed on this connection")
    assert fresh == (None,), f"a fresh session already has app.tenant_id = {fresh}"
    assert after == ("",), f"after A's transaction app.tenant_id is {after}, want '' (the reset value)"
    assert not problems, _report(problems)


def _visible_anywhere(conn: psycopg.Connection, world: World, when: str) -> list[str]:
    problems = []
    for table in world.tables:
        try:
            with conn.transaction():
                count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table.name))).fetchone()
        except psycopg.Error as exc:
            problems.append(f"{table.name}: SELECT with no tenant raised {exc.sqlstate} {when}")
            continue
        if count != (0,):
            problems.append(f"{table.name}: {count} rows visible with no tenant {when}")
    return problems


def _inserts_accepted(conn: psycopg.Connection, world: World) -> list[str]:
    problems = []
    for table in world.tables:
        state = refusal(conn, *_insert(table, build_row(table, world.a, world.rows[world.a])))
        if state != RLS_REFUSED:
            problems.append(f"{table.name}: INSERT with no tenant gave SQLSTATE {state}, want {RLS_REFUSED}")
    return problems


def test_foreign_keys_cannot_point_into_the_other_tenant(world: World, conn: psycopg.Connection) -> None:
    problems, checked = [], 0
    for table in world.tables:
        for fk in table.foreign_keys:
            if fk.is_tenant_link or fk.parent not in world.rows[world.a]:
                continue
            checked += 1
            row = build_row(table, world.b, world.rows[world.b])
            for column, parent_column in zip(fk.columns, fk.parent_columns, strict=True):
                if column != table.tenant_column:
                    row[column] = world.rows[world.a][fk.parent][parent_column]
            with as_tenant(conn, world.b):
                _make_room(conn, table)
                state = refusal(conn, *_insert(table, row))
            if state != FK_VIOLATION:
                problems.append(f"{table.name}.{fk.name} → A's {fk.parent}: SQLSTATE {state}, want {FK_VIOLATION}")
    assert checked, "no foreign key between tenant tables was exercised"
    assert not problems, _report(problems)
