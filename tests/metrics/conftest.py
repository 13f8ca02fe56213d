"""A workspace with one user per role and a show whose episodes the metrics files talk about."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.conftest import ARTIFACTS
from tests.factories.app_server import serve_app
from tests.factories.identity import Tenant, make_tenant

ROLES = ("owner", "admin", "ops", "creator", "sales", "advertiser")
CANONICAL_HEADER = "day,episode_id,source,downloads,listeners,completion_rate,ctr,conversions,revenue_cents"
API = "/api/v1/etl"


@dataclass
class Show:
    tenant: Tenant
    podcast_id: str
    episodes: list[dict[str, Any]] = field(default_factory=list)

    def episode(self, index: int) -> dict[str, Any]:
        return self.episodes[index]


def make_show(tenant: Tenant, titles: Sequence[str], *, show_title: str = "Metrics Weekly") -> Show:
    """A show with episodes published a week apart from 2026-06-01, made through the catalog API."""
    with tenant.client() as api:
        podcast = api.post("/api/v1/podcasts", json={"title": show_title})
        assert podcast.status_code == 201, podcast.text
        show = Show(tenant, podcast.json()["id"])
        for number, title in enumerate(titles):
            body = {
                "podcast_id": show.podcast_id,
                "title": title,
                "guid": f"guid-{show.podcast_id[:8]}-{number}",
                "publish_date": f"2026-06-{1 + 7 * number:02d}T09:00:00Z" if number < 4 else "2026-07-01T09:00:00Z",
            }
            created = api.post("/api/v1/episodes", json=body)
            assert created.status_code == 201, created.text
            show.episodes.append(created.json())
    return show


@pytest.fixture(scope="module")
def network(server: str) -> Tenant:
    return make_tenant(server, roles=ROLES)


@pytest.fixture(scope="module")
def show(network: Tenant) -> Show:
    return make_show(network, ["Pilot", "The Second One", "Money Talks", "Ask Me Anything"])


def canonical(rows: Iterable[Sequence[object]], header: str = CANONICAL_HEADER, newline: str = "\n") -> bytes:
    lines = [header, *(",".join("" if cell is None else str(cell) for cell in row) for row in rows)]
    return (newline.join(lines) + newline).encode()


def upload(api: httpx.Client, content: bytes, name: str = "metrics.csv", **fields: str) -> httpx.Response:
    return api.post(f"{API}/upload", files={"file": (name, io.BytesIO(content), "text/csv")}, data=fields)


def daily(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = api.get("/api/v1/metrics/daily", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def errors_of(response: httpx.Response) -> list[tuple[Any, Any, Any, str]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [(e["row"], e["column"], e["value"], e["reason"]) for e in response.json()["errors"]]


@pytest.fixture(scope="module")
def capped_server(database: object) -> Iterator[str]:
    """The app again, in a process of its own that accepts files up to 1 MB."""
    with serve_app({**os.environ, "ETL_MAX_UPLOAD_MB": "1"}, ARTIFACTS / "capped-server.log") as base:
        yield base
