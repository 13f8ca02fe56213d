"""The tenant is set per transaction, never per connection: a session-level setting would ride a pooled connection
into the next request, which would then read and write as the previous caller's tenant."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from podsponsor.db import tenancy
from podsponsor.db.bootstrap import DatabaseUrls
from podsponsor.db.urls import with_driver

SRC = Path(__file__).resolve().parents[2] / "src"

# `SET app.x = …`, `SET SESSION app.x TO …`, and `ALTER ROLE/DATABASE … SET app.x = …` (a default for every
# session). `SET LOCAL` is transaction-local and allowed.
SESSION_SET = re.compile(r"\bSET\s+(?:SESSION\s+)?\"?app\.\w+\"?\s*(?:=|\bTO\b)", re.IGNORECASE)
SET_CONFIG = re.compile(r"\bset_config\s*\(", re.IGNORECASE)
# A setting name passed as a bind parameter or column could be an `app.` one; prose ("set_config(..., true)") is not.
PARAMETER = re.compile(r":\w+|%s|%\(\w+\)s|\$\d+|\w+")


def set_config_calls(source: str) -> Iterator[list[str]]:
    """The top-level arguments of every `set_config(...)` in the text, quotes respected."""
    for match in SET_CONFIG.finditer(source):
        args, depth, quote, current = [], 0, "", ""
        for char in source[match.end() :]:
            if quote:
                quote = "" if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char == "(":
                depth += 1
            elif char == ")" and depth:
                depth -= 1
            elif char == ")" or (char == "," and not depth):
                args.append(current.strip())
                current = ""
                if char == ")":
                    break
                continue
            current += char
        yield args


def session_level_settings(source: str) -> list[str]:
    """Every statement in the text that would set an `app.` setting beyond the current transaction."""
    found = [m.group(0) for m in SESSION_SET.finditer(source)]
    for args in set_config_calls(source):
        first = args[0] if args else ""
        names_app_setting = first.strip("'\"").startswith("app.") or PARAMETER.fullmatch(first) is not None
        if names_app_setting and (len(args) != 3 or args[2].lower() != "true"):
            found.append(f"set_config({', '.join(args)})")
    return found


def _sources() -> list[Path]:
    return sorted(p for p in SRC.rglob("*") if p.suffix in {".py", ".sql"} and p.is_file())


@pytest.mark.parametrize(
    ("snippet", "leaks"),
    [
        ("SET app.tenant_id = '1'", True),
        ('conn.execute("set session app.tenant_id to %s", [t])', True),
        ("ALTER ROLE podsponsor_app SET app.tenant_id = 'x'", True),
        ("SELECT set_config('app.tenant_id', %s, false)", True),
        ("SELECT set_config('app.tenant_id', :tenant_id)", True),
        ("SELECT set_config(:name, :value, false)", True),
        ("SELECT set_config('app.tenant_id', :tenant_id, true)", False),
        ("SELECT set_config('app.tenant_id', coalesce(:t, ''), TRUE)", False),
        ("SET LOCAL app.tenant_id = '1'", False),
        ("SELECT set_config('search_path', 'public', false)", False),
        ("we set app.state.throttle in the factory", False),
        ("the docstring says `set_config(..., true)` is transaction-local", False),
    ],
)
def test_the_lint_tells_session_settings_from_transaction_settings(snippet: str, leaks: bool) -> None:
    assert bool(session_level_settings(snippet)) is leaks, session_level_settings(snippet)


def test_no_session_level_tenant_setting_in_the_source() -> None:
    sources = _sources()
    assert SRC / "podsponsor" / "db" / "tenancy.py" in sources, f"the lint scanned the wrong tree: {SRC}"
    offenders = [
        f"{path.relative_to(SRC)}: {found}"
        for path in sources
        for found in session_level_settings(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, "session-level settings leak to the next user of a pooled connection:\n  " + "\n  ".join(
        offenders
    )


def test_tenancy_sets_the_tenant_transaction_locally() -> None:
    source = (SRC / "podsponsor" / "db" / "tenancy.py").read_text(encoding="utf-8")
    calls = list(set_config_calls(source))
    assert ["'app.tenant_id'", ":tenant_id", "true"] in calls, f"set_config calls in tenancy.py: {calls}"


@pytest.fixture
async def single_connection_pool(database: DatabaseUrls) -> AsyncIterator[AsyncEngine]:
    """A pool of one, so consecutive transactions are guaranteed to share the connection."""
    engine = create_async_engine(with_driver(database.app), pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


async def _pid_and_tenant(engine: AsyncEngine, tenant: uuid.UUID | None, statement: str) -> tuple[int, str | None]:
    """One request-like transaction: optionally set the tenant the app's way, then read the connection's state."""
    async with async_sessionmaker(engine)() as session, session.begin():
        if tenant is not None:
            await tenancy.set_tenant(session, tenant)
        row = (await session.execute(text(statement))).one()
        return int(row[0]), row[1]


@pytest.mark.isolation
async def test_the_next_transaction_on_a_pooled_connection_has_no_tenant(single_connection_pool: AsyncEngine) -> None:
    tenant = uuid.uuid4()
    read = "SELECT pg_backend_pid(), current_setting('app.tenant_id', true)"
    pid, during = await _pid_and_tenant(single_connection_pool, tenant, read)
    next_pid, after = await _pid_and_tenant(single_connection_pool, None, read)
    assert next_pid == pid, "the pool handed out another connection; the check proves nothing"
    assert during == str(tenant)
    assert after == "", f"the next transaction on the connection still carries tenant {after!r}"
    # The control: the same pool does carry a session-level setting over, which is what the lint above forbids.
    leak = f"SELECT pg_backend_pid(), set_config('app.tenant_id', '{tenant}', false)"
    await _pid_and_tenant(single_connection_pool, None, leak)
    assert (await _pid_and_tenant(single_connection_pool, None, read))[1] == str(tenant)
