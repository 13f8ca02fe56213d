"""The `podsponsor` command against the test database: help, migrations, accounts, doctor, bad input."""

from __future__ import annotations

import uuid

import httpx
import psycopg
import pytest

from podsponsor.db import migrate
from podsponsor.db.bootstrap import DatabaseUrls
from podsponsor.db.urls import libpq_conninfo
from tests.cli.conftest import podsponsor
from tests.factories.identity import token_for

COMMANDS = ("serve", "worker", "demo", "migrate", "create-tenant", "create-user", "doctor", "demo-data")
PASSWORD = "correct horse battery staple"


def test_help_lists_every_command() -> None:
    result = podsponsor("--help", env={"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": "/tmp"})
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert f" {command} " in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself(command: str) -> None:
    result = podsponsor(command, "--help", env={"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": "/tmp"})
    assert result.returncode == 0, result.stderr
    assert f"Usage: podsponsor {command}" in result.stdout
    summary = result.stdout.split(f"Usage: podsponsor {command}", 1)[1].splitlines()[2].strip()
    assert len(summary) > 20, result.stdout


def test_migrate_is_idempotent_at_head(cli_env: dict[str, str]) -> None:
    for _ in range(2):
        result = podsponsor("migrate", env=cli_env)
        assert result.returncode == 0, result.stderr
        assert f"database at revision {migrate.head_revision()} (head)" in result.stdout


def test_an_unknown_revision_is_refused_clearly(cli_env: dict[str, str]) -> None:
    result = podsponsor("migrate", "--revision", "nope", env=cli_env)
    assert result.returncode == 1
    assert "nope" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_tenant_and_user_made_on_the_command_line_can_sign_in(cli_env: dict[str, str], server: str) -> None:
    tag = uuid.uuid4().hex[:8]
    created = podsponsor(
        "create-tenant",
        f"Cli Network {tag}",
        "--slug",
        f"cli-{tag}",
        "--owner-email",
        f"boss-{tag}@example.com",
        "--password",
        PASSWORD,
        env=cli_env,
    )
    assert created.returncode == 0, created.stderr
    assert f"cli-{tag}" in created.stdout
    added = podsponsor(
        "create-user",
        "--workspace",
        f"cli-{tag}",
        "--email",
        f"seller-{tag}@example.com",
        "--role",
        "sales",
        "--password",
        PASSWORD,
        env=cli_env,
    )
    assert added.returncode == 0, added.stderr

    owner = token_for(server, f"boss-{tag}@example.com")
    seller = token_for(server, f"seller-{tag}@example.com", workspace=f"cli-{tag}")
    for token, role in ((owner, "owner"), (seller, "sales")):
        me = httpx.get(f"{server}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert me.status_code == 200
        assert me.json()["role"] == role
        assert me.json()["tenant_name"] == f"Cli Network {tag}"


def test_a_taken_workspace_slug_is_refused(cli_env: dict[str, str]) -> None:
    tag = uuid.uuid4().hex[:8]
    args = ("create-tenant", f"Twice {tag}", "--owner-email", f"o-{tag}@example.com", "--password", PASSWORD)
    assert podsponsor(*args, env=cli_env).returncode == 0
    again = podsponsor(*args, env=cli_env)
    assert again.returncode == 1
    assert "exists" in again.stderr


def test_an_unknown_role_exits_non_zero_naming_the_option_and_the_choices(cli_env: dict[str, str]) -> None:
    result = podsponsor(
        "create-user",
        "--workspace",
        "anything",
        "--email",
        "x@example.com",
        "--role",
        "emperor",
        "--password",
        PASSWORD,
        env=cli_env,
    )
    assert result.returncode == 2
    assert "--role" in result.stderr
    assert "'sales'" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_workspace_is_named(cli_env: dict[str, str]) -> None:
    result = podsponsor(
        "create-user",
        "--workspace",
        f"nowhere-{uuid.uuid4().hex[:6]}",
        "--email",
        "x@example.com",
        "--role",
        "sales",
        "--password",
        PASSWORD,
        env=cli_env,
    )
    assert result.returncode == 1
    assert "no workspace has the slug 'nowhere-" in result.stderr


def test_doctor_passes_on_the_test_database(cli_env: dict[str, str]) -> None:
    result = podsponsor("doctor", env=cli_env)
    assert result.returncode == 0, result.stdout + result.stderr
    checks = [line for line in result.stdout.splitlines() if line[:1] in "✓✗" and line]
    assert len(checks) >= 8
    assert all(line.startswith("✓") for line in checks), result.stdout
    assert "row-level security" in result.stdout
    assert "migrations at head" in result.stdout


def test_doctor_fails_in_prod_without_a_secret_key(cli_env: dict[str, str]) -> None:
    env = {key: value for key, value in cli_env.items() if key != "SECRET_KEY"}
    result = podsponsor("doctor", env={**env, "PODSPONSOR_ENV": "prod"})
    assert result.returncode == 1
    assert "✗ SECRET_KEY" in result.stdout
    assert "fix: set SECRET_KEY" in result.stdout


def test_doctor_names_a_tenant_table_without_row_level_security(
    cli_env: dict[str, str], database: DatabaseUrls
) -> None:
    table = f"leaky_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_conninfo(database.owner), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (tenant_id uuid NOT NULL, note text)")
        try:
            result = podsponsor("doctor", env=cli_env)
        finally:
            conn.execute(f"DROP TABLE {table}")
    assert result.returncode == 1
    assert f"✗ row-level security enabled, forced and with a policy on every tenant table: not protected: {table}" in (
        result.stdout
    )


def test_doctor_names_an_unreachable_runtime_database(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "DATABASE_APP_URL": "postgresql://podsponsor_app@127.0.0.1:1/nowhere"}
    result = podsponsor("doctor", env=env)
    assert result.returncode == 1
    assert "✗ database reachable as the runtime role" in result.stdout
    assert "✓ database reachable as the owner" in result.stdout
