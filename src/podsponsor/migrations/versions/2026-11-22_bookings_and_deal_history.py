"""bookings and deal history

Ad units, insertion orders and their episode slots, makegoods, vanity-URL clicks, deal stage history (backfilled
with each existing deal's current stage) and idempotency keys, all under row-level security; and the tenant-less
lookups the vanity redirect needs (its URL names no workspace, so a slug is unique across workspaces).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from podsponsor.db.rls import drop_tenant_rls, tenant_rls
from podsponsor.db.runtime_role import runtime_role

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "idempotency_keys",
    "ad_units",
    "deal_stage_changes",
    "insertion_orders",
    "io_placements",
    "makegoods",
    "vanity_clicks",
)
IO_FOR_VANITY = "bookings_io_for_vanity(p_slug text)"
# The redirect knows only the slug. Cancelled orders no longer answer; of two live ones (which the service
# prevents) the older wins, so the answer never flips.
IO_FOR_VANITY_BODY = """
    RETURNS TABLE (tenant_id uuid, io_id uuid, landing_url text, promo_code text, status text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
      SELECT io.tenant_id, io.id, io.landing_url, io.promo_code, io.status FROM public.insertion_orders io
      WHERE lower(io.vanity_slug) = lower(p_slug) AND io.status <> 'cancelled'
      ORDER BY io.created_at, io.id LIMIT 1
    $$"""
VANITY_OWNER = "bookings_vanity_slug_owner(p_slug text)"
# Which workspace holds a slug, so a new order can be refused a slug another workspace uses (no detail leaks: only
# whether it is taken, and by whom only to compare with the caller's own workspace).
VANITY_OWNER_BODY = """
    RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
      SELECT io.tenant_id FROM public.insertion_orders io
      WHERE lower(io.vanity_slug) = lower(p_slug) AND io.status <> 'cancelled'
      ORDER BY io.created_at, io.id LIMIT 1
    $$"""
# Every existing deal gets its current stage as its first recorded move.
BACKFILL_HISTORY = """
    INSERT INTO deal_stage_changes (tenant_id, id, campaign_id, from_stage, to_stage, changed_at, note)
    SELECT tenant_id, gen_random_uuid(), id, NULL, stage, stage_changed_at, 'stage when history began'
    FROM campaigns
"""


def upgrade() -> None:
    _tables()
    op.create_index(
        "ix_insertion_orders_vanity_slug",
        "insertion_orders",
        [sa.literal_column("lower(vanity_slug)")],
        postgresql_where=sa.text("vanity_slug IS NOT NULL"),
    )
    for table in TABLES:
        for statement in tenant_rls(table):
            op.execute(statement)
    role = runtime_role()
    for signature, function_body in ((IO_FOR_VANITY, IO_FOR_VANITY_BODY), (VANITY_OWNER, VANITY_OWNER_BODY)):
        op.execute(f"CREATE FUNCTION {signature} {function_body}")
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f'GRANT EXECUTE ON FUNCTION {signature} TO "{role}"')
    op.execute(BACKFILL_HISTORY)


def _tables() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("resource_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_idempotency_keys_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_idempotency_keys")),
    )
    op.create_index("ix_idempotency_keys_created", "idempotency_keys", ["tenant_id", "created_at"], unique=False)
    op.create_index(
        "uq_idempotency_keys_tenant_scope_key", "idempotency_keys", ["tenant_id", "scope", "key"], unique=True
    )
    op.create_table(
        "ad_units",
        sa.Column("podcast_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.String(length=10), nullable=False),
        sa.Column("length_seconds", sa.SmallInteger(), nullable=False),
        sa.Column("read_type", sa.String(length=20), nullable=False),
        sa.Column("insertion", sa.String(length=20), nullable=False),
        sa.Column("rate_cpm_cents", sa.Integer(), nullable=False),
        sa.Column("flat_rate_cents", sa.BigInteger(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("insertion IN ('baked_in', 'dynamic')", name=op.f("ck_ad_units_insertion")),
        sa.CheckConstraint("position IN ('pre', 'mid', 'post')", name=op.f("ck_ad_units_position")),
        sa.CheckConstraint("read_type IN ('host_read', 'announcer', 'produced')", name=op.f("ck_ad_units_read_type")),
        sa.CheckConstraint("flat_rate_cents IS NULL OR flat_rate_cents >= 0", name=op.f("ck_ad_units_flat_rate_cents")),
        sa.CheckConstraint("length_seconds IN (15, 30, 60, 90)", name=op.f("ck_ad_units_length_seconds")),
        sa.CheckConstraint("rate_cpm_cents >= 0", name=op.f("ck_ad_units_rate_cpm_cents")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "podcast_id"],
            ["podcasts.tenant_id", "podcasts.id"],
            name=op.f("fk_ad_units_tenant_id_podcast_id_podcasts"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_ad_units_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_ad_units")),
    )
    op.create_index("ix_ad_units_tenant_podcast", "ad_units", ["tenant_id", "podcast_id"], unique=False)
    op.create_table(
        "deal_stage_changes",
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("from_stage", sa.String(length=20), nullable=True),
        sa.Column("to_stage", sa.String(length=20), nullable=False),
        sa.Column("changed_by", sa.UUID(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "from_stage IS NULL OR from_stage IN ('lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost')",
            name=op.f("ck_deal_stage_changes_from_stage"),
        ),
        sa.CheckConstraint(
            "to_stage IN ('lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost')",
            name=op.f("ck_deal_stage_changes_to_stage"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "campaign_id"],
            ["campaigns.tenant_id", "campaigns.id"],
            name=op.f("fk_deal_stage_changes_tenant_id_campaign_id_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_deal_stage_changes_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_deal_stage_changes")),
    )
    op.create_index(
        "ix_deal_stage_changes_tenant_campaign_at",
        "deal_stage_changes",
        ["tenant_id", "campaign_id", "changed_at"],
        unique=False,
    )
    op.create_index(
        "ix_deal_stage_changes_tenant_to_at",
        "deal_stage_changes",
        ["tenant_id", "to_stage", "changed_at"],
        unique=False,
    )
    op.create_table(
        "insertion_orders",
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("sponsor_id", sa.UUID(), nullable=False),
        sa.Column("agency_name", sa.String(length=300), nullable=True),
        sa.Column("agency_contact", sa.String(length=320), nullable=True),
        sa.Column("podcast_id", sa.UUID(), nullable=False),
        sa.Column("ad_unit_id", sa.UUID(), nullable=False),
        sa.Column("flight_start", sa.Date(), nullable=False),
        sa.Column("flight_end", sa.Date(), nullable=False),
        sa.Column("impression_goal", sa.BigInteger(), nullable=False),
        sa.Column("pricing_model", sa.String(length=10), nullable=False),
        sa.Column("cpm_cents", sa.Integer(), nullable=True),
        sa.Column("flat_cents", sa.BigInteger(), nullable=True),
        sa.Column("cpa_cents", sa.Integer(), nullable=True),
        sa.Column("max_spend_cents", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), server_default="USD", nullable=False),
        sa.Column("pacing_mode", sa.String(length=20), server_default="even", nullable=False),
        sa.Column("talking_points", sa.Text(), server_default="", nullable=False),
        sa.Column("promo_code", sa.String(length=40), nullable=True),
        sa.Column("vanity_slug", sa.String(length=60), nullable=True),
        sa.Column("landing_url", sa.Text(), nullable=True),
        sa.Column("exclusivity", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("separation_waived", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("makegood_terms", sa.Text(), server_default="", nullable=False),
        sa.Column("status", sa.String(length=20), server_default="scheduled", nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("delivered_impressions", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("delivery_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "pacing_mode IN ('even', 'asap', 'front_loaded')", name=op.f("ck_insertion_orders_pacing_mode")
        ),
        sa.CheckConstraint(
            "pricing_model IN ('cpm', 'flat', 'cpa', 'hybrid')", name=op.f("ck_insertion_orders_pricing_model")
        ),
        sa.CheckConstraint(
            "status IN ('scheduled', 'active', 'completed', 'makegood', 'cancelled')",
            name=op.f("ck_insertion_orders_status"),
        ),
        sa.CheckConstraint(
            "coalesce(cpm_cents, 0) >= 0 AND coalesce(flat_cents, 0) >= 0 AND coalesce(cpa_cents, 0) >= 0 AND coalesce(max_spend_cents, 0) >= 0",
            name=op.f("ck_insertion_orders_prices"),
        ),
        sa.CheckConstraint("flight_end >= flight_start", name=op.f("ck_insertion_orders_flight_order")),
        sa.CheckConstraint("impression_goal > 0", name=op.f("ck_insertion_orders_impression_goal")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "ad_unit_id"],
            ["ad_units.tenant_id", "ad_units.id"],
            name=op.f("fk_insertion_orders_tenant_id_ad_unit_id_ad_units"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "campaign_id"],
            ["campaigns.tenant_id", "campaigns.id"],
            name=op.f("fk_insertion_orders_tenant_id_campaign_id_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "podcast_id"],
            ["podcasts.tenant_id", "podcasts.id"],
            name=op.f("fk_insertion_orders_tenant_id_podcast_id_podcasts"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "sponsor_id"],
            ["sponsors.tenant_id", "sponsors.id"],
            name=op.f("fk_insertion_orders_tenant_id_sponsor_id_sponsors"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_insertion_orders_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_insertion_orders")),
    )
    op.create_index(
        "ix_insertion_orders_tenant_campaign", "insertion_orders", ["tenant_id", "campaign_id"], unique=False
    )
    op.create_index(
        "ix_insertion_orders_tenant_flight",
        "insertion_orders",
        ["tenant_id", "flight_start", "flight_end"],
        unique=False,
    )
    op.create_index("ix_insertion_orders_tenant_sponsor", "insertion_orders", ["tenant_id", "sponsor_id"], unique=False)
    op.create_index("uq_insertion_orders_tenant_number", "insertion_orders", ["tenant_id", "number"], unique=True)
    op.create_index(
        "uq_insertion_orders_tenant_promo_code",
        "insertion_orders",
        ["tenant_id", sa.literal_column("lower(promo_code)")],
        unique=True,
        postgresql_where=sa.text("promo_code IS NOT NULL AND status <> 'cancelled'"),
    )
    op.create_index(
        "uq_insertion_orders_tenant_vanity_slug",
        "insertion_orders",
        ["tenant_id", sa.literal_column("lower(vanity_slug)")],
        unique=True,
        postgresql_where=sa.text("vanity_slug IS NOT NULL AND status <> 'cancelled'"),
    )
    op.create_table(
        "io_placements",
        sa.Column("io_id", sa.UUID(), nullable=False),
        sa.Column("ad_unit_id", sa.UUID(), nullable=False),
        sa.Column("episode_id", sa.UUID(), nullable=False),
        sa.Column("industry", sa.String(length=100), nullable=False),
        sa.Column("bonus", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "ad_unit_id"],
            ["ad_units.tenant_id", "ad_units.id"],
            name=op.f("fk_io_placements_tenant_id_ad_unit_id_ad_units"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "episode_id"],
            ["episodes.tenant_id", "episodes.id"],
            name=op.f("fk_io_placements_tenant_id_episode_id_episodes"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "io_id"],
            ["insertion_orders.tenant_id", "insertion_orders.id"],
            name=op.f("fk_io_placements_tenant_id_io_id_insertion_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_io_placements_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_io_placements")),
    )
    op.create_index("ix_io_placements_tenant_episode", "io_placements", ["tenant_id", "episode_id"], unique=False)
    op.create_index("ix_io_placements_tenant_io", "io_placements", ["tenant_id", "io_id"], unique=False)
    op.create_index(
        "uq_io_placements_tenant_slot", "io_placements", ["tenant_id", "ad_unit_id", "episode_id"], unique=True
    )
    op.create_table(
        "makegoods",
        sa.Column("io_id", sa.UUID(), nullable=False),
        sa.Column("goal", sa.BigInteger(), nullable=False),
        sa.Column("delivered", sa.BigInteger(), nullable=False),
        sa.Column("shortfall_impressions", sa.BigInteger(), nullable=False),
        sa.Column("shortfall_cents", sa.BigInteger(), nullable=True),
        sa.Column("settlement", sa.String(length=20), nullable=True),
        sa.Column("bonus_episode_id", sa.UUID(), nullable=True),
        sa.Column("extended_to", sa.Date(), nullable=True),
        sa.Column("credit_cents", sa.BigInteger(), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_by", sa.UUID(), nullable=True),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "settlement IS NULL OR settlement IN ('bonus_episode', 'extended_flight', 'credit')",
            name=op.f("ck_makegoods_settlement"),
        ),
        sa.CheckConstraint("credit_cents IS NULL OR credit_cents >= 0", name=op.f("ck_makegoods_credit_cents")),
        sa.CheckConstraint("shortfall_impressions > 0", name=op.f("ck_makegoods_shortfall")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "bonus_episode_id"],
            ["episodes.tenant_id", "episodes.id"],
            name=op.f("fk_makegoods_tenant_id_bonus_episode_id_episodes"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "io_id"],
            ["insertion_orders.tenant_id", "insertion_orders.id"],
            name=op.f("fk_makegoods_tenant_id_io_id_insertion_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_makegoods_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_makegoods")),
    )
    op.create_index("ix_makegoods_tenant_io", "makegoods", ["tenant_id", "io_id"], unique=False)
    op.create_table(
        "vanity_clicks",
        sa.Column("io_id", sa.UUID(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip_hash", sa.String(length=64), nullable=False),
        sa.Column("ua_hash", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("referer", sa.Text(), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "io_id"],
            ["insertion_orders.tenant_id", "insertion_orders.id"],
            name=op.f("fk_vanity_clicks_tenant_id_io_id_insertion_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_vanity_clicks_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_vanity_clicks")),
    )
    op.create_index("ix_vanity_clicks_tenant_io_ts", "vanity_clicks", ["tenant_id", "io_id", "ts"], unique=False)


def downgrade() -> None:
    for signature in (VANITY_OWNER, IO_FOR_VANITY):
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    for table in TABLES:
        for statement in drop_tenant_rls(table):
            op.execute(statement)
    op.drop_index("ix_insertion_orders_vanity_slug", table_name="insertion_orders")
    op.drop_index("ix_vanity_clicks_tenant_io_ts", table_name="vanity_clicks")
    op.drop_table("vanity_clicks")
    op.drop_index("ix_makegoods_tenant_io", table_name="makegoods")
    op.drop_table("makegoods")
    op.drop_index("uq_io_placements_tenant_slot", table_name="io_placements")
    op.drop_index("ix_io_placements_tenant_io", table_name="io_placements")
    op.drop_index("ix_io_placements_tenant_episode", table_name="io_placements")
    op.drop_table("io_placements")
    op.drop_index(
        "uq_insertion_orders_tenant_vanity_slug",
        table_name="insertion_orders",
        postgresql_where=sa.text("vanity_slug IS NOT NULL AND status <> 'cancelled'"),
    )
    op.drop_index(
        "uq_insertion_orders_tenant_promo_code",
        table_name="insertion_orders",
        postgresql_where=sa.text("promo_code IS NOT NULL AND status <> 'cancelled'"),
    )
    op.drop_index("uq_insertion_orders_tenant_number", table_name="insertion_orders")
    op.drop_index("ix_insertion_orders_tenant_sponsor", table_name="insertion_orders")
    op.drop_index("ix_insertion_orders_tenant_flight", table_name="insertion_orders")
    op.drop_index("ix_insertion_orders_tenant_campaign", table_name="insertion_orders")
    op.drop_table("insertion_orders")
    op.drop_index("ix_deal_stage_changes_tenant_to_at", table_name="deal_stage_changes")
    op.drop_index("ix_deal_stage_changes_tenant_campaign_at", table_name="deal_stage_changes")
    op.drop_table("deal_stage_changes")
    op.drop_index("ix_ad_units_tenant_podcast", table_name="ad_units")
    op.drop_table("ad_units")
    op.drop_index("uq_idempotency_keys_tenant_scope_key", table_name="idempotency_keys")
    op.drop_index("ix_idempotency_keys_created", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
