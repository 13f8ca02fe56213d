"""`podsponsor measurement count | explain | export | settings` as an operator runs them, in a subprocess against the
test database."""

from __future__ import annotations

import csv
import io
import json
import os
import uuid
from datetime import timedelta

import pytest

from podsponsor.db.bootstrap import DatabaseUrls
from tests.cli.conftest import podsponsor
from tests.factories.identity import Tenant, make_tenant
from tests.measurement.test_counting_job import BOT_UA, MONDAY, _hits, _show, at


@pytest.fixture
def cli_env(database: DatabaseUrls) -> dict[str, str]:
    return {**os.environ, "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR", "/tmp")}


@pytest.fixture
def tenant(server: str) -> Tenant:
    return make_tenant(server)


async def test_count_then_explain_and_export_a_day(db, tenant: Tenant, cli_env: dict[str, str]) -> None:
    tenant_id = uuid.UUID(tenant.id)
    podcast_id, _ = await _show(tenant_id)
    ids = await _hits(
        tenant_id,
        podcast_id,
        [{"ts": at(MONDAY, 8)}, {"ts": at(MONDAY, 9)}, {"ts": at(MONDAY, 10), "user_agent": BOT_UA, "ip_hash": "b"}],
    )
    tuesday = (MONDAY + timedelta(days=1)).isoformat()
    counted = podsponsor(
        "measurement", "count", "--tenant", tenant.slug, "--from", MONDAY.isoformat(), "--to", tuesday, env=cli_env
    )
    assert counted.returncode == 0, counted.stderr
    assert f"[1/2] {MONDAY.isoformat()}: 3 requests → 1 downloads (calendar_day" in counted.stdout
    assert "1 downloads over 2 days" in counted.stdout

    duplicate = podsponsor("measurement", "explain", str(ids[1]), "--tenant", tenant.slug, env=cli_env)
    assert duplicate.returncode == 0, duplicate.stderr
    assert duplicate.stdout.startswith("Not counted: the same listener already has a download")
    assert str(ids[0]) in duplicate.stdout and "counted by run" in duplicate.stdout
    bot = podsponsor("measurement", "explain", str(ids[2]), "--tenant", tenant.slug, "--json", env=cli_env)
    assert json.loads(bot.stdout)["reason"] == "bot_keyword"
    unknown = podsponsor("measurement", "explain", str(uuid.uuid4()), "--tenant", tenant.slug, env=cli_env)
    assert unknown.returncode == 1 and "no request" in unknown.stderr

    exported = podsponsor("measurement", "export", "--tenant", tenant.slug, "--day", MONDAY.isoformat(), env=cli_env)
    rows = list(csv.DictReader(io.StringIO(exported.stdout), delimiter="\t"))
    assert [row["reason"] for row in rows] == ["counted", "duplicate_in_window", "bot_keyword"]


def test_settings_show_and_change_the_window(tenant: Tenant, cli_env: dict[str, str]) -> None:
    shown = podsponsor("measurement", "settings", "--tenant", tenant.slug, env=cli_env)
    assert "window: calendar_day" in shown.stdout
    changed = podsponsor("measurement", "settings", "--tenant", tenant.slug, "--window", "first_touch_24h", env=cli_env)
    assert changed.returncode == 0 and "window: first_touch_24h" in changed.stdout
    wrong = podsponsor("measurement", "settings", "--tenant", tenant.slug, "--window", "weekly", env=cli_env)
    assert wrong.returncode == 2
    nobody = podsponsor("measurement", "count", "--tenant", "no-such-workspace", env=cli_env)
    assert nobody.returncode == 1 and "no workspace" in nobody.stderr
