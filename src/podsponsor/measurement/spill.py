"""The durable spill: where hits go while the database is away, until they are replayed into it.

Append-only JSON-lines segments in one directory per database. A process appends to a segment of its own, which
it holds under an exclusive `flock` for as long as it writes to it; a batch is acknowledged only after its lines are
written and `fsync`ed. Replay claims a segment by taking the same lock (a live process's open segment is skipped; a
crashed process's is free), re-inserts its hits in file order, and deletes the file only after they committed.
Segment names start with their creation time, so replaying in name order replays in arrival order.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from podsponsor.measurement.hit_models import Hit

log = logging.getLogger(__name__)

SUFFIX = ".jsonl"
REJECTED = "rejected"


def encode(hit: Hit) -> str:
    return json.dumps(
        {
            "id": str(hit.id),
            "ts": hit.ts.isoformat(),
            "token": hit.token,
            "tenant_id": str(hit.tenant_id) if hit.tenant_id else None,
            "podcast_id": str(hit.podcast_id) if hit.podcast_id else None,
            "method": hit.method,
            "url": hit.url,
            "destination": hit.destination,
            "range_header": hit.range_header,
            "user_agent": hit.user_agent,
            "referer": hit.referer,
            "ip_hash": hit.ip_hash,
            "country": hit.country,
            "datacenter": hit.datacenter,
            "status": hit.status,
        },
        separators=(",", ":"),
    )


def decode(line: str) -> Hit:
    raw: dict[str, Any] = json.loads(line)
    return Hit(
        id=uuid.UUID(raw["id"]),
        ts=datetime.fromisoformat(raw["ts"]),
        token=raw["token"],
        tenant_id=uuid.UUID(raw["tenant_id"]) if raw["tenant_id"] else None,
        podcast_id=uuid.UUID(raw["podcast_id"]) if raw["podcast_id"] else None,
        method=raw["method"],
        url=raw["url"],
        destination=raw["destination"],
        range_header=raw["range_header"],
        user_agent=raw["user_agent"],
        referer=raw["referer"],
        ip_hash=raw["ip_hash"],
        country=raw["country"],
        datacenter=raw["datacenter"],
        status=int(raw["status"]),
    )


class Segment:
    """A claimed segment being replayed: read it in batches, then `finish` (delete) or `reject` (set aside)."""

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path = path
        self._handle = handle
        self.skipped = 0

    def read(self, count: int) -> list[Hit]:
        hits: list[Hit] = []
        while len(hits) < count:
            line = self._handle.readline()
            if not line:
                break
            try:
                hits.append(decode(line))
            except (ValueError, KeyError, TypeError):
                # Only a write cut short by a crash can leave a broken line, and such a batch was never acknowledged.
                self.skipped += 1
        return hits

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)
        self._handle.close()

    def reject(self) -> Path:
        target = self.path.parent / REJECTED / self.path.name
        target.parent.mkdir(exist_ok=True)
        os.replace(self.path, target)
        self._handle.close()
        return target

    def release(self) -> None:
        self._handle.close()


class Spill:
    """Blocking file operations: call them from a worker thread (`asyncio.to_thread`), never on the event loop."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._current: tuple[Path, int] | None = None

    def append(self, hits: Sequence[Hit]) -> None:
        """Durably add `hits`; returns only once they are on disk. On failure the segment is left as it was."""
        data = "".join(encode(hit) + "\n" for hit in hits).encode()
        with self._lock:
            path, fd = self._current or self._open_segment()
            self._current = (path, fd)
            size = os.lseek(fd, 0, os.SEEK_END)
            try:
                written = 0
                while written < len(data):
                    written += os.write(fd, data[written:])
                os.fsync(fd)
            except OSError:
                # A partial line would glue itself to the next batch's first line: cut back to the last full batch.
                os.ftruncate(fd, size)
                raise

    def pending(self) -> bool:
        return any(self._segments())

    def seal(self) -> None:
        """Stop appending to the current segment (new batches start another), so that it can be replayed."""
        with self._lock:
            if self._current is not None:
                _, fd = self._current
                os.close(fd)
                self._current = None

    def claim_next(self) -> Segment | None:
        """The oldest segment no live process is writing to, locked for replay; None when there is none."""
        own = self._current[0] if self._current else None
        for path in self._segments():
            if path == own:
                continue
            try:
                handle = path.open(encoding="utf-8")
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            if not path.exists():  # replayed and deleted by another process between listing and locking
                handle.close()
                continue
            return Segment(path, handle)
        return None

    def close(self) -> None:
        self.seal()

    def _segments(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob(f"*{SUFFIX}"))

    def _open_segment(self) -> tuple[Path, int]:
        """A new segment, locked before it becomes visible under its name, so no replayer can claim it empty."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}"
        staging = self.directory / f".{name}.new"
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        path = self.directory / name
        os.rename(staging, path)
        _fsync_directory(self.directory)
        log.warning("hits are spilling to %s", path)
        return path, fd


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
