"""Security headers on every response, and a strict content security policy on pages and API answers.

Pages load only this site's own scripts and stylesheets: no inline script, no inline style, no `eval` (the charts
interpret their expressions instead), no framing by any site. API answers (JSON) get a policy that allows nothing at
all, so a response opened in a browser can never run anything. HSTS is sent only on requests that arrived over TLS:
the scheme is https, or a proxy listed in TRUSTED_PROXIES says `X-Forwarded-Proto: https`.
"""

from __future__ import annotations

import ipaddress
from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podsponsor.clients import trusted_proxies

PAGE_POLICY: Final = (
    "default-src 'self'; frame-ancestors 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'self'; form-action 'self'; object-src 'none'"
)
API_POLICY: Final = "default-src 'none'; frame-ancestors 'none'"
# The browser features no page of ours uses: nobody may ask for them, in our pages or anything they could embed.
PERMISSIONS_POLICY: Final = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
)
HSTS: Final = "max-age=63072000; includeSubDomains"
# The interactive API docs come from FastAPI, which loads Swagger UI from a CDN with an inline bootstrap script.
UNPOLICED_PREFIXES: Final = ("/docs",)
JSON_TYPES: Final = ("application/json", "application/problem+json")


class SecurityHeaders:
    """Pure ASGI, so it adds nothing to the cost of API requests beyond a few header lines."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policed = not str(scope.get("path", "")).startswith(UNPOLICED_PREFIXES)
        tls = over_tls(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                _add_headers(MutableHeaders(scope=message), policed, tls)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def over_tls(scope: Scope) -> bool:
    """Whether the browser's connection was TLS: ours, or a trusted proxy's in front of us."""
    if scope.get("scheme") == "https":
        return True
    networks = trusted_proxies()
    client = scope.get("client")
    if not networks or not client:
        return False
    proto = next((value for name, value in scope.get("headers") or [] if name == b"x-forwarded-proto"), None)
    if proto is None or proto.decode("latin-1").split(",")[0].strip().lower() != "https":
        return False
    try:
        peer = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    return any(peer in network for network in networks)


def _add_headers(headers: MutableHeaders, policed: bool, tls: bool) -> None:
    headers.setdefault("x-content-type-options", "nosniff")
    # Invitation links carry a token in the path: never send it to another site.
    headers.setdefault("referrer-policy", "same-origin")
    headers.setdefault("cross-origin-opener-policy", "same-origin")
    headers.setdefault("permissions-policy", PERMISSIONS_POLICY)
    if tls:
        headers.setdefault("strict-transport-security", HSTS)
    content_type = headers.get("content-type", "")
    if content_type.startswith(JSON_TYPES):
        headers.setdefault("content-security-policy", API_POLICY)
        return
    if not content_type.startswith("text/html"):
        return
    # Pages show per-user data (and API tokens once): no shared or back-button caches.
    headers.setdefault("cache-control", "no-store")
    if policed:
        headers.setdefault("content-security-policy", PAGE_POLICY)
        headers.setdefault("x-frame-options", "DENY")
