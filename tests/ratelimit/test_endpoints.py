"""Rate limits over real HTTP, with the counters in the machine's Redis (db 15), as several app processes share them.

The app runs behind a trusted proxy (these tests), so each test counts against addresses of its own given in
X-Forwarded-For. Limits are lowered through RATE_LIMITS so that a few requests reach them. Workspaces are made on
the suite's main server (the same database), so that making them spends none of these limits.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from podsponsor.db.bootstrap import DatabaseUrls
from tests.factories.app_server import serve_app
from tests.factories.identity import PASSWORD, make_tenant

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
REDIS_URL = "redis://127.0.0.1:6379/15"
LIMITS = "signup=3/60,vanity=5/60,conversion-webhook=4/60,pixel=3/60,shared-report=3/60"
RATE_LIMITED = "https://podsponsor.dev/problems/rate-limited"


@pytest.fixture(scope="module")
def prefix() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL)
    assert client.ping(), f"no Redis answers at {REDIS_URL}"
    prefix = f"test:{uuid.uuid4().hex}:"
    yield prefix
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture(scope="module")
def limited(database: DatabaseUrls, prefix: str) -> Iterator[str]:
    env = {
        **os.environ,
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": prefix,
        "RATE_LIMITS": LIMITS,
        "LOGIN_MAX_FAILURES": "5",
        "TRUSTED_PROXIES": "127.0.0.1/32",
    }
    with serve_app(env, ARTIFACTS / "rate-limited-server.log") as base:
        yield base


def from_address() -> dict[str, str]:
    """Headers of a client at an address no other test uses."""
    tag = uuid.uuid4().int
    return {"X-Forwarded-For": f"10.{tag % 250}.{tag // 250 % 250}.{tag // 62500 % 250 + 1}"}


def assert_rate_limited(response: httpx.Response, window: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert 0 < int(response.headers["retry-after"]) <= window
    problem = response.json()
    assert problem["type"] == RATE_LIMITED
    assert problem["status"] == 429
    assert problem["title"] == "Too many requests"
    assert f"try again in {response.headers['retry-after']} s" in problem["detail"]


def signup_body() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {"workspace_name": f"Limits {tag}", "email": f"l-{tag}@example.com", "password": PASSWORD}


def test_signups_past_the_limit_are_429_problems_for_that_address_only(limited: str) -> None:
    address = from_address()
    with httpx.Client(base_url=limited, timeout=30, headers=address) as client:
        statuses = [client.post("/api/v1/auth/signup", json=signup_body()).status_code for _ in range(3)]
        assert statuses == [201, 201, 201]
        refused = client.post("/api/v1/auth/signup", json=signup_body())
        assert_rate_limited(refused, 60)
        # The sign-up page shares the count and answers a browser with a page.
        page = client.post("/signup", data={"workspace_name": "x"}, headers={"Accept": "text/html"})
        assert page.status_code == 429
        assert page.headers["content-type"].startswith("text/html")
        assert int(page.headers["retry-after"]) > 0
        assert "Too many requests" in page.text
        # The refusal carries the pages' security headers too.
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
    with httpx.Client(base_url=limited, timeout=30, headers=from_address()) as elsewhere:
        assert elsewhere.post("/api/v1/auth/signup", json=signup_body()).status_code == 201


def test_the_counters_live_in_redis(limited: str, prefix: str) -> None:
    with httpx.Client(base_url=limited, timeout=30, headers=from_address()) as client:
        client.get(f"/v/no-such-{uuid.uuid4().hex[:8]}")
    with redis.Redis.from_url(REDIS_URL) as store:
        names = {key.decode().split(":")[3] for key in store.scan_iter(match=f"{prefix}rl:*")}
    assert "vanity" in names


async def test_fifty_concurrent_wrong_passwords_get_exactly_the_allowed_five_answers(limited: str, server: str) -> None:
    tenant = make_tenant(server)
    address = from_address()
    wrong = {"email": tenant.owner_email, "password": "not the password at all"}
    async with httpx.AsyncClient(base_url=limited, timeout=60, headers=address) as client:
        responses = await asyncio.gather(*(client.post("/api/v1/auth/token", json=wrong) for _ in range(50)))
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [401] * 5 + [429] * 45
        assert_rate_limited(next(r for r in responses if r.status_code == 429), 900)
        # The account is paused from this address even for the right password ...
        right = await client.post("/api/v1/auth/token", json={**wrong, "password": PASSWORD})
        assert right.status_code == 429
    # ... and not from another.
    async with httpx.AsyncClient(base_url=limited, timeout=60, headers=from_address()) as other:
        assert (await other.post("/api/v1/auth/token", json={**wrong, "password": PASSWORD})).status_code == 200


def test_an_address_failing_for_many_accounts_is_paused_for_every_account(limited: str, server: str) -> None:
    tenant = make_tenant(server)
    with httpx.Client(base_url=limited, timeout=30, headers=from_address()) as client:
        # Fifty failures (ten times the per-account limit) over e-mails that do not exist.
        for n in range(50):
            failed = client.post("/api/v1/auth/token", json={"email": f"x{n}@example.com", "password": "guess!"})
            assert failed.status_code == 401, (n, failed.text)
        paused = client.post("/api/v1/auth/token", json={"email": tenant.owner_email, "password": PASSWORD})
        assert_rate_limited(paused, 900)
        assert "from your address" in paused.json()["detail"]


def test_right_passwords_do_not_use_up_the_limit(limited: str, server: str) -> None:
    tenant = make_tenant(server)
    body = {"email": tenant.owner_email, "password": PASSWORD}
    with httpx.Client(base_url=limited, timeout=30, headers=from_address()) as client:
        assert [client.post("/api/v1/auth/token", json=body).status_code for _ in range(8)] == [200] * 8


def test_vanity_links_are_limited_per_address(limited: str) -> None:
    with httpx.Client(base_url=limited, timeout=30, headers=from_address()) as client:
        statuses = [client.get(f"/v/no-such-{n}").status_code for n in range(4)]
        statuses.append(client.head("/v/no-such-head").status_code)
        assert statuses == [404] * 5
        assert_rate_limited(client.get("/v/no-such-5"), 60)


def test_conversion_webhooks_are_limited_per_source_token_and_address(limited: str) -> None:
    token, other_token = uuid.uuid4().hex, uuid.uuid4().hex
    with httpx.Client(base_url=limited, timeout=30, headers=from_address()) as client:
        for _ in range(4):
            assert client.post(f"/hooks/shopify/{token}", content=b"{}").status_code != 429
        assert_rate_limited(client.post(f"/hooks/shopify/{token}", content=b"{}"), 60)
        # Another source's deliveries from the same address still get through.
        assert client.post(f"/hooks/stripe/{other_token}", content=b"{}").status_code != 429


def test_the_pixel_past_its_limit_answers_as_always_and_says_when_to_retry(limited: str) -> None:
    with httpx.Client(base_url=limited, timeout=30, headers=from_address()) as client:
        answers = [client.get("/px", params={"s": "x" * 32, "e": "view"}) for _ in range(4)]
        assert [a.status_code for a in answers] == [200] * 4
        assert all(a.headers["content-type"] == "image/gif" for a in answers)
        assert "retry-after" not in answers[0].headers
        assert int(answers[3].headers["retry-after"]) > 0
        assert answers[3].content == answers[0].content
        assert answers[3].headers["access-control-allow-origin"] == "*"
        beacon = client.post("/px", content=b'{"s": "x", "e": "view"}')
        assert beacon.status_code == 204 and int(beacon.headers["retry-after"]) > 0


def test_shared_report_links_are_limited_per_address(limited: str) -> None:
    with httpx.Client(base_url=limited, timeout=30, headers=from_address()) as client:
        statuses = [client.get(f"/shared/campaigns/{uuid.uuid4().hex}").status_code for _ in range(3)]
        assert 429 not in statuses
        assert_rate_limited(client.get(f"/shared/campaigns/{uuid.uuid4().hex}/report.pdf"), 60)


def test_the_prefix_redirect_is_never_limited(limited: str, server: str) -> None:
    tenant = make_tenant(server)
    with tenant.client() as owner:
        show = owner.post("/api/v1/podcasts", json={"title": "Unthrottled"}).json()
    with httpx.Client(base_url=limited, timeout=30, headers=from_address()) as client:
        statuses = {
            client.get(f"/p/{show['prefix_token']}/media.example.com/ep{n}.mp3").status_code for n in range(300)
        }
    assert statuses == {302}


def test_https_through_a_trusted_proxy_gets_hsts_and_plain_http_does_not(limited: str) -> None:
    with httpx.Client(base_url=limited, timeout=30) as client:
        assert "strict-transport-security" not in client.get("/login").headers
        assert "strict-transport-security" not in client.get("/health").headers
        over_tls = client.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert over_tls.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"
        api = client.get("/health", headers={"X-Forwarded-Proto": "https"})
        assert api.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"
