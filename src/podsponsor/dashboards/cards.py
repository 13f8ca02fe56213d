"""The parts every dashboard card is built of, so that each card module states only its numbers: a card whose feature
is off, tables of columns and rows, an amount per currency, and percentages with one decimal."""

from __future__ import annotations

from collections.abc import Iterable

from podsponsor.dashboards.schemas import Card, Column, Figure, Table, Unit, Value


def unavailable(card: Card, notice: str) -> Card:
    """The card while its feature is off for the workspace: no numbers, and the notice saying so."""
    return card.model_copy(update={"available": False, "notices": [notice]})


def column(key: str, label: str, unit: Unit = "text", note: str = "") -> Column:
    """A table column; names, ids and other text need no note."""
    return Column(key=key, label=label, unit=unit, note=note)


def table(
    key: str, label: str, columns: Iterable[Column], rows: list[dict[str, Value]], *, limit: int | None = None
) -> Table:
    """A card's table: the first `limit` rows (all without one), `total_rows` counting every row."""
    return Table(key=key, label=label, columns=list(columns), rows=rows[:limit], total_rows=len(rows))


def money_figure(label: str, cents: Value, currency: str, note: str) -> Figure:
    """An amount in one currency, the currency named in the label: one such figure per currency a card holds."""
    return Figure(label=f"{label} ({currency})", value=cents, unit="cents", currency=currency, note=note)


def pct(fraction: float | None) -> float | None:
    """A fraction as the API writes percentages: 0 to 100, one decimal."""
    return round(100 * fraction, 1) if fraction is not None else None


def share_pct(part: float, whole: float) -> float | None:
    """`part` ÷ `whole` in percent with one decimal; None when the whole is nothing."""
    return round(100 * part / whole, 1) if whole else None
