"""Rows the dashboards read that no public API writes (counting's tallies, metrics imports, attribution runs, stored
matches, the review queue), written into a tenant's tables the way their jobs write them; orders, shows and counted
downloads come from tests/bookings/delivery_world.py."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from podsponsor.attribution.models import (
    AttributionCredit,
    AttributionModel,
    AttributionRun,
    Conversion,
    ConversionDelivery,
    ConversionSource,
)
from podsponsor.bookings.models import AdUnit, IoPlacement
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.matching.models import Match
from podsponsor.measurement.count_models import DownloadTally
from podsponsor.measurement.models import UnknownUserAgent
from podsponsor.metrics.models import EtlImport
from tests.bookings.delivery_world import Show

TODAY = datetime.now(UTC).date()


def dashboard(api: httpx.Client, kind: str, status: int = 200, /, **params: str) -> Any:
    response = api.get(f"/api/v1/dashboard/{kind}", params=params)
    assert response.status_code == status, response.text
    return response.json()


def card(body: dict[str, Any], card_id: str) -> dict[str, Any]:
    return next(c for c in body["cards"] if c["id"] == card_id)


def figure(found: dict[str, Any], label: str) -> Any:
    return next(f["value"] for f in found["figures"] if f["label"] == label)


def table(found: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return list(next(t for t in found["tables"] if t["key"] == key)["rows"])


async def ad_unit(
    tenant_id: uuid.UUID, show: Show, position: str, *, rate_cpm_cents: int = 2500, flat_rate_cents: int | None = None
) -> uuid.UUID:
    async with tenant_transaction(tenant_id) as session:
        unit = AdUnit(
            tenant_id=tenant_id,
            podcast_id=show.id,
            name=f"{position} {uuid.uuid4().hex[:6]}",
            position=position,
            length_seconds=60,
            read_type="host_read",
            insertion="dynamic",
            rate_cpm_cents=rate_cpm_cents,
            flat_rate_cents=flat_rate_cents,
        )
        session.add(unit)
        await session.flush()
        return unit.id


async def place(tenant_id: uuid.UUID, io_id: uuid.UUID, ad_unit_id: uuid.UUID, episode_id: uuid.UUID) -> None:
    async with tenant_transaction(tenant_id) as session:
        session.add(
            IoPlacement(
                tenant_id=tenant_id, io_id=io_id, ad_unit_id=ad_unit_id, episode_id=episode_id, industry="Sleep"
            )
        )


async def attributed(
    tenant_id: uuid.UUID,
    *,
    sponsor_id: uuid.UUID,
    campaign_id: uuid.UUID,
    io_id: uuid.UUID,
    occurred: datetime,
    value_cents: int,
    credit: float,
) -> None:
    """One conversion of the sponsor credited `credit` to the order by the campaign's completed run (linear,
    the default model), and an older run's credit that must not count."""
    async with tenant_transaction(tenant_id) as session:
        source = ConversionSource(
            tenant_id=tenant_id, sponsor_id=sponsor_id, kind="api", name="Orders", token=uuid.uuid4().hex
        )
        session.add(source)
        await session.flush()
        conversion = Conversion(
            tenant_id=tenant_id,
            source_id=source.id,
            sponsor_id=sponsor_id,
            occurred_at=occurred,
            value_cents=value_cents,
            currency="USD",
        )
        session.add_all(
            [
                conversion,
                AttributionModel(tenant_id=tenant_id, campaign_id=campaign_id, model="linear", is_default=True),
                AttributionModel(tenant_id=tenant_id, campaign_id=campaign_id, model="first_touch"),
            ]
        )
        old = AttributionRun(
            tenant_id=tenant_id,
            campaign_id=campaign_id,
            trigger="api",
            status="completed",
            started_at=occurred - timedelta(days=1),
        )
        new = AttributionRun(tenant_id=tenant_id, campaign_id=campaign_id, trigger="api", status="completed")
        session.add_all([old, new])
        await session.flush()
        for run, model, share in ((new, "linear", credit), (new, "first_touch", 1.0), (old, "linear", 1.0)):
            session.add(
                AttributionCredit(
                    tenant_id=tenant_id,
                    run_id=run.id,
                    campaign_id=campaign_id,
                    conversion_id=conversion.id,
                    io_id=io_id,
                    model=model,
                    match_type="promo_code",
                    credit=share,
                )
            )


async def tallies(tenant_id: uuid.UUID, day: date, **requests: int) -> None:
    async with tenant_transaction(tenant_id) as session:
        run = uuid.uuid4()
        session.add_all(
            DownloadTally(tenant_id=tenant_id, day=day, source_kind="prefix", reason=reason, requests=n, run_id=run)
            for reason, n in requests.items()
        )


async def unknown_agents(tenant_id: uuid.UUID, pending: int, labelled: int) -> None:
    async with tenant_transaction(tenant_id) as session:
        for n in range(pending + labelled):
            label = "bot" if n >= pending else None
            session.add(
                UnknownUserAgent(
                    tenant_id=tenant_id,
                    user_agent=f"Agent/{n} {uuid.uuid4().hex}",
                    label=label,
                    labelled_at=datetime.now(UTC) if label else None,
                )
            )


async def etl_import(tenant_id: uuid.UUID, source: str, status: str, created: datetime, **fields: Any) -> None:
    async with tenant_transaction(tenant_id) as session:
        session.add(
            EtlImport(
                tenant_id=tenant_id,
                file_name=f"{source}-{uuid.uuid4().hex[:6]}.csv",
                sha256=uuid.uuid4().hex * 2,
                source=source,
                status=status,
                created_at=created,
                finished_at=created + timedelta(minutes=1) if status in ("completed", "failed") else None,
                **fields,
            )
        )


async def source_health(
    tenant_id: uuid.UUID, sponsor_id: uuid.UUID, *, failures: int, last_failure: datetime | None, outcomes: list[str]
) -> None:
    async with tenant_transaction(tenant_id) as session:
        source = ConversionSource(
            tenant_id=tenant_id,
            sponsor_id=sponsor_id,
            kind="shopify",
            name=f"Shop {uuid.uuid4().hex[:6]}",
            token=uuid.uuid4().hex,
            signature_failures=failures,
            last_failure_at=last_failure,
            last_failure_reason="signature does not match" if last_failure else None,
        )
        session.add(source)
        await session.flush()
        session.add_all(
            ConversionDelivery(tenant_id=tenant_id, source_id=source.id, event_id=uuid.uuid4().hex, outcome=outcome)
            for outcome in outcomes
        )


async def match(tenant_id: uuid.UUID, sponsor_id: uuid.UUID, podcast_id: uuid.UUID, score: str) -> None:
    async with tenant_transaction(tenant_id) as session:
        session.add(
            Match(
                tenant_id=tenant_id,
                sponsor_id=sponsor_id,
                podcast_id=podcast_id,
                score=Decimal(score),
                rationale=f"topics overlap ({score})",
                signals={},
                missing=["historical_lift"],
            )
        )
