"""prefix redirect hits (download requests)

The show's public prefix token (backfilled for existing shows), its tenant-less lookup, the hits table partitioned
by UTC day, and the function that adds day partitions for the runtime role.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from podsponsor.db.rls import drop_tenant_rls, tenant_rls
from podsponsor.db.runtime_role import runtime_role

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 12 random bytes as URL-safe base64 (16 characters): 6 fully random bytes from each of two v4 UUIDs. A volatile
# default on ADD COLUMN is evaluated per row, so it also backfills every existing show with its own token.
PREFIX_TOKEN_SQL = (
    "translate(encode(substring(uuid_send(gen_random_uuid()) from 1 for 6) "
    "|| substring(uuid_send(gen_random_uuid()) from 11 for 6), 'base64'), '+/', '-_')"
)

SHOW_FOR_TOKEN = "measurement_show_for_token(p_token text)"
# The redirect knows only the token in the URL. Deleted shows still resolve: a prefix left in a feed must keep
# sending listeners to the audio.
SHOW_FOR_TOKEN_BODY = """
    RETURNS TABLE (tenant_id uuid, podcast_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
      SELECT p.tenant_id, p.id FROM public.podcasts p WHERE p.prefix_token = p_token
    $$"""

ENSURE_PARTITIONS = "measurement_ensure_hit_partitions(p_first date, p_last date)"


def _ensure_partitions_body(runtime: str) -> str:
    """Day partitions are created by the owner (the runtime role may create nothing) and carry no grant for the
    runtime role: every read and write goes through the parent, whose RLS policy applies. The window is bounded so
    that a caller cannot make thousands of tables; replaying a spill more than 400 days old is not a case."""
    role = runtime.replace("'", "''")
    return f"""
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    DECLARE
      today date := (now() AT TIME ZONE 'UTC')::date;
      day date;
      part text;
      made integer := 0;
    BEGIN
      IF p_first IS NULL OR p_last IS NULL OR p_last < p_first OR p_last - p_first > 62
         OR p_first < today - 400 OR p_last > today + 31 THEN
        RAISE EXCEPTION 'download_requests partitions % to % are outside the allowed window', p_first, p_last
          USING ERRCODE = '22023';
      END IF;
      -- Several app processes may ask for the same day at once: one creates it, the others then see it.
      PERFORM pg_advisory_xact_lock(hashtext('download_requests partitions'));
      FOR day IN SELECT d::date FROM generate_series(p_first, p_last, interval '1 day') AS d LOOP
        part := 'download_requests_p' || to_char(day, 'YYYYMMDD');
        CONTINUE WHEN to_regclass('public.' || part) IS NOT NULL;
        EXECUTE format('CREATE TABLE public.%I PARTITION OF public.download_requests FOR VALUES FROM (%L) TO (%L)',
                       part, day::text || ' 00:00:00+00', (day + 1)::text || ' 00:00:00+00');
        EXECUTE format('REVOKE ALL ON TABLE public.%I FROM %I', part, '{role}');
        made := made + 1;
      END LOOP;
      RETURN made;
    END
    $$"""


def upgrade() -> None:
    op.add_column(
        "podcasts",
        sa.Column("prefix_token", sa.String(length=32), server_default=sa.text(PREFIX_TOKEN_SQL), nullable=False),
    )
    op.create_index("uq_podcasts_prefix_token", "podcasts", ["prefix_token"], unique=True)
    op.create_table(
        "download_requests",
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("podcast_id", sa.UUID(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("range_header", sa.String(length=200), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("referer", sa.Text(), nullable=True),
        sa.Column("ip_hash", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("datacenter", sa.Text(), nullable=True),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint("method IN ('GET', 'HEAD')", name=op.f("ck_download_requests_method")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_download_requests_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "ts", "id", name=op.f("pk_download_requests")),
        postgresql_partition_by="RANGE (ts)",
    )
    for statement in tenant_rls("download_requests"):
        op.execute(statement)
    role = runtime_role()
    for signature, body in ((SHOW_FOR_TOKEN, SHOW_FOR_TOKEN_BODY), (ENSURE_PARTITIONS, _ensure_partitions_body(role))):
        op.execute(f"CREATE FUNCTION {signature} {body}")
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f'GRANT EXECUTE ON FUNCTION {signature} TO "{role}"')
    # Yesterday to two days ahead, so the first hits (and the isolation tests) find their day; the app adds more.
    op.execute(
        "SELECT measurement_ensure_hit_partitions((now() AT TIME ZONE 'UTC')::date - 1, "
        "(now() AT TIME ZONE 'UTC')::date + 2)"
    )


def downgrade() -> None:
    for signature in (ENSURE_PARTITIONS, SHOW_FOR_TOKEN):
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    for statement in drop_tenant_rls("download_requests"):
        op.execute(statement)
    op.drop_table("download_requests")
    op.drop_index("uq_podcasts_prefix_token", table_name="podcasts")
    op.drop_column("podcasts", "prefix_token")
