"""matchmaking

Matches (one stored score per advertiser-show pair with its signals and rationale), advertisers' briefs, match
recalculation runs, and episode transcripts, all under row-level security.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from podsponsor.db.rls import drop_tenant_rls, tenant_rls

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("match_runs", "match_briefs", "matches", "episode_transcripts")


def upgrade() -> None:
    op.create_table(
        "match_runs",
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("sponsor_id", sa.UUID(), nullable=True),
        sa.Column("podcast_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="queued", nullable=False),
        sa.Column("pairs_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("pairs_scored", sa.Integer(), server_default="0", nullable=False),
        sa.Column("pairs_stored", sa.Integer(), server_default="0", nullable=False),
        sa.Column("requested_by", sa.UUID(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint("scope IN ('pair', 'advertiser', 'podcast', 'tenant')", name=op.f("ck_match_runs_scope")),
        sa.CheckConstraint("status IN ('queued', 'running', 'completed', 'failed')", name=op.f("ck_match_runs_status")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_match_runs_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_match_runs")),
    )
    op.create_index("ix_match_runs_tenant_started", "match_runs", ["tenant_id", "started_at"], unique=False)
    op.create_table(
        "match_briefs",
        sa.Column("sponsor_id", sa.UUID(), nullable=False),
        sa.Column("flight_start", sa.Date(), nullable=True),
        sa.Column("flight_end", sa.Date(), nullable=True),
        sa.Column("positions", postgresql.ARRAY(sa.String(length=10)), server_default="{}", nullable=False),
        sa.Column("slots_needed", sa.Integer(), nullable=True),
        sa.Column("keywords", postgresql.ARRAY(sa.String(length=100)), server_default="{}", nullable=False),
        sa.Column("blocked_categories", postgresql.ARRAY(sa.String(length=200)), server_default="{}", nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "flight_start IS NULL OR flight_end IS NULL OR flight_start <= flight_end",
            name=op.f("ck_match_briefs_flight"),
        ),
        sa.CheckConstraint(
            "slots_needed IS NULL OR slots_needed BETWEEN 1 AND 10000", name=op.f("ck_match_briefs_slots_needed")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "sponsor_id"],
            ["sponsors.tenant_id", "sponsors.id"],
            name=op.f("fk_match_briefs_tenant_id_sponsor_id_sponsors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_match_briefs_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_match_briefs")),
    )
    op.create_index("uq_match_briefs_tenant_sponsor", "match_briefs", ["tenant_id", "sponsor_id"], unique=True)
    op.create_table(
        "matches",
        sa.Column("sponsor_id", sa.UUID(), nullable=False),
        sa.Column("podcast_id", sa.UUID(), nullable=False),
        sa.Column("score", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("signals", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("missing", postgresql.ARRAY(sa.String(length=30)), server_default="{}", nullable=False),
        sa.Column("conflict", sa.Text(), nullable=True),
        sa.Column("run_id", sa.UUID(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name=op.f("ck_matches_score")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "podcast_id"],
            ["podcasts.tenant_id", "podcasts.id"],
            name=op.f("fk_matches_tenant_id_podcast_id_podcasts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "sponsor_id"],
            ["sponsors.tenant_id", "sponsors.id"],
            name=op.f("fk_matches_tenant_id_sponsor_id_sponsors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_matches_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_matches")),
    )
    op.create_index(
        "ix_matches_tenant_podcast_score",
        "matches",
        ["tenant_id", "podcast_id", sa.literal_column("score DESC")],
        unique=False,
    )
    op.create_index(
        "ix_matches_tenant_sponsor_score",
        "matches",
        ["tenant_id", "sponsor_id", sa.literal_column("score DESC")],
        unique=False,
    )
    op.create_index(
        "uq_matches_tenant_sponsor_podcast", "matches", ["tenant_id", "sponsor_id", "podcast_id"], unique=True
    )
    op.create_table(
        "episode_transcripts",
        sa.Column("episode_id", sa.UUID(), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("words", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("format IN ('text', 'vtt', 'srt')", name=op.f("ck_episode_transcripts_format")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "episode_id"],
            ["episodes.tenant_id", "episodes.id"],
            name=op.f("fk_episode_transcripts_tenant_id_episode_id_episodes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_episode_transcripts_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_episode_transcripts")),
    )
    op.create_index(
        "uq_episode_transcripts_tenant_episode", "episode_transcripts", ["tenant_id", "episode_id"], unique=True
    )
    for table in TABLES:
        for statement in tenant_rls(table):
            op.execute(statement)


def downgrade() -> None:
    for table in TABLES:
        for statement in drop_tenant_rls(table):
            op.execute(statement)
    op.drop_index("uq_episode_transcripts_tenant_episode", table_name="episode_transcripts")
    op.drop_table("episode_transcripts")
    op.drop_index("uq_matches_tenant_sponsor_podcast", table_name="matches")
    op.drop_index("ix_matches_tenant_sponsor_score", table_name="matches")
    op.drop_index("ix_matches_tenant_podcast_score", table_name="matches")
    op.drop_table("matches")
    op.drop_index("uq_match_briefs_tenant_sponsor", table_name="match_briefs")
    op.drop_table("match_briefs")
    op.drop_index("ix_match_runs_tenant_started", table_name="match_runs")
    op.drop_table("match_runs")
