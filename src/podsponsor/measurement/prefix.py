"""The prefix redirect: `GET|HEAD /p/<show token>/<enclosure URL without scheme>` → 302 to the enclosure.

Served ahead of the app (`PrefixFirst`) in plain ASGI: a FastAPI route measured 0.44x of Starlette here, and this path
must stay lean. Each request is recorded and the 302 is sent only once its hit is durable (committed, or fsynced to
the spill while the database is away). Tokens are resolved through an in-process cache, together with whether the
show's tenant has measurement on (`ENABLE_PREFIX_MEASUREMENT`, a tenant's override first): when it is off the redirect
still answers, and records nothing. An unknown token is 404, a destination that is not a public http(s) URL is 400:
the prefix never redirects to `javascript:`, to a private host, or to a bare word.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Final, NamedTuple

from prometheus_client import Counter
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from podsponsor.clients import forwarded_client, hash_address
from podsponsor.config import Settings
from podsponsor.db.tenancy import set_tenant, unscoped_transaction
from podsponsor.db.urls import libpq_conninfo
from podsponsor.errors import PROBLEM_JSON
from podsponsor.flags import service as flags
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
ANSWERED: Final = frozenset({"GET", "HEAD"})
MEASUREMENT_FLAG: Final = "ENABLE_PREFIX_MEASUREMENT"
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
READ_HEADERS: Final = frozenset({*RECORDED_HEADERS, b"x-forwarded-for"})
MAX_URL = 4096
SHOW_TTL = 300.0
UNKNOWN_TTL = 30.0
LOOKUP_TIMEOUT = 1.0
LISTS_REFRESH = 300.0
CACHE_MAX = 100_000
# Client addresses whose hash, country and data centre are kept: a podcast app asks several times for one episode
# (HEAD, a probe range, the file), from one address, within minutes.
LISTENERS_CACHED = 1 << 14  # about 7 MB
DESTINATIONS_CACHED = 4096
REDIRECT_HEADERS: Final = [
    (b"cache-control", b"private, no-cache"),
    (b"content-length", b"0"),
    (b"referrer-policy", b"no-referrer"),
]
REDIRECTS = Counter(
    "podsponsor_prefix_redirects_total", "Prefix redirects answered", ["method"], registry=METRICS_REGISTRY
)
REDIRECTS_BY_METHOD: Final = {method: REDIRECTS.labels(method) for method in ANSWERED}
# The token lookup goes through SQLAlchemy, which wraps the driver's connection errors in its own.
LOOKUP_UNREACHABLE = (*UNREACHABLE, sa_exc.OperationalError, sa_exc.InterfaceError)
# The version and variant bits of a version-4 UUID (RFC 9562 §5.4).
UUID4_KEEP: Final = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
UUID4_SET: Final = (0x4000 << 64) | (0x8000 << 48)

Response = tuple[int, list[tuple[bytes, bytes]], bytes]
Listener = tuple[str, str | None, str | None]


class PrefixedShow(NamedTuple):
    tenant_id: uuid.UUID
    podcast_id: uuid.UUID
    measured: bool  # ENABLE_PREFIX_MEASUREMENT as the show's tenant has it


def _problem(status: int, title: str, detail: str, *extra: tuple[bytes, bytes]) -> Response:
    body = json.dumps(
        {"type": f"https://podsponsor.dev/problems/http-{status}", "title": title, "status": status, "detail": detail}
    ).encode()
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode()), *extra]
    return status, headers, body


NOT_FOUND: Final = _problem(404, "Not found", "no show has this prefix token")
NOT_PUBLIC: Final = _problem(400, "Not a public audio URL", "the part after the token must be a public http(s) URL")
TRY_AGAIN: Final = _problem(
    503, "Try again", "the request could not be recorded; nothing was counted", (b"retry-after", b"1")
)
FAILED: Final = _problem(500, "Internal error", "something went wrong on our side")


@lru_cache(maxsize=DESTINATIONS_CACHED)
def destination_for(rest: str, query: str) -> str | None:
    """The enclosure URL a prefixed path points at, or None when it is not a public http(s) URL. Cached: a feed's
    listeners ask for the same few episode URLs."""
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
    """token → its show and whether it is measured, cached for SHOW_TTL (unknown tokens for UNKNOWN_TTL). One lookup
    per token at a time; when the database is away a stale entry is used, and with none the hit is kept unresolved."""

    UNRESOLVED: Final = "unresolved"

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, PrefixedShow | None]] = {}
        self._inflight: dict[str, asyncio.Future[PrefixedShow | None]] = {}

    async def find(self, token: str, database_up: bool) -> PrefixedShow | str | None:
        entry = self._entries.get(token)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        if not database_up:
            return entry[1] if entry else self.UNRESOLVED
        try:
            return await self._lookup(token)
        except LOOKUP_UNREACHABLE:
            return entry[1] if entry else self.UNRESOLVED

    async def _lookup(self, token: str) -> PrefixedShow | None:
        pending = self._inflight.get(token)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[PrefixedShow | None] = asyncio.get_running_loop().create_future()
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

    def _remember(self, token: str, show: PrefixedShow | None) -> None:
        if len(self._entries) >= CACHE_MAX:
            self._entries.pop(next(iter(self._entries)))
        ttl = SHOW_TTL if show is not None else UNKNOWN_TTL
        self._entries[token] = (time.monotonic() + ttl, show)


async def _query(token: str) -> PrefixedShow | None:
    async with unscoped_transaction() as session:
        show = await repository.show_for_token(session, token)
        if show is None:
            return None
        tenant_id, podcast_id = show
        await set_tenant(session, tenant_id)  # the tenant's flag overrides are under row-level security
        return PrefixedShow(tenant_id, podcast_id, await flags.is_enabled(session, tenant_id, MEASUREMENT_FLAG))


class Prefix:
    """What the redirect needs at run time (kept on `app.state.prefix`): the hit writer, the token cache, and the
    data-centre ranges of the active reference lists, reloaded every LISTS_REFRESH seconds."""

    def __init__(self, writer: HitWriter) -> None:
        self.writer = writer
        writer.resolve = self.resolve
        self.shows = ShowCache()
        self.lists: Classifier | None = None
        self.listener = _listeners(None)
        self._lists_task: asyncio.Task[None] | None = None
        self._ids = _UUID4Source()

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

    def hit(self, scope: Scope, token: str, show: PrefixedShow | str, path: str, query: str, destination: str) -> Hit:
        wanted: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in READ_HEADERS and name not in wanted:
                wanted[name] = value
        get = wanted.get
        host, range_header = _recorded(get(b"host"), b"host"), _recorded(get(b"range"), b"range")
        user_agent, referer = _recorded(get(b"user-agent"), b"user-agent"), _recorded(get(b"referer"), b"referer")
        client = scope.get("client")
        ip_hash, registry_country, datacenter = self.listener(client[0] if client else "", get(b"x-forwarded-for"))
        url = f"{scope['scheme']}://{host or ''}{path}" + (f"?{query}" if query else "")
        tenant_id, podcast_id = (show.tenant_id, show.podcast_id) if isinstance(show, PrefixedShow) else (None, None)
        return Hit(
            self._ids.next(),
            datetime.now(UTC),
            token,
            tenant_id,
            podcast_id,
            scope["method"],
            url[:MAX_URL],
            destination,
            range_header,
            user_agent,
            referer,
            ip_hash,
            registry_country,
            datacenter,
            302,
        )

    async def resolve(self, hits: list[Hit]) -> list[Hit]:
        """Hits recorded before their show could be looked up (the database was away), before they are stored: their
        show filled in, and those of a tenant with measurement off left out. A token of no show stays unresolved."""
        shows: dict[str, PrefixedShow | str | None] = {}
        for token in {hit.token for hit in hits if hit.tenant_id is None}:
            shows[token] = found = await self.shows.find(token, database_up=True)
            if found == ShowCache.UNRESOLVED:
                raise ConnectionError("the shows of spilled hits could not be looked up")
        kept = []
        for hit in hits:
            show = shows.get(hit.token) if hit.tenant_id is None else None
            if isinstance(show, PrefixedShow):
                if not show.measured:
                    continue
                hit.tenant_id, hit.podcast_id = show.tenant_id, show.podcast_id
            kept.append(hit)
        return kept

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
        if lists is not self.lists:  # the service hands back the same classifier while no list changed
            self.listener = _listeners(lists)
        self.lists = lists


def _recorded(value: bytes | None, name: bytes) -> str | None:
    return None if value is None else value[: RECORDED_HEADERS[name]].decode("latin-1")


def _listeners(lists: Classifier | None) -> Callable[[str, bytes | None], Listener]:
    """(keyed hash, registry country, data-centre provider) of the client behind a peer and its `X-Forwarded-For`,
    for one set of reference lists. The addresses are kept in memory only, as cache keys."""

    @lru_cache(maxsize=LISTENERS_CACHED)
    def listener(peer: str, forwarded_for: bytes | None) -> Listener:
        address = forwarded_client(peer, forwarded_for.decode("latin-1") if forwarded_for is not None else None)
        return hash_address(address), country(address), lists.is_datacenter(address) if lists is not None else None

    return listener


class _UUID4Source:
    """Version-4 UUIDs from `os.urandom`, read 4 KiB at a time: `uuid.uuid4()` made a system call and validated its
    arguments for each request (2.2 µs against 1.3 µs here). The object is filled the way `uuid.UUID.__init__` fills
    its two slots; the redirect tests check the stored ids' version and variant."""

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0

    def next(self) -> uuid.UUID:
        if self._at >= len(self._pool):
            self._pool, self._at = os.urandom(4096), 0
        at, self._at = self._at, self._at + 16
        made = object.__new__(uuid.UUID)
        object.__setattr__(made, "int", int.from_bytes(self._pool[at : at + 16]) & UUID4_KEEP | UUID4_SET)
        object.__setattr__(made, "is_safe", uuid.SafeUUID.unknown)
        return made


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
    """The route's endpoint, for an app served without `PrefixFirst`."""

    __public__ = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _serve(scope, send, scope["path_params"]["token"])


class PrefixFirst:
    """The ASGI entry point uvicorn serves (`podsponsor.app:build`): prefix requests go straight to the redirect,
    everything else (a prefix path with another method included) to the app. Measured, the app's way in — FastAPI's
    telemetry check, request ids, access log, latency histogram, security headers, routing — cost several times the
    redirect itself; the hits table is this path's log, and a counter keeps it on /metrics. The route stays in the
    app's route table too, so an app built without this wrapper serves it the ordinary way."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # What ROUTE matches, without its regex and scope copies: `/p/<token>/<anything but a line break>`.
        if scope["type"] == "http" and scope["method"] in ANSWERED and not scope.get("root_path"):
            path: str = scope["path"]
            if path.startswith("/p/") and "\n" not in path:
                token, slash, _ = path[3:].partition("/")
                if slash and token:
                    scope["app"] = self.app
                    await _serve(scope, send, token)
                    return
        await self.app(scope, receive, send)


async def _serve(scope: Scope, send: Send, token: str) -> None:
    """Answers with two messages and no response object. Outside the app's error middleware, an unexpected failure
    is still a problem+json 500, and logged."""
    try:
        status, headers, body = await _answer(scope, token)
    except Exception:
        log.exception("prefix redirect failed")
        status, headers, body = FAILED
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    if status == 302:
        REDIRECTS_BY_METHOD[scope["method"]].inc()


async def _answer(scope: Scope, token: str) -> Response:
    if not TOKEN.fullmatch(token):
        return NOT_FOUND
    # The path as the client sent it: decoding would turn `%2F` or `%20` into other URLs.
    raw: bytes | None = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else str(scope["path"])
    head = f"/p/{token}/"
    query = scope["query_string"].decode("latin-1")
    destination = destination_for(path[len(head) :] if path.startswith(head) else "", query)
    if destination is None:
        return NOT_PUBLIC
    prefix: Prefix = scope["app"].state.prefix
    show = await prefix.shows.find(token, prefix.writer.available)
    if show is None:
        return NOT_FOUND
    # A show whose tenant turned measurement off still redirects: a prefix left in a feed must not break playback.
    if not isinstance(show, PrefixedShow) or show.measured:
        try:
            await prefix.writer.record(prefix.hit(scope, token, show, path, query, destination))
        except OSError:
            return TRY_AGAIN
    return 302, [(b"location", destination.encode("latin-1")), *REDIRECT_HEADERS], b""


ROUTE = Route(PATH, PrefixRedirect(), methods=["GET", "HEAD"], name="prefix_redirect")
