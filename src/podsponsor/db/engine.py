"""The process's database: resolved URLs and the runtime role's async engine."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from podsponsor.config import Settings
from podsponsor.db import embedded
from podsponsor.db.bootstrap import DatabaseUrls, provision
from podsponsor.db.urls import with_driver, with_user

EMBEDDED_DATABASE = "podsponsor"


@dataclass
class Database:
    urls: DatabaseUrls
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


_database: Database | None = None


def resolve_urls(settings: Settings) -> DatabaseUrls:
    """Where the owner and the runtime role connect. The embedded server is started (or joined) here."""
    if settings.database_url is None:
        admin = embedded.start(settings.pgdata)
        return provision(admin, EMBEDDED_DATABASE, settings.db_owner_role, settings.db_runtime_role)
    app = settings.database_app_url or with_user(
        settings.database_url, settings.db_runtime_role, settings.database_app_password
    )
    return DatabaseUrls(owner=settings.database_url, app=app)


def make_engine(url: str, settings: Settings) -> AsyncEngine:
    return create_async_engine(
        with_driver(url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"connect_timeout": settings.db_connect_timeout_seconds},
    )


def configure(settings: Settings, urls: DatabaseUrls | None = None) -> Database:
    global _database
    urls = urls or resolve_urls(settings)
    engine = make_engine(urls.app, settings)
    _database = Database(urls, engine, async_sessionmaker(engine, expire_on_commit=False))
    return _database


def get_database() -> Database:
    if _database is None:
        raise RuntimeError("the database is not configured; the app factory or CLI configures it")
    return _database


async def dispose() -> None:
    global _database
    if _database is not None:
        await _database.engine.dispose()
        _database = None
