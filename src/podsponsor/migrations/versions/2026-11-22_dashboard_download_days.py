"""dashboard download days

A rollup of counted downloads per episode, UTC day and source (`dashboard_download_days`), under row-level security,
kept exact by statement-level triggers on `downloads`: every insert, delete or update of counted downloads adds or
subtracts its rows' counts in the same statement, so the dashboards read tens of thousands of rollup rows instead of
millions of downloads and are never behind the counting. Existing downloads are rolled up here.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from podsponsor.db.rls import drop_tenant_rls, tenant_rls

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "dashboard_download_days"
FUNCTION = "dashboard_download_days_apply()"
# SECURITY INVOKER (the default): the rollup rows are written as whoever wrote the downloads, under the same
# row-level security, so a transaction can only ever touch its own tenant's rollup.
FUNCTION_BODY = """
    RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
    BEGIN
      IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE public.dashboard_download_days r SET downloads = r.downloads - gone.n
        FROM (SELECT tenant_id, episode_id, day, source_kind, count(*) AS n FROM old_rows
              GROUP BY tenant_id, episode_id, day, source_kind) gone
        WHERE r.tenant_id = gone.tenant_id AND r.episode_id = gone.episode_id AND r.day = gone.day
          AND r.source_kind = gone.source_kind;
        DELETE FROM public.dashboard_download_days r
        USING (SELECT DISTINCT tenant_id, episode_id, day, source_kind FROM old_rows) gone
        WHERE r.tenant_id = gone.tenant_id AND r.episode_id = gone.episode_id AND r.day = gone.day
          AND r.source_kind = gone.source_kind AND r.downloads <= 0;
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO public.dashboard_download_days (tenant_id, id, day, podcast_id, episode_id, source_kind, downloads)
        SELECT tenant_id, gen_random_uuid(), day, podcast_id, episode_id, source_kind, count(*) FROM new_rows
        GROUP BY tenant_id, episode_id, day, source_kind, podcast_id
        ON CONFLICT (tenant_id, episode_id, day, source_kind)
        DO UPDATE SET downloads = public.dashboard_download_days.downloads + EXCLUDED.downloads;
      END IF;
      RETURN NULL;
    END $$"""
TRIGGERS = {
    "dashboard_download_days_insert": "AFTER INSERT ON downloads REFERENCING NEW TABLE AS new_rows",
    "dashboard_download_days_delete": "AFTER DELETE ON downloads REFERENCING OLD TABLE AS old_rows",
    "dashboard_download_days_update": (
        "AFTER UPDATE ON downloads REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    ),
}
BACKFILL = f"""
    INSERT INTO {TABLE} (tenant_id, id, day, podcast_id, episode_id, source_kind, downloads)
    SELECT tenant_id, gen_random_uuid(), day, podcast_id, episode_id, source_kind, count(*) FROM downloads
    GROUP BY tenant_id, episode_id, day, source_kind, podcast_id
"""


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("podcast_id", sa.UUID(), nullable=False),
        sa.Column("episode_id", sa.UUID(), nullable=False),
        sa.Column("source_kind", sa.String(length=10), nullable=False),
        sa.Column("downloads", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_dashboard_download_days_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_dashboard_download_days")),
    )
    op.create_index(
        "uq_dashboard_download_days_tenant_episode_day_source",
        TABLE,
        ["tenant_id", "episode_id", "day", "source_kind"],
        unique=True,
    )
    op.create_index("ix_dashboard_download_days_tenant_day", TABLE, ["tenant_id", "day"], unique=False)
    op.create_index(
        "ix_dashboard_download_days_tenant_podcast_day", TABLE, ["tenant_id", "podcast_id", "day"], unique=False
    )
    for statement in tenant_rls(TABLE):
        op.execute(statement)
    op.execute(f"CREATE FUNCTION {FUNCTION} {FUNCTION_BODY}")
    for name, timing in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {timing} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}")
    op.execute(BACKFILL)


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON downloads")
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}")
    for statement in drop_tenant_rls(TABLE):
        op.execute(statement)
    op.drop_index("ix_dashboard_download_days_tenant_podcast_day", table_name=TABLE)
    op.drop_index("ix_dashboard_download_days_tenant_day", table_name=TABLE)
    op.drop_index("uq_dashboard_download_days_tenant_episode_day_source", table_name=TABLE)
    op.drop_table(TABLE)
