"""Direct connections for the isolation proofs: the owner reads the catalog, the runtime role is the one proven."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from podsponsor.db.bootstrap import DatabaseUrls
from podsponsor.db.urls import libpq_conninfo
from tests.security.schema import Table, tenant_tables


@pytest.fixture(scope="session")
def owner_conn(database: DatabaseUrls) -> Iterator[psycopg.Connection]:
    with psycopg.connect(libpq_conninfo(database.owner), autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def catalog(owner_conn: psycopg.Connection) -> dict[str, Table]:
    return tenant_tables(owner_conn)
