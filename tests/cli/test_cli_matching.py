"""`podsponsor match recalculate | list` as an operator runs them, in a subprocess against the test database: one
advertiser's pairs, the whole workspace in the foreground (the same run, progress, kept matches and event as the
job), the ranked list as text and JSON, and refusals."""

from __future__ import annotations

import json
import os
import re
import uuid
from typing import Any

import pytest

from podsponsor.db.bootstrap import DatabaseUrls
from tests.bookings.booking_world import ok
from tests.cli.conftest import podsponsor
from tests.matching.world import World, add_downloads, make_world


@pytest.fixture
def cli_env(database: DatabaseUrls) -> dict[str, str]:
    return {**os.environ, "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR", "/tmp")}


@pytest.fixture(scope="module")
async def world(server: str, db: Any) -> World:
    built = make_world(server)
    await add_downloads(built.tenant, built.tech, {"US": 150, "GB": 50})
    return built


def _listed(world: World, env: dict[str, str], *args: str) -> dict[str, Any]:
    result = podsponsor("match", "list", "--tenant", world.tenant.slug, *args, "--json", env=env)
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def test_an_advertisers_matches_are_scored_and_listed_best_first(world: World, cli_env: dict[str, str]) -> None:
    scored = podsponsor(
        "match", "recalculate", "--tenant", world.tenant.slug, "--advertiser", world.software, env=cli_env
    )
    assert scored.returncode == 0, scored.stderr
    assert "scored 3 pairs in" in scored.stdout
    assert "stored 3 matches" in scored.stdout

    listed = podsponsor("match", "list", "--workspace", world.tenant.slug, "--advertiser", world.software, env=cli_env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].endswith("(software): 3 of 3 matches, best first")
    assert re.match(r"\s+1\.\s+\d+\.\d\d  Build Log", lines[1]), lines[1]
    assert lines[2].strip().startswith("Score ")
    assert "geo overlap (75% of measured downloads in US)" in listed.stdout

    found = _listed(world, cli_env, "--advertiser", world.software)
    assert found["total"] == 3
    scores = [item["score"] for item in found["items"]]
    assert scores == sorted(scores, reverse=True)
    assert found["items"][0]["podcast_id"] == world.tech
    assert found["items"][0]["signals"]["geo"]["value"] == pytest.approx(0.75)
    crime = next(item for item in found["items"] if item["podcast_id"] == world.crime)
    assert "murder" in crime["signals"]["brand_safety"]["inputs"]["sensitive_terms"]

    strong = _listed(world, cli_env, "--advertiser", world.software, "--min-score", str(scores[1]), "--limit", "1")
    assert strong["total"] == 2
    assert [item["podcast_id"] for item in strong["items"]] == [world.tech]
    show = _listed(world, cli_env, "--podcast", world.tech)
    assert [item["sponsor_id"] for item in show["items"]] == [world.software]


def test_the_whole_workspace_runs_in_the_foreground_as_the_job_would(world: World, cli_env: dict[str, str]) -> None:
    rival = ok(world.owner.post("/api/v1/sponsors", json={"name": f"Rival {uuid.uuid4().hex[:6]}", "industry": "food"}))
    done = podsponsor("match", "recalculate", "--tenant", world.tenant.slug, env=cli_env)
    assert done.returncode == 0, done.stderr
    assert "scored 6 pairs in" in done.stdout
    assert "stored 6 matches" in done.stdout
    assert "kept each advertiser's best 50 shows and each show's best 50 advertisers" in done.stdout
    assert "scoring pairs" in done.stderr  # the progress bar's label (a bar proper only on a terminal)
    run_id = re.search(r"^run ([0-9a-f-]{36})$", done.stdout, re.MULTILINE)
    assert run_id is not None, done.stdout

    run = ok(world.owner.get(f"/api/v1/match/runs/{run_id.group(1)}"), 200)
    assert run["scope"] == "tenant"
    assert run["status"] == "completed"
    assert run["pairs_scored"] == run["pairs_total"] == 6
    assert run["pairs_stored"] == 6
    assert _listed(world, cli_env, "--advertiser", rival["id"])["total"] == 3
    events = ok(world.owner.get("/api/v1/events", params={"type": "match.recalculated"}), 200)
    assert any(event["payload"]["run_id"] == run_id.group(1) for event in events["items"])


def test_refusals_name_the_problem(world: World, cli_env: dict[str, str]) -> None:
    slug = world.tenant.slug
    neither = podsponsor("match", "list", "--tenant", slug, env=cli_env)
    assert neither.returncode == 2
    assert "--advertiser or --podcast" in neither.stderr
    unknown = podsponsor("match", "list", "--tenant", slug, "--advertiser", str(uuid.uuid4()), env=cli_env)
    assert unknown.returncode == 1
    assert "no such sponsor" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    malformed = podsponsor("match", "recalculate", "--tenant", slug, "--podcast", "not-an-id", env=cli_env)
    assert malformed.returncode == 2
    assert "--podcast" in malformed.stderr
    too_high = podsponsor("match", "list", "--tenant", slug, "--podcast", world.tech, "--min-score", "101", env=cli_env)
    assert too_high.returncode == 2
    nobody = podsponsor("match", "recalculate", "--tenant", "no-such-workspace", env=cli_env)
    assert nobody.returncode == 1
    assert "no workspace has the slug 'no-such-workspace'" in nobody.stderr


def test_match_explains_its_commands() -> None:
    env = {"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": "/tmp"}
    assert " match " in podsponsor("--help", env=env).stdout
    for command in ("recalculate", "list"):
        result = podsponsor("match", command, "--help", env=env)
        assert result.returncode == 0, result.stderr
        assert "--advertiser" in result.stdout and "--podcast" in result.stdout
