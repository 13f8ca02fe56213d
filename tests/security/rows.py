"""Sample rows for any tenant table, built from the catalog: a new table is filled without anyone writing a factory.

A column is filled when it is NOT NULL without a default, part of a foreign key, or named in OVERRIDES. Values come
from the column's type; a CHECK that wants a specific value needs an OVERRIDES entry, and a type this module does not
know fails with a message that says so.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from tests.security.schema import Column, Table

# Values that CHECK constraints demand. Columns with a default are listed too, so that dropping the default in a
# migration does not silently change what the matrix inserts.
OVERRIDES: dict[tuple[str, str], Any] = {
    ("tenants", "kind"): "network",
    ("users", "role"): "owner",
    ("api_keys", "role"): "owner",
    ("campaigns", "stage"): "lead",
    ("sponsors", "brand_safety"): "moderate",
    ("etl_imports", "status"): "pending",
    ("etl_imports", "origin"): "upload",
    ("download_requests", "method"): "GET",
    # A hit must fall in an existing day partition; the migration creates yesterday to two days ahead.
    ("download_requests", "ts"): datetime.now(UTC),
    ("downloads", "source_kind"): "prefix",
    ("downloads", "window_type"): "calendar_day",
    ("download_tallies", "source_kind"): "prefix",
    ("download_tallies", "requests"): 1,
    ("count_runs", "status"): "completed",
    ("count_runs", "window_type"): "calendar_day",
    ("log_imports", "format"): "cloudfront",
    ("log_imports", "status"): "completed",
    ("ad_units", "position"): "mid",
    ("ad_units", "length_seconds"): 60,
    ("ad_units", "read_type"): "host_read",
    ("ad_units", "insertion"): "baked_in",
    ("ad_units", "rate_cpm_cents"): 2500,
    ("insertion_orders", "pricing_model"): "cpm",
    ("insertion_orders", "pacing_mode"): "even",
    ("insertion_orders", "status"): "scheduled",
    ("insertion_orders", "impression_goal"): 10000,
    ("makegoods", "shortfall_impressions"): 100,
    ("deal_stage_changes", "to_stage"): "lead",
    ("conversion_sources", "kind"): "shopify",
    ("conversion_deliveries", "outcome"): "stored",
    ("conversions", "kind"): "purchase",
    ("pixel_events", "event"): "purchase",
    ("attribution_models", "model"): "linear",
    ("attribution_models", "lookback_days"): 30,
    ("attribution_runs", "status"): "completed",
    ("attribution_paths", "match_type"): "household",
    ("attribution_credits", "model"): "linear",
    ("attribution_credits", "match_type"): "household",
    ("attribution_credits", "credit"): 1.0,
    ("attribution_validations", "model"): "linear",
    ("attribution_validations", "ground_truth"): "promo_code",
    ("sponsors", "attribution_lookback_days"): 30,
    ("match_runs", "scope"): "tenant",
    ("matches", "score"): Decimal("50.00"),
    ("episode_transcripts", "format"): "text",
    ("campaign_share_links", "expires_at"): datetime(2100, 1, 1, tzinfo=UTC),
    ("webhook_deliveries", "status"): "pending",
}

# Tables whose unique key is made of references and CHECK-fixed values only (one IO per ad unit and episode; one
# model of each kind per campaign; one match, brief or transcript per pair, sponsor or episode): a tenant's second
# row would repeat it, so the matrix clears the tenant's own rows of these (inside its rolled-back transaction) first.
UNIQUE_BY_REFERENCES = frozenset(
    {"io_placements", "attribution_models", "matches", "match_briefs", "episode_transcripts", "webhook_deliveries"}
)

TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "citext"})


class CannotFill(Exception):
    """The generator has no value for a column: add an OVERRIDES entry (or a type below)."""


def fill_order(tables: dict[str, Table]) -> list[Table]:
    """Parents before children, by foreign key; a cycle cannot be filled."""
    ordered: list[Table] = []
    placed: set[str] = set()
    pending = dict(sorted(tables.items()))
    while pending:
        ready = [t for t in pending.values() if (_parents(t) & set(tables)) - {t.name} <= placed]
        if not ready:
            raise CannotFill(f"foreign keys form a cycle among {sorted(pending)}; give one link a nullable column")
        for table in ready:
            ordered.append(table)
            placed.add(table.name)
            del pending[table.name]
    return ordered


def _parents(table: Table) -> set[str]:
    return {fk.parent for fk in table.foreign_keys}


def build_row(table: Table, tenant_id: uuid.UUID, parents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A new row of `table` for `tenant_id`; `parents` holds one existing row per table of the same tenant."""
    row: dict[str, Any] = {table.tenant_column: tenant_id}
    for fk in table.foreign_keys:
        if fk.is_tenant_link:
            continue
        if fk.parent not in parents or fk.parent == table.name:
            if any(table.columns[c].not_null for c in fk.columns if c != table.tenant_column):
                raise CannotFill(f"{table.name}.{fk.name} needs a row of {fk.parent}, which could not be made")
            continue
        for name, parent_column in zip(fk.columns, fk.parent_columns, strict=True):
            row.setdefault(name, parents[fk.parent][parent_column])
    for column in table.columns.values():
        if column.name in row:
            continue
        if (table.name, column.name) in OVERRIDES:
            row[column.name] = OVERRIDES[(table.name, column.name)]
        elif column.not_null and not column.has_default:
            row[column.name] = value_for(table.name, column)
    return row


def value_for(table: str, column: Column) -> Any:
    """A fresh value of the column's type; text is unique enough for unique keys."""
    single = _scalar(column)
    if single is None:
        raise CannotFill(
            f"{table}.{column.name} ({column.sql_type}) has no default and the generator knows no value for it: "
            f"add ({table!r}, {column.name!r}) to OVERRIDES in tests/security/rows.py"
        )
    return [single] if column.is_array else single


def _scalar(column: Column) -> Any:
    base = column.base_type
    if base == "uuid":
        return uuid.uuid4()
    if base in TEXT_TYPES:
        text = f"{uuid.uuid4().hex}-{column.name}"
        return text[: column.max_length] if column.max_length else text
    if base in {"int2", "int4", "int8"}:
        return 1
    if base in {"float4", "float8"}:
        return 1.0
    if base == "numeric":
        digits = column.numeric_digits
        return Decimal(0) if digits and digits[0] == digits[1] else Decimal(1)
    if base == "bool":
        return False
    if base == "date":
        return date(2026, 1, 1)
    if base in {"timestamptz", "timestamp"}:
        return datetime(2026, 1, 1, tzinfo=UTC) if base == "timestamptz" else datetime(2026, 1, 1)
    if base in {"jsonb", "json"}:
        return Jsonb({})
    return None


def mutable_column(table: Table) -> str:
    """A column the matrix can change to prove an UPDATE did nothing: plain data, no key, no CHECK override."""
    keys = set(table.primary_key) | {c for fk in table.foreign_keys for c in fk.columns} | {table.tenant_column}
    candidates = [
        c
        for c in table.columns.values()
        if c.name not in keys and (table.name, c.name) not in OVERRIDES and _scalar(c) is not None
    ]
    texts = [c for c in candidates if c.base_type in TEXT_TYPES and not c.is_array]
    chosen = (texts or candidates)[:1]
    return chosen[0].name if chosen else table.tenant_column
