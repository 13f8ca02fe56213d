"""`podsponsor lists update|show` as an operator runs them: from folders, single files and a local HTTP server."""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from podsponsor.db.bootstrap import DatabaseUrls
from podsponsor.db.urls import libpq_conninfo
from podsponsor.measurement import lists
from podsponsor.measurement.exceptions import ListSourceError
from podsponsor.measurement.lists import FILE_NAMES
from tests.cli.conftest import podsponsor
from tests.measurement.reference_data import IPCAT, OPAWG, ListServer, copy_lists, shared_file

LINE = re.compile(r"^(\w+)\s+(loaded|unchanged|reactivated)\s+(\d+) entries\s+version ([0-9a-f-]{36})", re.M)


def _update(env: dict[str, str], *sources: str) -> tuple[dict[str, tuple[str, int, str]], str]:
    args = [arg for source in sources for arg in ("--from", source)]
    result = podsponsor("lists", "update", *args, env=env)
    assert result.returncode == 0, result.stderr
    return {kind: (outcome, int(count), version) for kind, outcome, count, version in LINE.findall(result.stdout)}, (
        result.stdout
    )


def _active(database: DatabaseUrls) -> dict[str, tuple[str, str, int, str]]:
    with psycopg.connect(libpq_conninfo(database.owner)) as conn:
        rows = conn.execute(
            "SELECT kind, id::text, sha256, entry_count, source FROM reference_list_versions WHERE active"
        ).fetchall()
    return {kind: (version, sha, count, source) for kind, version, sha, count, source in rows}


@pytest.fixture
def cli_env(database: DatabaseUrls) -> dict[str, str]:
    """The test database's owner and runtime URLs, as the `database` fixture put them in the environment."""
    return {**os.environ, "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR", "/tmp")}


@pytest.fixture
def restore_shared(cli_env: dict[str, str]) -> Iterator[None]:
    """Tests that change the active lists leave the shared ones active, as the rest of the suite expects."""
    yield
    _update(cli_env, str(OPAWG), str(IPCAT))


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    return copy_lists(tmp_path / "mirror")


def _add_device(folder: Path, name: str) -> None:
    path = folder / "devices.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["entries"].append({"name": name, "pattern": f"^{name}/", "category": "mobile"})
    path.write_text(json.dumps(document), encoding="utf-8")


def test_update_from_the_shared_folders_then_again_is_a_no_op(cli_env: dict[str, str], database: DatabaseUrls) -> None:
    first, _ = _update(cli_env, str(OPAWG), str(IPCAT))
    assert set(first) == set(FILE_NAMES)
    again, _ = _update(cli_env, str(OPAWG), str(IPCAT))
    assert {kind: outcome for kind, (outcome, _, _) in again.items()} == dict.fromkeys(FILE_NAMES, "unchanged")
    assert {kind: version for kind, (_, _, version) in again.items()} == {k: v for k, (_, _, v) in first.items()}
    active = _active(database)
    for kind in FILE_NAMES:
        version, sha, count, source = active[kind]
        assert version == again[kind][2]
        assert sha == shared_file(kind).sha256
        assert count == again[kind][1]
        assert source.endswith(FILE_NAMES[kind])
    assert again["datacenters"][1] == 3429
    shown = podsponsor("lists", "show", env=cli_env)
    assert shown.returncode == 0, shown.stderr
    for kind in FILE_NAMES:
        assert re.search(rf"^{kind}\s+{again[kind][1]} entries\s+version {again[kind][2]}", shown.stdout, re.M)


def test_one_changed_file_makes_one_new_version_and_the_old_content_returns_as_it_was(
    cli_env: dict[str, str], database: DatabaseUrls, mirror: Path, restore_shared: None
) -> None:
    before = _update(cli_env, str(OPAWG), str(IPCAT))[0]
    _add_device(mirror, "ProbePhone")
    changed, out = _update(cli_env, str(mirror / "devices.json"))
    assert list(changed) == ["devices"]
    assert changed["devices"][:2] == ("loaded", before["devices"][1] + 1)
    assert "not in the given sources, kept as they were: bots, apps, libraries" in out
    assert _active(database)["devices"][0] == changed["devices"][2]
    assert _active(database)["apps"][0] == before["apps"][2]
    back, _ = _update(cli_env, str(OPAWG))
    assert back["devices"] == ("reactivated", before["devices"][1], before["devices"][2])
    assert back["bots"][0] == "unchanged"


def test_update_from_a_local_http_server(
    cli_env: dict[str, str], database: DatabaseUrls, mirror: Path, restore_shared: None
) -> None:
    _add_device(mirror, "HttpPhone")
    served = ListServer(mirror)
    try:
        env = {**cli_env, "OUTBOUND_ALLOW_HOSTS": "127.0.0.1"}
        loaded, _ = _update(env, served.base + "/")
        refused = podsponsor("lists", "update", "--from", served.base, env=cli_env)
    finally:
        served.stop()
    assert sorted(served.requested) == sorted(f"/{name}" for name in FILE_NAMES.values())
    assert set(loaded) == set(FILE_NAMES)
    assert loaded["devices"][0] == "loaded"
    assert _active(database)["devices"][3] == f"{served.base}/devices.json"
    # Without the allow-list a private address is refused, like any outbound fetch.
    assert refused.returncode == 1
    assert "private network address" in refused.stderr


def test_an_unreachable_address_fails_clearly_and_changes_nothing(
    cli_env: dict[str, str], database: DatabaseUrls
) -> None:
    before = _active(database)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = podsponsor(
        "lists",
        "update",
        "--from",
        f"http://127.0.0.1:{port}/lists",
        env={**cli_env, "OUTBOUND_ALLOW_HOSTS": "127.0.0.1"},
    )
    assert result.returncode == 1
    assert f"error: could not fetch the bots list from http://127.0.0.1:{port}/lists/bots.json" in result.stderr
    assert "--from PATH" in result.stderr
    assert "Traceback" not in result.stderr
    assert _active(database) == before


def test_a_broken_file_is_refused_by_entry_and_nothing_is_loaded(
    cli_env: dict[str, str], database: DatabaseUrls, mirror: Path
) -> None:
    before = _active(database)
    document = json.loads((mirror / "apps.json").read_text(encoding="utf-8"))
    document["entries"][3]["pattern"] = "^(Broken"
    (mirror / "apps.json").write_text(json.dumps(document), encoding="utf-8")
    _add_device(mirror, "NeverLoaded")
    result = podsponsor("lists", "update", "--from", str(mirror), env=cli_env)
    assert result.returncode == 1
    assert f"error: apps.json entry 3 {document['entries'][3]['name']}: the pattern cannot be used" in result.stderr
    assert "nothing was loaded" in result.stderr
    assert _active(database) == before


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("/nonexistent/lists", "/nonexistent/lists: no such file or folder"),
        (str(OPAWG / "README-user-agents-v2.md"), "a list file is named one of bots.json"),
        (str(OPAWG.parent / "webhooks"), "no list files found in"),
    ],
)
def test_sources_without_lists_are_refused(cli_env: dict[str, str], source: str, message: str) -> None:
    result = podsponsor("lists", "update", "--from", source, env=cli_env)
    assert result.returncode == 1
    assert message in result.stderr


async def test_without_a_source_the_public_addresses_are_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine reaches no public host; the name lookup is made to fail as it does without a network."""
    looked_up: list[str] = []

    async def no_network(host: str, port: int) -> list[str]:
        looked_up.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr("podsponsor.outbound._resolve", no_network)
    with pytest.raises(ListSourceError) as failed:
        await lists.read_sources(None)
    assert failed.value.detail == (
        "could not fetch the bots list from "
        "https://raw.githubusercontent.com/opawg/user-agents-v2/master/src/bots.json: "
        "the reference list address's host 'raw.githubusercontent.com' could not be found"
    )
    assert looked_up == ["raw.githubusercontent.com"]
    assert (
        lists.DEFAULT_SOURCES["datacenters"] == "https://raw.githubusercontent.com/client9/ipcat/master/datacenters.csv"
    )
    assert lists.DEFAULT_SOURCES["prefixes"] == (
        "https://raw.githubusercontent.com/opawg/podcast-prefixes/master/src/prefixes.json"
    )
