"""Login throttling: a sliding window of failures per e-mail+address and per address.

In-process by default; a Redis-backed window replaces it when REDIS_URL is set and several app processes run.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class LoginThrottle:
    def __init__(self, max_failures: int, window_seconds: int) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _keys(self, email: str, address: str) -> tuple[str, str]:
        # The per-address limit is wider: one office may share an address.
        return f"e:{email.lower()}|{address}", f"a:{address}"

    def retry_after(self, email: str, address: str) -> int:
        """Seconds until another attempt is allowed; 0 when allowed now."""
        now = time.monotonic()
        waits = []
        for key, limit in zip(self._keys(email, address), (self.max_failures, self.max_failures * 10), strict=True):
            with self._lock:
                window = self._failures[key]
                while window and window[0] <= now - self.window:
                    window.popleft()
                if len(window) >= limit:
                    waits.append(int(window[0] + self.window - now) + 1)
        return max(waits, default=0)

    def failed(self, email: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in self._keys(email, address):
                self._failures[key].append(now)

    def succeeded(self, email: str, address: str) -> None:
        with self._lock:
            self._failures.pop(self._keys(email, address)[0], None)
