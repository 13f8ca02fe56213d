"""Demo conversions: a known ground truth (promo code, household, organic) that the loaded data honours, generated
the same way every time, and attributed by the recalculation the loader runs."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from podsponsor.attribution.models import (
    AttributionCredit,
    AttributionRun,
    Conversion,
    ConversionSource,
    PixelEvent,
)
from podsponsor.attribution.secrets import decrypt_secret
from podsponsor.bookings.models import InsertionOrder, VanityClick
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.demo import DEMO_PASSWORD, DemoSummary, demo_tenant_ids, generate, load_demo_data
from podsponsor.demo.conversions import BookedIo, ConversionRows, Exposure, generate_conversions
from podsponsor.demo.listening import listening_days
from podsponsor.demo.load_conversions import booked_ios, exposures
from podsponsor.measurement.count_models import Download

Row = dict[str, Any]


@pytest.fixture(scope="module")
async def summary(db: Any) -> DemoSummary:
    return await load_demo_data(seed=42)


@pytest.fixture(scope="module")
async def northwind(summary: DemoSummary) -> uuid.UUID:
    return (await demo_tenant_ids())["northwind"]


@pytest.fixture(scope="module")
async def loaded(northwind: uuid.UUID) -> dict[str, Any]:
    """The loaded conversions, the orders that ran in the listening window and each one's exposures."""
    async with tenant_transaction(northwind) as session:
        conversions = list(await session.scalars(select(Conversion).where(Conversion.tenant_id == northwind)))
        sources = list(await session.scalars(select(ConversionSource)))
        clicks = list(await session.scalars(select(VanityClick)))
        ios = list(await session.scalars(select(InsertionOrder)))
        # Every run's `started_at` is the loader's `now`: the same clock gives the same exposures.
        now = await session.scalar(select(func.min(AttributionRun.started_at)).where(AttributionRun.trigger == "demo"))
        assert now is not None
        ran = await booked_ios(session, northwind, listening_days(now)[0], now)
        seen = await exposures(session, northwind, ran, now)
        households = set(await session.scalars(select(func.distinct(func.split_part(Download.listener, ":", 1)))))
    return {
        "conversions": conversions,
        "sources": sources,
        "clicks": clicks,
        "ios": ios,
        "now": now,
        "ran": ran,
        "exposures": seen,
        "households": households,
    }


def _by_truth(conversions: list[Conversion]) -> dict[str | None, list[Conversion]]:
    grouped: dict[str | None, list[Conversion]] = defaultdict(list)
    for conversion in conversions:
        grouped[conversion.ground_truth].append(conversion)
    return grouped


def test_most_conversions_are_organic_then_household_then_promo_code(loaded: dict[str, Any]) -> None:
    counts = Counter(c.ground_truth for c in loaded["conversions"])
    total = sum(counts.values())
    assert set(counts) == {"organic", "household", "promo_code"}
    assert total > 500
    assert 0.5 < counts["organic"] / total < 0.7
    assert 0.15 < counts["household"] / total < 0.35
    assert 0.08 < counts["promo_code"] / total < 0.22
    assert all(
        c.currency == "USD" and c.value_cents and 1000 <= c.value_cents <= 140_000 for c in loaded["conversions"]
    )
    assert all(c.occurred_at < loaded["now"] for c in loaded["conversions"])


def test_sources_look_like_an_advertisers_shops(loaded: dict[str, Any]) -> None:
    sources: list[ConversionSource] = loaded["sources"]
    assert {s.kind for s in sources} == {"shopify", "stripe", "pixel"}
    assert len({s.sponsor_id for s in sources}) == len(sources) == len({c.sponsor_id for c in loaded["conversions"]})
    for source in sources:
        if source.kind == "pixel":
            assert source.secret_encrypted is None
        else:
            secret = decrypt_secret(str(source.secret_encrypted))
            assert len(secret) >= 32
            assert secret.startswith("whsec_") == (source.kind == "stripe")
        assert source.events_received > 0 and source.last_event_at is not None
    failing = [s for s in sources if s.signature_failures]
    assert len(failing) == 1 and failing[0].last_failure_reason
    per_source = Counter(c.source_id for c in loaded["conversions"])
    webhooks = [s for s in sources if s.kind != "pixel"]
    assert all(s.events_received == per_source[s.id] for s in webhooks)


def test_every_promo_code_conversion_carries_a_code_of_its_sponsors_order(loaded: dict[str, Any]) -> None:
    codes: dict[uuid.UUID, set[str]] = defaultdict(set)
    for io in loaded["ran"]:
        if io.promo_code:
            codes[io.sponsor_id].add(io.promo_code.upper())
    promo = _by_truth(loaded["conversions"])["promo_code"]
    assert promo
    for conversion in promo:
        assert len(conversion.promo_codes) == 1
        assert conversion.promo_codes[0] in codes[conversion.sponsor_id], conversion.promo_codes
    others = [c for truth, cs in _by_truth(loaded["conversions"]).items() if truth != "promo_code" for c in cs]
    assert not any(c.promo_codes for c in others)


def test_household_conversions_follow_an_exposure_and_organic_ones_never_had_one(loaded: dict[str, Any]) -> None:
    seen: dict[uuid.UUID, dict[str, list[datetime]]] = defaultdict(lambda: defaultdict(list))
    sponsor_of = {io.id: io.sponsor_id for io in loaded["ran"]}
    for io_id, found in loaded["exposures"].items():
        for exposure in found:
            seen[sponsor_of[io_id]][exposure.ip_hash].append(exposure.at)
    grouped = _by_truth(loaded["conversions"])
    for conversion in grouped["household"]:
        heard = seen[conversion.sponsor_id][str(conversion.ip_hash)]
        assert any(conversion.occurred_at - timedelta(days=7) <= at < conversion.occurred_at for at in heard)
    assert len({c.ip_hash for c in grouped["household"]}) == len(grouped["household"])
    organic = grouped["organic"]
    assert sum(c.ip_hash is not None for c in organic) > 0.9 * len(organic)
    assert not {c.ip_hash for c in organic} & loaded["households"]


def test_a_few_household_conversions_came_through_a_vanity_url(loaded: dict[str, Any]) -> None:
    clicks: list[VanityClick] = loaded["clicks"]
    ios = {io.id: io for io in loaded["ios"]}
    household = {c.ip_hash: c for c in _by_truth(loaded["conversions"])["household"]}
    assert 0 < len(clicks) < len(household) / 2
    for click in clicks:
        conversion = household[click.ip_hash]
        assert ios[click.io_id].vanity_slug and ios[click.io_id].sponsor_id == conversion.sponsor_id
        assert click.ts < conversion.occurred_at
        assert conversion.utm == {
            "utm_source": "podcast",
            "utm_medium": "audio",
            "utm_campaign": ios[click.io_id].vanity_slug,
        }


async def test_pixel_purchases_point_at_their_conversions(northwind: uuid.UUID, loaded: dict[str, Any]) -> None:
    async with tenant_transaction(northwind) as session:
        events = list(await session.scalars(select(PixelEvent)))
    pixels = {s.id for s in loaded["sources"] if s.kind == "pixel"}
    purchases = [e for e in events if e.event == "purchase"]
    assert purchases and any(e.event == "view" for e in events)
    assert {e.source_id for e in events} <= pixels
    by_id = {c.id: c for c in loaded["conversions"]}
    assert all(by_id[e.conversion_id].order_id == e.order_id for e in purchases if e.conversion_id)


def test_generation_is_the_same_for_the_same_inputs_and_seed(loaded: dict[str, Any]) -> None:
    rows = next(workspace for workspace in generate(42) if workspace.slug == "northwind")
    ios: list[BookedIo] = loaded["ran"]
    seen: dict[uuid.UUID, list[Exposure]] = loaded["exposures"]
    first = generate_conversions(rows, 42, loaded["now"], ios, seen)
    again = generate_conversions(rows, 42, loaded["now"], list(ios), {k: list(v) for k, v in seen.items()})
    assert first == again
    assert _keys(first) == {(c.order_id, c.ground_truth, c.occurred_at) for c in loaded["conversions"]}
    other = generate_conversions(rows, 43, loaded["now"], ios, seen)
    assert _keys(other) != _keys(first)


def _keys(made: ConversionRows) -> set[tuple[str, str, datetime]]:
    return {(c["order_id"], c["ground_truth"], c["occurred_at"]) for c in made.conversions}


async def test_loading_again_adds_nothing(northwind: uuid.UUID, loaded: dict[str, Any]) -> None:
    await load_demo_data(seed=42)
    async with tenant_transaction(northwind) as session:
        conversions = await session.scalar(select(func.count()).select_from(Conversion))
        sources = await session.scalar(select(func.count()).select_from(ConversionSource))
        runs = await session.scalar(select(func.count()).select_from(AttributionRun))
    assert conversions == len(loaded["conversions"])
    assert sources == len(loaded["sources"])
    assert runs == len({io.campaign_id for io in loaded["ran"]})


async def test_results_credit_promo_codes_deterministically_and_households_as_modeled(
    server: str, northwind: uuid.UUID, loaded: dict[str, Any]
) -> None:
    truth = {c.id: c for c in loaded["conversions"]}
    clicked = {click.ip_hash for click in loaded["clicks"]}
    campaign_of_code = {io.promo_code.upper(): io.campaign_id for io in loaded["ran"] if io.promo_code}
    async with tenant_transaction(northwind) as session:
        credits = list(await session.scalars(select(AttributionCredit).where(AttributionCredit.model == "linear")))
    assert credits
    per_campaign: dict[uuid.UUID, dict[str, set[uuid.UUID]]] = defaultdict(lambda: defaultdict(set))
    for credit in credits:
        conversion = truth[credit.conversion_id]
        assert conversion.ground_truth != "organic"
        if (
            conversion.ground_truth == "promo_code"
            and campaign_of_code[conversion.promo_codes[0]] == credit.campaign_id
        ):
            assert credit.match_type == "promo_code"
        else:
            # A promo-code buyer's household may have heard another campaign of the sponsor: modeled, as it should.
            assert credit.match_type in (("vanity", "household") if conversion.ip_hash in clicked else ("household",))
        per_campaign[credit.campaign_id][credit.match_type].add(credit.conversion_id)
    promo = {c.id for c in _by_truth(loaded["conversions"])["promo_code"]}
    credited = {id_ for matched in per_campaign.values() for id_ in matched["promo_code"]}
    assert credited == promo
    campaign_id, matched = max(per_campaign.items(), key=lambda item: (len(item[1]["promo_code"]), str(item[0])))
    assert matched["promo_code"] and matched["household"]
    async with httpx.AsyncClient(base_url=server, timeout=60) as api:
        login = {"email": "owner@northwind.example", "password": DEMO_PASSWORD, "workspace": "northwind"}
        token = (await api.post("/api/v1/auth/token", json=login)).json()["access_token"]
        response = await api.get(
            f"/api/v1/attribution/campaigns/{campaign_id}",
            params={"iterations": 200},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    results = response.json()
    run = results["runs"][0]
    assert run["trigger"] == "demo"
    assert run["matched"]["promo_code"] == len(matched["promo_code"])
    assert run["matched"]["household"] == len(matched["household"])
    conversions = results["conversions"]
    deterministic = len(matched["promo_code"]) + len(matched["vanity"])
    assert conversions["deterministic"]["value"] == pytest.approx(deterministic)
    assert conversions["modeled"]["value"] == pytest.approx(len(matched["household"]))
    assert conversions["total"]["value"] == pytest.approx(deterministic + len(matched["household"]))
    assert results["households_reached"] > 0 and results["spend"]
    revenue = next(r for r in results["revenue_cents"] if r["currency"] == "USD")
    assert revenue["total"]["value"] > 0
    assert datetime.fromisoformat(run["started_at"]).astimezone(UTC) == loaded["now"]
