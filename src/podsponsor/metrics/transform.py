"""A chunk of CSV rows in, COPY text for the staging table out, and every bad cell written down.

Checks run column by column over the chunk (see values.py), so a clean chunk costs a few passes in C; only rows
that fail are looked at one by one. The staging row carries its spreadsheet row number, which is how duplicate
keys found later in SQL are reported by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from podsponsor.metrics.csv_reader import Malformed, Rows
from podsponsor.metrics.episodes import KEY_FIELDS, EpisodeIndex
from podsponsor.metrics.presets import Layout
from podsponsor.metrics.values import (
    NULL,
    BadValue,
    CellErrors,
    DayColumn,
    count_column,
    money_column,
    rate_column,
)

MAX_ERRORS_KEPT = 1000
MAX_VALUE_CHARS = 200
TOTAL_MARKERS = frozenset({"total", "totals", "total:", "totals:", "grand total", "grand totals"})
STAGING_COLUMNS = (
    "row_no",
    "day",
    "episode_id",
    "podcast_id",
    "source",
    "downloads",
    "listeners",
    "completion_rate",
    "ctr",
    "conversions",
    "revenue_cents",
)
COUNTS = ("downloads", "listeners", "conversions")


@dataclass
class ErrorLog:
    """Every error is counted; the first `limit` are kept, in the order rows were read."""

    limit: int = MAX_ERRORS_KEPT
    kept: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0

    def add(
        self, row: int | None, column: str | None, value: str | None, reason: str, suggestion: str | None = None
    ) -> None:
        self.count += 1
        if len(self.kept) >= self.limit:
            return
        entry: dict[str, Any] = {"row": row, "column": column, "value": _short(value), "reason": reason}
        if suggestion:
            entry["suggestion"] = suggestion
        self.kept.append(entry)

    def add_problem(self, problem: dict[str, Any]) -> None:
        self.add(
            problem.get("row"),
            problem.get("column"),
            problem.get("value"),
            str(problem["reason"]),
            problem.get("suggestion"),
        )


def _short(value: str | None) -> str | None:
    if value is None or len(value) <= MAX_VALUE_CHARS:
        return value
    return value[:MAX_VALUE_CHARS] + f"… ({len(value):,} characters)"


# Counting writes these sources and replaces them on every recount, so an import must not.
COUNTED_SOURCES = frozenset({"prefix", "logs"})


def source_label(raw: str) -> str:
    """A source as stored: trimmed, lower case, any text (it is data, shown escaped, exported escaped)."""
    value = raw.strip().lower()
    if not value:
        raise BadValue("empty: name the source, or give the import a source label")
    if len(value) > 100:
        raise BadValue("longer than 100 characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise BadValue("contains control characters")
    if value in COUNTED_SOURCES:
        raise BadValue(f"{value!r} is reserved for the downloads podsponsor counts itself; name the platform instead")
    return value


class Transformer:
    """Turns one file's chunks into staging rows; counts rows, skipped totals and the newest day."""

    def __init__(self, layout: Layout, index: EpisodeIndex, errors: ErrorLog) -> None:
        self.layout = layout
        self.index = index
        self.errors = errors
        self.days = DayColumn()
        self.sources: set[str] = set()
        self._source_cache: dict[str, str | BadValue] = {}
        self.default_source = source_label(layout.default_source) if layout.default_source else None
        self.rows_total = 0
        self.rows_skipped = 0
        self.rows_staged = 0

    def chunk(self, first_row: int, rows: Rows, malformed: bool) -> str:
        """COPY text (tab-separated, `\\N` for NULL) of the chunk's valid rows."""
        self.rows_total += len(rows)
        width = len(self.layout.columns)
        numbers: Sequence[int] = range(first_row, first_row + len(rows))
        good: list[list[str]]
        if not malformed and set(map(len, rows)) == {width}:  # type: ignore[arg-type]
            good = rows  # type: ignore[assignment]
        else:
            good, numbers = self._well_formed(first_row, rows, width)
        if not good:
            return ""
        columns = list(zip(*good, strict=True))
        if self._has_totals(columns):
            good, numbers = self._without_totals(good, numbers)
            if not good:
                return ""
            columns = list(zip(*good, strict=True))
        return self._convert(columns, numbers, len(good))

    def _well_formed(self, first_row: int, rows: Rows, width: int) -> tuple[list[list[str]], list[int]]:
        good: list[list[str]] = []
        numbers: list[int] = []
        for number, row in enumerate(rows, start=first_row):
            if isinstance(row, Malformed):
                self.errors.add(number, None, None, row.reason)
            elif not any(cell.strip() for cell in row):
                self.rows_skipped += 1
            elif len(row) > width and not any(cell.strip() for cell in row[width:]):
                good.append(row[:width])
                numbers.append(number)
            elif len(row) != width:
                self.errors.add(number, None, None, f"expected {width} columns, found {len(row)}")
            else:
                good.append(row)
                numbers.append(number)
        return good, numbers

    def _marker_columns(self) -> set[int]:
        fields = self.layout.fields
        return {0} | {fields[name] for name in ("day", "episode_title", "episode_id") if name in fields}

    def _has_totals(self, columns: list[tuple[str, ...]]) -> bool:
        return any(
            not TOTAL_MARKERS.isdisjoint(cell.strip().lower() for cell in set(columns[index]))
            for index in self._marker_columns()
        )

    def _without_totals(self, rows: list[list[str]], numbers: Sequence[int]) -> tuple[list[list[str]], list[int]]:
        markers = self._marker_columns()
        kept = [
            (row, number)
            for row, number in zip(rows, numbers, strict=True)
            if all(row[i].strip().lower() not in TOTAL_MARKERS for i in markers)
        ]
        self.rows_skipped += len(rows) - len(kept)
        return [row for row, _ in kept], [number for _, number in kept]

    def _convert(self, columns: list[tuple[str, ...]], numbers: Sequence[int], size: int) -> str:
        layout = self.layout
        failures: list[tuple[int, str, BadValue]] = []
        out: dict[str, Sequence[str]] = {}

        def take(name: str, converted: tuple[list[str], CellErrors]) -> None:
            out[name] = converted[0]
            failures.extend((index, name, problem) for index, problem in converted[1])

        take("day", self.days.convert(columns[layout.fields["day"]]))
        take(
            "source",
            self._sources(columns[layout.fields["source"]])
            if "source" in layout.fields
            else (list(repeat(self.default_source or NULL, size)), []),
        )
        for name in ("downloads", "listeners", "conversions", "completion_rate", "ctr", "revenue_cents"):
            if name not in layout.fields:
                out[name] = repeat(NULL, size)  # type: ignore[assignment]
                continue
            cells = columns[layout.fields[name]]
            if name in COUNTS:
                take(name, count_column(cells))
            elif name == "revenue_cents":
                take(name, money_column(cells, cents=layout.revenue_in_cents()))
            else:
                take(name, rate_column(cells, percent=layout.percent(name), cap=layout.cap_completion))
        keys = {name: columns[layout.fields[name]] for name in KEY_FIELDS if name in layout.fields}
        episodes, podcasts, key_failures = self.index.resolve(keys, out["day"])
        failures.extend(key_failures)
        out["episode_id"], out["podcast_id"] = episodes, podcasts
        out["row_no"] = list(map(str, numbers))
        staged = zip(*(out[name] for name in STAGING_COLUMNS), strict=False)
        if failures:
            bad = self._record(failures, columns, numbers)
            staged = (row for index, row in enumerate(staged) if index not in bad)  # type: ignore[assignment]
        lines = list(map("\t".join, staged))
        self.rows_staged += len(lines)
        return "\n".join(lines) + "\n" if lines else ""

    def _record(
        self, failures: list[tuple[int, str, BadValue]], columns: list[tuple[str, ...]], numbers: Sequence[int]
    ) -> set[int]:
        fields = self.layout.fields
        for index, name, problem in sorted(failures, key=lambda failure: (failure[0], fields.get(failure[1], 0))):
            column = fields.get(name)
            value = columns[column][index] if column is not None else None
            label = self.layout.columns[column] if column is not None else name
            self.errors.add(numbers[index], label, value, problem.reason, problem.suggestion)
        return {index for index, _, _ in failures}

    def _sources(self, cells: Sequence[str]) -> tuple[list[str], CellErrors]:
        cache = self._source_cache
        distinct = set(cells)
        for raw in distinct.difference(cache):
            try:
                label = source_label(raw) if raw.strip() or not self.default_source else self.default_source
            except BadValue as exc:
                cache[raw] = exc
                continue
            cache[raw] = label.replace("\\", "\\\\")
            self.sources.add(label)
        if all(isinstance(cache[raw], str) for raw in distinct):
            return list(map(cache.__getitem__, cells)), []  # type: ignore[arg-type]
        out: list[str] = []
        errors: CellErrors = []
        for index, raw in enumerate(cells):
            value = cache[raw]
            if isinstance(value, BadValue):
                errors.append((index, value))
                out.append(NULL)
            else:
                out.append(value)
        return out, errors

    def staged_sources(self) -> set[str]:
        return self.sources if "source" in self.layout.fields else {self.default_source or ""} - {""}
