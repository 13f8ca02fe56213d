"""Alembic environment. Runs as the owner role; the URL comes from `podsponsor.db.migrate`."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine, pool

from podsponsor.db.models import Base
from podsponsor.measurement.hit_models import PARTITION_PREFIX

config = context.config
target_metadata = Base.metadata


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    # procrastinate's tables come from its own schema SQL, applied by a migration; they are not our models.
    # Day partitions of download_requests are made at run time by a database function; the parent is compared.
    return not (type_ == "table" and name is not None and name.startswith(("procrastinate_", PARTITION_PREFIX)))


def run_migrations_online() -> None:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(str(url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
