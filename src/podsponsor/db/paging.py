"""One page of a list and its total from a single statement.

Counting in one statement and fetching in another reads two snapshots under READ COMMITTED: a row committed in
between makes `total` disagree with `items` (17 items, total 16). `count(*) OVER ()` is computed before LIMIT and
OFFSET, so the page and its total come from the same snapshot.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from podsponsor.listing import Window

SortKey = ColumnElement[Any] | InstrumentedAttribute[Any]


def ordered(column: SortKey, page: Window, *, nulls: bool = True) -> ColumnElement[Any]:
    """The page's sort direction on `column`; with `nulls`, empty values sort last descending and first ascending."""
    if not nulls:
        return column.desc() if page.descending else column.asc()
    return column.desc().nulls_last() if page.descending else column.asc().nulls_first()


async def page_rows(
    session: AsyncSession, query: Select[Any] | Select[Any, Any], page: Window, *order_by: SortKey
) -> tuple[list[Any], int]:
    """The rows of one page (the entity, or a tuple when the query selects several) and the total."""
    counted = query.add_columns(func.count().over().label("page_total"))
    result = await session.execute(counted.order_by(*order_by).limit(page.limit).offset(page.offset))
    rows = result.all()
    if rows:
        width = len(rows[0]) - 1
        items = [row[0] if width == 1 else tuple(row[:width]) for row in rows]
        return items, int(rows[0][-1])
    if page.offset == 0:
        return [], 0
    # Past the end there is no row to carry the total; nothing on the page can disagree with it.
    return [], int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
