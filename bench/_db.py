"""Shared by the benchmarks: a database of their own, provisioned and migrated like production."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from podsponsor.config import reset_settings
from podsponsor.db import bootstrap, embedded, migrate
from podsponsor.db.bootstrap import DatabaseUrls

ROOT = Path(__file__).resolve().parent.parent
OWNER, RUNTIME = "podsponsor_owner", "podsponsor_app"


def bench_database(name: str) -> tuple[str, DatabaseUrls]:
    """(admin URL, URLs) of a fresh database `name` on DATABASE_URL's server, or on the embedded one."""
    admin = os.environ.get("BENCH_ADMIN_URL") or os.environ.get("DATABASE_URL")
    if not admin:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            admin = embedded.start((ROOT / ".podsponsor" / "pgdata").resolve())
    bootstrap.drop_database(admin, name)
    urls = bootstrap.provision(admin, name, OWNER, RUNTIME)
    migrate.upgrade(urls.owner, RUNTIME)
    os.environ.update(
        {
            "DATABASE_URL": urls.owner,
            "DATABASE_APP_URL": urls.app,
            "PODSPONSOR_ENV": "test",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-secret-key-0123456789-abcdefghij"),
        }
    )
    reset_settings()
    return admin, urls
