"""campaign share links

Read-only campaign links a seller shares with a sponsor (only the token's hash is stored), under row-level security,
and the tenant-less lookup of a link by that hash (a shared link names no workspace).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from podsponsor.db.rls import drop_tenant_rls, tenant_rls
from podsponsor.db.runtime_role import runtime_role

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LINK_FOR_TOKEN = "reports_share_link_for_token(p_token_hash text)"
# The shared page knows only the token in its URL; expired and revoked links are returned too, so the page can say
# which it is.
LINK_FOR_TOKEN_BODY = """
    RETURNS TABLE (tenant_id uuid, link_id uuid, campaign_id uuid, expires_at timestamptz, revoked_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
      SELECT l.tenant_id, l.id, l.campaign_id, l.expires_at, l.revoked_at
      FROM public.campaign_share_links l WHERE l.token_hash = p_token_hash
    $$"""


def upgrade() -> None:
    op.create_table(
        "campaign_share_links",
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), server_default="", nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.UUID(), nullable=True),
        sa.Column("views", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_viewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_campaign_share_links_expiry")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "campaign_id"],
            ["campaigns.tenant_id", "campaigns.id"],
            name=op.f("fk_campaign_share_links_tenant_id_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_campaign_share_links_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_campaign_share_links")),
    )
    op.create_index(
        "ix_campaign_share_links_tenant_campaign", "campaign_share_links", ["tenant_id", "campaign_id"], unique=False
    )
    op.create_index("uq_campaign_share_links_token_hash", "campaign_share_links", ["token_hash"], unique=True)
    for statement in tenant_rls("campaign_share_links"):
        op.execute(statement)
    role = runtime_role()
    op.execute(f"CREATE FUNCTION {LINK_FOR_TOKEN} {LINK_FOR_TOKEN_BODY}")
    op.execute(f"REVOKE ALL ON FUNCTION {LINK_FOR_TOKEN} FROM PUBLIC")
    op.execute(f'GRANT EXECUTE ON FUNCTION {LINK_FOR_TOKEN} TO "{role}"')


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {LINK_FOR_TOKEN}")
    for statement in drop_tenant_rls("campaign_share_links"):
        op.execute(statement)
    op.drop_index("uq_campaign_share_links_token_hash", table_name="campaign_share_links")
    op.drop_index("ix_campaign_share_links_tenant_campaign", table_name="campaign_share_links")
    op.drop_table("campaign_share_links")
