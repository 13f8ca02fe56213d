"""The schema as PostgreSQL sees it, audited table by table: a new table cannot skip tenant isolation.

Every check reads pg_catalog at head, so a table added by a migration (with or without a model) is audited without
anyone listing it here. Failures name every offending table, constraint or function at once.
"""

from __future__ import annotations

import re

import psycopg
import pytest
from sqlalchemy.engine import make_url

from podsponsor.db.bootstrap import DatabaseUrls
from tests.security.schema import (
    KNOWN_TENANT_TABLES,
    NOT_TENANT_DATA,
    QUEUE_PREFIX,
    QUEUE_TABLES,
    REFERENCE_TABLES,
    TENANT_ROOT,
    Table,
    all_tables,
)

pytestmark = pytest.mark.isolation

CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"

# A tenant's slug is its public sign-in handle, unique across the platform by design: anyone may learn that a
# slug is taken (sign-up says so), so this uniqueness reveals nothing a tenant owns.
# A show's prefix token is looked up without a tenant by the public redirect (/p/<token>/...), so it must be unique
# across the platform. It is 96 random bits, published in the show's feed by design: that a token exists says nothing
# a tenant keeps private, and no one can guess one to probe with.
# A campaign share link is opened without a tenant, by the SHA-256 of a 256-bit random token: no one can produce a
# hash to probe with, and a collision would be the only thing its uniqueness could reveal.
GLOBAL_UNIQUE_KEYS = frozenset(
    {
        ("tenants", "uq_tenants_slug"),
        ("podcasts", "uq_podcasts_prefix_token"),
        ("campaign_share_links", "uq_campaign_share_links_token_hash"),
    }
)


def _loose(expression: str) -> str:
    """pg_get_expr output and hand-written SQL compared without casts to text, brackets, spacing or case."""
    return re.sub(r"[\s()]", "", expression.replace("::text", "")).lower()


def _report(problems: list[str]) -> str:
    return "\n  ".join(["", *problems])


def test_audit_covers_every_known_tenant_table(catalog: dict[str, Table], owner_conn: psycopg.Connection) -> None:
    missing = KNOWN_TENANT_TABLES - set(catalog)
    assert catalog, "the audit found no tenant tables: every check below would pass vacuously"
    assert not missing, f"tables the audit should see but does not: {sorted(missing)}"
    exempt = set(all_tables(owner_conn)) - set(catalog)
    unreviewed = exempt - NOT_TENANT_DATA - REFERENCE_TABLES - QUEUE_TABLES
    assert not unreviewed, f"tables exempt from the audit by name alone (see tests/security/schema.py): {unreviewed}"


def test_no_tables_outside_schema_public(owner_conn: psycopg.Connection) -> None:
    elsewhere = owner_conn.execute(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN ('public', 'pg_catalog', "
        "'information_schema') AND n.nspname NOT LIKE 'pg_toast%%' AND n.nspname NOT LIKE 'pg_temp%%'"
    ).fetchall()
    assert not elsewhere, f"relations the audit would not see (it reads schema public): {elsewhere}"


def test_every_table_has_a_not_null_uuid_tenant_column(catalog: dict[str, Table]) -> None:
    problems = []
    for table in catalog.values():
        column = table.columns.get(table.tenant_column)
        if column is None or column.sql_type != "uuid" or not column.not_null:
            found = "missing" if column is None else f"{column.sql_type}, not null={column.not_null}"
            problems.append(f"{table.name}.{table.tenant_column}: want uuid NOT NULL, found {found}")
    assert not problems, _report(problems)


def test_row_level_security_is_enabled_and_forced(catalog: dict[str, Table], owner_conn: psycopg.Connection) -> None:
    rows = owner_conn.execute(
        "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = ANY(%s)",
        [[t.oid for t in catalog.values()]],
    ).fetchall()
    problems = [
        f"{name}: enabled={enabled}, forced={forced}" for name, enabled, forced in rows if not enabled or not forced
    ]
    assert len(rows) == len(catalog)
    assert not problems, "tables without ENABLE + FORCE ROW LEVEL SECURITY:" + _report(problems)


def test_every_policy_reads_the_transaction_tenant(catalog: dict[str, Table], owner_conn: psycopg.Connection) -> None:
    policies: dict[str, list[tuple[str, str, str | None, str | None]]] = {name: [] for name in catalog}
    for table, name, command, using, check in owner_conn.execute(
        "SELECT c.relname, p.polname, p.polcmd::text, pg_get_expr(p.polqual, p.polrelid), "
        "pg_get_expr(p.polwithcheck, p.polrelid) FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid "
        "WHERE p.polrelid = ANY(%s)",
        [[t.oid for t in catalog.values()]],
    ):
        policies[table].append((name, command, using, check))
    problems = [
        f"{table}: no policy at all (FORCE RLS would hide every row)" for table, found in policies.items() if not found
    ]
    for table, found in policies.items():
        expected = _loose(f"{catalog[table].tenant_column} = {CURRENT_TENANT}")
        for name, command, using, check in found:
            # An ALL/UPDATE policy without WITH CHECK checks new rows with its USING expression.
            effective_check = check if check is not None or command not in ("*", "w") else using
            if command != "a" and (using is None or _loose(using) != expected):
                problems.append(f"{table}.{name} ({command}) USING {using}")
            if command in ("*", "w", "a") and (effective_check is None or _loose(effective_check) != expected):
                problems.append(f"{table}.{name} ({command}) WITH CHECK {check}")
    assert not problems, f"policies must read exactly `<tenant column> = {CURRENT_TENANT}`:" + _report(problems)


def test_unique_constraints_and_indexes_include_the_tenant(
    catalog: dict[str, Table], owner_conn: psycopg.Connection
) -> None:
    uniques = owner_conn.execute(
        "SELECT c.relname, i.relname, 'index', ARRAY(SELECT a.attname::text FROM pg_attribute a "
        "  WHERE a.attrelid = x.indrelid AND a.attnum = ANY(x.indkey::int2[])) "
        "FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indisunique AND x.indrelid = ANY(%(oids)s) "
        "UNION ALL "
        "SELECT c.relname, con.conname, 'constraint', ARRAY(SELECT a.attname::text FROM pg_attribute a "
        "  WHERE a.attrelid = con.conrelid AND a.attnum = ANY(con.conkey)) "
        "FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
        "WHERE con.contype IN ('u', 'p', 'x') AND con.conrelid = ANY(%(oids)s)",
        {"oids": [t.oid for t in catalog.values()]},
    ).fetchall()
    assert {name for _, name, _, _ in uniques} >= {"uq_users_tenant_id_email", "uq_sponsors_tenant_name"}
    problems = [
        f"{table}: {kind} {name} on {columns}"
        for table, name, kind, columns in uniques
        if catalog[table].tenant_column not in columns and (table, name) not in GLOBAL_UNIQUE_KEYS
    ]
    assert not problems, "a unique key without the tenant is an existence oracle across tenants:" + _report(problems)


def test_foreign_keys_carry_the_tenant_on_both_sides(catalog: dict[str, Table]) -> None:
    problems = []
    checked = 0
    for table in catalog.values():
        for fk in table.foreign_keys:
            if fk.is_tenant_link:
                continue
            checked += 1
            parent_tenant = "id" if fk.parent == TENANT_ROOT else "tenant_id"
            if (table.tenant_column, parent_tenant) not in zip(fk.columns, fk.parent_columns, strict=True):
                problems.append(f"{table.name}.{fk.name}: {fk.columns} → {fk.parent}{fk.parent_columns}")
    assert checked, "no foreign key besides tenant_id → tenants.id was audited"
    assert not problems, "foreign keys that could point into another tenant:" + _report(problems)


def test_every_table_links_to_its_tenant(catalog: dict[str, Table]) -> None:
    orphans = [
        t.name
        for t in catalog.values()
        if t.name != TENANT_ROOT and not any(fk.is_tenant_link for fk in t.foreign_keys)
    ]
    assert not orphans, f"tables whose tenant_id does not reference tenants.id: {orphans}"


def test_primary_keys_are_uuids_and_nothing_counts(catalog: dict[str, Table], owner_conn: psycopg.Connection) -> None:
    problems = [f"{t.name}: no primary key" for t in catalog.values() if not t.primary_key]
    partition_keys = _partition_keys(owner_conn)
    for table in catalog.values():
        problems += [
            f"{table.name}.{name}: primary key column of type {table.columns[name].sql_type}"
            for name in table.primary_key
            if table.columns[name].sql_type != "uuid" and name not in partition_keys.get(table.name, ())
        ]
        if table.name in partition_keys and not {"id", table.tenant_column} <= set(table.primary_key):
            problems.append(f"{table.name}: a partitioned table's key is still its uuid id and the tenant")
        problems += [f"{table.name}.{c.name}: identity column" for c in table.columns.values() if c.identity]
    problems += [
        f"{table}.{column}: default {default}"
        for table, column, default in owner_conn.execute(
            "SELECT c.relname, a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d "
            "JOIN pg_class c ON c.oid = d.adrelid JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
            "WHERE d.adrelid = ANY(%s) AND pg_get_expr(d.adbin, d.adrelid) ILIKE '%%nextval(%%'",
            [[t.oid for t in catalog.values()]],
        )
    ]
    assert not problems, "sequential ids leak volumes and are guessable; keys are UUIDs:" + _report(problems)


def _partition_keys(conn: psycopg.Connection) -> dict[str, tuple[str, ...]]:
    """PostgreSQL requires a partitioned table's partition key in every unique key, its primary key included: those
    columns may be of any type; the row's identity stays the uuid `id` with the tenant."""
    return {
        table: tuple(columns)
        for table, columns in conn.execute(
            "SELECT c.relname, ARRAY(SELECT a.attname::text FROM pg_attribute a "
            "  WHERE a.attrelid = p.partrelid AND a.attnum = ANY(p.partattrs::int2[])) "
            "FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "WHERE c.relnamespace = 'public'::regnamespace"
        )
    }


def test_partitions_are_reachable_only_through_their_parent(
    database: DatabaseUrls, catalog: dict[str, Table], owner_conn: psycopg.Connection
) -> None:
    """The audit skips partitions (tests/security/schema.py): that is safe only while the parent is an audited
    tenant table and the runtime role cannot name a partition directly, where the parent's policy would not apply."""
    partitions = owner_conn.execute(
        "SELECT c.relname, parent.relname, "
        "  ARRAY(SELECT p FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p "
        "    WHERE has_table_privilege(%s, c.oid, p)) "
        "FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid JOIN pg_class parent ON parent.oid = i.inhparent "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relispartition AND c.relkind IN ('r', 'p')",
        [_runtime_role(database)],
    ).fetchall()
    assert partitions, "no partition found: the hits table should have day partitions from its migration"
    problems = [
        f"{name} of {parent}: not an audited tenant table" for name, parent, _ in partitions if parent not in catalog
    ]
    problems += [f"{name}: the runtime role may {granted}" for name, _, granted in partitions if granted]
    assert not problems, "partitions the runtime role could reach around its parent's policy:" + _report(problems)


def test_queue_tables_hold_no_tenant_columns(owner_conn: psycopg.Connection) -> None:
    """procrastinate's tables are shared infrastructure without RLS: a job row carries a task name and ids (the
    task reopens a tenant transaction for its tenant), never a tenant's data and never a link into it."""
    queue = {name: oid for name, oid in all_tables(owner_conn).items() if name.startswith(QUEUE_PREFIX)}
    assert queue, "the job queue's tables are missing"
    tenantish = owner_conn.execute(
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped AND a.attname ILIKE '%%tenant%%'",
        [list(queue.values())],
    ).fetchall()
    links = owner_conn.execute(
        "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint WHERE contype = 'f' "
        "AND ((conrelid = ANY(%(queue)s) AND NOT confrelid = ANY(%(queue)s)) "
        "  OR (confrelid = ANY(%(queue)s) AND NOT conrelid = ANY(%(queue)s)))",
        {"queue": list(queue.values())},
    ).fetchall()
    assert not tenantish, f"queue tables with tenant columns must be tenant tables under RLS: {tenantish}"
    assert not links, f"foreign keys between the queue and tenant data: {links}"


def test_reference_tables_hold_no_tenant_data(database: DatabaseUrls, owner_conn: psycopg.Connection) -> None:
    """The measurement reference lists (tests/security/schema.py REFERENCE_TABLES) are exempt from tenant isolation:
    they hold public OPAWG and ipcat data that every tenant's counts read. That is safe only while they carry no
    tenant column, no link to or from tenant data, and the runtime role can only add to them: a loaded version is
    what a count's recorded version id refers to, so nobody may rewrite or delete it."""
    tables = {name: oid for name, oid in all_tables(owner_conn).items() if name in REFERENCE_TABLES}
    assert set(tables) == REFERENCE_TABLES, f"reference tables missing: {sorted(REFERENCE_TABLES - set(tables))}"
    tenantish = owner_conn.execute(
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped AND a.attname ILIKE '%%tenant%%'",
        [list(tables.values())],
    ).fetchall()
    links = owner_conn.execute(
        "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint WHERE contype = 'f' "
        "AND ((conrelid = ANY(%(ref)s) AND NOT confrelid = ANY(%(ref)s)) "
        "  OR (confrelid = ANY(%(ref)s) AND NOT conrelid = ANY(%(ref)s)))",
        {"ref": list(tables.values())},
    ).fetchall()
    rewrites = owner_conn.execute(
        "SELECT c.relname, p.privilege FROM pg_class c "
        "CROSS JOIN unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE']) AS p(privilege) "
        "WHERE c.oid = ANY(%s) AND has_table_privilege(%s, c.oid, p.privilege)",
        [list(tables.values()), _runtime_role(database)],
    ).fetchall()
    assert not tenantish, f"reference tables with tenant columns must be tenant tables under RLS: {tenantish}"
    assert not links, f"foreign keys between reference lists and tenant data: {links}"
    assert not rewrites, f"the runtime role may rewrite loaded reference lists: {rewrites}"


def _runtime_role(database: DatabaseUrls) -> str:
    role = make_url(database.app).username
    assert role, "the runtime URL names no role"
    return role


def test_runtime_role_has_no_power_beyond_rows(database: DatabaseUrls, owner_conn: psycopg.Connection) -> None:
    role = _runtime_role(database)
    found = owner_conn.execute(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, "
        "  ARRAY(SELECT m.roleid::regrole::text FROM pg_auth_members m WHERE m.member = r.oid), "
        "  has_schema_privilege(r.oid, 'public', 'CREATE') "
        "FROM pg_roles r WHERE rolname = %s",
        [role],
    ).fetchone()
    assert found is not None, f"role {role} does not exist"
    superuser, bypass, create_role, create_db, member_of, create_in_public = found
    assert not superuser, f"{role} is a superuser"
    assert not bypass, f"{role} has BYPASSRLS"
    assert not create_role, f"{role} may create roles"
    assert not create_db, f"{role} may create databases"
    assert member_of == [], f"{role} can SET ROLE to {member_of} and act with its rights"
    assert not create_in_public, f"{role} may create objects in schema public (and would own them)"


def test_runtime_role_owns_nothing(database: DatabaseUrls, owner_conn: psycopg.Connection) -> None:
    owned = owner_conn.execute(
        "SELECT 'relation ' || oid::regclass::text FROM pg_class WHERE relowner = %(role)s::regrole "
        "UNION ALL SELECT 'function ' || oid::regprocedure::text FROM pg_proc WHERE proowner = %(role)s::regrole "
        "UNION ALL SELECT 'schema ' || nspname FROM pg_namespace WHERE nspowner = %(role)s::regrole "
        "UNION ALL SELECT 'database ' || datname FROM pg_database WHERE datdba = %(role)s::regrole",
        {"role": _runtime_role(database)},
    ).fetchall()
    assert not owned, f"an owner bypasses FORCE RLS checks on its own grants and can ALTER/DROP: {owned}"


def test_runtime_role_cannot_truncate_reference_or_trigger(
    database: DatabaseUrls, owner_conn: psycopg.Connection
) -> None:
    role = _runtime_role(database)
    granted = owner_conn.execute(
        "SELECT c.relname, p.privilege FROM pg_class c "
        "CROSS JOIN unnest(ARRAY['TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p(privilege) "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'f') "
        "AND has_table_privilege(%s, c.oid, p.privilege)",
        [role],
    ).fetchall()
    readable = owner_conn.execute(
        "SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' "
        "AND has_table_privilege(%s, c.oid, 'SELECT')",
        [role],
    ).fetchone()
    assert readable is not None
    assert readable[0] > 0, f"{role} can read no table: the privilege check proves nothing"
    assert not granted, f"TRUNCATE ignores RLS; REFERENCES/TRIGGER let {role} probe or alter others' rows: {granted}"


def test_security_definer_functions_pin_search_path_and_are_not_public(owner_conn: psycopg.Connection) -> None:
    functions = owner_conn.execute(
        "SELECT p.oid::regprocedure::text, p.proconfig, "
        "  p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a "
        "    WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE') "
        "FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.prosecdef"
    ).fetchall()
    assert any(sig.startswith("auth_find_logins(") for sig, _, _ in functions), "the sign-in lookup was not audited"
    problems = []
    for signature, config, public in functions:
        if not any(setting.startswith("search_path=") for setting in config or []):
            problems.append(f"{signature}: search_path not pinned (proconfig={config})")
        if public:
            problems.append(f"{signature}: executable by PUBLIC")
    assert not problems, "SECURITY DEFINER functions run with the owner's BYPASSRLS:" + _report(problems)


def test_no_materialized_views_and_views_are_security_invoker(owner_conn: psycopg.Connection) -> None:
    materialized = owner_conn.execute(
        "SELECT oid::regclass::text FROM pg_class WHERE relkind = 'm' "
        "AND relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)"
    ).fetchall()
    definer_views = owner_conn.execute(
        "SELECT relname, reloptions FROM pg_class WHERE relkind = 'v' AND relnamespace = 'public'::regnamespace "
        "AND NOT coalesce(reloptions && ARRAY['security_invoker=true', 'security_invoker=on', "
        "'security_invoker=1', 'security_invoker=yes'], false)"
    ).fetchall()
    assert not materialized, f"materialized views have no RLS and would copy every tenant's rows: {materialized}"
    assert not definer_views, (
        f"views must be security_invoker, or they read with their owner's BYPASSRLS: {definer_views}"
    )
