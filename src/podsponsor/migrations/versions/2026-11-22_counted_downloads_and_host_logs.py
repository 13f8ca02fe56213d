"""counted downloads and host logs

What counting writes (downloads, download_tallies, count_runs) and the host/CDN log requests it reads besides the
prefix hits (log_requests, log_imports); all five under row-level security.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from podsponsor.db.rls import drop_tenant_rls, tenant_rls

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("count_runs", "download_tallies", "downloads", "log_imports", "log_requests")


def upgrade() -> None:
    _counting_tables()
    _log_tables()
    for table in TABLES:
        for statement in tenant_rls(table):
            op.execute(statement)


def _counting_tables() -> None:
    """What counting writes: runs, tallies and downloads."""
    op.create_table(
        "count_runs",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="running", nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("window_type", sa.String(length=20), nullable=False),
        sa.Column("settings", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("list_versions", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("lists_missing", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("requests_read", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("requests_on_day", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("downloads", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint("status IN ('running', 'completed', 'failed')", name=op.f("ck_count_runs_status")),
        sa.CheckConstraint(
            "window_type IN ('calendar_day', 'first_touch_24h', 'extending_24h')",
            name=op.f("ck_count_runs_window_type"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_count_runs_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_count_runs")),
    )
    op.create_index("ix_count_runs_tenant_day_started", "count_runs", ["tenant_id", "day", "started_at"], unique=False)
    op.create_table(
        "download_tallies",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("podcast_id", sa.UUID(), nullable=True),
        sa.Column("episode_id", sa.UUID(), nullable=True),
        sa.Column("source_kind", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint("source_kind IN ('prefix', 'logs')", name=op.f("ck_download_tallies_source_kind")),
        sa.CheckConstraint("requests >= 0", name=op.f("ck_download_tallies_requests")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_download_tallies_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_download_tallies")),
    )
    op.create_index("ix_download_tallies_tenant_day", "download_tallies", ["tenant_id", "day"], unique=False)
    op.create_index(
        "ix_download_tallies_tenant_podcast_day", "download_tallies", ["tenant_id", "podcast_id", "day"], unique=False
    )
    op.create_table(
        "downloads",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_type", sa.String(length=20), nullable=False),
        sa.Column("podcast_id", sa.UUID(), nullable=False),
        sa.Column("episode_id", sa.UUID(), nullable=False),
        sa.Column("source_kind", sa.String(length=10), nullable=False),
        sa.Column("listener", sa.String(length=100), nullable=False),
        sa.Column("app", sa.String(length=200), nullable=True),
        sa.Column("device", sa.String(length=200), nullable=True),
        sa.Column("device_category", sa.String(length=50), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("bytes_covered", sa.BigInteger(), nullable=True),
        sa.Column("bytes_required", sa.BigInteger(), nullable=True),
        sa.Column("first_request_id", sa.String(length=100), nullable=False),
        sa.Column("run_id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint("source_kind IN ('prefix', 'logs')", name=op.f("ck_downloads_source_kind")),
        sa.CheckConstraint(
            "window_type IN ('calendar_day', 'first_touch_24h', 'extending_24h')", name=op.f("ck_downloads_window_type")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_downloads_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_downloads")),
    )
    op.create_index("ix_downloads_tenant_day", "downloads", ["tenant_id", "day"], unique=False)
    op.create_index("ix_downloads_tenant_episode_day", "downloads", ["tenant_id", "episode_id", "day"], unique=False)
    op.create_index("ix_downloads_tenant_podcast_day", "downloads", ["tenant_id", "podcast_id", "day"], unique=False)


def _log_tables() -> None:
    """Host and CDN log requests and the record of each import."""
    op.create_table(
        "log_imports",
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="processing", nullable=False),
        sa.Column("lines_read", sa.Integer(), server_default="0", nullable=False),
        sa.Column("requests_stored", sa.Integer(), server_default="0", nullable=False),
        sa.Column("requests_already_stored", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("errors", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("first_ts", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_ts", sa.DateTime(timezone=True), nullable=True),
        sa.Column("days", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint("format IN ('cloudfront', 'csv', 'jsonl')", name=op.f("ck_log_imports_format")),
        sa.CheckConstraint("status IN ('processing', 'completed', 'failed')", name=op.f("ck_log_imports_status")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_log_imports_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_log_imports")),
    )
    op.create_index("ix_log_imports_tenant_started", "log_imports", ["tenant_id", "started_at"], unique=False)
    op.create_table(
        "log_requests",
        sa.Column("line_id", sa.String(length=100), nullable=False),
        sa.Column("import_id", sa.UUID(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("range_start", sa.BigInteger(), nullable=True),
        sa.Column("range_end", sa.BigInteger(), nullable=True),
        sa.Column("bytes_sent", sa.BigInteger(), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("referer", sa.Text(), nullable=True),
        sa.Column("ip_hash", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("datacenter", sa.Text(), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_log_requests_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_log_requests")),
    )
    op.create_index("ix_log_requests_tenant_ts", "log_requests", ["tenant_id", "ts"], unique=False)
    op.create_index("uq_log_requests_tenant_line_id", "log_requests", ["tenant_id", "line_id"], unique=True)


def downgrade() -> None:
    for table in TABLES:
        for statement in drop_tenant_rls(table):
            op.execute(statement)
    op.drop_index("uq_log_requests_tenant_line_id", table_name="log_requests")
    op.drop_index("ix_log_requests_tenant_ts", table_name="log_requests")
    op.drop_table("log_requests")
    op.drop_index("ix_log_imports_tenant_started", table_name="log_imports")
    op.drop_table("log_imports")
    op.drop_index("ix_downloads_tenant_podcast_day", table_name="downloads")
    op.drop_index("ix_downloads_tenant_episode_day", table_name="downloads")
    op.drop_index("ix_downloads_tenant_day", table_name="downloads")
    op.drop_table("downloads")
    op.drop_index("ix_download_tallies_tenant_podcast_day", table_name="download_tallies")
    op.drop_index("ix_download_tallies_tenant_day", table_name="download_tallies")
    op.drop_table("download_tallies")
    op.drop_index("ix_count_runs_tenant_day_started", table_name="count_runs")
    op.drop_table("count_runs")
