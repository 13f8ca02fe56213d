"""The IO pages over HTTP as a browser sends them: the navigation entry, the wizard's round trips (rate-card prices,
generated codes), booking once on a double submit, errors beside their fields, the list, one IO, cancelling."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from tests.bookings.booking_world import (
    FLIGHT_END,
    FLIGHT_START,
    Deal,
    Show,
    add_campaign,
    add_deal,
    add_show,
    book,
    io_body,
    set_flag,
    signed_in,
)
from tests.factories.identity import Tenant, make_tenant
from tests.web.conftest import csrf_of

_TOKEN = re.compile(r'name="form_token" value="([0-9a-f]{32})"')


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales", "creator", "advertiser"))


@pytest.fixture
def show(tenant: Tenant) -> Show:
    with tenant.client() as owner:
        return add_show(owner)


@pytest.fixture
def deal(tenant: Tenant) -> Deal:
    with tenant.client() as owner:
        return add_deal(owner, name=f"Brew Hub {uuid.uuid4().hex[:6]}")


def field_value(html: str, name: str) -> str:
    found = re.search(rf'<input id="{name}" name="{name}" type="[a-z]+" value="([^"]*)"', html)
    assert found, f"no {name} input"
    return found.group(1)


def error_of(html: str, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="{name}-error">([^<]*)</p>', html)
    assert found, f"no error shown beside {name}"
    return found.group(1)


def wizard_fields(client: httpx.Client, show: Show, deal: Deal, **fields: Any) -> dict[str, Any]:
    page = client.get("/io/new")
    assert page.status_code == 200, page.text
    token = _TOKEN.search(page.text)
    assert token, "the wizard carries a form token"
    values: dict[str, Any] = {
        "csrf_token": csrf_of(page),
        "form_token": token.group(1),
        "campaign_id": deal.campaign_id,
        "podcast_id": show.id,
        "ad_unit_id": show.mid,
        "episodes": "chosen",
        "episode_ids": show.published[:2],
        "flight_start": FLIGHT_START.isoformat(),
        "flight_end": FLIGHT_END.isoformat(),
        "impression_goal": "40,000",
        "pacing_mode": "even",
        "pricing_model": "cpm",
        "cpm": "25.00",
        "max_spend": "1,500.50",
        "talking_points": "Free shipping this month.",
        "exclusivity": "on",
        "notes": "Seller's own note",
    }
    return values | fields


def test_the_bookings_entry_is_in_the_navigation_of_readers_while_the_flag_is_on(server: str) -> None:
    fresh = make_tenant(server, roles=("owner", "creator"))
    for role in ("owner", "creator"):
        with signed_in(server, fresh, role) as client:
            assert 'href="/io"' in client.get("/").text
    with fresh.client() as owner:
        set_flag(owner, False)
    with signed_in(server, fresh) as client:
        assert 'href="/io"' not in client.get("/").text
        assert client.get("/io").status_code == 404
        assert client.get("/io/new").status_code == 404


def test_choosing_a_show_and_ad_unit_fills_the_wizard_and_codes_are_generated(
    server: str, tenant: Tenant, show: Show, deal: Deal
) -> None:
    with signed_in(server, tenant, "sales") as client:
        token = _TOKEN.search(client.get("/io/new").text)
        assert token
        step = {"form_token": token.group(1), "campaign_id": deal.campaign_id, "podcast_id": show.id}
        with_show = client.get("/io/new", params=step)
        assert "Mid-roll :60 host read · 25.00 CPM" in with_show.text
        assert "Pre-roll :30 host read · 14.40 CPM" in with_show.text
        assert "Episode 3" in with_show.text and "upcoming" in with_show.text and "date not set" in with_show.text
        priced = client.get("/io/new", params=step | {"ad_unit_id": show.pre})
        assert field_value(priced.text, "cpm") == "14.40", "the rate card fills the price"
        assert "rate card 14.40 USD" in priced.text
        kept = client.get("/io/new", params=step | {"ad_unit_id": show.pre, "priced_for": show.pre, "cpm": "19.00"})
        assert field_value(kept.text, "cpm") == "19.00", "a price the seller typed stays"
        code = field_value(client.get("/io/new", params=step | {"generate": "promo_code"}).text, "promo_code")
        assert re.fullmatch(r"[A-HJKMNP-Z2-9]{4,20}", code), code
        slug = field_value(client.get("/io/new", params=step | {"generate": "vanity_slug"}).text, "vanity_slug")
        assert slug.startswith("brew-hub-"), slug


def test_a_double_submitted_wizard_books_one_io(server: str, tenant: Tenant, show: Show, deal: Deal) -> None:
    with signed_in(server, tenant, "sales") as client:
        fields = wizard_fields(client, show, deal)
        first = client.post("/io", data=fields)
        second = client.post("/io", data=fields)
        assert first.status_code == second.status_code == 303, first.text
        assert first.headers["location"] == second.headers["location"]
        page = client.get(first.headers["location"])
        assert "is booked." in page.text
    with tenant.client("sales") as api:
        ios = api.get("/api/v1/io", params={"campaign_id": deal.campaign_id}).json()["items"]
    assert len(ios) == 1
    io = ios[0]
    assert sorted(io["episode_ids"]) == sorted(show.published[:2])
    assert (io["impression_goal"], io["cpm_cents"], io["max_spend_cents"]) == (40_000, 2500, 150_050)
    assert (io["talking_points"], io["exclusivity"], io["separation_waived"]) == (
        "Free shipping this month.",
        True,
        False,
    )
    assert io["number"] in page.text


def test_wizard_errors_are_shown_beside_their_fields(server: str, tenant: Tenant, show: Show, deal: Deal) -> None:
    with signed_in(server, tenant, "sales") as client:
        bad = wizard_fields(
            client,
            show,
            deal,
            campaign_id="",
            cpm="twenty",
            impression_goal="lots",
            episode_ids=[],
        )
        refused = client.post("/io", data=bad)
        assert refused.status_code == 422
        assert error_of(refused.text, "campaign_id") == "Fill this in."
        assert "amount" in error_of(refused.text, "cpm")
        assert "whole number" in error_of(refused.text, "impression_goal")
        assert "at least one episode" in error_of(refused.text, "episode_ids")
        assert 'value="twenty"' in refused.text, "what was typed stays"
        reversed_flight = wizard_fields(client, show, deal, flight_end="2000-01-01")
        flight = client.post("/io", data=reversed_flight)
        assert flight.status_code == 422
        assert "ends before it starts" in error_of(flight.text, "flight_end")
    with tenant.client("sales") as api:
        holder = book(api, io_body(show, deal, episode_ids=show.published[:1]))
    with signed_in(server, tenant, "sales") as client:
        taken = client.post("/io", data=wizard_fields(client, show, deal))
        assert taken.status_code == 409
        assert f"Slot held by {holder['number']}" in error_of(taken.text, "episode_ids")


def test_the_list_and_an_ios_page_with_what_each_role_may_see(
    server: str, tenant: Tenant, show: Show, deal: Deal
) -> None:
    with tenant.client("advertiser") as advertiser:
        own_sponsor = advertiser.get("/api/v1/sponsors").json()["items"][0]["id"]
    with tenant.client() as owner:
        own = Deal(own_sponsor, "", add_campaign(owner, own_sponsor))
    with tenant.client("sales") as api:
        theirs = book(api, io_body(show, own, episode_ids=[], notes="Internal: pays late", promo_code="SNUGBED"))
        others = book(api, io_body(show, deal, notes="Internal: other"))
    with signed_in(server, tenant, "sales") as client:
        listed = client.get("/io")
        assert theirs["number"] in listed.text and others["number"] in listed.text
        assert others["number"] not in client.get("/io", params={"status": "cancelled"}).text
        detail = client.get(f"/io/{others['id']}").text
        assert "Internal: other" in detail and "Episode 5" in detail and "Cancel this IO" in detail
    with signed_in(server, tenant, "advertiser") as client:
        listed = client.get("/io")
        assert theirs["number"] in listed.text and others["number"] not in listed.text
        detail = client.get(f"/io/{theirs['id']}")
        assert "SNUGBED" in detail.text and "Unassigned within the flight" in detail.text
        assert "pays late" not in detail.text and "Cancel this IO" not in detail.text
        assert client.get(f"/io/{others['id']}").status_code == 404
        assert client.get("/io/not-an-id").status_code == 404
        assert client.get("/io/new").status_code == 403
    with signed_in(server, tenant, "creator") as client:
        assert client.get("/io/new").status_code == 403
        assert others["number"] in client.get("/io").text


def test_an_io_is_cancelled_from_its_page(server: str, tenant: Tenant, show: Show, deal: Deal) -> None:
    with tenant.client("sales") as api:
        io = book(api, io_body(show, deal))
    with signed_in(server, tenant, "sales") as client:
        page = client.get(f"/io/{io['id']}")
        done = client.post(f"/io/{io['id']}/cancel", data={"csrf_token": csrf_of(page)})
        assert done.status_code == 303 and done.headers["location"] == f"/io/{io['id']}"
        after = client.get(f"/io/{io['id']}").text
        assert "is cancelled; its episode slots are free again." in after
        assert "Cancel this IO" not in after and "its episode slots were released" in after
        again = client.post(f"/io/{io['id']}/cancel", data={"csrf_token": csrf_of(page)})
        assert "only a scheduled or active IO can be cancelled" in client.get(again.headers["location"]).text
        forged = client.post(f"/io/{io['id']}/cancel", data={})
        assert forged.status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(anon: httpx.Client) -> None:
    for path in ("/io", "/io/new"):
        response = anon.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == f"/login?next={path}"
