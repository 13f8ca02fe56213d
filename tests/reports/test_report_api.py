"""A campaign's report over REST, built from a campaign made through the API: the same numbers as the delivery and
attribution APIs, the daily series, the methodology note; each format parsed back (JSON against its schema, CSV
with its formula cells escaped, XLSX opened with openpyxl, PDF read as text and looked at as images); and who may
read it (anonymous 401, a key without the permission 403, another sponsor or workspace 404)."""

from __future__ import annotations

import csv
import io
import itertools
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openpyxl
import pytest
from PIL import Image

from podsponsor.db.engine import Database
from podsponsor.reports.schemas import ReportOut
from tests.factories.identity import Tenant, make_tenant
from tests.reports.world import (
    END,
    FORMULA_SHOW,
    GOAL,
    START,
    TODAY,
    World,
    advertisers_sponsor,
    api_json,
    elapsed_days,
    report_path,
    report_world,
)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reports"
SHEETS = ["Summary", "Delivery", "Daily", "Attribution", "Models", "Methodology"]
# The palette's orange: the dashed "Expected" line of the pacing chart and the "Modeled" bars of attribution.
ORANGE = (0xF2, 0x8E, 0x2B)


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales", "creator", "advertiser"))


@pytest.fixture(scope="module")
def other(server: str) -> Tenant:
    return make_tenant(server, roles=("owner",))


@pytest.fixture(scope="module")
async def world(tenant: Tenant, db: Database) -> World:
    sponsor_id, _ = advertisers_sponsor(tenant)
    return await report_world(tenant, sponsor_id=sponsor_id)


@pytest.fixture(scope="module")
def report(tenant: Tenant, world: World) -> ReportOut:
    with tenant.client("sales") as api:
        return ReportOut.model_validate(api_json(api.get(report_path(world))))


def _get(tenant: Tenant, path: str, role: str = "sales") -> httpx.Response:
    with tenant.client(role) as api:
        return api.get(path)


def test_delivery_is_the_delivery_apis(tenant: Tenant, world: World, report: ReportOut) -> None:
    with tenant.client("sales") as api:
        expected = api_json(api.get(f"/api/v1/campaigns/{world.campaign_id}/delivery"))
    assert report.campaign.name == world.campaign_name
    assert report.sponsor.name == world.sponsor_name
    assert report.as_of == TODAY
    found = report.delivery
    assert found is not None
    assert found.totals.model_dump() == expected["totals"]
    assert (found.totals.delivered, found.totals.goal, found.totals.spend_cents) == (20, 2 * GOAL, 20_000)
    by_number = {row.number: row for row in found.ios}
    for order in expected["ios"]:
        row = by_number[order["number"]]
        assert (row.goal, row.delivered, row.expected, row.pacing_pct) == (
            order["goal"], order["delivered"], order["expected"], order["pacing_pct"],
        )  # fmt: skip
        assert (row.spend_cents, row.ecpm_cents) == (order["spend_cents"], order["ecpm_cents"])
        assert row.status == order["status"]
    first, second = by_number_of(report, world)
    assert (first.show, first.delivered, first.expected) == ("Morning Brief", 8, round(GOAL * elapsed_days() / 30))
    assert (second.show, second.delivered) == (FORMULA_SHOW, 12)
    # 8 of 700 expected: far behind.
    assert first.pacing_status == second.pacing_status == "At risk"
    assert report.period.start == min(r.flight_start for r in found.ios)
    assert report.period.end == max(r.flight_end for r in found.ios)


def by_number_of(report: ReportOut, world: World) -> tuple[Any, Any]:
    assert report.delivery is not None
    ios = {row.io_id: row for row in report.delivery.ios}
    return ios[world.first.io], ios[world.second.io]


def test_daily_series_adds_up_to_the_totals(report: ReportOut) -> None:
    assert report.delivery is not None
    daily = report.delivery.daily
    assert len(daily) == elapsed_days()
    assert [d.day for d in daily] == sorted(d.day for d in daily)
    assert sum(d.delivered for d in daily) == daily[-1].cumulative == report.delivery.totals.delivered
    assert daily[-1].expected == report.delivery.totals.expected
    assert all(a.expected <= b.expected and a.cumulative <= b.cumulative for a, b in itertools.pairwise(daily))
    # Day 1 had six downloads of IO 1; day 4 the office's eleven of IO 2.
    assert (daily[1].delivered, daily[4].delivered) == (6, 11)


def test_attribution_is_the_attribution_apis(tenant: Tenant, world: World, report: ReportOut) -> None:
    with tenant.client("sales") as api:
        results = api_json(api.get(f"/api/v1/attribution/campaigns/{world.campaign_id}"))
        models = api_json(api.get(f"/api/v1/attribution/campaigns/{world.campaign_id}/models"))
    found = report.attribution
    assert found is not None
    assert found.model == results["runs"][0]["model"] == "linear"
    assert found.model_label == "Linear"
    assert found.households_reached == results["households_reached"]
    figures = {(f.name, f.currency): f for f in found.figures}
    conversions = figures[("Attributed conversions", None)]
    assert conversions.total.model_dump() == results["conversions"]["total"]
    assert conversions.deterministic.model_dump() == results["conversions"]["deterministic"]
    assert conversions.modeled.model_dump() == results["conversions"]["modeled"]
    assert conversions.total.low is not None and conversions.total.low <= conversions.total.value  # type: ignore[operator]
    [revenue] = results["revenue_cents"]
    assert figures[("Revenue", "USD")].total.model_dump() == {k: revenue["total"][k] for k in ("value", "low", "high")}
    [cpa] = results["cpa_cents"]
    assert figures[("Cost per acquisition (CPA)", "USD")].total.value == cpa["total"]["value"]
    assert figures[("Conversion rate", None)].total.value == results["conversion_rate"]["total"]["value"]
    assert found.interval.iterations == results["interval"]["iterations"]
    assert [m.model for m in found.models] == [m["model"] for m in models["models"]]
    for mine, theirs in zip(found.models, models["models"], strict=True):
        assert mine.conversions == pytest.approx(theirs["conversions"]["total"]["value"])
        assert {str(io.io_id): io.conversions for io in mine.by_io} == pytest.approx(
            {io["io_id"]: io["conversions"] for io in theirs["by_io"]}
        )
    default = next(m for m in found.models if m.is_default)
    assert found.by_io == default.by_io
    assert sum(io.conversions for io in found.by_io) == pytest.approx(conversions.total.value)


def test_methodology_note_says_how_the_numbers_are_computed(report: ReportOut) -> None:
    headings = [s.heading for s in report.methodology]
    assert headings == [
        "Delivered impressions", "Expected impressions and pacing", "Spend and effective CPM", "Attribution",
        "Uncertainty",
    ]  # fmt: skip
    text = " ".join(s.text for s in report.methodology)
    assert "IAB Tech Lab Podcast Measurement Technical Guidelines v2.3" in text
    assert "calendar-day windows" in text and "first 30 days" in text
    assert "linear model" in text and "1,000 times" in text
    assert report.notes == []


def test_json_is_described_in_the_openapi_document(anon: httpx.Client) -> None:
    document = anon.get("/openapi.json").json()
    operation = document["paths"]["/api/v1/reports/campaigns/{campaign_id}"]["get"]
    content = operation["responses"]["200"]["content"]
    assert content["application/json"]["schema"]["$ref"].endswith("/ReportOut")
    assert {"text/csv; charset=utf-8", "application/pdf"} <= set(content)


def test_csv_is_the_delivery_table_with_formulas_escaped(tenant: Tenant, world: World) -> None:
    response = _get(tenant, report_path(world, "csv"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and f"{world.campaign_name} - {TODAY.isoformat()}.csv" in disposition
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    assert len(rows) == 2
    by_show = {row["Show"]: row for row in rows}
    assert set(by_show) == {"Morning Brief", "'" + FORMULA_SHOW}
    brief = by_show["Morning Brief"]
    assert (brief["Goal"], brief["Delivered"], brief["Spend"], brief["Currency"]) == ("1000", "8", "80.00", "USD")
    assert (brief["Pacing status"], brief["Flight start"], brief["Flight end"]) == (
        "At risk",
        START.isoformat(),
        END.isoformat(),
    )
    assert float(brief["Pacing %"]) == pytest.approx(8 / (GOAL * elapsed_days() / 30) * 100, abs=0.05)


def test_xlsx_has_every_sheet_with_typed_cells(tenant: Tenant, world: World, report: ReportOut) -> None:
    response = _get(tenant, report_path(world, "xlsx"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == SHEETS
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["Campaign"] == world.campaign_name
    assert summary["Delivered impressions"] == 20
    delivery = list(book["Delivery"].iter_rows(values_only=True))
    header = delivery[0]
    rows = [dict(zip(header, row, strict=True)) for row in delivery[1:]]
    assert {row["Show"] for row in rows} == {"Morning Brief", "'" + FORMULA_SHOW}
    brief = next(row for row in rows if row["Show"] == "Morning Brief")
    assert (brief["Delivered"], brief["Spend"]) == (8, 80)
    assert brief["Pacing"] == pytest.approx(8 / (GOAL * elapsed_days() / 30), abs=0.0005)
    daily = list(book["Daily"].iter_rows(min_row=2, values_only=True))
    assert len(daily) == elapsed_days() and daily[-1][2] == 20
    attribution = {row[0]: row for row in book["Attribution"].iter_rows(min_row=2, values_only=True)}
    assert report.attribution is not None
    conversions = report.attribution.figures[0]
    assert attribution["Attributed conversions"][2] == pytest.approx(conversions.total.value)
    assert attribution["Revenue"][1] == "USD"
    models = list(book["Models"].iter_rows(min_row=2, values_only=True))
    assert {row[0] for row in models} == {m.label for m in report.attribution.models}
    methodology = [row[0] for row in book["Methodology"].iter_rows(min_row=2, values_only=True)]
    assert methodology == [s.heading for s in report.methodology]


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def _orange_pixels(png: Path) -> int:
    pixels = np.asarray(Image.open(png).convert("RGB"), dtype=np.int16)
    return int((np.abs(pixels - np.array(ORANGE)) < 40).all(axis=2).sum())


def test_pdf_reads_as_text_and_draws_its_charts(tenant: Tenant, world: World, report: ReportOut) -> None:
    response = _get(tenant, report_path(world, "pdf"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / "campaign-report.pdf"
    pdf.write_bytes(response.content)
    text = _pdf_text(pdf)
    for expected in (
        world.campaign_name, world.sponsor_name, "Methodology", "Delivered impressions", "20 of 2,000",
        "Morning", "80.00", "Attribution", "Models side by side", "Linear (default)", "Page 1 of",
    ):  # fmt: skip
        assert expected in text, expected
    assert report.delivery is not None and report.attribution is not None
    assert all(io.number in text for io in report.delivery.ios)
    conversions = report.attribution.figures[0].total.value
    assert f"{conversions:,.1f}" in text
    for old in ARTIFACTS.glob("campaign-report-page-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(ARTIFACTS / "campaign-report-page")], check=True)
    pages = sorted(ARTIFACTS.glob("campaign-report-page-*.png"))
    assert len(pages) >= 2
    first = np.asarray(Image.open(pages[0]).convert("L"))
    height = first.shape[0]
    # The pacing chart sits below the title and key figures on page 1: its middle band is drawn, not blank.
    band = first[int(height * 0.25) : int(height * 0.6)]
    assert (band < 235).mean() > 0.02
    assert _orange_pixels(pages[0]) > 30, "the pacing chart's expected line is not on page 1"
    assert sum(1 for page in pages if _orange_pixels(page) > 30) >= 2, "the attribution chart is not drawn"


def test_paper_size_letter(tenant: Tenant, world: World) -> None:
    response = _get(tenant, report_path(world, "pdf") + "&paper=letter")
    assert response.status_code == 200
    assert b"/MediaBox [ 0 0 612 792 ]" in response.content


def test_unknown_format_is_refused(tenant: Tenant, world: World) -> None:
    response = _get(tenant, report_path(world, "docx"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.format"


# --- Who may read it ---------------------------------------------------------------------------------------------


def test_anonymous_is_401(anon: httpx.Client, world: World) -> None:
    assert anon.get(report_path(world)).status_code == 401


def test_a_key_without_sales_read_is_403(tenant: Tenant, world: World) -> None:
    with tenant.client() as api:
        key = api_json(api.post("/api/v1/api-keys", json={"name": "Shows only", "scopes": ["catalog:read"]}), 201)
    with httpx.Client(base_url=tenant.base_url, headers={"Authorization": f"Bearer {key['token']}"}) as api:
        assert api.get(report_path(world)).status_code == 403


def test_the_sponsors_advertiser_reads_it(tenant: Tenant, world: World, report: ReportOut) -> None:
    found = ReportOut.model_validate(api_json(_get(tenant, report_path(world), "advertiser")))
    assert found.delivery == report.delivery
    assert found.attribution is not None


async def test_another_sponsors_campaign_is_404_to_an_advertiser(tenant: Tenant, db: Database) -> None:
    elsewhere = await report_world(tenant, calculate=False)
    assert _get(tenant, report_path(elsewhere), "advertiser").status_code == 404
    found = ReportOut.model_validate(api_json(_get(tenant, report_path(elsewhere))))
    assert found.attribution is None
    assert found.notes == ["Attribution has not been calculated for this campaign yet."]
    assert [s.heading for s in found.methodology][-1] == "Spend and effective CPM"


def test_a_creator_reads_it_without_attribution(tenant: Tenant, world: World) -> None:
    found = ReportOut.model_validate(api_json(_get(tenant, report_path(world), "creator")))
    assert found.delivery is not None and found.attribution is None
    assert found.notes == ["Attribution is not shown: reading it needs the 'attribution:read' permission."]


def test_another_workspace_is_404(other: Tenant, world: World) -> None:
    for format in ("json", "pdf"):
        assert _get(other, report_path(world, format), "owner").status_code == 404
    assert _get(other, f"/api/v1/reports/campaigns/{uuid.uuid4()}", "owner").status_code == 404
