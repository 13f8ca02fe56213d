"""A real HTTP server on 127.0.0.1 that serves feeds the way hosting platforms do.

- `/feeds/<path>`: files under shared/data/feeds, with ETag and Last-Modified (304 when unchanged);
- `/live/<key>`: bytes a test sets with `FeedServer.put(key, body)`, validators included;
- `/moved/<path>` answers 301 to `/<path>`, `/temporary/<path>` answers 302.
Every request is recorded, so a test can tell whether a fetch reached the server.
"""

from __future__ import annotations

import hashlib
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "feeds"
STARTED = formatdate(usegmt=True)


class FeedServer:
    def __init__(self) -> None:
        self.live: dict[str, bytes] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                owner.answer(self)

            def log_message(self, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def put(self, key: str, body: bytes) -> str:
        self.live[key] = body
        return self.url(f"/live/{key}")

    def hits(self, path: str) -> int:
        return sum(1 for seen, _ in self.requests if seen == path)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        for prefix, status in (("/moved/", 301), ("/temporary/", 302)):
            if path.startswith(prefix):
                handler.send_response(status)
                handler.send_header("Location", "/" + path[len(prefix) :])
                handler.send_header("Content-Length", "0")
                handler.end_headers()
                return
        body = self._body(path)
        if body is None:
            handler.send_error(404)
            return
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if handler.headers.get("If-None-Match") == etag:
            handler.send_response(304)
            handler.send_header("ETag", etag)
            handler.end_headers()
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        handler.send_header("ETag", etag)
        handler.send_header("Last-Modified", STARTED)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _body(self, path: str) -> bytes | None:
        if path.startswith("/live/"):
            return self.live.get(path[len("/live/") :])
        if path.startswith("/feeds/"):
            file = (FEEDS / path[len("/feeds/") :]).resolve()
            if FEEDS in file.parents and file.is_file():
                return file.read_bytes()
        return None


def synthetic_feed(items: int, *, title: str = "Synthetic Show", prefix: str = "", guid_prefix: str = "syn") -> bytes:
    """An RSS feed of `items` episodes with every field a podcast app reads."""
    entries = "".join(
        f"""<item><title>Episode {n}</title><guid isPermaLink="false">{guid_prefix}-{n}</guid>
<pubDate>Mon, 02 Mar 2026 10:{n % 60:02d}:00 +0000</pubDate><itunes:duration>{n % 3600}</itunes:duration>
<itunes:episode>{n}</itunes:episode><description><![CDATA[<p>Notes for <b>{n}</b></p>]]></description>
<enclosure url="{prefix}https://cdn.example.com/audio/{n}.mp3" length="{1000 + n}" type="audio/mpeg"/></item>"""
        for n in range(1, items + 1)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>{title}</title>
<link>https://example.com/show</link><description>A show made for tests</description><language>en</language>
<itunes:category text="Technology"/>{entries}</channel></rss>""".encode()
