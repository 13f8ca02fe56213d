"""SQL that migrations use to put a table under row-level security and to grant the runtime role."""

from __future__ import annotations

CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def tenant_rls(table: str, column: str = "tenant_id") -> list[str]:
    """ENABLE + FORCE RLS and one policy for all verbs, reading the transaction-local tenant."""
    predicate = f"{column} = {CURRENT_TENANT}"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING ({predicate}) WITH CHECK ({predicate})",
    ]


def drop_tenant_rls(table: str) -> list[str]:
    return [f"DROP POLICY IF EXISTS tenant_isolation ON {table}"]


def runtime_grants(runtime_role: str) -> list[str]:
    """The runtime role reads and writes rows; it never truncates, alters or owns. Default privileges make
    tables created later by the owner carry the same grants."""
    role = f'"{runtime_role}"'
    return [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO {role}",
    ]


def revoke_runtime_grants(runtime_role: str) -> list[str]:
    role = f'"{runtime_role}"'
    return [
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE EXECUTE ON FUNCTIONS FROM {role}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}",
        f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM {role}",
    ]


def readiness_grant(runtime_role: str) -> str:
    """The runtime role reads the migration version (for /ready) at every revision, base included."""
    return f'GRANT SELECT ON alembic_version TO "{runtime_role}"'
