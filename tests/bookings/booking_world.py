"""What a booking needs, made through the public API the way a customer makes it: a show with ad units and episodes
(published inside the standard flight, one before it, one still to come), a sponsor and its deal."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
from sqlalchemy import update

from podsponsor.bookings.models import InsertionOrder
from podsponsor.db.tenancy import tenant_transaction
from tests.factories.identity import PASSWORD, Tenant
from tests.web.conftest import browser, submit

TODAY = datetime.now(UTC).date()
FLIGHT_START = TODAY - timedelta(days=10)
FLIGHT_END = TODAY + timedelta(days=30)
IO_NUMBER = r"^IO-\d{4}-\d{4,}$"


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def noon(day: date) -> str:
    return datetime.combine(day, time(12), tzinfo=UTC).isoformat()


@dataclass
class Show:
    id: str
    mid: str  # a mid-roll :60 ad unit
    pre: str  # a pre-roll :30 ad unit
    published: list[str]  # three episodes published inside the standard flight
    old: str  # published before the flight
    upcoming: str  # dated after the flight, not out yet
    undated: str  # no publish date yet


@dataclass
class Deal:
    sponsor_id: str
    sponsor_name: str
    campaign_id: str


def ok(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def add_show(owner: httpx.Client, title: str | None = None) -> Show:
    show = ok(owner.post("/api/v1/podcasts", json={"title": title or unique("Night Shift")}))
    units = [
        ok(owner.post(f"/api/v1/podcasts/{show['id']}/ad-units", json={"position": position, "length_seconds": length}))
        for position, length in (("mid", 60), ("pre", 30))
    ]

    def episode(title: str, published: date | None) -> str:
        body = {"podcast_id": show["id"], "title": title, "publish_date": noon(published) if published else None}
        return str(ok(owner.post("/api/v1/episodes", json=body))["id"])

    published = [episode(f"Episode {n}", TODAY - timedelta(days=n)) for n in (5, 3, 1)]
    return Show(
        id=show["id"],
        mid=units[0]["id"],
        pre=units[1]["id"],
        published=published,
        old=episode("An old episode", FLIGHT_START - timedelta(days=20)),
        upcoming=episode("Coming soon", FLIGHT_END + timedelta(days=14)),
        undated=episode("Not scheduled", None),
    )


def add_deal(owner: httpx.Client, industry: str = "beverages", name: str | None = None) -> Deal:
    sponsor = ok(owner.post("/api/v1/sponsors", json={"name": name or unique("Brew Hub"), "industry": industry}))
    campaign = ok(owner.post("/api/v1/campaigns", json={"sponsor_id": sponsor["id"], "name": unique("Spring push")}))
    return Deal(sponsor["id"], sponsor["name"], campaign["id"])


def add_campaign(owner: httpx.Client, sponsor_id: str) -> str:
    return str(ok(owner.post("/api/v1/campaigns", json={"sponsor_id": sponsor_id, "name": unique("Deal")}))["id"])


def io_body(show: Show, deal: Deal, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "campaign_id": deal.campaign_id,
        "podcast_id": show.id,
        "ad_unit_id": show.mid,
        "episode_ids": show.published[:1],
        "flight_start": FLIGHT_START.isoformat(),
        "flight_end": FLIGHT_END.isoformat(),
        "impression_goal": 50_000,
        "pricing_model": "cpm",
        "cpm_cents": 2500,
    }
    return body | fields


def post_io(api: httpx.Client, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    return api.post("/api/v1/io", json=body, headers={"Idempotency-Key": key or str(uuid.uuid4())})


def book(api: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    return ok(post_io(api, body))


def problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    """The problem+json body, checked for its status and type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = dict(response.json())
    assert body["type"] == f"https://podsponsor.dev/problems/{kind}", body
    return body


def error_on(body: dict[str, Any], field: str) -> dict[str, Any]:
    """The error naming `field` (with its value and reason)."""
    found = [e for e in body.get("errors", []) if e["field"] == field]
    assert found, f"no error on {field}: {body}"
    assert found[0]["reason"], found[0]
    return dict(found[0])


async def set_status(tenant: Tenant, io_id: str, status: str) -> None:
    """Moves an IO as the flight clock would (that job is not part of these tests)."""
    async with tenant_transaction(uuid.UUID(tenant.id)) as session:
        await session.execute(update(InsertionOrder).where(InsertionOrder.id == uuid.UUID(io_id)).values(status=status))


def set_flag(owner: httpx.Client, enabled: bool | None) -> None:
    ok(owner.put("/api/v1/feature-flags/ENABLE_IO_BOOKINGS", json={"enabled": enabled}), 200)


def email_of(tenant: Tenant, role: str) -> str:
    return tenant.owner_email.replace("owner-", f"{role}-")


@contextmanager
def signed_in(server: str, tenant: Tenant, role: str = "owner") -> Iterator[httpx.Client]:
    """A browser-like client signed in as the tenant's user of `role`."""
    with browser(server) as client:
        response = submit(client, "/login", "/login", {"email": email_of(tenant, role), "password": PASSWORD})
        assert response.status_code == 303, response.text
        yield client
