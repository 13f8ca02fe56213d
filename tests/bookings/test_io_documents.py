"""IO documents over HTTP: the PDF of one IO and of a campaign, read back through pdftotext; who may download them
(advertisers only their own sponsor's, no other workspace, nothing while the feature is off); the routes beside
`/io/{id}`; the download links on the IO page."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from podsponsor.bookings.pdf import DASH, format_date
from tests.bookings.booking_world import (
    FLIGHT_END,
    FLIGHT_START,
    TODAY,
    Deal,
    Show,
    add_campaign,
    add_deal,
    add_show,
    book,
    io_body,
    ok,
    problem,
    set_flag,
    signed_in,
    unique,
)
from tests.bookings.test_io_pdf import page_count, pdf_text
from tests.factories.identity import Tenant, make_tenant

TERMS = "Northwind's own terms. Invoices are payable net 45 from the end of each month of the flight."
ADDRESS = ["120 Market Street, Suite 400", "San Francisco, CA 94105"]


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    tenant = make_tenant(server, roles=("owner", "sales", "advertiser"), name=unique("Northwind Audio"))
    with tenant.client() as owner:
        seller = {
            "seller_address": ADDRESS,
            "seller_contact_name": "Dana Seller",
            "seller_contact_email": "dana@northwind.example",
            "standard_terms": TERMS,
        }
        ok(owner.patch("/api/v1/bookings/settings", json=seller), 200)
    return tenant


@pytest.fixture(scope="module")
def other(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales"))


@pytest.fixture
def show(tenant: Tenant) -> Show:
    with tenant.client() as owner:
        return add_show(owner, unique("Night Shift"))


def add_sponsor_deal(owner: httpx.Client) -> Deal:
    body = {
        "name": unique("Brew Hub"),
        "industry": "beverages",
        "website_url": "https://brewhub.example/",
        "contact_email": "buyer@brewhub.example",
    }
    sponsor = ok(owner.post("/api/v1/sponsors", json=body))
    return Deal(sponsor["id"], sponsor["name"], add_campaign(owner, sponsor["id"]))


def pdf_of(response: httpx.Response, filename: str | None = None) -> bytes:
    """The PDF of a download answer; `filename` None: any attachment name."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="'), disposition
    if filename is not None:
        assert disposition == f'attachment; filename="{filename}"'
    assert response.content.startswith(b"%PDF-")
    return response.content


def text_of(response: httpx.Response, filename: str, tmp_path: Path) -> str:
    return pdf_text(pdf_of(response, filename), tmp_path)


def test_the_io_pdf_prints_the_parties_and_everything_sold(
    tenant: Tenant, show: Show, server: str, tmp_path: Path
) -> None:
    slug = f"brew-{uuid.uuid4().hex[:6]}"
    with tenant.client() as owner:
        deal = add_sponsor_deal(owner)
        campaign = ok(owner.get(f"/api/v1/campaigns/{deal.campaign_id}"), 200)
    body = io_body(
        show,
        deal,
        episode_ids=show.published[:2],
        agency_name="Loud Media",
        agency_contact="ana@loud.example",
        pacing_mode="front_loaded",
        max_spend_cents=150_000,
        talking_points="Mention the free trial.",
        promo_code="brew25",
        vanity_slug=slug,
        landing_url="https://brewhub.example/podcast",
        exclusivity=True,
        makegood_terms="A bonus episode within 30 days.",
        notes="Creative due a week before air.",
    )
    with tenant.client("sales") as sales:
        io = book(sales, body)
        show_title = ok(sales.get(f"/api/v1/podcasts/{show.id}"), 200)["title"]
        text = text_of(sales.get(f"/api/v1/io/{io['id']}.pdf"), f"{io['number']}.pdf", tmp_path)
    with tenant.client() as owner:
        workspace = ok(owner.get("/api/v1/me"), 200)["tenant_name"]

    expected = [
        f"Insertion order {io['number']} Issued {format_date(TODAY)}",
        *(workspace, *ADDRESS, "Contact: Dana Seller", "Email: dana@northwind.example"),
        *(deal.sponsor_name, "https://brewhub.example/", "Email: buyer@brewhub.example"),
        *("Loud Media", "Email: ana@loud.example", "AGENCY, ON BEHALF OF"),
        f"Campaign {campaign['name']}",
        f"Show(s) {show_title}",
        "Mid-roll :60, host-read, baked-in",
        f"Flight {format_date(FLIGHT_START)} {DASH} {format_date(FLIGHT_END)}",
        "Impression goal 50,000",
        *("Pacing Front-loaded", "Maximum spend $1,500.00", "CPM $25.00", "Estimated gross $1,250.00"),
        *("Promo code BREW25", f"Vanity URL {server}/v/{slug}"),
        "Competitive exclusivity Exclusive: no other sponsors in the beverages industry are booked in this order's "
        "episodes.",
        f"Episode 5 {format_date(TODAY - timedelta(days=5))}",
        f"Episode 3 {format_date(TODAY - timedelta(days=3))}",
        "Talking points Mention the free trial.",
        "Makegood terms A bonus episode within 30 days.",
        "Notes Creative due a week before air.",
        f"Terms and conditions {TERMS}",
    ]
    missing = [item for item in expected if item not in text]
    assert not missing, (missing, text)
    assert "Episode 1 " not in text  # not booked
    assert "IAB/4A" not in text  # the workspace's own terms replace the standard ones


def test_an_unassigned_io_of_a_workspace_without_seller_details_prints_the_standard_terms(
    other: Tenant, tmp_path: Path
) -> None:
    with other.client() as owner:
        show, deal = add_show(owner), add_deal(owner)
        ok(owner.patch(f"/api/v1/ad-units/{show.mid}", json={"name": "Coffee break"}), 200)
        body = io_body(
            show,
            deal,
            episode_ids=[],
            exclusivity=False,
            separation_waived=True,
            agency_name="Loud Media",
            agency_contact="Ana Planner",
        )
        io = book(owner, body)
        text = text_of(owner.get(f"/api/v1/io/{io['id']}.pdf"), f"{io['number']}.pdf", tmp_path)
        workspace = ok(owner.get("/api/v1/me"), 200)["tenant_name"]

    assert (
        f"SELLER (PUBLISHER) ADVERTISER AGENCY {workspace} {deal.sponsor_name} Loud Media Contact: Ana Planner" in text
    )
    assert "Coffee break: Mid-roll :60, host-read, baked-in" in text
    assert "Unassigned within the flight" in text
    assert "Episode schedule" not in text
    assert (
        "Competitive exclusivity None: this order may share episodes with other sponsors in the beverages industry."
        in text
    )
    assert "Promo code None" in text and "Vanity URL None" in text
    assert "IAB/4A's Standard Terms and Conditions for Internet Advertising" in text


def test_the_campaign_pdf_has_a_summary_then_every_io_but_the_cancelled(
    tenant: Tenant, show: Show, tmp_path: Path
) -> None:
    with tenant.client() as owner:
        deal = add_sponsor_deal(owner)
        name = ok(owner.get(f"/api/v1/campaigns/{deal.campaign_id}"), 200)["name"]
    with tenant.client("sales") as sales:
        first = book(sales, io_body(show, deal, episode_ids=show.published[:1]))
        second = book(sales, io_body(show, deal, ad_unit_id=show.pre, episode_ids=[show.published[1]]))
        cancelled = book(sales, io_body(show, deal, episode_ids=[show.published[2]]))
        ok(sales.post(f"/api/v1/io/{cancelled['id']}/cancel"), 200)
        response = sales.get(f"/api/v1/campaigns/{deal.campaign_id}/io.pdf")
    pdf = pdf_of(response, f"IO-{re.sub(r'[^A-Za-z0-9._-]+', '-', name)}.pdf")

    summary = pdf_text(pdf, tmp_path, page=1)
    assert f"Campaign summary {name} · 2 insertion orders" in summary
    assert first["number"] in summary and second["number"] in summary
    whole = pdf_text(pdf, tmp_path)
    for number in (first["number"], second["number"]):
        assert f"Insertion order {number} Issued" in whole
    assert cancelled["number"] not in whole
    assert whole.count("Signatures") == 2
    assert page_count(pdf, tmp_path) >= 3


def test_advertisers_download_only_their_own_sponsors_orders_without_the_notes(
    tenant: Tenant, show: Show, tmp_path: Path
) -> None:
    with tenant.client("advertiser") as advertiser:
        own_sponsor = ok(advertiser.get("/api/v1/me"), 200)["sponsor_id"]
    with tenant.client() as owner:
        own = Deal(own_sponsor, "", add_campaign(owner, own_sponsor))
        others = add_sponsor_deal(owner)
    with tenant.client("sales") as sales:
        theirs = book(sales, io_body(show, own, episode_ids=[], notes="They pay late."))
        not_theirs = book(sales, io_body(show, others, episode_ids=[]))
        assert "They pay late." in text_of(
            sales.get(f"/api/v1/io/{theirs['id']}.pdf"), f"{theirs['number']}.pdf", tmp_path
        )

    with tenant.client("advertiser") as advertiser:
        text = text_of(advertiser.get(f"/api/v1/io/{theirs['id']}.pdf"), f"{theirs['number']}.pdf", tmp_path)
        assert theirs["number"] in text
        assert "They pay late." not in text and "Notes" not in text
        campaign = pdf_text(pdf_of(advertiser.get(f"/api/v1/campaigns/{own.campaign_id}/io.pdf")), tmp_path)
        assert "They pay late." not in campaign and theirs["number"] in campaign
        problem(advertiser.get(f"/api/v1/io/{not_theirs['id']}.pdf"), 404, "not-found")
        problem(advertiser.get(f"/api/v1/campaigns/{others.campaign_id}/io.pdf"), 404, "not-found")


def test_another_workspaces_documents_do_not_exist_here(tenant: Tenant, other: Tenant, show: Show) -> None:
    refused: list[int] = []
    with tenant.client("sales") as sales:
        deal = add_deal(sales)
        io = book(sales, io_body(show, deal, episode_ids=[]))
    with other.client() as owner:
        refused.append(problem(owner.get(f"/api/v1/io/{io['id']}.pdf"), 404, "not-found")["status"])
        refused.append(problem(owner.get(f"/api/v1/campaigns/{deal.campaign_id}/io.pdf"), 404, "not-found")["status"])
    assert refused == [404, 404]


def test_anonymous_callers_are_asked_to_sign_in(anon: httpx.Client) -> None:
    refused: list[int] = []
    refused.append(problem(anon.get(f"/api/v1/io/{uuid.uuid4()}.pdf"), 401, "not-authenticated")["status"])
    refused.append(problem(anon.get(f"/api/v1/campaigns/{uuid.uuid4()}/io.pdf"), 401, "not-authenticated")["status"])
    assert refused == [401, 401]


def test_the_pdf_route_and_the_io_route_each_answer_their_own_requests(tenant: Tenant, show: Show) -> None:
    with tenant.client("sales") as sales:
        io = book(sales, io_body(show, add_deal(sales), episode_ids=[]))
        assert ok(sales.get(f"/api/v1/io/{io['id']}"), 200)["number"] == io["number"]
        assert pdf_of(sales.get(f"/api/v1/io/{io['id']}.pdf"), f"{io['number']}.pdf")
        # Neither swallows the other's path, nor a near miss.
        problem(sales.get(f"/api/v1/io/{uuid.uuid4()}.pdf"), 404, "not-found")
        for path in (f"/api/v1/io/{io['id']}.txt", "/api/v1/io/not-an-id.pdf", f"/api/v1/io/{io['id']}.pdf/x"):
            assert sales.get(path).status_code == 404, path
        problem(sales.get(f"/api/v1/campaigns/{uuid.uuid4()}/io.pdf"), 404, "not-found")


def test_with_the_flag_off_the_documents_do_not_exist(server: str) -> None:
    fresh = make_tenant(server, roles=("owner",))
    with fresh.client() as owner:
        deal = add_deal(owner)
        io = book(owner, io_body(add_show(owner), deal, episode_ids=[]))
        set_flag(owner, False)
        problem(owner.get(f"/api/v1/io/{io['id']}.pdf"), 404, "not-found")
        problem(owner.get(f"/api/v1/campaigns/{deal.campaign_id}/io.pdf"), 404, "not-found")
        set_flag(owner, None)
        assert pdf_of(owner.get(f"/api/v1/io/{io['id']}.pdf"), f"{io['number']}.pdf")


def test_the_io_page_links_both_downloads_and_a_signed_in_browser_gets_the_pdf(
    server: str, tenant: Tenant, show: Show
) -> None:
    with tenant.client("sales") as sales:
        deal = add_deal(sales)
        io = book(sales, io_body(show, deal, episode_ids=[]))
    with signed_in(server, tenant, "sales") as browser:
        page = browser.get(f"/io/{io['id']}")
        assert page.status_code == 200, page.text
        assert re.search(
            rf'<a class="btn" href="/api/v1/io/{io["id"]}\.pdf" download[^>]*>Download IO \(PDF\)</a>', page.text
        )
        campaign_link = f'href="/api/v1/campaigns/{deal.campaign_id}/io.pdf"'
        assert campaign_link in page.text
        assert pdf_of(browser.get(f"/api/v1/io/{io['id']}.pdf"), f"{io['number']}.pdf")
        assert pdf_of(browser.get(f"/api/v1/campaigns/{deal.campaign_id}/io.pdf"))
