"""The delivery pages over HTTP as a browser sends them: an IO's delivery section (partial and page), a campaign's
delivery by IO, and the makegoods page with its settle form — what each role sees, errors beside their fields, and
the makegood moving from open to settled. Makegoods are made by the delivery refresh under a controlled clock."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any

import httpx
import pytest

from podsponsor.bookings import delivery
from podsponsor.bookings.delivery import IoDelivery
from podsponsor.bookings.delivery_web import credit_cents, pacing_status
from podsponsor.bookings.models import InsertionOrder
from podsponsor.bookings.pacing import Spend
from podsponsor.db.engine import Database
from podsponsor.db.tenancy import tenant_transaction
from tests.bookings.booking_world import set_flag, signed_in
from tests.bookings.delivery_world import Booking, Show, book, downloads, io_row, rows, set_io, show
from tests.factories.identity import Tenant, make_tenant
from tests.web.conftest import csrf_of

TODAY = datetime.now(UTC).date()
START = TODAY - timedelta(days=9)  # day 10 of a 30-day flight
END = START + timedelta(days=29)
PAST_START = TODAY - timedelta(days=20)
PAST_END = TODAY - timedelta(days=11)
LEGEND = re.compile(r'<g class="chart-legend-item"><title>([^<]+)</title>')


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales", "creator", "advertiser"))


@pytest.fixture(scope="module")
def other(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales"))


def _advertisers_sponsor(tenant: Tenant) -> uuid.UUID:
    with tenant.client("advertiser") as api:
        return uuid.UUID(api.get("/api/v1/sponsors").json()["items"][0]["id"])


def _page(client: httpx.Client, path: str, status: int = 200, *, partial: bool = False) -> str:
    response = client.get(path, headers={"HX-Request": "true"} if partial else {})
    assert response.status_code == status, response.text
    return response.text


def _sent_to_sign_in(anon: httpx.Client, path: str) -> None:
    response = anon.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/login?next={path}"


def _error_of(html: str, name: str, makegood_id: uuid.UUID) -> str:
    found = re.search(rf'<p class="field-error" id="{name}-{makegood_id}-error">([^<]*)</p>', html)
    assert found, f"no error shown beside {name}"
    return found.group(1)


def _article(html: str, makegood_id: uuid.UUID) -> str:
    found = re.search(rf'<article class="card makegood" id="makegood-{makegood_id}".*?</article>', html, re.S)
    assert found, f"makegood {makegood_id} is not listed as open"
    return found.group(0)


async def _order(tenant: Tenant, counts: dict[int, int], **fields: Any) -> Booking:
    """An order of 3,000 impressions over a 30-day flight on day 10, with `counts` downloads on flight days."""
    tenant_id = uuid.UUID(tenant.id)
    on = await show(tenant_id, [START, START + timedelta(days=7)], title=f"Night Shift {uuid.uuid4().hex[:6]}")
    start = fields.pop("start", START)
    order = await book(tenant_id, on, start, start + timedelta(days=29), placed=[0], goal=3000, **fields)
    for offset, count in counts.items():
        await downloads(tenant_id, on, 0, START + timedelta(days=offset), count)
    return order


async def _short_order(tenant: Tenant, **fields: Any) -> Booking:
    """An order that ended 11 days ago 400 impressions short of 1,000 (worth 10.00 USD at a 25.00 CPM)."""
    tenant_id = uuid.UUID(tenant.id)
    releases: list[date | None] = [PAST_START, TODAY + timedelta(days=3)]
    on = await show(tenant_id, releases, title=f"Morning Run {uuid.uuid4().hex[:6]}")
    order = await book(tenant_id, on, PAST_START, PAST_END, placed=[0], goal=1000, **fields)
    await downloads(tenant_id, on, 0, PAST_START, 600)
    return order


async def _judge(tenant: Tenant, *orders: Booking) -> list[uuid.UUID]:
    """The hourly refresh as of two days after the past flights ended: each short order gets its makegood."""
    tenant_id = uuid.UUID(tenant.id)
    now = datetime.combine(PAST_END + timedelta(days=2), time(12), tzinfo=UTC)
    async with tenant_transaction(tenant_id) as session:
        await delivery.refresh_tenant(session, tenant_id, now=now)
    found = []
    for order in orders:
        [row] = await rows(tenant_id, "SELECT id FROM makegoods WHERE io_id = :io AND settled_at IS NULL", io=order.io)
        found.append(row.id)
    return found


def _settle(client: httpx.Client, makegood_id: uuid.UUID, **fields: str) -> httpx.Response:
    token = csrf_of(client.get("/makegoods"))
    return client.post(f"/makegoods/{makegood_id}/settle", data={"csrf_token": token, **fields})


# --- An IO's delivery --------------------------------------------------------------------------------------------


async def test_an_ios_page_loads_its_delivery_with_pacing_spend_and_the_pacing_chart(
    db: Database, server: str, tenant: Tenant
) -> None:
    order = await _order(tenant, {0: 300, 4: 200, 9: 300})
    number = (await io_row(uuid.UUID(tenant.id), order.io)).number
    with signed_in(server, tenant, "sales") as client:
        detail = _page(client, f"/io/{order.io}")
        assert f'hx-get="/io/{order.io}/delivery"' in detail
        assert f'href="/io/{order.io}/delivery"' in detail, "without script, a link opens the delivery"
        assert f'href="/campaigns/{order.campaign}/delivery"' in detail
        section = _page(client, f"/io/{order.io}/delivery", partial=True)
        page = _page(client, f"/io/{order.io}/delivery")

    assert "<html" not in section and '<section class="card delivery" id="delivery"' in section
    assert "<html" in page and f"<h1>{number}</h1>" in page and "Back to the IO" in page
    facts = {
        name: re.sub(r"<[^>]+>", "", value).strip()
        for name, value in re.findall(r"<dd (data-[a-z-]+)>(.*?)</dd>", section)
    }
    assert facts == {
        "data-delivered": "800 of 3,000",
        "data-expected": "1,000",
        "data-pacing": "80.0 %",
        "data-spend": "20.00 USD",
        "data-ecpm": "25.00 USD",
    }
    assert '<span class="badge badge--warn" data-pacing-status>Behind</span>' in section
    assert LEGEND.findall(section) == ["Delivered", "Expected", "Goal"]
    # Every flight day is on the chart (expected runs to the goal on the last day); delivered stops at today.
    data = re.findall(
        r'<tr><th scope="row">([0-9-]+)</th><td class="num">([^<]*)</td><td class="num">([^<]*)</td>'
        r'<td class="num">([^<]*)</td></tr>',
        section,
    )
    assert len(data) == 30
    assert data[0] == (START.isoformat(), "300", "100", "3,000")
    assert data[9] == (TODAY.isoformat(), "800", "1,000", "3,000")
    assert data[-1] == (END.isoformat(), "—", "3,000", "3,000")
    assert f'href="/campaigns/{order.campaign}/delivery"' in section


async def test_advertisers_see_their_own_ios_delivery_only_and_strangers_none(
    db: Database, server: str, tenant: Tenant, other: Tenant, anon: httpx.Client
) -> None:
    own = await _order(tenant, {0: 300}, sponsor_id=_advertisers_sponsor(tenant))
    theirs = await _order(tenant, {0: 300})
    with signed_in(server, tenant, "advertiser") as client:
        assert "30.0 %" in _page(client, f"/io/{own.io}/delivery")
        assert "At risk" in _page(client, f"/io/{own.io}/delivery")
        _page(client, f"/io/{theirs.io}/delivery", 404)
        _page(client, f"/campaigns/{theirs.campaign}/delivery", 404)
        assert "30.0 %" in _page(client, f"/campaigns/{own.campaign}/delivery")
    with signed_in(server, tenant, "creator") as client:
        assert "30.0 %" in _page(client, f"/io/{theirs.io}/delivery")
    with signed_in(server, other, "sales") as client:
        _page(client, f"/io/{own.io}/delivery", 404)
        _page(client, f"/campaigns/{own.campaign}/delivery", 404)
        _page(client, "/io/not-an-id/delivery", 404)
    for path in (f"/io/{own.io}/delivery", f"/campaigns/{own.campaign}/delivery", "/makegoods"):
        _sent_to_sign_in(anon, path)


def _delivery(status: str, pct: Fraction | None, *, started: bool = True) -> IoDelivery:
    today = date(2026, 3, 10)
    start = today - timedelta(days=3) if started else today + timedelta(days=1)
    io = InsertionOrder(status=status, flight_start=start, flight_end=start + timedelta(days=20), impression_goal=100)
    return IoDelivery(io, today, io.flight_end, 0, 0, pct, Spend(0), None, 0)


def test_the_pacing_badge_follows_the_thresholds_and_the_orders_outcome() -> None:
    def label(status: str, pct: Fraction | None, **kwargs: bool) -> str:
        return pacing_status(_delivery(status, pct, **kwargs)).label

    assert label("scheduled", None, started=False) == "Not started"
    assert label("active", Fraction(1)) == "On pace"
    assert label("active", Fraction(9495, 10000)) == "On pace"  # shown as 95.0 %
    assert label("active", Fraction(949, 1000)) == "Behind"
    assert label("active", Fraction(80, 100)) == "Behind"
    assert label("active", Fraction(799, 1000)) == "At risk"
    assert label("active", Fraction(0)) == "At risk"
    assert label("completed", Fraction(1)) == "Delivered"
    assert label("makegood", Fraction(1, 2)) == "Under-delivered"
    assert label("cancelled", Fraction(1, 2)) == "Cancelled"


# --- A campaign's delivery ---------------------------------------------------------------------------------------


async def test_a_campaigns_delivery_lists_each_io_with_totals_and_a_chart(
    db: Database, server: str, tenant: Tenant
) -> None:
    tenant_id = uuid.UUID(tenant.id)
    behind = await _order(tenant, {0: 300, 4: 200, 9: 300})
    same: dict[str, Any] = {"sponsor_id": behind.sponsor, "campaign_id": behind.campaign}
    at_risk = await _order(tenant, {0: 300}, **same)
    on_pace = await _order(tenant, {0: 1000}, **same)
    not_started = await _order(tenant, {}, start=TODAY + timedelta(days=5), **same)
    cancelled = await _order(tenant, {0: 100}, **same)
    await set_io(tenant_id, cancelled.io, status="cancelled", status_changed_at=datetime.now(UTC))
    numbers = {o.io: (await io_row(tenant_id, o.io)).number for o in (behind, at_risk, on_pace, not_started, cancelled)}

    with signed_in(server, tenant, "sales") as client:
        page = _page(client, f"/campaigns/{behind.campaign}/delivery")

    def row(order: Booking) -> list[str]:
        found = re.search(rf'<tr data-io="{numbers[order.io]}">(.*?)</tr>', page, re.S)
        assert found, f"{numbers[order.io]} is not listed"
        return [
            re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", found.group(1), re.S)
        ]

    assert row(behind)[3:] == ["Behind", "800", "3,000", "80.0 %", "20.00 USD"]
    assert row(at_risk)[3:] == ["At risk", "300", "3,000", "30.0 %", "7.50 USD"]
    assert row(on_pace)[3:] == ["On pace", "1,000", "3,000", "100.0 %", "25.00 USD"]
    assert row(not_started)[3:] == ["Not started", "0", "3,000", "—", "0.00 USD"]
    assert row(cancelled)[3] == "Cancelled"
    assert row(behind)[2] == f"{START.isoformat()} to {END.isoformat()}"
    totals = re.search(r"<tr data-totals>(.*?)</tr>", page, re.S)
    assert totals
    cells = [
        re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", totals.group(1), re.S)
    ]
    # Started IOs weighted by goal: (80 + 30 + 100) / 3; the cancelled IO is listed but not summed.
    assert cells == ["Total (without cancelled IOs)", "2,100", "12,000", "70.0 %", "52.50 USD"]
    chart = re.search(r'<figure class="chart chart--bar" id="campaign-delivery">.*?</figure>', page, re.S)
    assert chart and LEGEND.findall(chart.group(0)) == ["Delivered", "Goal"]
    assert numbers[behind.io] in chart.group(0) and numbers[cancelled.io] not in chart.group(0)


# --- Makegoods ---------------------------------------------------------------------------------------------------


async def test_the_makegoods_page_shows_what_each_role_may_see_and_do(
    db: Database, server: str, tenant: Tenant, other: Tenant
) -> None:
    tenant_id = uuid.UUID(tenant.id)
    own = await _short_order(tenant, sponsor_id=_advertisers_sponsor(tenant))
    theirs = await _short_order(tenant)
    own_makegood, their_makegood = await _judge(tenant, own, theirs)
    own_number = (await io_row(tenant_id, own.io)).number
    their_number = (await io_row(tenant_id, theirs.io)).number

    with signed_in(server, tenant, "sales") as client:
        page = _page(client, "/makegoods")
        article = _article(page, their_makegood)
        assert their_number in article and "400 impressions" in article and "10.00 USD" in article
        assert 'name="credit" type="text" inputmode="decimal" value="10.00"' in article, "the credit defaults"
        assert "Episode 1 · " in article and "Episode 0 · " not in article, "the IO's own episode is not offered"
        assert f'min="{max(PAST_END + timedelta(days=1), TODAY).isoformat()}"' in article
        assert ">Settle</button>" in article
        _article(page, own_makegood)
        assert 'href="/makegoods"' in _page(client, "/io"), "the IO list links the makegoods"
        section = _page(client, f"/io/{theirs.io}/delivery", partial=True)
        assert "Under-delivered" in section and "A makegood is owed: 400 impressions short" in section
    with signed_in(server, tenant, "advertiser") as client:
        page = _page(client, "/makegoods")
        assert own_number in _article(page, own_makegood) and their_number not in page
        assert '<form method="post" action="/makegoods/' not in page and ">Settle</button>" not in page
        token = csrf_of(client.get("/makegoods"))
        refused = client.post(f"/makegoods/{own_makegood}/settle", data={"csrf_token": token, "settlement": "credit"})
        assert refused.status_code == 403
    with signed_in(server, tenant, "creator") as client:
        page = _page(client, "/makegoods")
        assert their_number in page and ">Settle</button>" not in page
        assert _settle(client, their_makegood, settlement="credit").status_code == 403
    with signed_in(server, other, "sales") as client:
        assert their_number not in _page(client, "/makegoods")
        assert _settle(client, their_makegood, settlement="credit").status_code == 404
    [still_open] = await rows(tenant_id, "SELECT settled_at FROM makegoods WHERE id = :id", id=their_makegood)
    assert still_open.settled_at is None


async def test_bad_settle_input_is_shown_beside_its_field_with_a_422(db: Database, server: str, tenant: Tenant) -> None:
    order = await _short_order(tenant)
    [makegood] = await _judge(tenant, order)
    elsewhere: Show = await show(uuid.UUID(tenant.id), [TODAY], title="Another show")
    with signed_in(server, tenant, "sales") as client:
        cases: list[tuple[dict[str, str], str, str]] = [
            ({"credit": "10.00"}, "settlement", "Choose how to make it good"),
            ({"settlement": "credit", "credit": "12.345"}, "credit", "at most two decimals"),
            ({"settlement": "credit", "credit": "-5"}, "credit", "Give an amount such as 125.50"),
            ({"settlement": "credit", "credit": "1,2,3"}, "credit", "Give an amount such as 125.50"),
            ({"settlement": "credit", "credit": "99999999999999"}, "credit", "Give at most 10,000,000,000,000.00"),
            ({"settlement": "extended_flight", "extended_to": ""}, "extended_to", "new last day"),
            ({"settlement": "extended_flight", "extended_to": "31/12/2030"}, "extended_to", "a date such as"),
            ({"settlement": "extended_flight", "extended_to": PAST_END.isoformat()}, "extended_to", "Must be after"),
            ({"settlement": "bonus_episode", "episode_id": ""}, "episode_id", "Choose the episode"),
            ({"settlement": "bonus_episode", "episode_id": "ep-1"}, "episode_id", "one of the offered episodes"),
            ({"settlement": "bonus_episode", "episode_id": str(elsewhere.episodes[0])}, "episode_id", "Not an episode"),
        ]
        for fields, name, message in cases:
            refused = _settle(client, makegood, **fields)
            assert refused.status_code == 422, (fields, refused.status_code)
            article = _article(refused.text, makegood)
            assert message in _error_of(article, name, makegood), (fields, _error_of(article, name, makegood))
            assert 'role="alert"' in article
            assert name == "settlement" or f'aria-describedby="{name}-{makegood}-error"' in article
        kept = _settle(client, makegood, settlement="credit", credit="12.345", note="call first")
        assert 'value="12.345"' in kept.text and 'value="call first"' in kept.text, "what was typed stays"
        assert 'id="credit-kind-' in kept.text and 'value="credit" checked' in kept.text
        assert _settle(client, makegood, settlement="credit", credit="5", note="x" * 2001).status_code == 422
        forged = client.post(f"/makegoods/{makegood}/settle", data={"settlement": "credit"})
        assert forged.status_code == 403
    [row] = await rows(uuid.UUID(tenant.id), "SELECT settled_at FROM makegoods WHERE id = :id", id=makegood)
    assert row.settled_at is None


async def test_settling_by_credit_moves_the_makegood_to_settled_with_a_notice(
    db: Database, server: str, tenant: Tenant
) -> None:
    tenant_id = uuid.UUID(tenant.id)
    order = await _short_order(tenant)
    [makegood] = await _judge(tenant, order)
    number = (await io_row(tenant_id, order.io)).number
    with signed_in(server, tenant, "sales") as client:
        done = _settle(client, makegood, settlement="credit", credit="1,234.5", note="agreed by phone")
        assert done.status_code == 303 and done.headers["location"] == "/makegoods?state=settled"
        settled = _page(client, done.headers["location"])
        assert f"The makegood of {number} is settled by a credit of 1,234.50 USD." in settled
        assert 'aria-current="page">Settled' in settled
        found = re.search(rf'<tr id="makegood-{makegood}" data-makegood="{number}">(.*?)</tr>', settled, re.S)
        assert found and "A credit of 1,234.50 USD" in found.group(1) and "agreed by phone" in found.group(1)
        assert f'id="makegood-{makegood}"' not in _page(client, "/makegoods")
        again = _settle(client, makegood, settlement="credit", credit="1")
        assert again.status_code == 409
        assert "This makegood was settled by credit" in again.text, "a notice, as its form is gone"
    [row] = await rows(tenant_id, "SELECT credit_cents, settlement, note FROM makegoods WHERE id = :id", id=makegood)
    assert (row.credit_cents, row.settlement, row.note) == (123_450, "credit", "agreed by phone")
    assert (await io_row(tenant_id, order.io)).status == "makegood"
    with signed_in(server, tenant, "advertiser") as client:
        assert "agreed by phone" not in _page(client, "/makegoods?state=settled")


async def test_settling_by_a_bonus_episode_or_an_extended_flight_brings_the_io_back(
    db: Database, server: str, tenant: Tenant
) -> None:
    tenant_id = uuid.UUID(tenant.id)
    bonus, extended = await _short_order(tenant), await _short_order(tenant)
    bonus_makegood, extended_makegood = await _judge(tenant, bonus, extended)
    new_end = TODAY + timedelta(days=14)
    with signed_in(server, tenant, "sales") as client:
        episode = str(bonus.show.episodes[1])
        done = _settle(client, bonus_makegood, settlement="bonus_episode", episode_id=episode, credit="10.00")
        assert done.status_code == 303, done.text
        page = _page(client, done.headers["location"])
        assert "is settled by a bonus episode (Episode 1)" in page and "is active again" in page
        done = _settle(client, extended_makegood, settlement="extended_flight", extended_to=new_end.isoformat())
        assert done.status_code == 303, done.text
        page = _page(client, done.headers["location"])
        assert f"Extending the flight to {new_end.isoformat()}" in page
        assert "A bonus episode (Episode 1)" in page
    assert (await io_row(tenant_id, bonus.io)).status == "active"
    extended_io = await io_row(tenant_id, extended.io)
    assert (extended_io.status, extended_io.flight_end) == ("active", new_end)
    [placement] = await rows(tenant_id, "SELECT episode_id FROM io_placements WHERE io_id = :io AND bonus", io=bonus.io)
    assert str(placement.episode_id) == episode


def test_credit_amounts_become_integer_cents_exactly() -> None:
    def cents(raw: str) -> int | None:
        errors: dict[str, str] = {}
        found = credit_cents(raw, errors)
        assert errors == {}, errors
        return found

    assert cents("10") == 1000
    assert cents("10.5") == 1050
    assert cents("0.29") == 29  # 0.29 * 100 is 28.999… in binary floating point
    assert cents("$1,234,567.89") == 123_456_789
    assert cents(" 4.10 ") == 410
    assert cents("") is None
    for bad in ("1.234", "1,23", "12,3456", "-1", "1e3", "abc", ".5", "1.", "9999999999999999"):
        errors: dict[str, str] = {}
        assert credit_cents(bad, errors) is None and "credit" in errors, bad


def test_the_pages_follow_the_bookings_feature_flag(server: str) -> None:
    fresh = make_tenant(server, roles=("owner",))
    with fresh.client() as owner:
        set_flag(owner, False)
    with signed_in(server, fresh) as client:
        assert client.get("/makegoods").status_code == 404
        assert client.get(f"/campaigns/{uuid.uuid4()}/delivery").status_code == 404
