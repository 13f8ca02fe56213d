"""daily metrics and CSV imports

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from podsponsor.db.rls import drop_tenant_rls, tenant_rls

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("metrics_daily", "etl_imports")


def upgrade() -> None:
    op.create_table(
        "metrics_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("episode_id", sa.UUID(), nullable=False),
        sa.Column("podcast_id", sa.UUID(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("downloads", sa.BigInteger(), nullable=True),
        sa.Column("listeners", sa.BigInteger(), nullable=True),
        sa.Column("completion_rate", sa.Float(), nullable=True),
        sa.Column("ctr", sa.Float(), nullable=True),
        sa.Column("conversions", sa.BigInteger(), nullable=True),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=True),
        sa.Column("import_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint("completion_rate BETWEEN 0 AND 1", name=op.f("ck_metrics_daily_completion_rate")),
        sa.CheckConstraint("conversions >= 0", name=op.f("ck_metrics_daily_conversions")),
        sa.CheckConstraint("ctr BETWEEN 0 AND 1", name=op.f("ck_metrics_daily_ctr")),
        sa.CheckConstraint("downloads >= 0", name=op.f("ck_metrics_daily_downloads")),
        sa.CheckConstraint("listeners >= 0", name=op.f("ck_metrics_daily_listeners")),
        sa.CheckConstraint("revenue_cents >= 0", name=op.f("ck_metrics_daily_revenue_cents")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "episode_id"],
            ["episodes.tenant_id", "episodes.id"],
            name=op.f("fk_metrics_daily_tenant_id_episode_id_episodes"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_metrics_daily_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_metrics_daily")),
        sa.UniqueConstraint("tenant_id", "episode_id", "day", "source", name="uq_metrics_daily_key"),
    )
    op.create_index(
        "ix_metrics_daily_tenant_podcast_day", "metrics_daily", ["tenant_id", "podcast_id", "day"], unique=False
    )
    op.create_table(
        "etl_imports",
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("origin", sa.String(length=10), server_default="upload", nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("preset", sa.String(length=20), nullable=True),
        sa.Column("mapping", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("format", sa.String(length=20), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("rows_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rows_processed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rows_imported", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rows_inserted", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rows_updated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rows_skipped", sa.Integer(), server_default="0", nullable=False),
        sa.Column("progress", sa.Float(), server_default="0", nullable=False),
        sa.Column("error_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("errors", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("duplicate_of", sa.UUID(), nullable=True),
        sa.Column("last_sync_watermark", sa.Date(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "format IN ('canonical', 'spotify', 'megaphone', 'youtube', 'apple', 'generic')",
            name=op.f("ck_etl_imports_format"),
        ),
        sa.CheckConstraint("origin IN ('upload', 'url', 'cli')", name=op.f("ck_etl_imports_origin")),
        sa.CheckConstraint("progress BETWEEN 0 AND 1", name=op.f("ck_etl_imports_progress")),
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'completed', 'failed')", name=op.f("ck_etl_imports_status")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_etl_imports_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_etl_imports")),
    )
    op.create_index("ix_etl_imports_tenant_created", "etl_imports", ["tenant_id", "created_at"], unique=False)
    op.create_index(
        "uq_etl_imports_tenant_sha256_completed",
        "etl_imports",
        ["tenant_id", "sha256"],
        unique=True,
        postgresql_where=sa.text("status = 'completed' AND duplicate_of IS NULL"),
    )
    for table in TABLES:
        for statement in tenant_rls(table):
            op.execute(statement)


def downgrade() -> None:
    for table in TABLES:
        for statement in drop_tenant_rls(table):
            op.execute(statement)
    op.drop_index(
        "uq_etl_imports_tenant_sha256_completed",
        table_name="etl_imports",
        postgresql_where=sa.text("status = 'completed' AND duplicate_of IS NULL"),
    )
    op.drop_index("ix_etl_imports_tenant_created", table_name="etl_imports")
    op.drop_table("etl_imports")
    op.drop_index("ix_metrics_daily_tenant_podcast_day", table_name="metrics_daily")
    op.drop_table("metrics_daily")
