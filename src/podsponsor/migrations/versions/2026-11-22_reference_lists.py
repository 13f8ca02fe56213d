"""measurement reference lists and user-agent review queue

Reference lists are global public data (no tenant, no RLS); the runtime role loads them (`podsponsor lists update`)
and may insert versions and entries and switch which version is active, but never edit or delete a loaded entry,
so a count's recorded version always means the same lists. The review queue is tenant data under RLS.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from podsponsor.db.rls import drop_tenant_rls, tenant_rls
from podsponsor.db.runtime_role import runtime_role

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = "kind IN ('bots', 'apps', 'libraries', 'browsers', 'devices', 'referrers', 'prefixes', 'datacenters')"
LABELS = "label IS NULL OR label IN ('bot', 'app', 'browser', 'library', 'ignore')"


def upgrade() -> None:
    op.create_table(
        "reference_list_versions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.CheckConstraint("entry_count >= 0", name=op.f("ck_reference_list_versions_entry_count")),
        sa.CheckConstraint(KINDS, name=op.f("ck_reference_list_versions_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_list_versions")),
    )
    op.create_index(
        "uq_reference_list_versions_active_kind",
        "reference_list_versions",
        ["kind"],
        unique=True,
        postgresql_where=sa.text("active"),
    )
    op.create_index(
        "uq_reference_list_versions_kind_sha256", "reference_list_versions", ["kind", "sha256"], unique=True
    )
    op.create_table(
        "reference_list_entries",
        sa.Column("version_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("pattern", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("range_start", sa.BigInteger(), nullable=True),
        sa.Column("range_end", sa.BigInteger(), nullable=True),
        sa.Column("attributes", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["reference_list_versions.id"],
            name=op.f("fk_reference_list_entries_version_id_reference_list_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "position", name=op.f("pk_reference_list_entries")),
    )
    op.create_table(
        "unknown_user_agents",
        sa.Column("user_agent", sa.String(length=512), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("hits", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("label", sa.String(length=10), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("labelled_by", sa.UUID(), nullable=True),
        sa.Column("labelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "(label IS NULL) = (labelled_at IS NULL)", name=op.f("ck_unknown_user_agents_labelled_when")
        ),
        sa.CheckConstraint("hits >= 0", name=op.f("ck_unknown_user_agents_hits")),
        sa.CheckConstraint(LABELS, name=op.f("ck_unknown_user_agents_label")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_unknown_user_agents_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_unknown_user_agents")),
    )
    op.create_index("ix_unknown_user_agents_tenant_hits", "unknown_user_agents", ["tenant_id", "hits"], unique=False)
    op.create_index(
        "uq_unknown_user_agents_tenant_user_agent", "unknown_user_agents", ["tenant_id", "user_agent"], unique=True
    )
    for statement in tenant_rls("unknown_user_agents"):
        op.execute(statement)
    role = f'"{runtime_role()}"'
    # The default privileges grant every verb; loaded lists are append-only for the runtime role.
    op.execute(f"REVOKE UPDATE, DELETE ON reference_list_entries FROM {role}")
    op.execute(f"REVOKE UPDATE, DELETE ON reference_list_versions FROM {role}")
    op.execute(f"GRANT UPDATE (active, activated_at) ON reference_list_versions TO {role}")


def downgrade() -> None:
    for statement in drop_tenant_rls("unknown_user_agents"):
        op.execute(statement)
    op.drop_index("uq_unknown_user_agents_tenant_user_agent", table_name="unknown_user_agents")
    op.drop_index("ix_unknown_user_agents_tenant_hits", table_name="unknown_user_agents")
    op.drop_table("unknown_user_agents")
    op.drop_table("reference_list_entries")
    op.drop_index("uq_reference_list_versions_kind_sha256", table_name="reference_list_versions")
    op.drop_index(
        "uq_reference_list_versions_active_kind",
        table_name="reference_list_versions",
        postgresql_where=sa.text("active"),
    )
    op.drop_table("reference_list_versions")
