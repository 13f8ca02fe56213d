"""foundation: identity, catalog, sales basics, events, flags; RLS, grants, cross-tenant lookups

Revision ID: 0001
Revises:
Create Date: 2026-11-22 07:46:17.749663
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from podsponsor.db.rls import readiness_grant, revoke_runtime_grants, runtime_grants, tenant_rls
from podsponsor.db.runtime_role import runtime_role

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("settings", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('network', 'creator', 'agency', 'advertiser')", name=op.f("ck_tenants_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("slug", name=op.f("uq_tenants_slug")),
    )
    op.create_table(
        "audit_log",
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor_user_id", sa.UUID(), nullable=True),
        sa.Column("actor_api_key_id", sa.UUID(), nullable=True),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("target_type", sa.String(length=40), nullable=True),
        sa.Column("target_id", sa.String(length=80), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("ip_hash", sa.String(length=64), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_audit_log_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_tenant_at", "audit_log", ["tenant_id", "at"], unique=False)
    op.create_table(
        "events",
        sa.Column("type", sa.String(length=80), nullable=False),
        sa.Column("subject_type", sa.String(length=40), nullable=True),
        sa.Column("subject_id", sa.UUID(), nullable=True),
        sa.Column("actor_user_id", sa.UUID(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_events_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_tenant_at", "events", ["tenant_id", "at"], unique=False)
    op.create_index("ix_events_tenant_type_at", "events", ["tenant_id", "type", "at"], unique=False)
    op.create_table(
        "feature_flags",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_feature_flags_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_feature_flags")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_feature_flags_tenant_id_name")),
    )
    op.create_table(
        "podcasts",
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("feed_url", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("author", sa.String(length=500), server_default="", nullable=False),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("explicit", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("categories", postgresql.ARRAY(sa.String(length=200)), server_default="{}", nullable=False),
        sa.Column("image_url", sa.Text(), nullable=True),
        sa.Column("website_url", sa.Text(), nullable=True),
        sa.Column("audience_profile", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_podcasts_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_podcasts")),
    )
    op.create_index("ix_podcasts_tenant_title", "podcasts", ["tenant_id", "title"], unique=False)
    op.create_index(
        "uq_podcasts_tenant_feed_url",
        "podcasts",
        ["tenant_id", "feed_url"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL AND feed_url IS NOT NULL"),
    )
    op.create_table(
        "sponsors",
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("industry", sa.String(length=100), nullable=False),
        sa.Column("website_url", sa.Text(), nullable=True),
        sa.Column("contact_email", sa.String(length=320), nullable=True),
        sa.Column("target_geo", postgresql.ARRAY(sa.String(length=2)), server_default="{}", nullable=False),
        sa.Column("target_demo", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("target_topics", postgresql.ARRAY(sa.String(length=100)), server_default="{}", nullable=False),
        sa.Column("brand_safety", sa.String(length=20), server_default="moderate", nullable=False),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "brand_safety IN ('strict', 'moderate', 'permissive')", name=op.f("ck_sponsors_brand_safety")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_sponsors_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_sponsors")),
    )
    op.create_index(
        "uq_sponsors_tenant_name",
        "sponsors",
        ["tenant_id", sa.literal_column("lower(name)")],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "episodes",
        sa.Column("podcast_id", sa.UUID(), nullable=False),
        sa.Column("guid", sa.Text(), nullable=False),
        sa.Column("title", sa.String(length=1000), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("enclosure_url", sa.Text(), nullable=True),
        sa.Column("enclosure_bytes", sa.BigInteger(), nullable=True),
        sa.Column("enclosure_type", sa.String(length=100), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("publish_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("season", sa.Integer(), nullable=True),
        sa.Column("episode_number", sa.Integer(), nullable=True),
        sa.Column("explicit", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("transcript_url", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "podcast_id"],
            ["podcasts.tenant_id", "podcasts.id"],
            name=op.f("fk_episodes_tenant_id_podcast_id_podcasts"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_episodes_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_episodes")),
    )
    op.create_index(
        "ix_episodes_tenant_podcast_published",
        "episodes",
        ["tenant_id", "podcast_id", "publish_date"],
        unique=False,
    )
    op.create_index(
        "uq_episodes_tenant_podcast_guid",
        "episodes",
        ["tenant_id", "podcast_id", "guid"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "users",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("sponsor_id", sa.UUID(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("session_version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "role <> 'advertiser' OR sponsor_id IS NOT NULL", name=op.f("ck_users_advertiser_has_sponsor")
        ),
        sa.CheckConstraint(
            "role IN ('owner', 'admin', 'sales', 'ops', 'creator', 'advertiser')", name=op.f("ck_users_role")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "sponsor_id"],
            ["sponsors.tenant_id", "sponsors.id"],
            name=op.f("fk_users_tenant_id_sponsor_id_sponsors"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_users_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_users")),
        sa.UniqueConstraint("tenant_id", "email", name=op.f("uq_users_tenant_id_email")),
    )
    op.create_table(
        "api_keys",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=24), nullable=False),
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("sponsor_id", sa.UUID(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_api_keys_tenant_id_created_by_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_api_keys_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("tenant_id", "prefix", name=op.f("uq_api_keys_tenant_id_prefix")),
    )
    op.create_index("ix_api_keys_prefix", "api_keys", ["prefix"], unique=False)
    op.create_table(
        "campaigns",
        sa.Column("sponsor_id", sa.UUID(), nullable=False),
        sa.Column("seller_id", sa.UUID(), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("stage", sa.String(length=20), server_default="lead", nullable=False),
        sa.Column("stage_changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("value_cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.String(length=3), server_default="USD", nullable=False),
        sa.Column("probability", sa.Numeric(precision=4, scale=3), nullable=True),
        sa.Column("expected_close", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "stage IN ('lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost')",
            name=op.f("ck_campaigns_stage"),
        ),
        sa.CheckConstraint(
            "probability IS NULL OR (probability >= 0 AND probability <= 1)",
            name=op.f("ck_campaigns_probability"),
        ),
        sa.CheckConstraint("value_cents >= 0", name=op.f("ck_campaigns_value_not_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "seller_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_campaigns_tenant_id_seller_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "sponsor_id"],
            ["sponsors.tenant_id", "sponsors.id"],
            name=op.f("fk_campaigns_tenant_id_sponsor_id_sponsors"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_campaigns_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_campaigns")),
    )
    op.create_index("ix_campaigns_tenant_sponsor", "campaigns", ["tenant_id", "sponsor_id"], unique=False)
    op.create_index("ix_campaigns_tenant_stage", "campaigns", ["tenant_id", "stage"], unique=False)
    _secure()


def downgrade() -> None:
    _unsecure()
    op.drop_index("ix_campaigns_tenant_stage", table_name="campaigns")
    op.drop_index("ix_campaigns_tenant_sponsor", table_name="campaigns")
    op.drop_table("campaigns")
    op.drop_index("ix_api_keys_prefix", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("users")
    op.drop_index(
        "uq_episodes_tenant_podcast_guid",
        table_name="episodes",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index("ix_episodes_tenant_podcast_published", table_name="episodes")
    op.drop_table("episodes")
    op.drop_index("uq_sponsors_tenant_name", table_name="sponsors", postgresql_where=sa.text("deleted_at IS NULL"))
    op.drop_table("sponsors")
    op.drop_index(
        "uq_podcasts_tenant_feed_url",
        table_name="podcasts",
        postgresql_where=sa.text("deleted_at IS NULL AND feed_url IS NOT NULL"),
    )
    op.drop_index("ix_podcasts_tenant_title", table_name="podcasts")
    op.drop_table("podcasts")
    op.drop_table("feature_flags")
    op.drop_index("ix_events_tenant_type_at", table_name="events")
    op.drop_index("ix_events_tenant_at", table_name="events")
    op.drop_table("events")
    op.drop_index("ix_audit_log_tenant_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("tenants")


TENANT_TABLES = (
    "users",
    "api_keys",
    "audit_log",
    "events",
    "feature_flags",
    "podcasts",
    "episodes",
    "sponsors",
    "campaigns",
)

# Cross-tenant lookups the runtime role may make, and nothing more: each returns only what its caller must
# verify (a password hash, a key hash) or a list of tenant ids for the worker's periodic jobs.
LOOKUPS = {
    "auth_find_logins(p_email text)": """
        RETURNS TABLE (tenant_id uuid, user_id uuid, password_hash text, tenant_slug text, tenant_name text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
          SELECT u.tenant_id, u.id, u.password_hash, t.slug::text, t.name::text
          FROM users u JOIN tenants t ON t.id = u.tenant_id
          WHERE lower(u.email) = lower(p_email) AND u.is_active
        $$""",
    "auth_find_api_key(p_prefix text)": """
        RETURNS TABLE (tenant_id uuid, key_id uuid, key_hash text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
          SELECT k.tenant_id, k.id, k.key_hash::text FROM api_keys k
          WHERE k.prefix = p_prefix AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
        $$""",
    "system_tenant_ids()": """
        RETURNS SETOF uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
          SELECT id FROM tenants ORDER BY created_at
        $$""",
}


def _secure() -> None:
    op.execute("ALTER TABLE tenants ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE tenants FORCE ROW LEVEL SECURITY")
    for statement in tenant_rls("tenants", column="id"):
        if "POLICY" in statement:
            op.execute(statement)
    for table in TENANT_TABLES:
        for statement in tenant_rls(table):
            op.execute(statement)
    role = runtime_role()
    for signature, body in LOOKUPS.items():
        op.execute(f"CREATE FUNCTION {signature} {body}")
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    for statement in runtime_grants(role):
        op.execute(statement)


def _unsecure() -> None:
    for signature in LOOKUPS:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    for statement in revoke_runtime_grants(runtime_role()):
        op.execute(statement)
    op.execute(readiness_grant(runtime_role()))
