"""feed ingestion: show and episode fields from feeds, refresh schedule, ingestion status; due-refresh lookup

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 08:10:51.473708
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from podsponsor.db.runtime_role import runtime_role

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUE_REFRESHES = "catalog_due_feed_refreshes(p_limit integer)"
DUE_REFRESHES_BODY = """
    RETURNS TABLE (tenant_id uuid, podcast_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
      SELECT p.tenant_id, p.id FROM podcasts p
      WHERE p.feed_url IS NOT NULL AND p.deleted_at IS NULL
        AND (p.next_refresh_at IS NULL OR p.next_refresh_at <= now())
      ORDER BY p.next_refresh_at NULLS FIRST
      LIMIT p_limit
    $$"""


def upgrade() -> None:
    op.add_column("episodes", sa.Column("summary", sa.Text(), server_default="", nullable=False))
    op.add_column("episodes", sa.Column("link", sa.Text(), nullable=True))
    op.add_column("episodes", sa.Column("image_url", sa.Text(), nullable=True))
    op.add_column("episodes", sa.Column("episode_type", sa.String(length=10), server_default="full", nullable=False))
    op.add_column("episodes", sa.Column("guid_source", sa.String(length=10), server_default="guid", nullable=False))
    op.add_column("episodes", sa.Column("enclosure_destination_url", sa.Text(), nullable=True))
    op.add_column(
        "episodes",
        sa.Column("enclosure_prefixes", postgresql.ARRAY(sa.String(length=100)), server_default="{}", nullable=False),
    )
    op.add_column("episodes", sa.Column("chapters_url", sa.Text(), nullable=True))
    op.add_column(
        "episodes", sa.Column("extras", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False)
    )
    op.add_column("podcasts", sa.Column("podcast_guid", sa.UUID(), nullable=True))
    op.add_column("podcasts", sa.Column("owner_name", sa.String(length=500), nullable=True))
    op.add_column("podcasts", sa.Column("owner_email", sa.String(length=320), nullable=True))
    op.add_column("podcasts", sa.Column("itunes_type", sa.String(length=20), nullable=True))
    op.add_column(
        "podcasts",
        sa.Column("feed_extras", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
    )
    op.add_column("podcasts", sa.Column("refresh_interval_minutes", sa.Integer(), server_default="60", nullable=False))
    op.add_column("podcasts", sa.Column("next_refresh_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("podcasts", sa.Column("feed_etag", sa.Text(), nullable=True))
    op.add_column("podcasts", sa.Column("feed_last_modified", sa.Text(), nullable=True))
    op.add_column("podcasts", sa.Column("ingest_status", sa.String(length=20), server_default="never", nullable=False))
    op.add_column("podcasts", sa.Column("last_ingested_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("podcasts", sa.Column("last_ingest_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("podcasts", sa.Column("last_ingest_error", sa.Text(), nullable=True))
    op.add_column(
        "podcasts",
        sa.Column("ingest_report", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
    )
    op.create_index(
        "ix_podcasts_next_refresh_at",
        "podcasts",
        ["next_refresh_at"],
        unique=False,
        postgresql_where=sa.text("feed_url IS NOT NULL AND deleted_at IS NULL"),
    )
    op.create_check_constraint("ingest_status", "podcasts", "ingest_status IN ('never', 'ok', 'failed')")
    op.create_check_constraint("refresh_interval", "podcasts", "refresh_interval_minutes BETWEEN 5 AND 10080")
    # The scheduler finds due shows across tenants in one query; it learns only ids and acts per tenant.
    op.execute(f"CREATE FUNCTION {DUE_REFRESHES} {DUE_REFRESHES_BODY}")
    op.execute(f"REVOKE ALL ON FUNCTION {DUE_REFRESHES} FROM PUBLIC")
    op.execute(f'GRANT EXECUTE ON FUNCTION {DUE_REFRESHES} TO "{runtime_role()}"')


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {DUE_REFRESHES}")
    op.drop_constraint("refresh_interval", "podcasts", type_="check")
    op.drop_constraint("ingest_status", "podcasts", type_="check")
    op.drop_index(
        "ix_podcasts_next_refresh_at",
        table_name="podcasts",
        postgresql_where=sa.text("feed_url IS NOT NULL AND deleted_at IS NULL"),
    )
    op.drop_column("podcasts", "ingest_report")
    op.drop_column("podcasts", "last_ingest_error")
    op.drop_column("podcasts", "last_ingest_attempt_at")
    op.drop_column("podcasts", "last_ingested_at")
    op.drop_column("podcasts", "ingest_status")
    op.drop_column("podcasts", "feed_last_modified")
    op.drop_column("podcasts", "feed_etag")
    op.drop_column("podcasts", "next_refresh_at")
    op.drop_column("podcasts", "refresh_interval_minutes")
    op.drop_column("podcasts", "feed_extras")
    op.drop_column("podcasts", "itunes_type")
    op.drop_column("podcasts", "owner_email")
    op.drop_column("podcasts", "owner_name")
    op.drop_column("podcasts", "podcast_guid")
    op.drop_column("episodes", "extras")
    op.drop_column("episodes", "chapters_url")
    op.drop_column("episodes", "enclosure_prefixes")
    op.drop_column("episodes", "enclosure_destination_url")
    op.drop_column("episodes", "guid_source")
    op.drop_column("episodes", "episode_type")
    op.drop_column("episodes", "image_url")
    op.drop_column("episodes", "link")
    op.drop_column("episodes", "summary")
