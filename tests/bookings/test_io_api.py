"""Insertion orders over REST: booking with an Idempotency-Key, every booking rule with its problem+json, changes by
status, cancelling, lists and filters, roles, advertiser scoping, tenants and the feature flag."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.bookings.booking_world import (
    FLIGHT_START,
    IO_NUMBER,
    TODAY,
    Deal,
    Show,
    add_campaign,
    add_deal,
    add_show,
    book,
    error_on,
    io_body,
    ok,
    post_io,
    problem,
    set_flag,
    set_status,
)
from tests.factories.identity import Tenant, make_tenant


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales", "ops", "creator", "advertiser"))


@pytest.fixture(scope="module")
def other(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales"))


@pytest.fixture
def show(tenant: Tenant) -> Show:
    with tenant.client() as owner:
        return add_show(owner)


@pytest.fixture
def deal(tenant: Tenant) -> Deal:
    with tenant.client() as owner:
        return add_deal(owner)


def events_of(api: httpx.Client, kind: str, subject_id: str) -> list[dict[str, Any]]:
    events = api.get("/api/v1/events", params={"type": kind, "limit": 200}).json()["items"]
    return [e for e in events if e["subject_id"] == subject_id]


# --- Booking -----------------------------------------------------------------------------------------------------


def test_sales_books_an_io_that_reads_back_with_its_slots_and_records_io_scheduled(
    tenant: Tenant, show: Show, deal: Deal
) -> None:
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
        vanity_slug=f"brew-{uuid.uuid4().hex[:6]}",
        landing_url="https://brewhub.example/podcast",
        makegood_terms="Bonus episode within 30 days.",
        notes="Agreed at the upfronts.",
    )
    with tenant.client("sales") as api:
        created = post_io(api, body)
        io = ok(created)
        assert re.match(IO_NUMBER, io["number"]), io["number"]
        assert io["number"].startswith(f"IO-{TODAY.year}-")
        assert created.headers["location"] == f"/api/v1/io/{io['id']}"
        assert "idempotent-replayed" not in created.headers
        assert io["status"] == "scheduled"
        assert io["sponsor_id"] == deal.sponsor_id, "the deal's sponsor is the advertiser"
        assert io["currency"] == "USD"
        assert sorted(io["episode_ids"]) == sorted(show.published[:2])
        assert {p["ad_unit_id"] for p in io["placements"]} == {show.mid}
        assert io["promo_code"] == "BREW25", "stored upper-case"
        assert io["pacing_mode"] == "front_loaded"
        assert io["exclusivity"] is True and io["separation_waived"] is False
        assert io["created_by"] == tenant.user_ids["sales"]
        again = ok(api.get(f"/api/v1/io/{io['id']}"), 200)
        assert again == io
        scheduled = events_of(api, "io.scheduled", io["id"])
        assert len(scheduled) == 1
        assert scheduled[0]["payload"]["number"] == io["number"]
        assert sorted(scheduled[0]["payload"]["episode_ids"]) == sorted(show.published[:2])


def test_io_numbers_count_up_within_a_workspace_and_start_afresh_in_another(
    tenant: Tenant, other: Tenant, show: Show, deal: Deal
) -> None:
    with tenant.client("sales") as api:
        first = book(api, io_body(show, deal, episode_ids=[show.published[0]]))["number"]
        second = book(api, io_body(show, deal, episode_ids=[show.published[1]]))["number"]
    assert int(second.rsplit("-", 1)[1]) == int(first.rsplit("-", 1)[1]) + 1
    fresh = make_tenant(other.base_url)
    with fresh.client() as owner:
        first_elsewhere = book(owner, io_body(add_show(owner), add_deal(owner)))
    assert first_elsewhere["number"] == f"IO-{TODAY.year}-0001"


def test_an_io_may_be_unassigned_within_its_flight(tenant: Tenant, show: Show, deal: Deal) -> None:
    with tenant.client("ops") as api:
        io = book(api, io_body(show, deal, episode_ids=[]))
    assert io["episode_ids"] == [] and io["placements"] == []


def test_pricing_models_take_the_prices_they_need(tenant: Tenant, show: Show, deal: Deal) -> None:
    with tenant.client("sales") as api:
        flat = book(api, io_body(show, deal, episode_ids=[], pricing_model="flat", cpm_cents=None, flat_cents=90_000))
        assert (flat["flat_cents"], flat["cpm_cents"]) == (90_000, None)
        cpa = book(api, io_body(show, deal, episode_ids=[], pricing_model="cpa", cpm_cents=None, cpa_cents=1_500))
        assert cpa["cpa_cents"] == 1_500
        hybrid = book(api, io_body(show, deal, episode_ids=[], pricing_model="hybrid", cpm_cents=0, cpa_cents=800))
        assert (hybrid["cpm_cents"], hybrid["cpa_cents"]) == (0, 800)


# --- Idempotency -------------------------------------------------------------------------------------------------


def test_the_same_key_and_body_replay_the_first_answer_and_another_body_is_refused(
    tenant: Tenant, show: Show, deal: Deal
) -> None:
    key = str(uuid.uuid4())
    body = io_body(show, deal)
    with tenant.client("sales") as api:
        first = post_io(api, body, key)
        assert first.status_code == 201, first.text
        replay = post_io(api, body, key)
        assert replay.status_code == 201
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.json() == first.json()
        mine = api.get("/api/v1/io", params={"campaign_id": deal.campaign_id}).json()
        assert mine["total"] == 1, "the replay booked nothing"
        changed = post_io(api, body | {"impression_goal": 60_000}, key)
        refused = problem(changed, 422, "idempotency-key-reused")
        assert error_on(refused, "Idempotency-Key")["value"] == key
        missing = api.post("/api/v1/io", json=io_body(show, deal, episode_ids=[]))
        assert error_on(problem(missing, 400, "idempotency-key-missing"), "Idempotency-Key")["reason"] == "required"


async def test_two_concurrent_requests_with_one_key_book_one_io(tenant: Tenant, show: Show, deal: Deal) -> None:
    key = str(uuid.uuid4())
    headers = {"Authorization": f"Bearer {tenant.tokens['sales']}", "Idempotency-Key": key}
    async with httpx.AsyncClient(base_url=tenant.base_url, headers=headers, timeout=30) as api:
        answers = await asyncio.gather(*(api.post("/api/v1/io", json=io_body(show, deal)) for _ in range(2)))
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    assert sorted(a.headers.get("idempotent-replayed", "false") for a in answers) == ["false", "true"]
    with tenant.client("sales") as api:
        assert api.get("/api/v1/io", params={"campaign_id": deal.campaign_id}).json()["total"] == 1


async def test_two_concurrent_bookings_of_one_slot_book_it_once(tenant: Tenant, show: Show, deal: Deal) -> None:
    headers = {"Authorization": f"Bearer {tenant.tokens['sales']}"}
    async with httpx.AsyncClient(base_url=tenant.base_url, headers=headers, timeout=30) as api:
        answers = await asyncio.gather(
            *(
                api.post("/api/v1/io", json=io_body(show, deal), headers={"Idempotency-Key": str(uuid.uuid4())})
                for _ in range(4)
            )
        )
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409], [a.text for a in answers]
    for refused in (a for a in answers if a.status_code == 409):
        problem(refused, 409, "slot-taken")


async def test_concurrent_bookings_of_competitors_in_one_episode_let_one_in(tenant: Tenant, show: Show) -> None:
    """Different slots, so no unique index stands between them: only the episode lock keeps them apart."""
    with tenant.client() as owner:
        rivals = [add_deal(owner, industry="mattresses") for _ in range(3)]
        post = ok(owner.post(f"/api/v1/podcasts/{show.id}/ad-units", json={"position": "post", "length_seconds": 60}))
    bodies = [
        io_body(show, rival, ad_unit_id=unit, episode_ids=[show.published[0]])
        for rival, unit in zip(rivals, (show.mid, show.pre, post["id"]), strict=True)
    ]
    headers = {"Authorization": f"Bearer {tenant.tokens['sales']}"}
    async with httpx.AsyncClient(base_url=tenant.base_url, headers=headers, timeout=30) as api:
        answers = await asyncio.gather(
            *(api.post("/api/v1/io", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}) for body in bodies)
        )
    assert sorted(a.status_code for a in answers) == [201, 409, 409], [a.text for a in answers]
    for refused in (a for a in answers if a.status_code == 409):
        problem(refused, 409, "competitive-separation")


# --- The rules ---------------------------------------------------------------------------------------------------


def test_a_flight_that_ends_before_it_starts_is_refused(tenant: Tenant, show: Show, deal: Deal) -> None:
    body = io_body(show, deal, flight_start=TODAY.isoformat(), flight_end=(TODAY - timedelta(days=1)).isoformat())
    with tenant.client("sales") as api:
        refused = problem(post_io(api, body), 422, "invalid-booking")
    error = error_on(refused, "flight_end")
    assert error["value"] == (TODAY - timedelta(days=1)).isoformat()
    assert "before it starts" in error["reason"]
    with tenant.client("sales") as api:
        one_day = io_body(show, deal, episode_ids=[], flight_start=TODAY.isoformat(), flight_end=TODAY.isoformat())
        book(api, one_day)


@pytest.mark.parametrize("goal", [0, -10, 12.5, "50000"])
def test_the_goal_is_a_whole_number_above_zero(tenant: Tenant, show: Show, deal: Deal, goal: Any) -> None:
    with tenant.client("sales") as api:
        refused = problem(post_io(api, io_body(show, deal, impression_goal=goal)), 422, "validation-error")
    assert error_on(refused, "impression_goal")["value"] == goal


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"pricing_model": "cpm", "cpm_cents": None}, "cpm_cents", "required for pricing model 'cpm'"),
        ({"pricing_model": "flat", "cpm_cents": None}, "flat_cents", "required for pricing model 'flat'"),
        ({"pricing_model": "cpa", "cpm_cents": None}, "cpa_cents", "required for pricing model 'cpa'"),
        ({"pricing_model": "hybrid"}, "cpa_cents", "required for pricing model 'hybrid'"),
        ({"pricing_model": "cpm", "flat_cents": 5000}, "flat_cents", "not used by pricing model 'cpm'"),
    ],
)
def test_each_pricing_model_needs_its_prices_and_only_those(
    tenant: Tenant, show: Show, deal: Deal, fields: dict[str, Any], field: str, reason: str
) -> None:
    with tenant.client("sales") as api:
        refused = problem(post_io(api, io_body(show, deal, **fields)), 422, "invalid-booking")
    assert reason in error_on(refused, field)["reason"]


@pytest.mark.parametrize("price", [12.5, "2500", -1, 10**12])
def test_prices_are_whole_cents_from_zero(tenant: Tenant, show: Show, deal: Deal, price: Any) -> None:
    with tenant.client("sales") as api:
        refused = problem(post_io(api, io_body(show, deal, cpm_cents=price)), 422, "validation-error")
    assert error_on(refused, "cpm_cents")["value"] == price


def test_the_ad_unit_and_episodes_must_be_the_shows(tenant: Tenant, show: Show, deal: Deal) -> None:
    with tenant.client() as owner:
        elsewhere = add_show(owner)
    with tenant.client("sales") as api:
        unit = problem(post_io(api, io_body(show, deal, ad_unit_id=elsewhere.mid)), 422, "invalid-booking")
        assert error_on(unit, "ad_unit_id") == {
            "field": "ad_unit_id",
            "value": elsewhere.mid,
            "reason": "an ad unit of another show",
        }
        stranger = problem(
            post_io(api, io_body(show, deal, episode_ids=[show.published[0], elsewhere.published[0]])),
            422,
            "invalid-booking",
        )
        assert error_on(stranger, "episode_ids")["value"] == elsewhere.published[0]
        assert "another show" in error_on(stranger, "episode_ids")["reason"]
        unknown = str(uuid.uuid4())
        missing = problem(post_io(api, io_body(show, deal, episode_ids=[unknown])), 422, "invalid-booking")
        assert error_on(missing, "episode_ids") == {
            "field": "episode_ids",
            "value": unknown,
            "reason": "no such episode in this workspace",
        }


def test_published_episodes_must_fall_inside_the_flight_but_coming_ones_may_be_booked(
    tenant: Tenant, show: Show, deal: Deal
) -> None:
    with tenant.client("sales") as api:
        refused = problem(post_io(api, io_body(show, deal, episode_ids=[show.old])), 422, "invalid-booking")
        error = error_on(refused, "episode_ids")
        assert error["value"] == show.old
        assert "outside the flight" in error["reason"] and FLIGHT_START.isoformat() in error["reason"]
        io = book(api, io_body(show, deal, episode_ids=[show.upcoming, show.undated]))
    assert sorted(io["episode_ids"]) == sorted([show.upcoming, show.undated])


def test_one_io_per_episode_slot(tenant: Tenant, show: Show, deal: Deal) -> None:
    with tenant.client("sales") as api:
        holder = book(api, io_body(show, deal, episode_ids=show.published[:2]))
        taken = problem(post_io(api, io_body(show, deal, episode_ids=show.published[1:])), 409, "slot-taken")
        assert taken["holder"] == {"id": holder["id"], "number": holder["number"]}
        assert taken["episode_id"] == show.published[1]
        assert error_on(taken, "episode_ids") == {
            "field": "episode_ids",
            "value": show.published[1],
            "reason": f"slot held by {holder['number']}",
        }
        assert "Episode 3" in taken["detail"]
        # The other ad unit of the same episode is another slot (same sponsor: no competitor).
        book(api, io_body(show, deal, ad_unit_id=show.pre, episode_ids=show.published[1:]))


def test_competing_sponsors_are_kept_apart_in_an_episode_unless_one_waives_it(tenant: Tenant, show: Show) -> None:
    with tenant.client() as owner:
        coffee = add_deal(owner, industry="Beverages")
        tea = add_deal(owner, industry="beverages")
        soda = add_deal(owner, industry="BEVERAGES")
        shoes = add_deal(owner, industry="footwear")
    episode = show.published[0]
    with tenant.client("sales") as api:
        first = book(api, io_body(show, coffee, episode_ids=[episode]))
        clash = problem(
            post_io(api, io_body(show, tea, ad_unit_id=show.pre, episode_ids=[episode])), 409, "competitive-separation"
        )
        assert clash["competing_io"] == {"id": first["id"], "number": first["number"]}
        assert clash["episode_id"] == episode
        assert error_on(clash, "episode_ids")["value"] == episode
        assert first["number"] in clash["detail"]
        # Another industry shares the episode freely; a waiver on the new order lets it in.
        with tenant.client() as owner:
            third_unit = ok(
                owner.post(f"/api/v1/podcasts/{show.id}/ad-units", json={"position": "post", "length_seconds": 15})
            )["id"]
        book(api, io_body(show, shoes, ad_unit_id=show.pre, episode_ids=[episode]))
        waived = book(api, io_body(show, tea, ad_unit_id=third_unit, episode_ids=[episode], separation_waived=True))
        # A waiver on the order already booked lets a competitor in too ("either has waived").
        later = show.published[1]
        book(api, io_body(show, tea, episode_ids=[later], separation_waived=True))
        book(api, io_body(show, soda, ad_unit_id=show.pre, episode_ids=[later]))
    assert waived["separation_waived"] is True


@pytest.mark.parametrize("code", ["coffee", "ab1", "BRIGHT", "LOL2", "x" * 21, "two words"])
def test_promo_codes_avoid_look_alike_characters(tenant: Tenant, show: Show, deal: Deal, code: str) -> None:
    with tenant.client("sales") as api:
        refused = problem(post_io(api, io_body(show, deal, promo_code=code)), 422, "validation-error")
    assert "without the look-alikes 0, O, 1, I and L" in error_on(refused, "promo_code")["reason"]


def test_promo_codes_are_unique_ignoring_case_and_can_be_generated(tenant: Tenant, show: Show, deal: Deal) -> None:
    code = f"TAP{uuid.uuid4().int % 10**6:06d}".replace("0", "2").replace("1", "3")
    with tenant.client("sales") as api:
        holder = book(api, io_body(show, deal, episode_ids=[], promo_code=code))
        taken = problem(
            post_io(api, io_body(show, deal, episode_ids=[], promo_code=code.lower())), 409, "promo-code-taken"
        )
        assert taken["holder"]["number"] == holder["number"]
        assert error_on(taken, "promo_code")["value"] == code
        generated = book(api, io_body(show, deal, episode_ids=[], generate_promo_code=True))["promo_code"]
        assert re.fullmatch(r"[A-HJKMNP-Z2-9]{4,20}", generated), generated
        both = problem(
            post_io(api, io_body(show, deal, episode_ids=[], promo_code="TAPWATER", generate_promo_code=True)),
            422,
            "invalid-booking",
        )
        assert "not both" in error_on(both, "promo_code")["reason"]


def test_generated_promo_codes_read_like_the_sponsor_when_they_can(tenant: Tenant, show: Show) -> None:
    with tenant.client() as owner:
        deal = add_deal(owner, name=f"Acme Bed Co {uuid.uuid4().hex[:6]}")
    with tenant.client("sales") as api:
        code = book(api, io_body(show, deal, episode_ids=[], generate_promo_code=True))["promo_code"]
    assert re.fullmatch(r"(ACME|BED)[2-9]{2}", code), code


@pytest.mark.parametrize("slug", ["ab", "Has Space", "under_score", "x" * 61, "émile"])
def test_vanity_slugs_are_short_lower_case_words(tenant: Tenant, show: Show, deal: Deal, slug: str) -> None:
    body = io_body(show, deal, vanity_slug=slug, landing_url="https://brewhub.example")
    with tenant.client("sales") as api:
        refused = problem(post_io(api, body), 422, "validation-error")
    assert "a-z, 0-9 and '-'" in error_on(refused, "vanity_slug")["reason"]


def test_a_vanity_slug_needs_an_http_landing_page(tenant: Tenant, show: Show, deal: Deal) -> None:
    slug = f"brew-{uuid.uuid4().hex[:8]}"
    with tenant.client("sales") as api:
        alone = problem(post_io(api, io_body(show, deal, vanity_slug=slug)), 422, "invalid-booking")
        assert "required with a vanity URL" in error_on(alone, "landing_url")["reason"]
        body = io_body(show, deal, vanity_slug=slug, landing_url="javascript:alert(1)")
        assert error_on(problem(post_io(api, body), 422, "validation-error"), "landing_url")
        ftp = io_body(show, deal, vanity_slug=slug, landing_url="ftp://brewhub.example/offer")
        assert error_on(problem(post_io(api, ftp), 422, "validation-error"), "landing_url")
        io = book(api, io_body(show, deal, vanity_slug=slug.upper(), landing_url="http://brewhub.example/offer"))
    assert io["vanity_slug"] == slug and io["landing_url"] == "http://brewhub.example/offer"


def test_vanity_slugs_are_unique_here_and_across_workspaces(
    tenant: Tenant, other: Tenant, show: Show, deal: Deal
) -> None:
    slug = f"brew-{uuid.uuid4().hex[:8]}"
    landing = {"landing_url": "https://brewhub.example"}
    with tenant.client("sales") as api:
        holder = book(api, io_body(show, deal, episode_ids=[], vanity_slug=slug, **landing))
        here = problem(
            post_io(api, io_body(show, deal, episode_ids=[], vanity_slug=slug, **landing)), 409, "vanity-slug-taken"
        )
        assert error_on(here, "vanity_slug")["value"] == slug
    with other.client("sales") as api, other.client() as owner:
        elsewhere = io_body(add_show(owner), add_deal(owner), episode_ids=[], vanity_slug=slug, **landing)
        refused = problem(post_io(api, elsewhere), 409, "vanity-slug-taken")
    assert holder["number"] not in refused["detail"] and holder["id"] not in str(refused), "names no other workspace"


def test_a_generated_vanity_slug_comes_from_the_sponsor_name(tenant: Tenant, show: Show) -> None:
    with tenant.client() as owner:
        deal = add_deal(owner, name=f"Brew Hub {uuid.uuid4().hex[:6]}")
    landing = {"landing_url": "https://brewhub.example"}
    with tenant.client("sales") as api:
        first = book(api, io_body(show, deal, episode_ids=[], generate_vanity_slug=True, **landing))["vanity_slug"]
        second = book(api, io_body(show, deal, episode_ids=[], generate_vanity_slug=True, **landing))["vanity_slug"]
    base = re.sub(r"[^a-z0-9]+", "-", deal.sponsor_name.lower())
    assert first == base
    assert second != first and second.startswith(base), second


# --- Changing and cancelling -------------------------------------------------------------------------------------


def test_a_scheduled_io_changes_anything_and_moves_its_slots(tenant: Tenant, show: Show, deal: Deal) -> None:
    with tenant.client("sales") as api:
        io = book(api, io_body(show, deal, episode_ids=show.published[:1]))
        patched = ok(
            api.patch(
                f"/api/v1/io/{io['id']}",
                json={
                    "episode_ids": show.published[1:],
                    "impression_goal": 80_000,
                    "pricing_model": "flat",
                    "flat_cents": 70_000,
                },
            ),
            200,
        )
        assert sorted(patched["episode_ids"]) == sorted(show.published[1:])
        assert (patched["impression_goal"], patched["pricing_model"]) == (80_000, "flat")
        assert (patched["flat_cents"], patched["cpm_cents"]) == (70_000, None), "the old model's price goes with it"
        # The slot it left is free again; the ones it took are held.
        book(api, io_body(show, deal, episode_ids=show.published[:1]))
        problem(post_io(api, io_body(show, deal, episode_ids=show.published[1:2])), 409, "slot-taken")
        holder = book(api, io_body(show, deal, ad_unit_id=show.pre, episode_ids=[show.published[0]]))
        moved = api.patch(f"/api/v1/io/{io['id']}", json={"ad_unit_id": show.pre, "episode_ids": [show.published[0]]})
        assert problem(moved, 409, "slot-taken")["holder"]["number"] == holder["number"]
        flight = api.patch(
            f"/api/v1/io/{io['id']}", json={"flight_end": (FLIGHT_START - timedelta(days=1)).isoformat()}
        )
        assert error_on(problem(flight, 422, "invalid-booking"), "flight_end")
        assert len(events_of(api, "io.updated", io["id"])) == 1


async def test_an_active_io_changes_only_what_does_not_alter_the_sale(
    db: Any, tenant: Tenant, show: Show, deal: Deal
) -> None:
    with tenant.client("sales") as api:
        io = book(api, io_body(show, deal))
        await set_status(tenant, io["id"], "active")
        frozen = problem(
            api.patch(f"/api/v1/io/{io['id']}", json={"impression_goal": 1, "notes": "x"}), 409, "io-locked"
        )
        assert error_on(frozen, "impression_goal")["reason"] == "fixed while the IO is active"
        assert frozen["status_now"] == "active"
        allowed = ok(
            api.patch(f"/api/v1/io/{io['id']}", json={"talking_points": "New offer", "max_spend_cents": 9}), 200
        )
        assert (allowed["talking_points"], allowed["max_spend_cents"]) == ("New offer", 9)
        for finished in ("completed", "makegood", "cancelled"):
            await set_status(tenant, io["id"], finished)
            locked = problem(api.patch(f"/api/v1/io/{io['id']}", json={"notes": "late"}), 409, "io-locked")
            assert finished in locked["detail"]
            problem(api.patch(f"/api/v1/io/{io['id']}", json={}), 409, "io-locked")


async def test_cancelling_releases_slots_code_and_slug_and_records_io_cancelled(
    db: Any, tenant: Tenant, show: Show, deal: Deal
) -> None:
    code = f"CAN{uuid.uuid4().int % 10**5:05d}".replace("0", "7").replace("1", "8")
    slug = f"cancel-{uuid.uuid4().hex[:8]}"
    fields = {"promo_code": code, "vanity_slug": slug, "landing_url": "https://brewhub.example"}
    with tenant.client("ops") as api:
        io = book(api, io_body(show, deal, **fields))
        cancelled = ok(api.post(f"/api/v1/io/{io['id']}/cancel"), 200)
        assert cancelled["status"] == "cancelled" and cancelled["placements"] == []
        event = events_of(api, "io.cancelled", io["id"])
        assert [e["payload"] for e in event] == [{"number": io["number"], "from": "scheduled", "released_slots": 1}]
        again = book(api, io_body(show, deal, **fields))
        assert again["episode_ids"] == io["episode_ids"]
        assert problem(api.post(f"/api/v1/io/{io['id']}/cancel"), 409, "io-locked")["status_now"] == "cancelled"
        await set_status(tenant, again["id"], "completed")
        assert "completed" in problem(api.post(f"/api/v1/io/{again['id']}/cancel"), 409, "io-locked")["detail"]


# --- Lists -------------------------------------------------------------------------------------------------------


async def test_the_list_filters_by_status_sponsor_campaign_show_and_flight(
    db: Any, tenant: Tenant, show: Show, deal: Deal
) -> None:
    with tenant.client() as owner:
        second_campaign = add_campaign(owner, deal.sponsor_id)
        other_show = add_show(owner)
    early = FLIGHT_START - timedelta(days=60)
    with tenant.client("sales") as api:
        a = book(api, io_body(show, deal, episode_ids=[]))
        b = book(api, io_body(show, deal, episode_ids=[], campaign_id=second_campaign))
        c = book(
            api,
            io_body(
                other_show,
                deal,
                episode_ids=[],
                flight_start=early.isoformat(),
                flight_end=(early + timedelta(days=7)).isoformat(),
            ),
        )
        await set_status(tenant, b["id"], "active")

        def ids(**params: Any) -> list[str]:
            page = ok(api.get("/api/v1/io", params={"sponsor_id": deal.sponsor_id, **params}), 200)
            return sorted(i["id"] for i in page["items"])

        assert ids() == sorted([a["id"], b["id"], c["id"]])
        assert ids(status="active") == [b["id"]]
        assert ids(status=["active", "scheduled"]) == sorted([a["id"], b["id"], c["id"]])
        assert ids(campaign_id=second_campaign) == [b["id"]]
        assert ids(podcast_id=other_show.id) == [c["id"]]
        assert ids(start=TODAY.isoformat()) == sorted([a["id"], b["id"]])
        assert ids(end=(early + timedelta(days=1)).isoformat()) == [c["id"]]
        between = {
            "start": (early + timedelta(days=8)).isoformat(),
            "end": (FLIGHT_START - timedelta(days=1)).isoformat(),
        }
        assert ids(**between) == []
        reversed_window = api.get("/api/v1/io", params={"start": between["end"], "end": between["start"]})
        assert error_on(problem(reversed_window, 422, "validation-error"), "end")["value"] == between["start"]
        first = ok(api.get("/api/v1/io", params={"sponsor_id": deal.sponsor_id, "limit": 2, "sort": "number"}), 200)
        assert (first["total"], first["next_offset"], len(first["items"])) == (3, 2, 2)
        assert [i["number"] for i in first["items"]] == sorted([a["number"], b["number"]])
        bad = problem(api.get("/api/v1/io", params={"status": "done"}), 422, "validation-error")
        assert error_on(bad, "query.status.0")["value"] == "done"
        assert error_on(problem(api.get("/api/v1/io", params={"sort": "price"}), 422, "validation-error"), "sort")


# --- Roles, tenants, flag ----------------------------------------------------------------------------------------


def test_sales_and_ops_book_while_creators_and_advertisers_only_read(tenant: Tenant, show: Show, deal: Deal) -> None:
    with tenant.client("ops") as api:
        io = book(api, io_body(show, deal, episode_ids=[]))
    for role in ("creator", "advertiser"):
        with tenant.client(role) as api:
            problem(post_io(api, io_body(show, deal, episode_ids=[])), 403, "forbidden")
            problem(api.patch(f"/api/v1/io/{io['id']}", json={"notes": "x"}), 403, "forbidden")
            problem(api.post(f"/api/v1/io/{io['id']}/cancel"), 403, "forbidden")
    with tenant.client("creator") as api:
        assert ok(api.get(f"/api/v1/io/{io['id']}"), 200)["id"] == io["id"]
        assert api.get("/api/v1/io", params={"sponsor_id": deal.sponsor_id}).json()["total"] >= 1


def test_advertiser_users_see_only_their_own_sponsors_ios_and_never_the_notes(
    tenant: Tenant, show: Show, deal: Deal
) -> None:
    with tenant.client("advertiser") as advertiser:
        own_sponsor = advertiser.get("/api/v1/sponsors").json()["items"][0]["id"]
    with tenant.client() as owner:
        own = Deal(own_sponsor, "", add_campaign(owner, own_sponsor))
    with tenant.client("sales") as api:
        theirs = book(api, io_body(show, own, episode_ids=[], notes="they pay late"))
        others = book(api, io_body(show, deal, episode_ids=[]))
    with tenant.client("advertiser") as advertiser:
        seen = ok(advertiser.get("/api/v1/io", params={"limit": 200}), 200)
        assert {i["sponsor_id"] for i in seen["items"]} == {own_sponsor}
        assert theirs["id"] in {i["id"] for i in seen["items"]}
        assert all(i["notes"] == "" for i in seen["items"])
        assert ok(advertiser.get(f"/api/v1/io/{theirs['id']}"), 200)["notes"] == ""
        problem(advertiser.get(f"/api/v1/io/{others['id']}"), 404, "not-found")
        assert advertiser.get("/api/v1/io", params={"sponsor_id": deal.sponsor_id}).json()["total"] == 0
    with tenant.client("sales") as api:
        assert ok(api.get(f"/api/v1/io/{theirs['id']}"), 200)["notes"] == "they pay late"


def test_another_workspaces_ios_and_references_do_not_exist_here(
    tenant: Tenant, other: Tenant, show: Show, deal: Deal
) -> None:
    with tenant.client("sales") as api:
        io = book(api, io_body(show, deal, episode_ids=[]))
    with other.client("sales") as api:
        problem(api.get(f"/api/v1/io/{io['id']}"), 404, "not-found")
        problem(api.patch(f"/api/v1/io/{io['id']}", json={"notes": "x"}), 404, "not-found")
        problem(api.post(f"/api/v1/io/{io['id']}/cancel"), 404, "not-found")
        assert io["id"] not in {i["id"] for i in api.get("/api/v1/io", params={"limit": 200}).json()["items"]}
        borrowed = problem(post_io(api, io_body(show, deal)), 422, "invalid-booking")
    assert {e["field"] for e in borrowed["errors"]} == {"campaign_id", "podcast_id", "ad_unit_id", "episode_ids"}


def test_anonymous_callers_are_asked_to_sign_in(anon: httpx.Client) -> None:
    refused: list[int] = []
    refused.append(problem(anon.get("/api/v1/io"), 401, "not-authenticated")["status"])
    refused.append(
        problem(anon.post("/api/v1/io", json={}, headers={"Idempotency-Key": "k"}), 401, "not-authenticated")["status"]
    )
    refused.append(problem(anon.get(f"/api/v1/io/{uuid.uuid4()}"), 401, "not-authenticated")["status"])
    assert refused == [401, 401, 401]


def test_with_the_flag_off_ios_do_not_exist_but_ad_units_do(server: str) -> None:
    fresh = make_tenant(server, roles=("owner", "sales"))
    with fresh.client() as owner:
        show, deal = add_show(owner), add_deal(owner)
        io = book(owner, io_body(show, deal))
        set_flag(owner, False)
        problem(owner.get("/api/v1/io"), 404, "not-found")
        problem(owner.get(f"/api/v1/io/{io['id']}"), 404, "not-found")
        problem(post_io(owner, io_body(show, deal, episode_ids=[])), 404, "not-found")
        problem(owner.patch(f"/api/v1/io/{io['id']}", json={"notes": "x"}), 404, "not-found")
        problem(owner.post(f"/api/v1/io/{io['id']}/cancel"), 404, "not-found")
        assert ok(owner.get(f"/api/v1/ad-units/{show.mid}"), 200)["id"] == show.mid
        set_flag(owner, None)
        assert ok(owner.get(f"/api/v1/io/{io['id']}"), 200)["id"] == io["id"]
