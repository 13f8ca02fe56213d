"""The prefix redirect: `GET|HEAD /p/<show token>/<enclosure URL without scheme>` → 302 to the enclosure.

A plain Starlette route (a FastAPI route measured 0.44x of Starlette here; this path must stay lean). Each request
is recorded and the 302 is sent only once its hit is durable (committed, or fsynced to the spill while the database
is away). Tokens are resolved through an in-process cache; an unknown token is 404, a destination that is not a
public http(s) URL is 400: the prefix never redirects to `javascript:`, to a private host, or to a bare word.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Final

from prometheus_client import Counter
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Match, Route
from starlette.types import Message, Receive, Scope, Send

from podsponsor.clients import client_address, hash_address
from podsponsor.config import Settings
from podsponsor.db.tenancy import unscoped_transaction
from podsponsor.db.urls import libpq_conninfo
from podsponsor.errors import PROBLEM_JSON
from podsponsor.measurement import hit_repository as repository
from podsponsor.measurement import service as lists_service
from podsponsor.measurement.classify import Classifier
from podsponsor.measurement.geo import country
from podsponsor.measurement.hit_models import Hit
from podsponsor.measurement.hit_writer import UNREACHABLE, HitWriter
from podsponsor.measurement.spill import Spill
from podsponsor.observability.metrics import REGISTRY as METRICS_REGISTRY

log = logging.getLogger(__name__)

PATH = "/p/{token}/{rest:path}"
TOKEN = re.compile(r"[A-Za-z0-9_-]{8,32}")
SCHEME = re.compile(r"(?i)(https?):/{1,2}")
HOSTNAME = re.compile(r"(?i)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})")
PORT = re.compile(r"[0-9]{1,5}")
# Control characters, space and backslash (which browsers read as a slash) have no place in a destination.
UNSAFE = re.compile(r"[\x00-\x20\x7f-\xff\\]")
# Names that resolve only inside a network, never to a public host.
PRIVATE_SUFFIXES: Final = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".test", ".invalid", ".onion")
MAX_DESTINATION = 4096
# What is kept of each request, capped so that a client's oversized headers cannot bloat the table.
RECORDED_HEADERS: Final = {b"host": 255, b"range": 200, b"user-agent": 1024, b"referer": 2048}
MAX_URL = 4096
SHOW_TTL = 300.0
UNKNOWN_TTL = 30.0
LOOKUP_TIMEOUT = 1.0
LISTS_REFRESH = 300.0
CACHE_MAX = 100_000
REDIRECT_HEADERS: Final = [
    (b"cache-control", b"private, no-cache"),
    (b"content-length", b"0"),
    (b"referrer-policy", b"no-referrer"),
]
REDIRECTS = Counter(
    "podsponsor_prefix_redirects_total", "Prefix redirects answered", ["method"], registry=METRICS_REGISTRY
)
REDIRECTS_BY_METHOD: Final = {method: REDIRECTS.labels(method) for method in ("GET", "HEAD")}
# The token lookup goes through SQLAlchemy, which wraps the driver's connection errors in its own.
LOOKUP_UNREACHABLE = (*UNREACHABLE, sa_exc.OperationalError, sa_exc.InterfaceError)

Show = tuple[uuid.UUID, uuid.UUID]


def destination_for(rest: str, query: str) -> str | None:
    """The enclosure URL a prefixed path points at, or None when it is not a public http(s) URL."""
    if not rest or len(rest) > MAX_DESTINATION or UNSAFE.search(rest) or UNSAFE.search(query):
        return None
    scheme, remainder = "https", rest
    if matched := SCHEME.match(rest):
        scheme, remainder = matched.group(1).lower(), rest[matched.end() :]
    authority, slash, path = remainder.partition("/")
    if not _public_authority(authority):
        return None
    return f"{scheme}://{authority}{slash}{path}" + (f"?{query}" if query else "")


@lru_cache(maxsize=4096)
def _public_authority(authority: str) -> bool:
    """Audio comes from a few hosts, so the answer is cached: the redirect checks each host once, not per request."""
    if "@" in authority:  # user info: `https://trusted.example@evil.example/` reads as the first host
        return False
    host, port = authority, ""
    if authority.startswith("["):
        host, _, tail = authority[1:].partition("]")
        port = tail.removeprefix(":") if tail.startswith(":") else ("x" if tail else "")
    elif ":" in authority:
        host, _, port = authority.rpartition(":")
    if port and not (PORT.fullmatch(port) and 0 < int(port) < 65536):
        return False
    name = host.lower().rstrip(".")
    if HOSTNAME.fullmatch(name):
        return not name.endswith(PRIVATE_SUFFIXES)
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        return False


class ShowCache:
    """token → (tenant_id, podcast_id), cached for SHOW_TTL (unknown tokens for UNKNOWN_TTL). One lookup per token
    at a time; when the database is away a stale entry is used, and with none the hit is kept unresolved."""

    UNRESOLVED: Final = "unresolved"

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Show | None]] = {}
        self._inflight: dict[str, asyncio.Future[Show | None]] = {}

    async def find(self, token: str, database_up: bool) -> Show | str | None:
        entry = self._entries.get(token)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        if not database_up:
            return entry[1] if entry else self.UNRESOLVED
        try:
            return await self._lookup(token)
        except LOOKUP_UNREACHABLE:
            return entry[1] if entry else self.UNRESOLVED

    async def _lookup(self, token: str) -> Show | None:
        pending = self._inflight.get(token)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Show | None] = asyncio.get_running_loop().create_future()
        self._inflight[token] = future
        try:
            show = await asyncio.wait_for(_query(token), LOOKUP_TIMEOUT)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so a lookup no one else awaited logs no warning
            raise
        finally:
            del self._inflight[token]
        self._remember(token, show)
        future.set_result(show)
        return show

    def _remember(self, token: str, show: Show | None) -> None:
        if len(self._entries) >= CACHE_MAX:
            self._entries.pop(next(iter(self._entries)))
        ttl = SHOW_TTL if show is not None else UNKNOWN_TTL
        self._entries[token] = (time.monotonic() + ttl, show)


async def _query(token: str) -> Show | None:
    async with unscoped_transaction() as session:
        return await repository.show_for_token(session, token)


class Prefix:
    """What the redirect needs at run time (kept on `app.state.prefix`): the hit writer, the token cache, and the
    data-centre ranges of the active reference lists, reloaded every LISTS_REFRESH seconds."""

    def __init__(self, writer: HitWriter) -> None:
        self.writer = writer
        self.shows = ShowCache()
        self.lists: Classifier | None = None
        self._lists_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.writer.start()
        await self._load_lists()
        self._lists_task = asyncio.create_task(self._keep_lists_fresh())

    async def stop(self) -> None:
        if self._lists_task is not None:
            self._lists_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lists_task
        await self.writer.stop()

    async def _keep_lists_fresh(self) -> None:
        while True:
            await asyncio.sleep(LISTS_REFRESH)
            await self._load_lists()

    async def _load_lists(self) -> None:
        try:
            async with asyncio.timeout(LOOKUP_TIMEOUT * 5), unscoped_transaction() as session:
                lists = await lists_service.classifier(session)
        except Exception:
            log.warning("the reference lists could not be read; the prefix keeps the ones it has", exc_info=True)
            return
        if "datacenters" in lists.missing and (self.lists is None or "datacenters" not in self.lists.missing):
            log.warning("no data-centre list is loaded (`podsponsor lists update`): hits are not checked against one")
        self.lists = lists


async def start(settings: Settings, app_url: str) -> Prefix:
    writer = HitWriter(
        libpq_conninfo(app_url),
        Spill(spill_directory(settings, app_url)),
        batch_rows=settings.prefix_batch_rows,
        batch_wait=settings.prefix_batch_wait_ms / 1000,
        connections=settings.prefix_writer_connections,
        commit_timeout=settings.prefix_commit_timeout_seconds,
    )
    prefix = Prefix(writer)
    await prefix.start()
    return prefix


def spill_directory(settings: Settings, app_url: str) -> Path:
    """One directory per database, so a spill is never replayed into a database it did not come from."""
    url = make_url(app_url)
    key = hashlib.sha256(url.set(password=None).render_as_string().encode()).hexdigest()[:12]
    return (settings.data_dir / "spill" / f"download_requests-{url.database}-{key}").resolve()


class PrefixRedirect:
    """The route's endpoint, in plain ASGI: it answers with two messages and no response object."""

    __public__ = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = scope["path_params"]["token"]
        if not TOKEN.fullmatch(token):
            return await _problem(send, 404, "Not found", "no show has this prefix token")
        query = scope["query_string"].decode("latin-1")
        destination = destination_for(_rest(scope, token), query)
        if destination is None:
            title = "Not a public audio URL"
            return await _problem(send, 400, title, "the part after the token must be a public http(s) URL")
        prefix: Prefix = scope["app"].state.prefix
        show = await prefix.shows.find(token, prefix.writer.available)
        if show is None:
            return await _problem(send, 404, "Not found", "no show has this prefix token")
        try:
            await prefix.writer.record(_hit(scope, token, show, destination, prefix.lists))
        except OSError:
            detail = "the request could not be recorded; nothing was counted"
            return await _problem(send, 503, "Try again", detail, [(b"retry-after", b"1")])
        headers = [(b"location", destination.encode("latin-1")), *REDIRECT_HEADERS]
        await send({"type": "http.response.start", "status": 302, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        REDIRECTS_BY_METHOD[scope["method"]].inc()


class PrefixFirst:
    """The ASGI entry point uvicorn serves (`podsponsor.app:build`): prefix requests go straight to the prefix route,
    everything else (a prefix path with another method included) to the app. Measured, the app's way in — FastAPI's
    telemetry check, request ids, access log, latency histogram, security headers, routing — cost several times the
    redirect itself; the hits table is this path's log, and a counter keeps it on /metrics. The route stays in the
    app's route table too, so an app built without this wrapper serves it the ordinary way."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/p/"):
            match, child = ROUTE.matches(scope)
            if match is Match.FULL:
                scope.update(child)
                scope["app"] = self.app
                await _guarded(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _guarded(scope: Scope, receive: Receive, send: Send) -> None:
    """Outside the app's error middleware, an unexpected failure is still a problem+json 500, and logged."""
    started = False

    async def tracking(message: Message) -> None:
        nonlocal started
        started = True
        await send(message)

    try:
        await ROUTE.handle(scope, receive, tracking)
    except Exception:
        log.exception("prefix redirect failed")
        if not started:
            await _problem(send, 500, "Internal error", "something went wrong on our side")


def _raw_path(scope: Scope) -> str:
    """The path as the client sent it: decoding would turn `%2F` or `%20` into other URLs."""
    raw: bytes | None = scope.get("raw_path")
    return raw.decode("latin-1") if raw else str(scope["path"])


def _rest(scope: Scope, token: str) -> str:
    head = f"/p/{token}/"
    path = _raw_path(scope)
    return path[len(head) :] if path.startswith(head) else ""


def _hit(scope: Scope, token: str, show: Show | str, destination: str, lists: Classifier | None) -> Hit:
    wanted: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in RECORDED_HEADERS and name not in wanted:
            wanted[name] = value[: RECORDED_HEADERS[name]].decode("latin-1")
    tenant_id, podcast_id = show if isinstance(show, tuple) else (None, None)
    address = client_address(Request(scope))
    query = scope["query_string"].decode("latin-1")
    url = f"{scope['scheme']}://{wanted.get(b'host', '')}{_raw_path(scope)}" + (f"?{query}" if query else "")
    return Hit(
        id=uuid.uuid4(),
        ts=datetime.now(UTC),
        token=token,
        tenant_id=tenant_id,
        podcast_id=podcast_id,
        method=scope["method"],
        url=url[:MAX_URL],
        destination=destination,
        range_header=wanted.get(b"range"),
        user_agent=wanted.get(b"user-agent"),
        referer=wanted.get(b"referer"),
        ip_hash=hash_address(address),
        country=country(address),
        datacenter=lists.is_datacenter(address) if lists is not None else None,
        status=302,
    )


async def _problem(
    send: Send, status: int, title: str, detail: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = {
        "type": f"https://podsponsor.dev/problems/http-{status}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    content = json.dumps(body).encode()
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(content)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": content})


ROUTE = Route(PATH, PrefixRedirect(), methods=["GET", "HEAD"], name="prefix_redirect")
