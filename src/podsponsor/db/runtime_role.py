"""The runtime role's name as a migration sees it (set by `podsponsor.db.migrate`, else from settings)."""

from __future__ import annotations

from alembic import context

from podsponsor.config import get_settings


def runtime_role() -> str:
    role = context.config.attributes.get("runtime_role")
    return str(role) if role else get_settings().db_runtime_role
