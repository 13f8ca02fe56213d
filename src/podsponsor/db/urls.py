"""Connection URLs: the owner's (migrations), the runtime role's (app, worker), and driver forms of each."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url


def with_driver(url: str, driver: str = "psycopg") -> URL:
    parsed = make_url(url)
    return parsed.set(drivername=f"postgresql+{driver}")


def with_user(url: str, user: str, password: str | None = None, database: str | None = None) -> str:
    parsed = make_url(url).set(username=user, password=password)
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def libpq_conninfo(url: str) -> str:
    """A libpq URI (no SQLAlchemy driver suffix), as procrastinate and psycopg want it."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def redact(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
