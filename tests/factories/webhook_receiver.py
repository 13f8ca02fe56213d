"""A real HTTP server on 127.0.0.1 that receives outbound webhooks the way a customer's endpoint would.

It records every request (headers, raw body, arrival time) and answers with the status a test sets, or with the
next of a scripted series. `hold_next(seconds)` keeps the next request open that long before answering (`held` is set
when it arrives), so that a test can kill the sender while the request is in flight.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time()

    @property
    def message_id(self) -> str:
        return self.headers.get("webhook-id", "")


class WebhookReceiver:
    def __init__(self, status: int = 200, *, hold_first: float = 0.0) -> None:
        self.status = status
        self.script: list[int] = []
        self.received: list[Received] = []
        self.held = threading.Event()
        self._hold = hold_first
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, hold = owner._take(Received(self.path, headers, body, time.time()))
                if hold:
                    time.sleep(hold)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    return  # the sender went away while we held the request

            def log_message(self, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def hold_next(self, seconds: float) -> None:
        with self._lock:
            self._hold = seconds
            self.held.clear()

    def _take(self, request: Received) -> tuple[int, float]:
        with self._lock:
            self.received.append(request)
            status = self.script.pop(0) if self.script else self.status
            hold, self._hold = self._hold, 0.0
        if hold:
            self.held.set()
        return status, hold

    def url(self, path: str = "/hook") -> str:
        return f"{self.base}{path}"

    def message_ids(self) -> list[str]:
        with self._lock:
            return [r.message_id for r in self.received]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def receiving(status: int = 200, *, hold_first: float = 0.0) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(status, hold_first=hold_first)
    try:
        yield receiver
    finally:
        receiver.stop()
