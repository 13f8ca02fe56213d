"""`podsponsor metrics import`: the same all-or-nothing import from a shell, with errors on stderr."""

from __future__ import annotations

import os
from pathlib import Path

from podsponsor.db.bootstrap import DatabaseUrls
from tests.cli.conftest import podsponsor
from tests.factories.identity import Tenant
from tests.metrics.conftest import canonical, daily, make_show


def test_the_cli_imports_a_file_and_lists_a_bad_files_errors(
    database: DatabaseUrls, network: Tenant, tmp_path: Path
) -> None:
    env = {**os.environ, "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR", "/tmp")}
    show = make_show(network, ["On The Command Line"], show_title="CLI show")
    episode = show.episode(0)["id"]
    good = tmp_path / "good.csv"
    good.write_bytes(canonical([("2026-08-10", episode, "cli", 42, 40, 0.5, 0.1, 0, 0)]))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(canonical([("2026-08-11", episode, "cli", "lots", 40, 0.5, 0.1, 0, 0)]))

    done = podsponsor("metrics", "import", str(good), "--workspace", network.slug, env=env)
    assert done.returncode == 0, done.stderr
    assert "imported 1 rows from good.csv as canonical (1 new, 0 updated, 0 skipped)" in done.stdout

    refused = podsponsor("metrics", "import", str(bad), "--workspace", network.slug, env=env)
    assert refused.returncode == 1
    assert 'row 2, downloads: "lots" not a number' in refused.stderr
    assert "1 problem found; nothing was imported" in refused.stderr

    unknown = podsponsor("metrics", "import", str(good), "--workspace", "no-such-workspace", env=env)
    assert unknown.returncode == 1 and "no workspace has the slug 'no-such-workspace'" in unknown.stderr
    with network.client() as api:
        assert [(r["day"], r["downloads"]) for r in daily(api, episode_id=episode)] == [("2026-08-10", 42)]
