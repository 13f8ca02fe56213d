"""Outbound HTTP to addresses users type in (feeds, CSV-from-URL, webhooks), safe against SSRF.

Every hop: only http(s); the host is resolved once with `loop.getaddrinfo`, every resolved address must be public
(no private, loopback, link-local, unique-local, multicast, reserved, shared or unspecified address, also when
wrapped in IPv6 as IPv4-mapped, 6to4, Teredo or NAT64), and the connection goes to that checked address with the
original Host header and TLS server name, so DNS cannot answer differently between the check and the connect.
Redirects are followed by hand and every hop is checked again. One deadline covers the whole exchange; the body is
capped while streaming (and a declared Content-Length over the cap is refused before reading). No proxy settings
from the environment are honoured, since a proxy would connect on our behalf to whatever it resolved.

Hosts on the allowlist (OUTBOUND_ALLOW_HOSTS, "host" or "host:port", compared with the host as written in the URL)
skip the address check: that is how tests reach a server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import certifi
import httpx

from podsponsor import __version__
from podsponsor.config import get_settings
from podsponsor.errors import AppError

USER_AGENT = f"podsponsor-feed-fetcher/{__version__} (+https://podsponsor.dev/bot)"
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 5
PERMANENT_REDIRECTS = frozenset({301, 308})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundError(AppError):
    """Base of every outbound failure; `reason` is a sentence a creator understands."""

    status = 502
    type = "outbound-failed"
    title = "The address could not be fetched"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OutboundRefused(OutboundError):
    status = 422
    type = "outbound-refused"
    title = "That address is not allowed"


class OutboundTimeout(OutboundError):
    status = 504
    type = "outbound-timeout"
    title = "The server did not answer in time"


class OutboundTooLarge(OutboundError):
    status = 422
    type = "outbound-too-large"
    title = "The response is too large"


class OutboundUnreachable(OutboundError):
    type = "outbound-unreachable"
    title = "The server could not be reached"


class OutboundTooManyRedirects(OutboundError):
    type = "outbound-too-many-redirects"
    title = "Too many redirects"


class OutboundHTTPError(OutboundError):
    type = "outbound-http-error"
    title = "The server answered with an error"

    def __init__(self, reason: str, *, status_code: int) -> None:
        super().__init__(reason)
        self.status_code = status_code


@dataclass(frozen=True)
class Redirect:
    status: int
    from_url: str
    to_url: str

    @property
    def permanent(self) -> bool:
        return self.status in PERMANENT_REDIRECTS


@dataclass(frozen=True)
class FetchResult:
    """The final response. `permanent_url` is where the unbroken run of permanent redirects (301/308) from the
    requested URL ends, i.e. the address to store instead of the old one; None when the first hop was temporary
    (302/303/307) or there was no redirect."""

    url: str
    final_url: str
    status: int
    content: bytes
    headers: dict[str, str]
    not_modified: bool
    redirects: tuple[Redirect, ...]

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def permanent_url(self) -> str | None:
        moved: str | None = None
        for hop in self.redirects:
            if not hop.permanent:
                break
            moved = hop.to_url
        return moved


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """The CA bundle httpx would load, loaded once: building it for every request costs tens of milliseconds."""
    return ssl.create_default_context(cafile=certifi.where())


def settings_allow_hosts() -> set[str]:
    raw = get_settings().outbound_allow_hosts
    return {entry.strip().lower() for entry in raw.split(",") if entry.strip()}


def _size(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):g} MB"
    if limit >= 1024:
        return f"{limit / 1024:g} KB"
    return f"{limit} bytes"


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(ip: IPAddress) -> bool:
    """True only for globally routable unicast addresses (and their IPv6 wrappings of such)."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_public_address(embedded)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_private or ip.is_loopback)


async def _resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _allowlisted(url: httpx.URL, allowed: set[str]) -> bool:
    host = url.host.lower()
    port = url.port or (443 if url.scheme == "https" else 80)
    written = f"[{host}]" if ":" in host else host
    return bool({host, written, f"{written}:{port}"} & allowed)


async def _checked_addresses(url: httpx.URL, allowed: set[str], label: str) -> list[str]:
    if url.scheme not in ("http", "https"):
        raise OutboundRefused(f"the {label} address must start with http:// or https://")
    if not url.host:
        raise OutboundRefused(f"the {label} address has no host name")
    host = url.raw_host.decode("ascii")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        addresses = await _resolve(host, port)
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundUnreachable(f"the {label} address's host {url.host!r} could not be found") from exc
    if not addresses:
        raise OutboundUnreachable(f"the {label} address's host {url.host!r} could not be found")
    if not _allowlisted(url, allowed):
        for address in addresses:
            if not is_public_address(ipaddress.ip_address(address.split("%", 1)[0])):
                raise OutboundRefused(f"the {label} address points to a private network address")
    return addresses


def _pinned_request(
    client: httpx.AsyncClient, method: str, url: httpx.URL, address: str, headers: dict[str, str], content: bytes | None
) -> httpx.Request:
    extensions = {}
    if url.scheme == "https" and url.host != address:
        extensions["sni_hostname"] = url.raw_host.decode("ascii")
    pinned = url.copy_with(host=address.split("%", 1)[0])
    request_headers = {**headers, "Host": url.netloc.decode("ascii")}
    return client.build_request(method, pinned, headers=request_headers, content=content, extensions=extensions)


async def _send_pinned(
    client: httpx.AsyncClient, method: str, url: httpx.URL, addresses: list[str], headers: dict[str, str],
    content: bytes | None, label: str,
) -> httpx.Response:  # fmt: skip
    failure: Exception | None = None
    for address in addresses:
        try:
            return await client.send(_pinned_request(client, method, url, address, headers, content), stream=True)
        except httpx.ConnectError as exc:
            failure = exc
    raise OutboundUnreachable(f"could not connect to the {label} server {url.host!r}") from failure


async def _read_capped(response: httpx.Response, max_bytes: int, label: str) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise OutboundTooLarge(f"the {label} is larger than {_size(max_bytes)}")
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.aiter_bytes():
        received += len(chunk)
        if received > max_bytes:
            raise OutboundTooLarge(f"the {label} is larger than {_size(max_bytes)}")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_url(raw: str | httpx.URL, label: str) -> httpx.URL:
    try:
        return httpx.URL(raw)
    except (httpx.InvalidURL, TypeError) as exc:
        raise OutboundRefused(f"the {label} address is not a valid URL") from exc


async def _exchange(
    client: httpx.AsyncClient, method: str, start: httpx.URL, *, headers: dict[str, str], content: bytes | None,
    max_bytes: int, allowed: set[str], follow_redirects: int, label: str,
) -> FetchResult:  # fmt: skip
    url = start
    redirects: list[Redirect] = []
    while True:
        addresses = await _checked_addresses(url, allowed, label)
        response = await _send_pinned(client, method, url, addresses, headers, content, label)
        try:
            location = response.headers.get("location")
            if response.status_code in REDIRECTS and location and method in ("GET", "HEAD"):
                if len(redirects) >= follow_redirects:
                    raise OutboundTooManyRedirects(f"the {label} address redirects more than {follow_redirects} times")
                target = _parse_url(url.join(location), label)
                redirects.append(Redirect(response.status_code, str(url), str(target)))
                url = target
                continue
            body = b"" if response.status_code == 304 else await _read_capped(response, max_bytes, label)
        finally:
            await response.aclose()
        return FetchResult(
            url=str(start),
            final_url=str(url),
            status=response.status_code,
            content=body,
            headers={name.lower(): value for name, value in response.headers.items()},
            not_modified=response.status_code == 304,
            redirects=tuple(redirects),
        )


def is_allowlisted(url: str) -> bool:
    """Whether the URL's host is on OUTBOUND_ALLOW_HOSTS (the tests' local servers): such a host skips the address
    check, and may be reached over plain http where https is otherwise required."""
    return _allowlisted(_parse_url(url, "remote"), settings_allow_hosts())


async def check_destination(url: str, *, label: str = "remote") -> None:
    """Refuse, without connecting, an address that `request` would refuse: not http(s), no host, a host that is not
    found or that resolves to a private address. Sending checks again at connect time (the DNS may change)."""
    await _checked_addresses(_parse_url(url, label), settings_allow_hosts(), label)


async def request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - one deadline over DNS, redirects and body, named in errors
    max_bytes: int = DEFAULT_MAX_BYTES,
    allow_hosts: Iterable[str] | None = None,
    follow_redirects: int = 0,
    label: str = "remote",
) -> FetchResult:
    """One checked exchange; any status is returned (redirects are followed only for GET and HEAD).

    `allow_hosts=None` uses the OUTBOUND_ALLOW_HOSTS setting; a given collection (even empty) replaces it.
    """
    start = _parse_url(url, label)
    allowed = settings_allow_hosts() if allow_hosts is None else {entry.strip().lower() for entry in allow_hosts}
    client = httpx.AsyncClient(
        trust_env=False, follow_redirects=False, timeout=httpx.Timeout(timeout), headers={"User-Agent": USER_AGENT},
        verify=_tls_context(),
    )  # fmt: skip
    try:
        async with client, asyncio.timeout(timeout):
            return await _exchange(
                client, method.upper(), start, headers=dict(headers or {}), content=content, max_bytes=max_bytes,
                allowed=allowed, follow_redirects=follow_redirects, label=label,
            )  # fmt: skip
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise OutboundTimeout(f"the server took longer than {timeout:g} s") from exc
    except httpx.HTTPError as exc:
        raise OutboundUnreachable(f"the connection to the {label} server failed ({type(exc).__name__})") from exc


async def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - one deadline over DNS, redirects and body, named in errors
    max_bytes: int = DEFAULT_MAX_BYTES,
    allow_hosts: Iterable[str] | None = None,
    follow_redirects: int = MAX_REDIRECTS,
    label: str = "feed",
) -> FetchResult:
    """Conditional GET of a document; a 304 comes back as `not_modified`, any 4xx/5xx raises OutboundHTTPError."""
    headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    result = await request(
        "GET", url, headers=headers, timeout=timeout, max_bytes=max_bytes, allow_hosts=allow_hosts,
        follow_redirects=follow_redirects, label=label,
    )  # fmt: skip
    if result.status >= 400:
        reason = httpx.codes.get_reason_phrase(result.status)
        raise OutboundHTTPError(f"the server answered {result.status} {reason}".strip(), status_code=result.status)
    return result
