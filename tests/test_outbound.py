"""Outbound fetching against a real HTTP server on 127.0.0.1: caching, redirects, limits, and SSRF refusals."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from podsponsor import outbound
from podsponsor.catalog.feeds import FeedParseError, parse_feed
from podsponsor.config import reset_settings
from tests.catalog.feeds.builders import FEEDS_DIR

FEED = b'<?xml version="1.0"?><rss><channel><title>Local</title></channel></rss>'
ETAG = '"v1"'
LAST_MODIFIED = "Mon, 13 Jul 2020 04:00:00 GMT"
REDIRECTS = {
    "/moved": (301, "/feed.xml"),
    "/found": (302, "/feed.xml"),
    "/perm308": (308, "/temp307"),
    "/temp307": (307, "/feed.xml"),
    "/chain": (301, "/chain2"),
    "/chain2": (302, "/feed.xml"),
    "/loop": (302, "/loop"),
    "/to-metadata": (302, "http://169.254.169.254/latest/meta-data/"),
    "/to-file": (302, "file:///etc/passwd"),
}


class Handler(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, dict[str, str]]]] = []

    def log_message(self, format: str, *args: object) -> None:
        return

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        Handler.seen.append((self.path, {name.lower(): value for name, value in self.headers.items()}))
        try:
            self._answer()
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up on purpose (size cap, deadline)

    def _answer(self) -> None:
        if self.path in REDIRECTS:
            status, location = REDIRECTS[self.path]
            self._send(status, b"", {"Location": location})
        elif self.path == "/feed.xml":
            if self.headers.get("If-None-Match") == ETAG or self.headers.get("If-Modified-Since") == LAST_MODIFIED:
                self._send(304, b"", {"ETag": ETAG, "Content-Length": "0"})
            else:
                self._send(200, FEED, {"ETag": ETAG, "Last-Modified": LAST_MODIFIED, "Content-Type": "application/xml"})
        elif self.path == "/declared-big":
            self._send(200, b"x" * 10, {"Content-Length": str(50 * 1024 * 1024)})
        elif self.path == "/streamed-big":
            self.send_response(200)
            self.end_headers()
            for _ in range(64):
                self.wfile.write(b"x" * 1024)
        elif self.path == "/slow":
            time.sleep(3)
            self._send(200, FEED)
        elif self.path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.05)
        elif self.path.startswith("/feeds/"):
            path = (FEEDS_DIR / self.path.removeprefix("/feeds/")).resolve()
            if FEEDS_DIR.resolve() in path.parents and path.is_file():
                self._send(200, path.read_bytes(), {"Content-Type": "application/rss+xml"})
            else:
                self._send(404, b"")
        elif self.path == "/host":
            self._send(200, self.headers.get("Host", "").encode())
        else:
            self._send(404, b"not here")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def seen() -> list[tuple[str, dict[str, str]]]:
    Handler.seen.clear()
    return Handler.seen


LOCAL = {"127.0.0.1"}


async def test_conditional_get_answers_not_modified_the_second_time(server: str, seen: list) -> None:
    first = await outbound.fetch(f"http://{server}/feed.xml", allow_hosts=LOCAL)
    assert (first.status, first.content, first.not_modified) == (200, FEED, False)
    assert (first.etag, first.last_modified, first.content_type) == (ETAG, LAST_MODIFIED, "application/xml")
    again = await outbound.fetch(f"http://{server}/feed.xml", etag=first.etag, allow_hosts=LOCAL)
    assert (again.status, again.not_modified, again.content) == (304, True, b"")
    dated = await outbound.fetch(f"http://{server}/feed.xml", last_modified=LAST_MODIFIED, allow_hosts=LOCAL)
    assert dated.not_modified
    assert seen[1][1]["if-none-match"] == ETAG
    assert seen[2][1]["if-modified-since"] == LAST_MODIFIED
    assert seen[0][1]["user-agent"].startswith("podsponsor-feed-fetcher/")


async def test_every_shared_feed_arrives_intact_over_http(server: str) -> None:
    files = sorted(path for path in FEEDS_DIR.rglob("*") if path.suffix in (".rss", ".xml"))
    assert len(files) >= 80
    for path in files:
        relative = path.relative_to(FEEDS_DIR).as_posix()
        result = await outbound.fetch(f"http://{server}/feeds/{relative}", allow_hosts=LOCAL)
        assert result.content == path.read_bytes(), relative
        try:
            fetched = parse_feed(result.content, result.final_url)
        except FeedParseError:
            assert path.name == "not-xml.rss"
            continue
        direct = parse_feed(path.read_bytes(), result.final_url)
        assert [e.guid for e in fetched.episodes] == [e.guid for e in direct.episodes], relative


@pytest.mark.parametrize(
    ("path", "statuses", "permanent"),
    [
        ("/moved", [301], "/feed.xml"),
        ("/found", [302], None),
        ("/perm308", [308, 307], "/temp307"),
        ("/chain", [301, 302], "/chain2"),
    ],
)
async def test_redirects_report_only_permanent_moves(
    server: str, path: str, statuses: list[int], permanent: str | None
) -> None:
    result = await outbound.fetch(f"http://{server}{path}", allow_hosts=LOCAL)
    assert result.content == FEED
    assert [hop.status for hop in result.redirects] == statuses
    assert result.final_url == f"http://{server}/feed.xml"
    assert result.permanent_url == (f"http://{server}{permanent}" if permanent else None)


async def test_redirect_loops_stop_after_five_hops(server: str, seen: list) -> None:
    with pytest.raises(outbound.OutboundTooManyRedirects, match="more than 5 times"):
        await outbound.fetch(f"http://{server}/loop", allow_hosts=LOCAL)
    assert len(seen) == 6


@pytest.mark.parametrize("path", ["/to-metadata", "/to-file"])
async def test_every_redirect_hop_is_checked_again(server: str, seen: list, path: str) -> None:
    with pytest.raises(outbound.OutboundRefused):
        await outbound.fetch(f"http://{server}{path}", allow_hosts=LOCAL)
    assert [request[0] for request in seen] == [path]


async def test_size_cap_refuses_declared_and_streamed_bodies(server: str) -> None:
    with pytest.raises(outbound.OutboundTooLarge, match="the feed is larger than 20 MB"):
        await outbound.fetch(f"http://{server}/declared-big", allow_hosts=LOCAL)
    with pytest.raises(outbound.OutboundTooLarge, match="larger than 32 KB"):
        await outbound.fetch(f"http://{server}/streamed-big", allow_hosts=LOCAL, max_bytes=32 * 1024)


async def test_slow_servers_hit_one_total_deadline(server: str) -> None:
    started = time.perf_counter()
    with pytest.raises(outbound.OutboundTimeout, match=r"the server took longer than 0\.5 s"):
        await outbound.fetch(f"http://{server}/slow", allow_hosts=LOCAL, timeout=0.5)
    with pytest.raises(outbound.OutboundTimeout):
        await outbound.fetch(f"http://{server}/trickle", allow_hosts=LOCAL, timeout=1.0)
    assert time.perf_counter() - started < 3


async def test_error_statuses_raise_with_the_status(server: str) -> None:
    with pytest.raises(outbound.OutboundHTTPError, match="404 Not Found") as caught:
        await outbound.fetch(f"http://{server}/missing", allow_hosts=LOCAL)
    assert caught.value.status_code == 404


@pytest.mark.parametrize(
    "host",
    [
        "{server}",
        "10.1.2.3:{port}",
        "169.254.169.254",
        "[::1]:{port}",
        "[::ffff:127.0.0.1]:{port}",
        "0x7f000001:{port}",
        "2130706433:{port}",
        "0177.0.0.1:{port}",
        "127.1:{port}",
        "localhost:{port}",
        "0.0.0.0:{port}",
        "[fe80::1]:{port}",
    ],
)
async def test_private_targets_are_refused_before_any_request(server: str, seen: list, host: str) -> None:
    address = host.format(server=server, port=server.rsplit(":", 1)[1])
    # Forms httpx itself rejects (octal "0177.0.0.1") are refused as invalid, which is just as safe.
    with pytest.raises(outbound.OutboundRefused, match=r"points to a private network address|not a valid URL"):
        await outbound.fetch(f"http://{address}/feed.xml", allow_hosts=set(), timeout=2)
    assert seen == []


@pytest.mark.parametrize("url", ["ftp://example.com/feed.xml", "file:///etc/passwd", "gopher://127.0.0.1/"])
async def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(outbound.OutboundRefused, match="must start with http"):
        await outbound.fetch(url, allow_hosts=set())


async def test_a_name_resolving_to_a_private_address_is_refused(
    server: str, seen: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "127.0.0.1"]

    monkeypatch.setattr(outbound, "_resolve", resolve)
    with pytest.raises(outbound.OutboundRefused):
        await outbound.fetch(f"http://rebind.example.com:{server.rsplit(':', 1)[1]}/feed.xml", allow_hosts=set())
    assert seen == []


async def test_the_connection_goes_to_the_checked_address_with_the_original_host(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The name does not exist in DNS: the exchange works only because the checked address is used directly.
    async def resolve(host: str, port: int) -> list[str]:
        assert host == "feeds.pinned.test"
        return ["127.0.0.1"]

    monkeypatch.setattr(outbound, "_resolve", resolve)
    port = server.rsplit(":", 1)[1]
    result = await outbound.fetch(f"http://feeds.pinned.test:{port}/host", allow_hosts={"feeds.pinned.test"})
    assert result.content == f"feeds.pinned.test:{port}".encode()


async def test_the_allowlist_setting_comes_from_the_environment(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTBOUND_ALLOW_HOSTS", f"example.org, {server}")
    reset_settings()
    try:
        result = await outbound.fetch(f"http://{server}/feed.xml")
        assert result.content == FEED
        with pytest.raises(outbound.OutboundRefused):
            await outbound.fetch(f"http://127.0.0.1:{int(server.rsplit(':', 1)[1]) + 1}/feed.xml")
    finally:
        monkeypatch.delenv("OUTBOUND_ALLOW_HOSTS")
        reset_settings()


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700:4700::1111", True),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("100.64.0.1", False),
        ("127.0.0.1", False),
        ("169.254.169.254", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("0.0.0.0", False),  # noqa: S104 - an address under test, not a bind
        ("::1", False),
        ("::", False),
        ("fc00::1", False),
        ("fe80::1", False),
        ("ff02::1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:93.184.216.34", True),
        ("2002:7f00:1::", False),
        ("64:ff9b::a9fe:a9fe", False),
    ],
)
def test_address_classification(address: str, public: bool) -> None:
    assert outbound.is_public_address(ipaddress.ip_address(address)) is public
