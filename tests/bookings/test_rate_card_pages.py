"""A show's rate card on its page: listed for readers, added and removed by sellers, refused input shown beside its
field, the default CPMs when none is typed, and no form for roles that may only read."""

from __future__ import annotations

import pytest

from tests.bookings.booking_world import Show, add_show, signed_in
from tests.factories.identity import Tenant, make_tenant
from tests.web.conftest import csrf_of


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales", "creator"))


@pytest.fixture
def show(tenant: Tenant) -> Show:
    with tenant.client() as owner:
        return add_show(owner)


def test_the_show_page_loads_the_rate_card_and_a_seller_adds_and_removes_a_unit(
    server: str, tenant: Tenant, show: Show
) -> None:
    with signed_in(server, tenant, "sales") as browser:
        page = browser.get(f"/podcasts/{show.id}")
        assert f'hx-get="/podcasts/{show.id}/rate-card"' in page.text
        card = browser.get(f"/podcasts/{show.id}/rate-card", headers={"HX-Request": "true"})
        assert card.status_code == 200 and "<html" not in card.text
        assert card.text.count("<tr>") >= 2 and "Mid-roll" in card.text and "$25.00" in card.text
        added = browser.post(
            f"/podcasts/{show.id}/rate-card",
            data={
                "csrf_token": csrf_of(card),
                "name": "",
                "position": "post",
                "length_seconds": "30",
                "read_type": "produced",
                "insertion": "dynamic",
                "rate_cpm": "",
                "flat_rate": "1,250",
            },
        )
        assert added.status_code == 303, added.text[added.text.find("notice") :][:600]
        assert added.headers["location"] == f"/podcasts/{show.id}#rate-card"
        card = browser.get(f"/podcasts/{show.id}/rate-card")
        assert "<td>Post-roll</td>" in card.text and "$1,250.00" in card.text
        with tenant.client() as api:
            units = api.get(f"/api/v1/podcasts/{show.id}/ad-units").json()["items"]
        post = next(unit for unit in units if unit["position"] == "post")
        # No CPM typed: the default rate card's post-roll :30.
        assert post["rate_cpm_cents"] > 0 and post["flat_rate_cents"] == 125_000
        removed = browser.post(f"/podcasts/{show.id}/rate-card/{post['id']}/delete", data={"csrf_token": csrf_of(card)})
        assert removed.status_code == 303
        assert "<td>Post-roll</td>" not in browser.get(f"/podcasts/{show.id}/rate-card").text


def test_bad_prices_and_choices_are_shown_beside_their_fields(server: str, tenant: Tenant, show: Show) -> None:
    with signed_in(server, tenant, "sales") as browser:
        card = browser.get(f"/podcasts/{show.id}/rate-card")
        refused = browser.post(
            f"/podcasts/{show.id}/rate-card",
            data={
                "csrf_token": csrf_of(card),
                "position": "mid",
                "length_seconds": "45",
                "read_type": "host_read",
                "insertion": "baked_in",
                "rate_cpm": "twenty",
            },
        )
    assert refused.status_code == 422
    assert 'id="rate_cpm-error"' in refused.text and "22.50" in refused.text
    assert 'id="length_seconds-error"' in refused.text


def test_creators_read_the_rate_card_without_a_form(server: str, tenant: Tenant, show: Show) -> None:
    with signed_in(server, tenant, "creator") as browser:
        card = browser.get(f"/podcasts/{show.id}/rate-card")
        assert card.status_code == 200 and "Mid-roll" in card.text
        assert "Add to the rate card" not in card.text and "Remove" not in card.text
        refused = browser.post(f"/podcasts/{show.id}/rate-card", data={"csrf_token": csrf_of(card)})
    assert refused.status_code == 403
