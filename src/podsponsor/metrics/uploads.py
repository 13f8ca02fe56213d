"""A multipart upload read as it arrives: the file part goes straight to disk (hashed on the way, refused past the
size cap), the few text fields stay in memory. Nothing waits for the whole body before the cap can bite.

Framework-free: it takes the body as an async iterator of bytes and the request's Content-Type.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from podsponsor.errors import PayloadTooLarge, ValidationFailed

FILE_FIELD = "file"
TEXT_FIELDS = frozenset({"preset", "mapping", "source"})
MAX_TEXT_FIELD = 64 * 1024
MULTIPART_SLACK = 64 * 1024  # boundaries, part headers and text fields beside the file


def too_large(max_bytes: int) -> PayloadTooLarge:
    megabytes = max_bytes / (1024 * 1024)
    return PayloadTooLarge(
        f"the file is larger than {megabytes:g} MB, the most this server accepts", max_bytes=max_bytes
    )


def bad_upload(reason: str, name: str = FILE_FIELD) -> ValidationFailed:
    return ValidationFailed("the upload is not valid", errors=[{"field": name, "reason": reason}])


def safe_file_name(raw: str) -> str:
    """The client's file name as a label: no folders, no control characters, at most 255 characters."""
    name = re.split(r"[\\/]", raw)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:255] or "upload.csv"


@dataclass
class Received:
    file_name: str = ""
    size: int = 0
    sha256: str = ""
    head: bytes = b""
    has_file: bool = False
    fields: dict[str, str] = field(default_factory=dict)


class _Reader:
    def __init__(self, destination: Path | None, max_bytes: int, keep: int) -> None:
        self.destination = destination
        self.max_bytes = max_bytes
        self.keep = keep
        self.received = Received()
        self.hasher = hashlib.sha256()
        self.out: IO[bytes] | None = None
        self.head = bytearray()
        self.part: str | None = None
        self.text = bytearray()
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.disposition = b""

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": lambda data, start, end: self.header_name.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self.header_value.extend(data[start:end]),
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
        }

    def part_begin(self) -> None:
        self.part, self.disposition = None, b""
        self.text.clear()

    def header_end(self) -> None:
        if bytes(self.header_name).lower() == b"content-disposition":
            self.disposition = bytes(self.header_value)
        self.header_name.clear()
        self.header_value.clear()

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name == FILE_FIELD:
            if self.received.has_file:
                raise bad_upload("send one file per upload")
            self.received.has_file = True
            self.received.file_name = safe_file_name(options.get(b"filename", b"").decode("utf-8", "replace"))
            if self.destination is not None:
                self.destination.parent.mkdir(parents=True, exist_ok=True)
                self.out = self.destination.open("wb")
        elif name not in TEXT_FIELDS:
            raise bad_upload(f"not a field of this form (fields: file, {', '.join(sorted(TEXT_FIELDS))})", name)
        elif name in self.received.fields:
            raise bad_upload("given twice", name)
        self.part = name

    def part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self.part == FILE_FIELD:
            self.received.size += len(chunk)
            if self.received.size > self.max_bytes:
                raise too_large(self.max_bytes)
            self.hasher.update(chunk)
            if len(self.head) < self.keep:
                self.head.extend(chunk[: self.keep - len(self.head)])
            if self.out is not None:
                self.out.write(chunk)
        elif self.part is not None:
            self.text.extend(chunk)
            if len(self.text) > MAX_TEXT_FIELD:
                raise bad_upload(f"longer than {MAX_TEXT_FIELD // 1024} KB", self.part)

    def part_end(self) -> None:
        if self.part == FILE_FIELD:
            if self.out is not None:
                self.out.close()
                self.out = None
        elif self.part is not None:
            try:
                self.received.fields[self.part] = self.text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise bad_upload("not UTF-8 text", self.part) from exc
        self.part = None

    def close(self) -> None:
        if self.out is not None:
            self.out.close()


async def receive(
    body: AsyncIterator[bytes],
    content_type: str | None,
    *,
    max_bytes: int,
    destination: Path | None = None,
    keep: int = 0,
) -> Received:
    """Read a multipart body; the file part goes to `destination` (when given) and its first `keep` bytes are
    kept in memory. On any failure the partial file is removed."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise bad_upload("send the file as multipart/form-data in a field named 'file'")
    reader = _Reader(destination, max_bytes, keep)
    parser = MultipartParser(boundary, reader.callbacks())
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        _discard(reader, destination)
        raise bad_upload(f"the multipart body is malformed ({exc})") from exc
    except BaseException:
        _discard(reader, destination)
        raise
    reader.close()
    if not reader.received.has_file:
        _discard(reader, destination)
        raise bad_upload("attach the CSV file in a field named 'file'")
    reader.received.sha256 = reader.hasher.hexdigest()
    reader.received.head = bytes(reader.head)
    return reader.received


def _discard(reader: _Reader, destination: Path | None) -> None:
    reader.close()
    if destination is not None:
        destination.unlink(missing_ok=True)
