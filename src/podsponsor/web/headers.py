"""Security headers on every response, and a strict content security policy on pages."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Pages load only their own stylesheet and scripts: no inline script, no framing, forms post only here.
PAGE_POLICY = "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
# The interactive API docs come from FastAPI, which loads Swagger UI from a CDN with an inline bootstrap script.
UNPOLICED_PREFIXES = ("/docs",)


class SecurityHeaders:
    """Pure ASGI, so it adds nothing to the cost of API requests beyond a few header lines."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policed = not str(scope.get("path", "")).startswith(UNPOLICED_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                _add_headers(MutableHeaders(scope=message), policed)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _add_headers(headers: MutableHeaders, policed: bool) -> None:
    headers.setdefault("x-content-type-options", "nosniff")
    # Invitation links carry a token in the path: never send it to another site.
    headers.setdefault("referrer-policy", "same-origin")
    if not headers.get("content-type", "").startswith("text/html"):
        return
    # Pages show per-user data (and API tokens once): no shared or back-button caches.
    headers.setdefault("cache-control", "no-store")
    if policed:
        headers.setdefault("content-security-policy", PAGE_POLICY)
        headers.setdefault("x-frame-options", "DENY")
