"""Alembic, driven from code: the CLI, the app's readiness check and the tests use these."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from podsponsor.db.urls import with_driver

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(owner_url: str, runtime_role: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s")
    cfg.attributes["url"] = with_driver(owner_url).render_as_string(hide_password=False)
    cfg.attributes["runtime_role"] = runtime_role
    return cfg


def upgrade(owner_url: str, runtime_role: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(owner_url, runtime_role), revision)


def downgrade(owner_url: str, runtime_role: str, revision: str) -> None:
    command.downgrade(alembic_config(owner_url, runtime_role), revision)


def head_revision() -> str | None:
    script = ScriptDirectory(str(MIGRATIONS))
    return script.get_current_head()


def current_revision(owner_or_app_url: str) -> str | None:
    engine = create_engine(with_driver(owner_or_app_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
