"""Reading a CSV file as spreadsheets write it: any BOM, `,` `;` or tab, rows counted as the spreadsheet counts them.

Row numbers are the spreadsheet's: the header is row 1, the first data row row 2 (blank lines before the header
are counted too). Text must be UTF-8 (with or without BOM) or UTF-16 with a BOM; anything else stops the read at
the row where the first undecodable byte sits. A record the csv module cannot read (a cell over its size limit)
becomes a `Malformed` in its chunk, so the rows after it keep their numbers.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from itertools import chain, islice
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

DELIMITERS = (",", ";", "\t")
CHUNK_ROWS = 10_000
_QUOTED = re.compile(r'"[^"]*"')


class Malformed:
    """A record the csv module refused, in place of its cells."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


Rows = list[list[str] | Malformed]


class FileProblem(Exception):
    """The file cannot be read on: `row` is where, `reason` what is wrong."""

    def __init__(self, row: int | None, reason: str, value: str | None = None) -> None:
        super().__init__(reason)
        self.row = row
        self.reason = reason
        self.value = value


def encoding_of(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8"


def sniff_delimiter(line: str) -> str:
    """The most frequent candidate outside quoted cells; a one-column header falls back to a comma."""
    bare = _QUOTED.sub("", line)
    counts = {candidate: bare.count(candidate) for candidate in DELIMITERS}
    best = max(DELIMITERS, key=lambda candidate: counts[candidate])
    return best if counts[best] else ","


def csv_error_reason(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return f"a cell is longer than {csv.field_size_limit():,} characters"
    return f"not readable as CSV ({text})"


class CsvFile:
    """An open CSV file (a path, or bytes already in memory): the header, then chunks of rows."""

    def __init__(self, source: Path | bytes) -> None:
        self._raw: BinaryIO = io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")
        self.size = self._raw.seek(0, io.SEEK_END)
        self._raw.seek(0)
        self.encoding = encoding_of(self._raw.read(4))
        self._raw.seek(0)
        self._text = io.TextIOWrapper(self._raw, encoding=self.encoding, newline="", errors="strict")
        self.header_row = 1
        self.header: list[str] = []
        self.delimiter = ","
        self._reader: Any = None
        self._malformed = False

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._text.close()

    def read_header(self) -> list[str]:
        first = self._decoding(self._first_line)
        if first is None:
            raise FileProblem(1, "the file is empty")
        self.delimiter = sniff_delimiter(first)
        self._reader = csv.reader(chain([first], self._text), delimiter=self.delimiter)
        try:
            self.header = self._decoding(lambda: next(self._reader))
        except csv.Error as exc:
            raise FileProblem(self.header_row, csv_error_reason(exc)) from exc
        return self.header

    def _first_line(self) -> str | None:
        while line := self._text.readline():
            if line.strip():
                return line
            self.header_row += 1
        return None

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[tuple[int, Rows, bool]]:
        """(row number of the chunk's first row, its rows, whether any of them is `Malformed`)."""
        row = self.header_row + 1
        while True:
            self._malformed = False
            rows = self._decoding(lambda: self._take(size))
            if not rows:
                return
            yield row, rows, self._malformed
            row += len(rows)

    def _take(self, size: int) -> Rows:
        rows: Rows = []
        while True:
            try:
                rows.extend(islice(self._reader, size - len(rows)))
                return rows
            except csv.Error as exc:
                rows.append(Malformed(csv_error_reason(exc)))
                self._malformed = True
                if len(rows) >= size:
                    return rows

    def position(self) -> float:
        """How far through the file reading has come, 0 to 1 (by bytes buffered, so a little ahead)."""
        return min(1.0, self._raw.tell() / self.size) if self.size else 1.0

    def _decoding(self, read: Any) -> Any:
        try:
            return read()
        except UnicodeDecodeError as exc:
            row, byte = first_bad_byte(self._raw, self.encoding)
            reason = f"not UTF-8 text (byte 0x{byte:02X}): save the file as 'CSV UTF-8' and upload it again"
            raise FileProblem(row, reason) from exc


def first_bad_byte(raw: BinaryIO, encoding: str) -> tuple[int, int]:
    """The line of the first byte that does not decode, and the byte."""
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    raw.seek(0)
    while chunk := raw.read(1 << 20):
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            data = exc.object
            return line + data.count(b"\n", 0, exc.start), data[exc.start]
        line += chunk.count(b"\n")
    return line, 0
