"""Roles and database: an owner that runs migrations, a runtime role that owns nothing.

The runtime role is not superuser, has no BYPASSRLS, cannot create roles or databases, and (by the grants in the
migrations) has no TRUNCATE. The owner bypasses RLS only so that the few SECURITY DEFINER functions that must look
across tenants (sign-in by e-mail, API key lookup, the worker's tenant list) can do so.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from podsponsor.db.urls import libpq_conninfo, with_user


@dataclass(frozen=True)
class DatabaseUrls:
    owner: str
    app: str


def ensure_roles(admin_url: str, owner_role: str, runtime_role: str) -> None:
    with psycopg.connect(libpq_conninfo(admin_url), autocommit=True) as conn:
        existing = {
            row[0]
            for row in conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [[owner_role, runtime_role]]
            )
        }
        if owner_role not in existing:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN BYPASSRLS").format(sql.Identifier(owner_role)))
        if runtime_role not in existing:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT").format(
                    sql.Identifier(runtime_role)
                )
            )


def ensure_database(admin_url: str, name: str, owner_role: str) -> bool:
    """Create the database owned by the owner role; True when it was created now."""
    with psycopg.connect(libpq_conninfo(admin_url), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(owner_role)))
        return True


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(libpq_conninfo(admin_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def provision(admin_url: str, database: str, owner_role: str, runtime_role: str) -> DatabaseUrls:
    """Roles + database on a server where `admin_url` may create them; the URLs to use afterwards."""
    ensure_roles(admin_url, owner_role, runtime_role)
    ensure_database(admin_url, database, owner_role)
    return DatabaseUrls(
        owner=with_user(admin_url, owner_role, database=database),
        app=with_user(admin_url, runtime_role, database=database),
    )
