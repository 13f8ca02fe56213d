"""Every route declares who may call it: `require(...)`, `require_page(...)` or `public_route`, found by walking the
app's real route table and each route's dependency tree. A route added without a guard fails here by name."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from starlette.routing import BaseRoute, Mount

from podsponsor.config import Settings

# FastAPI's own documentation routes and the static files: they serve no tenant data.
FRAMEWORK = frozenset({"GET /openapi.json", "GET /docs", "GET /docs/oauth2-redirect", "MOUNT /static"})

# Who may call without signing in. Adding to this set is a security decision: say why in the review.
PUBLIC = frozenset(
    {
        "GET /health",
        "GET /ready",
        "GET /metrics",
        "POST /api/v1/auth/signup",
        "POST /api/v1/auth/token",
        "GET /login",
        "POST /login",
        "GET /signup",
        "POST /signup",
        "POST /logout",
        # The second sign-in step: only a signed, five-minute cookie from a right password opens it, and it asks for
        # the authenticator's code (throttled per user) before any session exists.
        "GET /login/second-factor",
        "POST /login/second-factor",
        # An invitation is accepted by whoever holds its single-use token; the token is the credential.
        "GET /invite/{token}",
        "POST /invite/{token}",
        "POST /api/v1/auth/accept-invite",
        # The measurement prefix sits in front of enclosure URLs in public feeds: podcast apps call it anonymously.
        # It only redirects to public http(s) hosts and records the request; the show token is public by design.
        "GET /p/{token}/{rest:path}",
        # Vanity URLs are read out in ads: listeners type them. A slug answers only for a live IO, with a redirect to
        # its landing page; anything else is the same 404 page, naming no workspace.
        "GET /v/{slug}",
        # Shops' servers deliver order webhooks here. The token finds a source; the platform's signature over the
        # raw body, made with that source's secret, is the credential, checked before anything is stored.
        "POST /hooks/shopify/{token}",
        "POST /hooks/woocommerce/{token}",
        "POST /hooks/stripe/{token}",
        # The conversion pixel runs on advertisers' sites, in shoppers' browsers. The token only names a pixel source
        # (it is public on those pages by design); the answer is always the same image or 204, naming nothing.
        "GET /px",
        "POST /px",
        "OPTIONS /px",
        # The pixel's script: the same static file for every source.
        "GET /px.js",
        # A seller shares one campaign's report with its sponsor: the link's 256-bit token, checked against its
        # stored hash and its signed expiry, is the credential; it opens that campaign's report only, read-only,
        # until it expires or is revoked.
        "GET /shared/campaigns/{token}",
        "GET /shared/campaigns/{token}/report.{extension}",
    }
)

OBJECT_ID = re.compile(r"\{[^}]*id\}")


@dataclass(frozen=True)
class Endpoint:
    methods: tuple[str, ...]
    path: str
    guards: frozenset[str]  # "permission", "public"

    @property
    def labels(self) -> list[str]:
        return [f"{method} {self.path}" for method in self.methods]


@pytest.fixture(scope="module")
def app(settings: Settings) -> FastAPI:
    # Imported here so that a broken module fails these tests, not the collection of the whole suite.
    from podsponsor.app import create_app

    return create_app(settings)


@pytest.fixture(scope="module")
def endpoints(app: FastAPI) -> list[Endpoint]:
    return list(_endpoints(app.routes))


def _endpoints(routes: list[BaseRoute], prefix: str = "") -> Iterator[Endpoint]:
    for route in routes:
        if hasattr(route, "effective_route_contexts"):
            for ctx in route.effective_route_contexts():
                yield _endpoint(ctx.original_route, prefix + (ctx.path or _path(ctx.original_route)), ctx)
        elif isinstance(route, Mount) and route.routes:
            yield from _endpoints(list(route.routes), prefix + route.path)
        else:
            yield _endpoint(route, prefix + _path(route), None)


def _path(route: BaseRoute) -> str:
    return str(getattr(route, "path", ""))


def _endpoint(route: BaseRoute, path: str, ctx: Any) -> Endpoint:
    methods = (
        ("MOUNT",)
        if isinstance(route, Mount)
        else tuple(sorted(set(getattr(route, "methods", None) or {"WS"}) - {"HEAD"}))
    )
    target = getattr(route, "endpoint", None) or getattr(route, "app", None)
    calls: list[Callable[..., Any]] = [target] if target is not None else []
    for dependant in (getattr(ctx, "dependant", None), getattr(route, "dependant", None)):
        calls += _calls(dependant)
    calls += [d.dependency for d in getattr(ctx, "dependencies", None) or [] if d.dependency is not None]
    guards = {"permission" for c in calls if hasattr(c, "__permission__")} | {
        "public" for c in calls if hasattr(c, "__public__")
    }
    return Endpoint(methods, path, frozenset(guards))


def _calls(dependant: Dependant | None) -> list[Callable[..., Any]]:
    """Every callable in the dependency tree: guards may sit at any depth (a service dependency on a guard)."""
    if dependant is None:
        return []
    found: list[Callable[..., Any]] = [dependant.call] if dependant.call is not None else []
    for sub in dependant.dependencies:
        found += _calls(sub)
    return found


def test_routes_were_found(endpoints: list[Endpoint]) -> None:
    labels = {label for e in endpoints for label in e.labels}
    assert {"GET /health", "GET /api/v1/podcasts", "GET /api/v1/podcasts/{podcast_id}"} <= labels, sorted(labels)
    assert any("permission" in e.guards for e in endpoints), "no guarded route found: the walk sees nothing"


def test_every_route_declares_its_guard(endpoints: list[Endpoint]) -> None:
    unguarded = sorted(label for e in endpoints if not e.guards for label in e.labels if label not in FRAMEWORK)
    assert not unguarded, (
        "routes without require(...), require_page(...) or public_route in their dependencies:\n  "
        + "\n  ".join(unguarded)
    )


def test_public_routes_are_exactly_the_allowlist(endpoints: list[Endpoint]) -> None:
    public = {label for e in endpoints if e.guards == {"public"} for label in e.labels}
    assert public == PUBLIC, (
        f"public routes changed.\n  now public: {sorted(public)}\n  unexpectedly public: {sorted(public - PUBLIC)}\n"
        f"  expected but gone or guarded: {sorted(PUBLIC - public)}"
    )


def test_object_routes_under_the_api_require_a_permission(endpoints: list[Endpoint]) -> None:
    objects = [e for e in endpoints if e.path.startswith("/api/v1/") and OBJECT_ID.search(e.path)]
    assert objects, "no /api/v1 route with an object id was found"
    open_objects = sorted(label for e in objects if "permission" not in e.guards for label in e.labels)
    assert not open_objects, "routes that reach an object by id without a permission:\n  " + "\n  ".join(open_objects)
