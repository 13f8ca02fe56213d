"""The tenant tables as PostgreSQL's catalog describes them (not as the models say), for the audit and the matrix.

Every table in schema public is tenant data except `alembic_version` (one row of migration state), procrastinate's
queue tables (infrastructure shared by all tenants; see the audit for what they may hold) and the measurement
reference lists (public OPAWG/ipcat data every tenant's counts use; the audit proves they hold nothing of a tenant).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

TENANT_ROOT = "tenants"
NOT_TENANT_DATA = frozenset({"alembic_version"})
QUEUE_PREFIX = "procrastinate_"
REFERENCE_TABLES = frozenset({"reference_list_versions", "reference_list_entries"})
# Every tenant table at head, named so that the audit and the matrix fail if one of them stops being seen (a rename
# into an exempt name, a drop without review). A new table is audited without being listed here.
KNOWN_TENANT_TABLES = frozenset(
    {
        # identity
        "tenants",
        "users",
        "api_keys",
        "recovery_codes",
        "audit_log",
        "feature_flags",
        "idempotency_keys",
        # events and webhooks
        "events",
        "webhook_endpoints",
        "webhook_deliveries",
        "webhook_attempts",
        # catalog
        "podcasts",
        "episodes",
        "episode_transcripts",
        # sales
        "sponsors",
        "campaigns",
        "deal_stage_changes",
        "campaign_share_links",
        # bookings
        "ad_units",
        "insertion_orders",
        "io_placements",
        "makegoods",
        "vanity_clicks",
        # measurement
        "download_requests",
        "downloads",
        "download_tallies",
        "count_runs",
        "log_imports",
        "log_requests",
        "unknown_user_agents",
        # metrics and dashboards
        "metrics_daily",
        "etl_imports",
        "dashboard_download_days",
        # attribution
        "conversion_sources",
        "conversion_deliveries",
        "conversions",
        "pixel_events",
        "attribution_models",
        "attribution_runs",
        "attribution_paths",
        "attribution_credits",
        "attribution_validations",
        # matching
        "matches",
        "match_briefs",
        "match_runs",
    }
)
# The job queue's tables (procrastinate's schema): a new one fails the audit until someone has looked at it.
QUEUE_TABLES = frozenset(
    {"procrastinate_jobs", "procrastinate_events", "procrastinate_periodic_defers", "procrastinate_workers"}
)


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # format_type(), e.g. "character varying(320)[]"
    base_type: str  # pg_type.typname of the column, or of the element for arrays
    is_array: bool
    typmod: int
    not_null: bool
    has_default: bool
    identity: bool

    @property
    def max_length(self) -> int | None:
        return self.typmod - 4 if self.base_type in {"varchar", "bpchar"} and self.typmod >= 4 else None

    @property
    def numeric_digits(self) -> tuple[int, int] | None:
        """(precision, scale) of a constrained numeric, else None."""
        if self.base_type != "numeric" or self.typmod < 4:
            return None
        mod = self.typmod - 4
        return (mod >> 16) & 0xFFFF, mod & 0xFFFF


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]

    @property
    def is_tenant_link(self) -> bool:
        """The plain `tenant_id → tenants.id` link that every tenant table has."""
        return self.parent == TENANT_ROOT and self.columns == ("tenant_id",) and self.parent_columns == ("id",)


@dataclass(frozen=True)
class Table:
    name: str
    oid: int
    columns: dict[str, Column]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...]

    @property
    def tenant_column(self) -> str:
        """The column the RLS policy compares with the current tenant: the key itself for `tenants`."""
        return "id" if self.name == TENANT_ROOT else "tenant_id"


def is_tenant_table(name: str) -> bool:
    return name not in NOT_TENANT_DATA | REFERENCE_TABLES and not name.startswith(QUEUE_PREFIX)


# Partitions are left out: rows are read and written through the partitioned parent, whose RLS policy governs
# them (a partition's own RLS is not consulted there), and the runtime role holds no grant on any partition; the
# audit proves both (test_partitions_are_reachable_only_through_their_parent).
TABLES = """
SELECT c.oid, c.relname FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname
"""

COLUMNS = """
SELECT a.attrelid, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
       coalesce(e.typname, t.typname), e.oid IS NOT NULL, a.atttypmod, a.attnotnull,
       a.atthasdef OR a.attgenerated <> '' OR a.attidentity <> '', a.attidentity <> ''
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""

CONSTRAINTS = """
SELECT con.conrelid, con.conname, con.contype, con.conkey, p.relname, con.confkey
FROM pg_constraint con LEFT JOIN pg_class p ON p.oid = con.confrelid
WHERE con.conrelid = ANY(%s) AND con.contype IN ('p', 'f')
ORDER BY con.conname
"""


def all_tables(conn: psycopg.Connection) -> dict[str, int]:
    """Every ordinary or partitioned table in schema public (partitions aside), tenant data or not: name → oid."""
    return {name: oid for oid, name in conn.execute(TABLES)}


def tenant_tables(conn: psycopg.Connection) -> dict[str, Table]:
    oids = {name: oid for name, oid in all_tables(conn).items() if is_tenant_table(name)}
    columns: dict[int, dict[int, Column]] = {oid: {} for oid in oids.values()}
    for relid, attnum, name, sql_type, base, is_array, typmod, not_null, has_default, identity in conn.execute(
        COLUMNS, [list(oids.values())]
    ):
        columns[relid][attnum] = Column(name, sql_type, base, is_array, typmod, not_null, has_default, identity)
    parent_columns = _column_names(conn)
    keys: dict[int, tuple[str, ...]] = {}
    links: dict[int, list[ForeignKey]] = {oid: [] for oid in oids.values()}
    for relid, name, kind, conkey, parent, confkey in conn.execute(CONSTRAINTS, [list(oids.values())]):
        own = tuple(columns[relid][n].name for n in conkey)
        if kind == "p":
            keys[relid] = own
        else:
            links[relid].append(ForeignKey(name, own, parent, tuple(parent_columns[parent][n] for n in confkey)))
    return {
        name: Table(
            name,
            oid,
            {col.name: col for col in columns[oid].values()},
            keys.get(oid, ()),
            tuple(links[oid]),
        )
        for name, oid in oids.items()
    }


def _column_names(conn: psycopg.Connection) -> dict[str, dict[int, str]]:
    """attnum → name for every table in public (foreign keys may point at any of them)."""
    names: dict[str, dict[int, str]] = {}
    for table, attnum, name in conn.execute(
        "SELECT c.relname, a.attnum, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped"
    ):
        names.setdefault(table, {})[attnum] = name
    return names
