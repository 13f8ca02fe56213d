"""attribution

Conversion sources and their deliveries, conversions, pixel events, attribution models, runs, paths, credits and
validations, all under row-level security; the per-advertiser lookback on sponsors; and the tenant-less lookup of a
source by its endpoint token (a webhook or pixel URL names no workspace).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from podsponsor.db.rls import drop_tenant_rls, tenant_rls
from podsponsor.db.runtime_role import runtime_role

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "conversion_sources",
    "conversion_deliveries",
    "conversions",
    "pixel_events",
    "attribution_models",
    "attribution_runs",
    "attribution_paths",
    "attribution_credits",
    "attribution_validations",
)
SOURCE_FOR_TOKEN = "attribution_source_for_token(p_token text)"
# A webhook or the pixel knows only the token in its URL. Inactive sources are returned too, so the endpoint can
# say why it refuses; the secret is returned encrypted and only the app can read it.
SOURCE_FOR_TOKEN_BODY = """
    RETURNS TABLE (tenant_id uuid, source_id uuid, kind text, sponsor_id uuid, active boolean, secret_encrypted text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
      SELECT s.tenant_id, s.id, s.kind, s.sponsor_id, s.active, s.secret_encrypted
      FROM public.conversion_sources s WHERE s.token = p_token
      ORDER BY s.created_at, s.id LIMIT 1
    $$"""


def upgrade() -> None:
    _tables()
    op.add_column(
        "sponsors", sa.Column("attribution_lookback_days", sa.SmallInteger(), server_default="30", nullable=False)
    )
    op.create_check_constraint(
        op.f("ck_sponsors_attribution_lookback_days"), "sponsors", "attribution_lookback_days BETWEEN 1 AND 60"
    )
    for table in TABLES:
        for statement in tenant_rls(table):
            op.execute(statement)
    role = runtime_role()
    op.execute(f"CREATE FUNCTION {SOURCE_FOR_TOKEN} {SOURCE_FOR_TOKEN_BODY}")
    op.execute(f"REVOKE ALL ON FUNCTION {SOURCE_FOR_TOKEN} FROM PUBLIC")
    op.execute(f'GRANT EXECUTE ON FUNCTION {SOURCE_FOR_TOKEN} TO "{role}"')


def _tables() -> None:
    op.create_table(
        "attribution_credits",
        sa.Column("run_id", sa.UUID(), nullable=False),
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("conversion_id", sa.UUID(), nullable=False),
        sa.Column("io_id", sa.UUID(), nullable=False),
        sa.Column("episode_id", sa.UUID(), nullable=True),
        sa.Column("model", sa.String(length=20), nullable=False),
        sa.Column("match_type", sa.String(length=20), nullable=False),
        sa.Column("credit", sa.Float(), nullable=False),
        sa.Column("household", sa.String(length=64), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "match_type IN ('promo_code', 'vanity', 'household')", name=op.f("ck_attribution_credits_match_type")
        ),
        sa.CheckConstraint(
            "model IN ('first_touch', 'last_touch', 'linear', 'time_decay', 'position_based', 'custom')",
            name=op.f("ck_attribution_credits_model"),
        ),
        sa.CheckConstraint("credit >= 0 AND credit <= 1", name=op.f("ck_attribution_credits_credit")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_attribution_credits_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_attribution_credits")),
    )
    op.create_index(
        "ix_attribution_credits_tenant_campaign", "attribution_credits", ["tenant_id", "campaign_id"], unique=False
    )
    op.create_index(
        "ix_attribution_credits_tenant_run_model", "attribution_credits", ["tenant_id", "run_id", "model"], unique=False
    )
    op.create_table(
        "conversion_sources",
        sa.Column("sponsor_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("events_received", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("signature_failures", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_reason", sa.Text(), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "kind IN ('shopify', 'woocommerce', 'stripe', 'pixel', 'api', 'csv')",
            name=op.f("ck_conversion_sources_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "sponsor_id"],
            ["sponsors.tenant_id", "sponsors.id"],
            name=op.f("fk_conversion_sources_tenant_id_sponsor_id_sponsors"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_conversion_sources_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_conversion_sources")),
    )
    op.create_index(
        "ix_conversion_sources_tenant_sponsor", "conversion_sources", ["tenant_id", "sponsor_id"], unique=False
    )
    op.create_index("ix_conversion_sources_token", "conversion_sources", ["token"], unique=False)
    op.create_index("uq_conversion_sources_tenant_token", "conversion_sources", ["tenant_id", "token"], unique=True)
    op.create_table(
        "conversion_deliveries",
        sa.Column("source_id", sa.UUID(), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("conversion_id", sa.UUID(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "source_id"],
            ["conversion_sources.tenant_id", "conversion_sources.id"],
            name=op.f("fk_conversion_deliveries_tenant_id_source_id_conversion_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_conversion_deliveries_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_conversion_deliveries")),
    )
    op.create_index(
        "ix_conversion_deliveries_tenant_received", "conversion_deliveries", ["tenant_id", "received_at"], unique=False
    )
    op.create_index(
        "uq_conversion_deliveries_tenant_source_event",
        "conversion_deliveries",
        ["tenant_id", "source_id", "event_id"],
        unique=True,
    )
    op.create_table(
        "conversions",
        sa.Column("source_id", sa.UUID(), nullable=False),
        sa.Column("sponsor_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=20), server_default="purchase", nullable=False),
        sa.Column("order_id", sa.String(length=200), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value_cents", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("promo_codes", postgresql.ARRAY(sa.String(length=100)), server_default="{}", nullable=False),
        sa.Column("landing_url", sa.Text(), nullable=True),
        sa.Column("utm", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("referrer", sa.Text(), nullable=True),
        sa.Column("ip_hash", sa.String(length=64), nullable=True),
        sa.Column("ua_hash", sa.String(length=64), nullable=True),
        sa.Column("ua_family", sa.String(length=40), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("ground_truth", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('purchase', 'lead', 'signup', 'install', 'other')", name=op.f("ck_conversions_kind")
        ),
        sa.CheckConstraint("value_cents IS NULL OR value_cents >= 0", name=op.f("ck_conversions_value_cents")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "source_id"],
            ["conversion_sources.tenant_id", "conversion_sources.id"],
            name=op.f("fk_conversions_tenant_id_source_id_conversion_sources"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "sponsor_id"],
            ["sponsors.tenant_id", "sponsors.id"],
            name=op.f("fk_conversions_tenant_id_sponsor_id_sponsors"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_conversions_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_conversions")),
    )
    op.create_index("ix_conversions_tenant_ip_hash", "conversions", ["tenant_id", "ip_hash"], unique=False)
    op.create_index(
        "ix_conversions_tenant_sponsor_at", "conversions", ["tenant_id", "sponsor_id", "occurred_at"], unique=False
    )
    op.create_index(
        "uq_conversions_tenant_source_order",
        "conversions",
        ["tenant_id", "source_id", "order_id"],
        unique=True,
        postgresql_where=sa.text("order_id IS NOT NULL"),
    )
    op.create_table(
        "pixel_events",
        sa.Column("source_id", sa.UUID(), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value_cents", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("order_id", sa.String(length=200), nullable=True),
        sa.Column("page_url", sa.Text(), nullable=True),
        sa.Column("referrer", sa.Text(), nullable=True),
        sa.Column("ip_hash", sa.String(length=64), nullable=False),
        sa.Column("ua_hash", sa.String(length=64), nullable=False),
        sa.Column("ua_family", sa.String(length=40), nullable=True),
        sa.Column("conversion_id", sa.UUID(), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint("event IN ('view', 'lead', 'purchase')", name=op.f("ck_pixel_events_event")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "source_id"],
            ["conversion_sources.tenant_id", "conversion_sources.id"],
            name=op.f("fk_pixel_events_tenant_id_source_id_conversion_sources"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_pixel_events_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_pixel_events")),
    )
    op.create_index("ix_pixel_events_tenant_source_ts", "pixel_events", ["tenant_id", "source_id", "ts"], unique=False)
    op.create_table(
        "attribution_models",
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("model", sa.String(length=20), nullable=False),
        sa.Column("lookback_days", sa.SmallInteger(), server_default="30", nullable=False),
        sa.Column("half_life_days", sa.Float(), nullable=True),
        sa.Column("weights", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "model IN ('first_touch', 'last_touch', 'linear', 'time_decay', 'position_based', 'custom')",
            name=op.f("ck_attribution_models_model"),
        ),
        sa.CheckConstraint(
            "half_life_days IS NULL OR half_life_days > 0", name=op.f("ck_attribution_models_half_life_days")
        ),
        sa.CheckConstraint("lookback_days BETWEEN 1 AND 60", name=op.f("ck_attribution_models_lookback_days")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "campaign_id"],
            ["campaigns.tenant_id", "campaigns.id"],
            name=op.f("fk_attribution_models_tenant_id_campaign_id_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_attribution_models_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_attribution_models")),
    )
    op.create_index(
        "uq_attribution_models_tenant_campaign_model",
        "attribution_models",
        ["tenant_id", "campaign_id", "model"],
        unique=True,
    )
    op.create_table(
        "attribution_paths",
        sa.Column("run_id", sa.UUID(), nullable=False),
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("conversion_id", sa.UUID(), nullable=False),
        sa.Column("match_type", sa.String(length=20), nullable=False),
        sa.Column("household", sa.String(length=64), nullable=True),
        sa.Column("touchpoints", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "match_type IN ('promo_code', 'vanity', 'household')", name=op.f("ck_attribution_paths_match_type")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "conversion_id"],
            ["conversions.tenant_id", "conversions.id"],
            name=op.f("fk_attribution_paths_tenant_id_conversion_id_conversions"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_attribution_paths_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_attribution_paths")),
    )
    op.create_index(
        "ix_attribution_paths_tenant_conversion", "attribution_paths", ["tenant_id", "conversion_id"], unique=False
    )
    op.create_index("ix_attribution_paths_tenant_run", "attribution_paths", ["tenant_id", "run_id"], unique=False)
    op.create_table(
        "attribution_runs",
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="running", nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("stats", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint("status IN ('running', 'completed', 'failed')", name=op.f("ck_attribution_runs_status")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "campaign_id"],
            ["campaigns.tenant_id", "campaigns.id"],
            name=op.f("fk_attribution_runs_tenant_id_campaign_id_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_attribution_runs_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_attribution_runs")),
    )
    op.create_index(
        "ix_attribution_runs_tenant_campaign_started",
        "attribution_runs",
        ["tenant_id", "campaign_id", "started_at"],
        unique=False,
    )
    op.create_table(
        "attribution_validations",
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("model", sa.String(length=20), nullable=False),
        sa.Column("ground_truth", sa.String(length=20), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("predicted", sa.Float(), nullable=False),
        sa.Column("actual", sa.Float(), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=False),
        sa.Column("ci_low", sa.Float(), nullable=True),
        sa.Column("ci_high", sa.Float(), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "ground_truth IN ('promo_code', 'holdout')", name=op.f("ck_attribution_validations_ground_truth")
        ),
        sa.CheckConstraint(
            "model IN ('first_touch', 'last_touch', 'linear', 'time_decay', 'position_based', 'custom')",
            name=op.f("ck_attribution_validations_model"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "campaign_id"],
            ["campaigns.tenant_id", "campaigns.id"],
            name=op.f("fk_attribution_validations_tenant_id_campaign_id_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_attribution_validations_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_attribution_validations")),
    )
    op.create_index(
        "ix_attribution_validations_tenant_campaign",
        "attribution_validations",
        ["tenant_id", "campaign_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {SOURCE_FOR_TOKEN}")
    for table in TABLES:
        for statement in drop_tenant_rls(table):
            op.execute(statement)
    op.drop_constraint(op.f("ck_sponsors_attribution_lookback_days"), "sponsors", type_="check")
    op.drop_column("sponsors", "attribution_lookback_days")
    op.drop_index("ix_attribution_validations_tenant_campaign", table_name="attribution_validations")
    op.drop_table("attribution_validations")
    op.drop_index("ix_attribution_runs_tenant_campaign_started", table_name="attribution_runs")
    op.drop_table("attribution_runs")
    op.drop_index("ix_attribution_paths_tenant_run", table_name="attribution_paths")
    op.drop_index("ix_attribution_paths_tenant_conversion", table_name="attribution_paths")
    op.drop_table("attribution_paths")
    op.drop_index("uq_attribution_models_tenant_campaign_model", table_name="attribution_models")
    op.drop_table("attribution_models")
    op.drop_index("ix_pixel_events_tenant_source_ts", table_name="pixel_events")
    op.drop_table("pixel_events")
    op.drop_index(
        "uq_conversions_tenant_source_order", table_name="conversions", postgresql_where=sa.text("order_id IS NOT NULL")
    )
    op.drop_index("ix_conversions_tenant_sponsor_at", table_name="conversions")
    op.drop_index("ix_conversions_tenant_ip_hash", table_name="conversions")
    op.drop_table("conversions")
    op.drop_index("uq_conversion_deliveries_tenant_source_event", table_name="conversion_deliveries")
    op.drop_index("ix_conversion_deliveries_tenant_received", table_name="conversion_deliveries")
    op.drop_table("conversion_deliveries")
    op.drop_index("uq_conversion_sources_tenant_token", table_name="conversion_sources")
    op.drop_index("ix_conversion_sources_token", table_name="conversion_sources")
    op.drop_index("ix_conversion_sources_tenant_sponsor", table_name="conversion_sources")
    op.drop_table("conversion_sources")
    op.drop_index("ix_attribution_credits_tenant_run_model", table_name="attribution_credits")
    op.drop_index("ix_attribution_credits_tenant_campaign", table_name="attribution_credits")
    op.drop_table("attribution_credits")
