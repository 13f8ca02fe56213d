"""Run the `podsponsor` command as a user would: a subprocess with the test run's environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from podsponsor.cli_doctor import stop_stale_server
from podsponsor.db.bootstrap import DatabaseUrls
from tests.conftest import ROOT

# The console script that `pip install` makes from pyproject's [project.scripts], beside the interpreter.
PODSPONSOR = Path(sys.executable).parent / "podsponsor"


def podsponsor(
    *args: str, env: Mapping[str, str], timeout: float = 120, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PODSPONSOR), *args],
        env=dict(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
    )


def embedded_env(data_dir: str) -> dict[str, str]:
    """An environment where the command starts its own embedded PostgreSQL in `data_dir`."""
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "DATABASE_APP_URL"}}
    return {**env, "PODSPONSOR_DATA_DIR": data_dir, "XDG_RUNTIME_DIR": env.get("XDG_RUNTIME_DIR", "/tmp")}


@pytest.fixture
def cli_env(database: DatabaseUrls) -> dict[str, str]:
    """The test database's owner and runtime URLs, as the `database` fixture put them in the environment."""
    return {**os.environ, "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR", "/tmp")}


def alive(pid: int) -> bool:
    """Running, not merely unreaped: a stopped server's postmaster may linger as a zombie for a moment."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z")


def gone(pid: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not alive(pid)


def postmaster_pid(pgdata: Path) -> int | None:
    pid_file = pgdata / "postmaster.pid"
    return int(pid_file.read_text().split()[0]) if pid_file.exists() else None


@pytest.fixture
def embedded_data() -> Iterator[Path]:
    """A data folder for a command's own embedded server, outside pytest's temporary tree (a concurrent pytest
    session resets that tree's permissions, which the server's system user needs); a server that a failed test
    leaves running is stopped, and the folder removed."""
    data = Path(tempfile.mkdtemp(prefix="podsponsor-cli-")) / "data"
    yield data
    pid = postmaster_pid(data / "pgdata")
    if pid is not None and alive(pid):
        stop_stale_server(data / "pgdata")
    shutil.rmtree(data.parent, ignore_errors=True)
