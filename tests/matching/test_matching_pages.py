"""The matchmaking pages over real HTTP: an advertiser's ranked shows with each signal explained, the filters, the
Recalculate button, the brief form (a refused one comes back with what was typed), a show's advertisers, the settings
page with the whole-workspace run and its progress, and who may see what (flag off, advertisers, other workspaces)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from podsponsor.db.tenancy import tenant_transaction
from podsponsor.matching import tasks
from tests.bookings.booking_world import ok, signed_in
from tests.factories.identity import make_tenant
from tests.matching.world import TODAY, World, add_downloads, enable, make_world, recalculate
from tests.web.conftest import HTML, csrf_of, submit


@pytest.fixture(scope="module")
async def world(server: str, db: Any) -> World:
    built = make_world(server, roles=("owner", "sales", "creator", "advertiser"))
    await add_downloads(built.tenant, built.tech, {"US": 120, "CA": 30, "GB": 50})
    recalculate(built.owner, advertiser_id=built.software)
    return built


def _page(client: httpx.Client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.text[:2000]
    return response.text


def _items(markup: str) -> list[str]:
    """The matches listed, in order, each as its own markup."""
    return re.findall(r'<li class="match[^"]*" data-match="[^"]+">.*?</li>\s*(?=<li class="match|</ol>)', markup, re.S)


def _ids(items: list[str]) -> list[str]:
    return [re.findall(r'data-match="([^"]+)"', item)[0] for item in items]


def _score(item: str) -> float:
    return float(re.findall(r'data-score="([\d.]+)"', item)[0])


def _row(item: str, signal: str) -> str:
    found = re.search(rf'<tr data-signal="{signal}"[^>]*>(.*?)</tr>', item, re.S)
    assert found, f"no {signal} row"
    return found.group(1)


def _advertisers_sponsor(world: World) -> str:
    with world.tenant.client("advertiser") as api:
        return str(api.get("/api/v1/sponsors").json()["items"][0]["id"])


async def _events(world: World, kind: str) -> list[dict[str, Any]]:
    async with tenant_transaction(uuid.UUID(world.tenant.id)) as session:
        found = await session.execute(text("SELECT payload FROM events WHERE type = :t ORDER BY at"), {"t": kind})
        return [dict(row) for row in found.scalars().all()]


def test_an_advertisers_shows_ranked_and_explained(server: str, world: World) -> None:
    with signed_in(server, world.tenant, "sales") as client:
        markup = _page(client, f"/sponsors/{world.software}/matches")
        sponsor_page = _page(client, f"/sponsors/{world.software}")
        show_page = _page(client, f"/podcasts/{world.tech}")
    items = _items(markup)
    assert _ids(items)[0] == world.tech and len(items) == 3
    scores = [_score(item) for item in items]
    assert scores == sorted(scores, reverse=True)
    best = items[0]
    assert "Build Log" in best and "Score " in best  # the rationale
    geo = _row(best, "geo")
    assert "60 %" in geo and "200 downloads with a known country in the last 90 days" in geo
    assert "Top countries: US 60 %, GB 25 %, CA 15 %" in geo
    assert "70 %" in _row(best, "demographic") and "listener survey" in _row(best, "demographic")
    assert "technology" in _row(best, "topic")
    lift = _row(best, "lift")
    assert "Missing" in lift and "No attributed results for this advertiser or its industry" in lift
    assert "Missing" in _row(best, "inventory") and "no flight and slots needed" in _row(best, "inventory")
    # The points of the present signals add up to the score.
    points = [float(p) for p in re.findall(r'<td class="num">([\d.]+)</td>\s*<td>', best)]
    assert sum(points) == pytest.approx(scores[0], abs=0.3)
    crime = next(item for item in items if world.crime in item)
    assert "Strict tolerance" in _row(crime, "brand_safety") and "The show is flagged explicit" in crime
    assert 'id="top-match-signals"' in markup and "<svg" in markup and "Signals of the best match: Build Log" in markup
    assert "Last computed <time" in markup
    assert ">Recalculate</button>" in markup and 'action="/sponsors/' in markup and "Save the brief" in markup
    assert f'href="/sponsors/{world.software}/matches"' in sponsor_page
    assert f'href="/podcasts/{world.tech}/matches"' in show_page


def test_filters(server: str, world: World) -> None:
    path = f"/sponsors/{world.software}/matches"
    with signed_in(server, world.tenant, "sales") as client:
        strong = _items(_page(client, f"{path}?min_score=60"))
        technology = _page(client, f"{path}?category=technology")
        nothing = _page(client, f"{path}?min_score=100")
        wrong = _page(client, f"{path}?min_score=lots&category=Food", 422)
        half = _page(client, f"{path}?available_from={TODAY}", 422)
        backwards = _page(
            client, f"{path}?available_from={TODAY}&available_to={TODAY - timedelta(days=1)}&position=mid", 422
        )
        open_slots = _page(client, f"{path}?available_from={TODAY}&available_to={TODAY + timedelta(days=30)}")
    assert strong and all(_score(item) >= 60 for item in strong)
    assert _ids(_items(technology)) == [world.tech]
    assert "No show matches these filters." in nothing and "Clear the filters" in nothing
    assert "Give a score from 0 to 100." in wrong and 'value="lots"' in wrong and 'value="Food"' in wrong
    assert "Fix the filters above" in wrong
    assert "Give both days to count open slots in." in half
    assert "The last day comes before the first." in backwards and 'value="mid" checked' in backwards
    assert "No show matches these filters." in open_slots  # none of the three sells ad units


async def test_recalculate_button(server: str, world: World) -> None:
    path = f"/sponsors/{world.software}/matches"
    before = len(await _events(world, "match.recalculated"))
    with signed_in(server, world.tenant, "sales") as client:
        token = csrf_of(client.get(f"{path}?min_score=10"))
        answer = client.post(f"{path}/recalculate", data={"csrf_token": token, "back": "min_score=10&evil=x"})
        assert answer.status_code == 303
        assert answer.headers["location"] == f"{path}?min_score=10"
        assert "Recalculated: 3 shows scored." in _page(client, answer.headers["location"])
        assert client.post(f"{path}/recalculate", data={"csrf_token": "forged"}).status_code == 403
    after = await _events(world, "match.recalculated")
    assert len(after) == before + 1 and after[-1]["scope"] == "advertiser"


def test_a_refused_brief_comes_back_with_what_was_typed(server: str, world: World) -> None:
    path = f"/sponsors/{world.software}/matches"
    typed = {
        "flight_start": str(TODAY + timedelta(days=3)),
        "flight_end": "",
        "slots_needed": "many",
        "positions": ["pre", "post"],
        "keywords": "developer tools, productivity",
        "blocked_categories": "True Crime",
    }
    with signed_in(server, world.tenant, "sales") as client:
        refused = submit(client, path, f"{path}/brief", typed)
        assert refused.status_code == 422
        markup = refused.text
        assert "Give both days of the flight, or neither." in markup and "go together" not in markup
        assert "Give a whole number from 1 to 10,000." in markup
        assert f'value="{typed["flight_start"]}"' in markup and 'value="many"' in markup
        assert 'value="developer tools, productivity"' in markup and 'value="True Crime"' in markup
        assert 'name="positions" value="pre" checked' in markup and 'name="positions" value="mid" checked' not in markup
        assert _items(markup)  # the list is still there
        unchanged = ok(world.owner.get(f"/api/v1/match/briefs/{world.software}"), 200)
        assert unchanged["flight_start"] is None and unchanged["keywords"] == []

        good = {**typed, "flight_end": str(TODAY + timedelta(days=40)), "slots_needed": "4"}
        saved = submit(client, path, f"{path}/brief", good)
        assert saved.status_code == 303 and saved.headers["location"] == f"{path}#brief"
        page = _page(client, path)
        assert "The brief is saved." in page and f'value="{good["flight_end"]}"' in page
    brief = ok(world.owner.get(f"/api/v1/match/briefs/{world.software}"), 200)
    assert brief["positions"] == ["pre", "post"] and brief["slots_needed"] == 4
    assert brief["keywords"] == ["developer tools", "productivity"] and brief["blocked_categories"] == ["True Crime"]
    try:
        recalculate(world.owner, advertiser_id=world.software)
        with signed_in(server, world.tenant, "sales") as client:
            crime = next(i for i in _items(_page(client, path)) if world.crime in i)
        assert "match--conflict" in crime and "blocked category True Crime" in crime and "Hard conflict" in crime
        assert "0 open slots for 4 needed in the flight" in _row(crime, "inventory")
    finally:
        ok(world.owner.put(f"/api/v1/match/briefs/{world.software}", json={}), 200)
        recalculate(world.owner, advertiser_id=world.software)


def test_a_shows_advertisers(server: str, world: World) -> None:
    path = f"/podcasts/{world.tech}/matches"
    with signed_in(server, world.tenant, "sales") as client:
        markup = _page(client, path)
        assert world.software in markup and 'id="top-match-signals"' in markup
        answer = submit(client, path, f"{path}/recalculate", {"back": ""})
        assert answer.status_code == 303 and answer.headers["location"] == path
        markup = _page(client, path)
        assert "Recalculated: 2 advertisers scored." in markup
        # The workspace's software advertiser, and the advertiser user's sponsor, now scored too.
        assert len(_items(markup)) == 2
        assert "Give a score from 0 to 100." in _page(client, f"{path}?min_score=101", 422)
    with signed_in(server, world.tenant, "creator") as client:
        markup = _page(client, path)
        assert ">Recalculate</button>" not in markup
        assert client.post(f"{path}/recalculate", data={"csrf_token": csrf_of(client.get(path))}).status_code == 403


async def test_settings_and_the_whole_workspace_run(server: str) -> None:
    world = make_world(server)
    await add_downloads(world.tenant, world.tech, {"US": 150})
    with signed_in(server, world.tenant) as client:
        markup = _page(client, "/settings/matching")
        assert 'href="/settings/matching" aria-current="page">Matchmaking</a>' in markup
        assert 'name="weight_topic" type="number" value="0.25"' in markup and 'value="50"' in markup
        assert 'href="/settings/matching"' in _page(client, "/settings/users")
        zeros = {f"weight_{n}": "0" for n in ("geo", "demographic", "topic", "lift", "inventory", "brand_safety")}
        refused = submit(
            client,
            "/settings/matching",
            "/settings/matching",
            {**zeros, "conflict_cap": "20", "prior_impressions": "50000", "keep_per_entity": "200"},
        )
        assert refused.status_code == 422 and "At least one signal needs a weight above 0" in refused.text
        refused = submit(
            client,
            "/settings/matching",
            "/settings/matching",
            {**zeros, "weight_topic": "-1", "conflict_cap": "x", "prior_impressions": "5", "keep_per_entity": "9"},
        )
        assert refused.status_code == 422
        assert "Give a number from 0 to 100." in refused.text and "Give a whole number from 0 to 100." in refused.text
        assert 'value="-1"' in refused.text and 'value="x"' in refused.text
        fields = {
            **zeros,
            "weight_topic": "1",
            "conflict_cap": "10",
            "prior_impressions": "1,000",
            "keep_per_entity": "5",
        }
        saved = submit(client, "/settings/matching", "/settings/matching", fields)
        assert saved.status_code == 303
        assert "The matchmaking settings are saved." in _page(client, "/settings/matching")
        settings = ok(world.owner.get("/api/v1/match/settings"), 200)
        assert settings["weights"]["topic"] == 1 and settings["weights"]["geo"] == 0
        assert (settings["conflict_cap"], settings["prior_impressions"], settings["keep_per_entity"]) == (10, 1000, 5)

        queued = submit(client, "/settings/matching", "/settings/matching/recalculate", {})
        assert queued.status_code == 303
        markup = _page(client, "/settings/matching")
        run_id = re.search(r'hx-get="/settings/matching/runs/([0-9a-f-]+)" hx-trigger="every 1s"', markup)
        assert run_id and 'data-run-status="queued"' in markup and "Waiting for a worker" in markup
        fragment = client.get(f"/settings/matching/runs/{run_id.group(1)}", headers={"HX-Request": "true"})
        assert 'data-run-status="queued"' in fragment.text and "hx-swap-oob" not in fragment.text
        await tasks.run_tenant(uuid.UUID(world.tenant.id), uuid.UUID(run_id.group(1)))
        fragment = client.get(f"/settings/matching/runs/{run_id.group(1)}", headers={"HX-Request": "true"})
        assert fragment.status_code == 200
        assert 'data-run-status="completed"' in fragment.text and "hx-trigger" not in fragment.text
        assert "3 pairs scored, 3 matches kept" in fragment.text and 'value="100.0"' in fragment.text
        assert 'id="match-runs" hx-swap-oob="true"' in fragment.text and "Whole workspace" in fragment.text
        plain = client.get(f"/settings/matching/runs/{run_id.group(1)}")
        assert plain.status_code == 303 and plain.headers["location"].startswith("/settings/matching")
    with signed_in(server, world.tenant, "sales") as client:
        _page(client, "/settings/matching", 403)
    matched = ok(world.owner.get(f"/api/v1/match/{world.software}/{world.tech}"), 200)
    assert matched["score"] == pytest.approx(100 * matched["signals"]["topic"]["value"], abs=0.01)


def test_hidden_while_the_feature_is_off(server: str) -> None:
    world = make_world(server)
    enable(world.owner, False)
    with signed_in(server, world.tenant) as client:
        for path in (
            f"/sponsors/{world.software}/matches",
            f"/podcasts/{world.tech}/matches",
            "/settings/matching",
        ):
            _page(client, path, 404)
        assert "/matches" not in _page(client, f"/sponsors/{world.software}")
        assert "/matches" not in _page(client, f"/podcasts/{world.tech}")
        assert "/settings/matching" not in _page(client, "/settings/users")
        token = csrf_of(client.get("/settings/users"))
        answer = client.post(f"/sponsors/{world.software}/matches/recalculate", data={"csrf_token": token})
        assert answer.status_code == 404


def test_who_sees_what(server: str, world: World) -> None:
    own = _advertisers_sponsor(world)
    with signed_in(server, world.tenant, "advertiser") as client:
        _page(client, f"/sponsors/{world.software}/matches", 404)
        markup = _page(client, f"/sponsors/{own}/matches")
        assert ">Recalculate</button>" not in markup and "Save the brief" not in markup and "data-brief" in markup
        shows = _page(client, f"/podcasts/{world.tech}/matches")
        assert world.software not in shows
        token = csrf_of(client.get(f"/sponsors/{own}/matches"))
        assert client.post(f"/sponsors/{own}/matches/recalculate", data={"csrf_token": token}).status_code == 403
        assert client.post(f"/sponsors/{own}/matches/brief", data={"csrf_token": token}).status_code == 403
        _page(client, "/settings/matching", 403)
    stranger = make_tenant(server)
    enable(stranger.client())
    with signed_in(server, stranger) as client:
        _page(client, f"/sponsors/{world.software}/matches", 404)
        _page(client, f"/podcasts/{world.tech}/matches", 404)
        _page(client, "/sponsors/not-an-id/matches", 404)
    with httpx.Client(base_url=server, headers=HTML) as anonymous:
        path = f"/sponsors/{world.software}/matches"
        assert anonymous.get(path).headers["location"] == f"/login?next={path}"
