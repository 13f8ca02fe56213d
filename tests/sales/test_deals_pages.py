"""The deal board page over HTTP, as a browser without script sees it: columns and cards, the forecast chart,
moves by plain forms with CSRF, roles, advertiser scoping, the nav link and the feature flag."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from podsponsor.auth.dependencies import SESSION_COOKIE
from podsponsor.auth.tokens import TokenClaims, issue_session
from podsponsor.config import Settings
from podsponsor.web.csrf import CSRF_COOKIE
from tests.factories.identity import Tenant, make_tenant
from tests.sales.test_deals_api import add_deal, add_sponsor

CSRF = "csrf-token-of-this-browser"
Browser = Callable[[Tenant, str], httpx.Client]
NAV_DEALS = '<a href="/deals"'


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales", "ops", "advertiser"))


@pytest.fixture
def signed_in(settings: Settings) -> Iterator[Browser]:
    """A browser signed in as `role` of a tenant, holding the CSRF cookie CSRF."""
    opened: list[httpx.Client] = []

    def open_as(tenant: Tenant, role: str) -> httpx.Client:
        claims = TokenClaims(uuid.UUID(tenant.id), uuid.UUID(tenant.user_ids[role]), session_version=1)
        client = httpx.Client(
            base_url=tenant.base_url,
            cookies={SESSION_COOKIE: issue_session(settings, claims), CSRF_COOKIE: CSRF},
            headers={"Accept": "text/html"},
            timeout=30,
        )
        opened.append(client)
        return client

    yield open_as
    for client in opened:
        client.close()


def new_deal(tenant: Tenant, **fields: Any) -> dict[str, Any]:
    with tenant.client("sales") as api:
        return add_deal(api, add_sponsor(api)["id"], **fields)


def stage_of(tenant: Tenant, deal_id: str) -> str:
    with tenant.client("sales") as api:
        return str(api.get(f"/api/v1/deals/{deal_id}").json()["stage"])


def card_html(page: str, deal_id: str) -> str:
    found = re.search(rf'<li class="deal-card" id="deal-{deal_id}".*?</li>', page, re.DOTALL)
    assert found, f"no card for {deal_id}"
    return found.group(0)


def column_html(page: str, stage: str) -> str:
    found = re.search(rf'<section class="deal-column deal-column--{stage}".*?</section>', page, re.DOTALL)
    assert found, f"no column {stage}"
    return found.group(0)


def test_the_board_shows_a_column_per_stage_cards_and_the_forecast(tenant: Tenant, signed_in: Browser) -> None:
    deal = new_deal(tenant, value_cents=250_000, stage="proposal")
    page = signed_in(tenant, "sales").get("/deals", params={"q": deal["name"]})
    assert page.status_code == 200
    for label in ("Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost"):
        assert f'>{label} <span class="badge' in page.text
    card = card_html(page.text, deal["id"])
    assert card in column_html(page.text, "proposal")
    assert deal["name"] in card
    assert "2,500.00 USD" in card
    assert "1,250.00 USD" in card  # weighted at the proposal stage's 50 %
    assert "0 days" in card
    assert 'draggable="true"' in card
    assert 'data-moves="qualified negotiation won lost"' in card
    for button in (f"Move {deal['name']} to Negotiation", f"Move back {deal['name']} to Qualified"):
        assert f'aria-label="{button}"' in card
    assert f'aria-label="Mark as lost {deal["name"]}"' in card
    assert f'name="csrf_token" value="{CSRF}"' in card
    assert 'id="deal-forecast-chart"' in page.text
    assert "<svg" in page.text
    assert '<script type="module" src="/static/deals-board.js"></script>' in page.text
    # Nothing inline: the content security policy allows only the site's own files.
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text) is None
    assert NAV_DEALS in page.text


def test_a_move_button_is_a_form_that_goes_back_to_the_same_board(tenant: Tenant, signed_in: Browser) -> None:
    deal = new_deal(tenant)
    client = signed_in(tenant, "sales")
    back = f"/deals?q={deal['name'].split()[-1]}"
    fields = {"csrf_token": CSRF, "stage": "qualified", "from_stage": "lead", "next": back}
    response = client.post(f"/deals/{deal['id']}/stage", data=fields)
    assert response.status_code == 303
    assert response.headers["location"] == back
    assert stage_of(tenant, deal["id"]) == "qualified"
    board = client.get(back)
    assert f"{deal['name']} moved from Lead to Qualified." in board.text
    assert card_html(board.text, deal["id"]) in column_html(board.text, "qualified")


def test_the_script_posts_the_same_form_with_the_token_in_a_header(tenant: Tenant, signed_in: Browser) -> None:
    deal = new_deal(tenant)
    response = signed_in(tenant, "sales").post(
        f"/deals/{deal['id']}/stage",
        data={"stage": "negotiation", "from_stage": "lead", "next": "/deals"},
        headers={"X-CSRF-Token": CSRF},
    )
    assert (response.status_code, response.headers["location"]) == (303, "/deals")
    assert stage_of(tenant, deal["id"]) == "negotiation"


def test_a_refused_move_comes_back_as_an_error_notice(tenant: Tenant, signed_in: Browser) -> None:
    deal = new_deal(tenant, stage="negotiation")
    client = signed_in(tenant, "sales")
    fields = {"csrf_token": CSRF, "from_stage": "negotiation", "next": "/deals"}
    refused = client.post(f"/deals/{deal['id']}/stage", data={**fields, "stage": "lead"})
    assert refused.status_code == 303
    notice = client.get("/deals").text
    assert 'class="notice notice--error"' in notice
    assert "A deal in negotiation cannot move to lead" in notice
    assert stage_of(tenant, deal["id"]) == "negotiation"
    nonsense = client.post(f"/deals/{deal['id']}/stage", data={**fields, "stage": "signed"})
    assert nonsense.status_code == 303
    assert "Choose one of the stages" in client.get("/deals").text
    stale = client.post(f"/deals/{deal['id']}/stage", data={**fields, "from_stage": "lead", "stage": "won"})
    assert stale.status_code == 303
    assert "look at it again" in client.get("/deals").text
    assert stage_of(tenant, deal["id"]) == "negotiation"


def test_a_move_without_the_csrf_token_is_refused(tenant: Tenant, signed_in: Browser) -> None:
    deal = new_deal(tenant)
    client = signed_in(tenant, "sales")
    for token in ({"csrf_token": "someone-elses"}, {}):
        response = client.post(f"/deals/{deal['id']}/stage", data={"stage": "won", **token})
        assert response.status_code == 403
    assert stage_of(tenant, deal["id"]) == "lead"


def test_the_form_only_goes_back_to_the_board(tenant: Tenant, signed_in: Browser) -> None:
    deal = new_deal(tenant)
    client = signed_in(tenant, "sales")
    for target in ("https://elsewhere.example/deals", "//elsewhere.example", "/settings/users", "/dealsx"):
        response = client.post(f"/deals/{deal['id']}/stage", data={"csrf_token": CSRF, "stage": "won", "next": target})
        assert response.headers["location"] == "/deals"


def test_unknown_or_foreign_deals_are_not_found(tenant: Tenant, signed_in: Browser, server: str) -> None:
    foreign = new_deal(make_tenant(server, roles=("owner", "sales")))
    client = signed_in(tenant, "sales")
    for deal_id in (foreign["id"], str(uuid.uuid4()), "not-an-id"):
        response = client.post(f"/deals/{deal_id}/stage", data={"csrf_token": CSRF, "stage": "won"})
        assert response.status_code == 404, deal_id


def test_readers_see_the_board_without_moves(tenant: Tenant, signed_in: Browser) -> None:
    deal = new_deal(tenant)
    client = signed_in(tenant, "ops")
    page = client.get("/deals")
    assert page.status_code == 200
    card = card_html(page.text, deal["id"])
    assert "draggable" not in card
    assert "<form" not in card
    assert "deals-board.js" not in page.text
    assert client.post(f"/deals/{deal['id']}/stage", data={"csrf_token": CSRF, "stage": "won"}).status_code == 403
    assert stage_of(tenant, deal["id"]) == "lead"


def test_an_advertiser_sees_only_their_sponsors_deals(tenant: Tenant, signed_in: Browser) -> None:
    with tenant.client("advertiser") as api:
        own_sponsor = api.get("/api/v1/me").json()["sponsor_id"]
    with tenant.client("sales") as api:
        own = add_deal(api, own_sponsor)
    theirs = new_deal(tenant)
    page = signed_in(tenant, "advertiser").get("/deals", params={"sponsor": theirs["sponsor_id"]})
    assert page.status_code == 200
    assert own["name"] in page.text
    assert theirs["name"] not in page.text
    assert 'name="seller"' not in page.text
    assert 'name="sponsor"' not in page.text
    assert '<form method="post" action="/deals/' not in page.text


def test_the_nav_link_and_the_board_follow_the_feature_flag(server: str, signed_in: Browser) -> None:
    tenant = make_tenant(server, roles=("owner", "sales", "creator"))
    client = signed_in(tenant, "sales")
    assert NAV_DEALS in client.get("/sponsors").text
    with tenant.client() as owner:
        owner.put("/api/v1/feature-flags/ENABLE_DEAL_PIPELINE", json={"enabled": False})
    assert NAV_DEALS not in client.get("/sponsors").text
    off = client.get("/deals")
    assert off.status_code == 404
    assert NAV_DEALS not in off.text
    deal_id = str(uuid.uuid4())
    assert client.post(f"/deals/{deal_id}/stage", data={"csrf_token": CSRF, "stage": "won"}).status_code == 404
    with tenant.client() as owner:
        owner.put("/api/v1/feature-flags/ENABLE_DEAL_PIPELINE", json={"enabled": None})
    assert client.get("/deals").status_code == 200
    # Creators read sales, so they see the board too; the link follows the permission, not only the flag.
    assert NAV_DEALS in signed_in(tenant, "creator").get("/podcasts").text


def test_anonymous_visitors_are_sent_to_sign_in(anon: httpx.Client) -> None:
    response = anon.get("/deals", headers={"Accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/deals"
