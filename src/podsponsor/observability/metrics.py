"""Prometheus metrics: requests by route template and status with a latency histogram, pool and job gauges."""

from __future__ import annotations

import logging
import time
import uuid

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podsponsor.observability.logs import request_id

log = logging.getLogger("podsponsor.access")
REGISTRY = CollectorRegistry()
REQUESTS = Counter("podsponsor_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=REGISTRY)
LATENCY = Histogram(
    "podsponsor_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
POOL = Gauge("podsponsor_db_pool_connections", "Database pool connections", ["state"], registry=REGISTRY)
JOBS = Gauge("podsponsor_jobs", "Jobs in the queue by status", ["status"], registry=REGISTRY)


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    # Unmatched paths are one label, so a scan of random URLs cannot explode the label set.
    return str(path) if path else "unmatched"


class RequestMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): assigns the request id, times the request, counts it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = route_template(scope)
            method = scope.get("method", "GET")
            elapsed = time.perf_counter() - started
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(elapsed)
            # The route template, never the raw path: paths can carry secrets (invite tokens).
            log.info(
                "request",
                extra={"method": method, "route": route, "status": status, "duration_ms": round(elapsed * 1000, 2)},
            )
            request_id.reset(token)
