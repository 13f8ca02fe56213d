"""Limits on the endpoints anyone may call: sign-up, conversion webhooks, the pixel, vanity URLs, shared reports.

Pure ASGI, matched on the path before routing, so a refused request costs no database work. The measurement prefix
(`/p/…`) is deliberately not here: podcast apps fetch episodes through it at thousands of requests a second, often
many listeners behind one carrier address, and its hits are group-committed, not limited. Sign-in and the second
factor are limited where their outcome is known (`podsponsor.auth.throttle`).

A refusal is a 429 with `Retry-After`: problem+json, or an error page for a browser. The pixel is the exception: it
runs on advertisers' pages, where it must never fail, so past its limit it answers as always and keeps nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Final, Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from podsponsor.attribution.pixel import GIF, PIXEL_HEADERS
from podsponsor.clients import forwarded_client
from podsponsor.errors import PROBLEM_JSON, TooManyRequests
from podsponsor.ratelimit import limits
from podsponsor.ratelimit.limiter import Decision, RateLimiter


@dataclass(frozen=True)
class Rule:
    limit: str
    methods: frozenset[str]
    path: re.Pattern[str]
    # Who is counted: the client's address, or the token in the path (group "token").
    by: Literal["address", "token"]
    what: str


WEBHOOK: Final = re.compile(r"/hooks/[a-z]+/(?P<token>[^/]+)")
RULES: Final = (
    Rule(limits.SIGNUP, frozenset({"POST"}), re.compile(r"/(?:api/v1/auth/)?signup"), "address", "sign-up"),
    Rule(limits.CONVERSION_WEBHOOK, frozenset({"POST"}), WEBHOOK, "token", "this webhook"),
    Rule(limits.CONVERSION_WEBHOOK_ADDRESS, frozenset({"POST"}), WEBHOOK, "address", "webhooks"),
    Rule(limits.PIXEL, frozenset({"GET", "POST"}), re.compile(r"/px"), "address", "the pixel"),
    Rule(limits.VANITY, frozenset({"GET", "HEAD"}), re.compile(r"/v/[^/]+"), "address", "vanity links"),
    Rule(
        limits.SHARED_REPORT,
        frozenset({"GET", "HEAD"}),
        re.compile(r"/shared/campaigns/[^/]+(?:/report\.[a-z]+)?"),
        "address",
        "shared reports",
    ),
)
# A cheap first test, so that every other request passes with one string comparison.
PREFIXES: Final = ("/signup", "/api/v1/auth/signup", "/hooks/", "/px", "/v/", "/shared/")


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith(PREFIXES):
            await self.app(scope, receive, send)
            return
        refused = await self._judge(scope, path)
        if refused is None:
            await self.app(scope, receive, send)
            return
        rule, decision = refused
        request = Request(scope)
        quiet = rule.limit == limits.PIXEL
        response = _quiet_pixel(request, decision) if quiet else _refusal(request, rule, decision)
        await response(scope, receive, send)

    async def _judge(self, scope: Scope, path: str) -> tuple[Rule, Decision] | None:
        """The first rule that refuses this request (every matching rule counts it)."""
        refused: tuple[Rule, Decision] | None = None
        for rule in RULES:
            if scope.get("method") not in rule.methods:
                continue
            found = rule.path.fullmatch(path)
            if found is None:
                continue
            identity = found.group("token") if rule.by == "token" else _address(scope)
            decision = await self.limiter.hit(rule.limit, identity)
            if not decision.allowed and refused is None:
                refused = (rule, decision)
        return refused


def _address(scope: Scope) -> str:
    client = scope.get("client")
    forwarded = next((value for name, value in scope.get("headers") or [] if name == b"x-forwarded-for"), None)
    return forwarded_client(client[0] if client else "", forwarded.decode("latin-1") if forwarded else None)


def _quiet_pixel(request: Request, decision: Decision) -> Response:
    headers = {**PIXEL_HEADERS, "Retry-After": str(decision.retry_after)}
    if request.method == "GET":
        return Response(GIF, media_type="image/gif", headers=headers)
    return Response(status_code=204, headers=headers)


def _refusal(request: Request, rule: Rule, decision: Decision) -> Response:
    error = TooManyRequests(
        f"too many requests to {rule.what} from here; try again in {decision.retry_after} s",
        retry_after=decision.retry_after,
        limit=decision.limit,
    )
    headers = {"Retry-After": str(decision.retry_after)}
    if not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", ""):
        from podsponsor.web.render import error_page

        page = error_page(request, error.status, error.title, error.detail)
        page.headers.update(headers)
        return page
    body = json.dumps(error.problem(request.url.path)).encode()
    return Response(body, status_code=error.status, media_type=PROBLEM_JSON, headers=headers)
