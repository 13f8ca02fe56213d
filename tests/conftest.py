"""Test harness: a fresh database built by migrating, the app served over real HTTP, and two-tenant helpers.

Against DATABASE_URL when set (it must be allowed to create roles and databases), else the embedded server.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from podsponsor.config import Settings, reset_settings
from podsponsor.db import bootstrap, embedded, engine, migrate
from podsponsor.db.bootstrap import DatabaseUrls
from tests.factories.app_server import serve_app
from tests.factories.feed_server import FeedServer

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
OWNER_ROLE = "podsponsor_owner"
RUNTIME_ROLE = "podsponsor_app"
TEST_SECRET = "test-secret-key-not-for-production-0123456789"


def _admin_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return embedded.start((ROOT / ".podsponsor" / "pgdata").resolve())


@pytest.fixture(scope="session")
def admin_url() -> str:
    return _admin_url()


@pytest.fixture(scope="session")
def database(admin_url: str) -> Iterator[DatabaseUrls]:
    """A database of its own for this test run, migrated to head by the owner role."""
    name = f"podsponsor_test_{uuid.uuid4().hex[:10]}"
    urls = bootstrap.provision(admin_url, name, OWNER_ROLE, RUNTIME_ROLE)
    migrate.upgrade(urls.owner, RUNTIME_ROLE)
    os.environ.update(
        {
            "DATABASE_URL": urls.owner,
            "DATABASE_APP_URL": urls.app,
            "PODSPONSOR_ENV": "test",
            "SECRET_KEY": TEST_SECRET,
            "LOG_JSON": "true",
            # The suite signs up hundreds of workspaces from one address; tests/ratelimit holds the limit to account.
            "RATE_LIMITS": "signup=100000/3600",
        }
    )
    reset_settings()
    yield urls
    bootstrap.drop_database(admin_url, name)


@pytest.fixture(scope="session")
def settings(database: DatabaseUrls) -> Settings:
    return Settings()


@pytest.fixture(scope="session")
async def db(database: DatabaseUrls, settings: Settings) -> AsyncIterator[engine.Database]:
    """The runtime role's engine in the test process, for service-level tests."""
    configured = engine.configure(settings, database)
    yield configured
    await engine.dispose()


@pytest.fixture(scope="session")
def server(database: DatabaseUrls) -> Iterator[str]:
    """The app in its own process, over real HTTP; its log goes to test-artifacts/server.log."""
    # The app may fetch feeds from the tests' own local servers, and from nowhere else private.
    env = {**os.environ, "LOGIN_MAX_FAILURES": "5", "OUTBOUND_ALLOW_HOSTS": "127.0.0.1"}
    with serve_app(env, ARTIFACTS / "server.log") as base:
        yield base


@pytest.fixture
def anon(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def feed_server() -> Iterator[FeedServer]:
    served = FeedServer()
    yield served
    served.stop()
