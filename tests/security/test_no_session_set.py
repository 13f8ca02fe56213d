"""The tenant is set per transaction, never per connection: a session-level setting would ride a pooled connection
into the next request, which would then read and write as the previous caller's tenant.

The lint's rule (runtime code vs migrations, what counts as SQL) is in tests/security/session_settings.py; `make check`
runs the same scan through scripts/check_session_settings.py.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from podsponsor.db import tenancy
from podsponsor.db.bootstrap import DatabaseUrls
from podsponsor.db.urls import with_driver
from tests.security.session_settings import (
    findings_in_python,
    scan,
    session_settings_in_sql,
    set_config_calls,
)

SRC = Path(__file__).resolve().parents[2] / "src"
TENANCY = SRC / "podsponsor" / "db" / "tenancy.py"


@pytest.mark.parametrize(
    ("snippet", "in_runtime", "in_migration"),
    [
        ("SET app.tenant_id = '1'", True, True),
        ("set session app.tenant_id to %s", True, True),
        ("ALTER ROLE podsponsor_app SET app.tenant_id = 'x'", True, True),
        ("SELECT set_config('app.tenant_id', %s, false)", True, True),
        ("SELECT set_config('app.tenant_id', :tenant_id)", True, True),
        ("SELECT set_config(:name, :value, false)", True, True),
        ("SET statement_timeout = '5s'", True, False),
        ("SELECT 1; SET search_path TO pg_catalog, public", True, False),
        ("-- why\nSET lock_timeout TO '2s'", True, False),
        ("SET SESSION idle_in_transaction_session_timeout = 0", True, False),
        ("SET ROLE podsponsor_owner", True, False),
        ("SET SESSION AUTHORIZATION podsponsor_owner", True, False),
        ("SET TIME ZONE 'UTC'", True, False),
        ("RESET ALL", True, False),
        ("RESET app.tenant_id", True, False),
        ("ALTER DATABASE podsponsor SET statement_timeout = '30s'", True, False),
        ("SELECT set_config('search_path', 'public', false)", True, False),
        ("SELECT set_config('app.tenant_id', :tenant_id, true)", False, False),
        ("SELECT set_config('app.tenant_id', coalesce(:t, ''), TRUE)", False, False),
        ("SELECT set_config('statement_timeout', '5s', true)", False, False),
        ("SET LOCAL app.tenant_id = '1'", False, False),
        ("SET LOCAL enable_nestloop = off", False, False),
        ("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", False, False),
        ("SET CONSTRAINTS ALL DEFERRED", False, False),
        ("UPDATE sponsors SET notes = :notes WHERE id = :id", False, False),
        ("INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = EXCLUDED.a", False, False),
        (
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$1$$",
            False,
            False,
        ),
        ("ALTER TABLE sponsors ALTER COLUMN notes SET DEFAULT ''", False, False),
        ("we set app.state.throttle in the factory", False, False),
        ("Reset password", False, False),
        ("Set up to ten codes", False, False),
    ],
)
def test_the_lint_tells_session_settings_from_transaction_settings(
    snippet: str, in_runtime: bool, in_migration: bool
) -> None:
    assert bool(session_settings_in_sql(snippet)) is in_runtime, session_settings_in_sql(snippet)
    found = session_settings_in_sql(snippet, migration=True)
    assert bool(found) is in_migration, found


PLANTED = '''"""Prose about `set_config(..., false)` in a docstring is not SQL."""
from sqlalchemy import func, text

LEAK = text("SET app.tenant_id = :tenant")  # line 4
TIMEOUT = f"SET statement_timeout = {5000}"  # line 5
GOOD = text("SELECT set_config('app.tenant_id', :tenant_id, true)")
LOCAL = func.set_config("app.tenant_id", "x", True)
SESSION = func.set_config("app.tenant_id", "x", False)  # line 8
SPLIT = "SELECT 1; " "RESET ALL"  # line 9
UPSERT = f"""
    INSERT INTO episodes (id) VALUES (:id) ON CONFLICT (id) DO UPDATE
    SET {"title"} = EXCLUDED.title
"""
# a comment that would SET app.tenant_id = 1 on the session  (line 14)
'''


def test_the_lint_finds_planted_offenders_in_python_source() -> None:
    assert [f.line for f in findings_in_python(PLANTED)] == [4, 5, 8, 9, 14]
    assert [f.line for f in findings_in_python(PLANTED, migration=True)] == [4, 8, 14]


def test_the_lint_scans_the_tree_and_exempts_only_migrations(tmp_path: Path) -> None:
    runtime = tmp_path / "podsponsor" / "db" / "pool.py"
    migration = tmp_path / "podsponsor" / "migrations" / "versions" / "2026-01-01_ddl.py"
    raw_sql = tmp_path / "podsponsor" / "schema.sql"
    for path, body in (
        (runtime, 'LOCK = "SET lock_timeout = 100"\n'),
        (migration, 'LOCK = "SET lock_timeout = 100"\nBAD = "SET app.tenant_id = 1"\n'),
        (raw_sql, "SELECT 1;\nSET search_path TO public;\n"),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    assert scan(tmp_path) == [
        "podsponsor/db/pool.py:1: SET lock_timeout = 100",
        "podsponsor/migrations/versions/2026-01-01_ddl.py:2: SET app.tenant_id =",
        "podsponsor/schema.sql:1: SET search_path TO public",
    ]


def test_no_session_level_setting_in_the_source() -> None:
    offenders = scan(SRC)
    assert not offenders, "session-level settings leak to the next user of a pooled connection:\n  " + "\n  ".join(
        offenders
    )


def test_the_lint_would_catch_tenancy_turned_session_level() -> None:
    source = TENANCY.read_text(encoding="utf-8")
    assert not findings_in_python(source)
    leaking = source.replace(":tenant_id, true)", ":tenant_id, false)")
    assert leaking != source, "tenancy.py no longer sets the tenant as this test expects"
    assert [f.statement for f in findings_in_python(leaking)] == ["set_config('app.tenant_id', :tenant_id, false)"]


def test_tenancy_sets_the_tenant_transaction_locally() -> None:
    calls = list(set_config_calls(TENANCY.read_text(encoding="utf-8")))
    assert ["'app.tenant_id'", ":tenant_id", "true"] in calls, f"set_config calls in tenancy.py: {calls}"


@pytest.fixture
async def single_connection_pool(database: DatabaseUrls) -> AsyncIterator[AsyncEngine]:
    """A pool of one, so consecutive transactions are guaranteed to share the connection."""
    engine = create_async_engine(with_driver(database.app), pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


async def _pid_and_tenant(engine: AsyncEngine, tenant: uuid.UUID | None, statement: str) -> tuple[int, str | None]:
    """One request-like transaction: optionally set the tenant the app's way, then read the connection's state."""
    async with async_sessionmaker(engine)() as session, session.begin():
        if tenant is not None:
            await tenancy.set_tenant(session, tenant)
        row = (await session.execute(text(statement))).one()
        return int(row[0]), row[1]


@pytest.mark.isolation
async def test_the_next_transaction_on_a_pooled_connection_has_no_tenant(single_connection_pool: AsyncEngine) -> None:
    tenant = uuid.uuid4()
    read = "SELECT pg_backend_pid(), current_setting('app.tenant_id', true)"
    pid, during = await _pid_and_tenant(single_connection_pool, tenant, read)
    next_pid, after = await _pid_and_tenant(single_connection_pool, None, read)
    assert next_pid == pid, "the pool handed out another connection; the check proves nothing"
    assert during == str(tenant)
    assert after == "", f"the next transaction on the connection still carries tenant {after!r}"
    # The control: the same pool does carry a session-level setting over, which is what the lint above forbids.
    leak = f"SELECT pg_backend_pid(), set_config('app.tenant_id', '{tenant}', false)"
    await _pid_and_tenant(single_connection_pool, None, leak)
    assert (await _pid_and_tenant(single_connection_pool, None, read))[1] == str(tenant)
