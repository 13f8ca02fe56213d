"""Migrations are reviewed code: each runs on a brand-new database, reverses cleanly, and ends where the models are."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from alembic import command
from alembic.script import ScriptDirectory

from podsponsor.db import bootstrap, migrate
from podsponsor.db.bootstrap import DatabaseUrls
from podsponsor.db.urls import libpq_conninfo
from tests.security.schema import KNOWN_TENANT_TABLES, QUEUE_PREFIX

pytestmark = pytest.mark.migrations

OWNER_ROLE = "podsponsor_owner"
RUNTIME_ROLE = "podsponsor_app"

# Everything a migration can create in schema public, in a form that compares across two builds of it.
SNAPSHOT = {
    "relations": "SELECT relname, relkind::text, relrowsecurity, relforcerowsecurity, relacl::text[] FROM pg_class "
    "WHERE relnamespace = 'public'::regnamespace AND relkind <> 'i'",
    "columns": "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
    "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
    "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
    "WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped",
    "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE connamespace = 'public'::regnamespace",
    "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "policies": "SELECT tablename, policyname, cmd, qual, with_check FROM pg_policies WHERE schemaname = 'public'",
    "functions": "SELECT oid::regprocedure::text, prosecdef, proconfig, proacl::text[], md5(prosrc) FROM pg_proc "
    "WHERE pronamespace = 'public'::regnamespace",
    "types": "SELECT typname FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype IN ('e', 'c', 'd')",
    "default privileges": "SELECT defaclobjtype::text, defaclacl::text[] FROM pg_default_acl",
}


@pytest.fixture
def empty(admin_url: str) -> Iterator[DatabaseUrls]:
    """A brand-new database, provisioned the way `podsponsor db init` does it, dropped afterwards."""
    name = f"podsponsor_migrations_{uuid.uuid4().hex[:10]}"
    urls = bootstrap.provision(admin_url, name, OWNER_ROLE, RUNTIME_ROLE)
    yield urls
    bootstrap.drop_database(admin_url, name)


def _revisions() -> list[str]:
    """Every revision, base first; the chain must be linear for step-by-step walking to mean anything."""
    script = ScriptDirectory(str(migrate.MIGRATIONS))
    assert len(script.get_heads()) == 1, f"the migrations have several heads: {script.get_heads()}"
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def _snapshot(owner_url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(libpq_conninfo(owner_url)) as conn:
        return {part: sorted(conn.execute(query).fetchall(), key=repr) for part, query in SNAPSHOT.items()}


def _leftovers(owner_url: str) -> list[str]:
    """Whatever a migration created in schema public and did not take back (alembic's own table aside)."""
    with psycopg.connect(libpq_conninfo(owner_url)) as conn:
        rows = conn.execute(
            "SELECT 'relation ' || relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relname NOT IN ('alembic_version', 'alembic_version_pkc') "
            "UNION ALL SELECT 'function ' || oid::regprocedure::text FROM pg_proc "
            "WHERE pronamespace = 'public'::regnamespace "
            "UNION ALL SELECT 'type ' || typname FROM pg_type WHERE typnamespace = 'public'::regnamespace "
            "AND typtype IN ('e', 'c', 'd') AND typrelid = 0 "
            "UNION ALL SELECT 'policy ' || policyname FROM pg_policies WHERE schemaname = 'public'"
        ).fetchall()
    return sorted(row[0] for row in rows)


def _tables(owner_url: str) -> set[str]:
    with psycopg.connect(libpq_conninfo(owner_url)) as conn:
        return {row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def test_upgrade_from_an_empty_database_reaches_head(empty: DatabaseUrls) -> None:
    assert _tables(empty.owner) == set()
    migrate.upgrade(empty.owner, RUNTIME_ROLE)
    tables = _tables(empty.owner)
    assert migrate.current_revision(empty.owner) == migrate.head_revision() == _revisions()[-1]
    assert tables >= KNOWN_TENANT_TABLES, f"missing after upgrade: {sorted(KNOWN_TENANT_TABLES - tables)}"
    assert any(name.startswith(QUEUE_PREFIX) for name in tables), "the job queue's tables were not created"
    assert migrate.current_revision(empty.app) == migrate.head_revision(), "the runtime role cannot read /ready"


def test_downgrade_to_base_removes_everything_and_upgrade_rebuilds_the_same_schema(empty: DatabaseUrls) -> None:
    migrate.upgrade(empty.owner, RUNTIME_ROLE)
    first = _snapshot(empty.owner)
    migrate.downgrade(empty.owner, RUNTIME_ROLE, "base")
    assert migrate.current_revision(empty.owner) is None
    assert _leftovers(empty.owner) == [], "the downgrade to base left these behind"
    assert migrate.current_revision(empty.app) is None, "the runtime role lost read access to alembic_version"
    migrate.upgrade(empty.owner, RUNTIME_ROLE)
    again = _snapshot(empty.owner)
    changed = {part: (first[part], again[part]) for part in SNAPSHOT if first[part] != again[part]}
    assert not changed, f"the round trip changed the schema: {changed}"


def test_head_schema_matches_the_models(empty: DatabaseUrls) -> None:
    """`alembic check`: autogenerate would produce no new operation, so no model change lacks a migration."""
    migrate.upgrade(empty.owner, RUNTIME_ROLE)
    command.check(migrate.alembic_config(empty.owner, RUNTIME_ROLE))  # raises when a migration is missing
    assert migrate.current_revision(empty.owner) == migrate.head_revision()


def test_every_revision_steps_down_and_up_one_at_a_time(empty: DatabaseUrls) -> None:
    revisions = _revisions()
    migrate.upgrade(empty.owner, RUNTIME_ROLE)
    for below in [*reversed(revisions[:-1]), None]:
        migrate.downgrade(empty.owner, RUNTIME_ROLE, "-1")
        assert migrate.current_revision(empty.owner) == below
        assert migrate.current_revision(empty.app) == below, f"the runtime role cannot read the version at {below}"
    assert _leftovers(empty.owner) == []
    for revision in revisions:
        migrate.upgrade(empty.owner, RUNTIME_ROLE, "+1")
        assert migrate.current_revision(empty.owner) == revision
        assert migrate.current_revision(empty.app) == revision, (
            f"the runtime role cannot read the version at {revision}"
        )
