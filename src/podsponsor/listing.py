"""Lists: capped pagination and validated sorting, shared by every collection endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

from podsponsor.errors import ValidationFailed

T = TypeVar("T")
DEFAULT_LIMIT = 50
# PostgreSQL's OFFSET is a bigint: a larger offset is bad input, not a database error.
MAX_OFFSET = 2**63 - 1


@dataclass(frozen=True)
class Window:
    limit: int
    offset: int
    sort: str
    descending: bool


def window(limit: int, offset: int, sort: str, allowed: tuple[str, ...], cap: int) -> Window:
    """A page request checked against the cap and the sortable fields (`-field` sorts descending)."""
    errors = []
    if not 1 <= limit <= cap:
        errors.append({"field": "limit", "value": limit, "reason": f"must be between 1 and {cap}"})
    if not 0 <= offset <= MAX_OFFSET:
        errors.append({"field": "offset", "value": offset, "reason": f"must be between 0 and {MAX_OFFSET}"})
    field = sort.removeprefix("-")
    if field not in allowed:
        errors.append({"field": "sort", "value": sort, "reason": f"sort by one of {', '.join(allowed)}"})
    if errors:
        raise ValidationFailed("the list parameters are not valid", errors=errors)
    return Window(limit=limit, offset=offset, sort=field, descending=sort.startswith("-"))


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    next_offset: int | None

    @classmethod
    def of(cls, items: list[T], total: int, page: Window) -> Page[T]:
        following = page.offset + len(items)
        return cls(
            items=items,
            total=total,
            limit=page.limit,
            offset=page.offset,
            next_offset=following if following < total else None,
        )
