"""Reading a query's rows straight into polars with `COPY (…) TO STDOUT`: millions of rows without a Python object
each. Runs on the session's own connection and transaction, so the tenant set there (and row-level security) apply."""

from __future__ import annotations

import io
from typing import Any

import polars as pl
from psycopg import sql
from sqlalchemy.ext.asyncio import AsyncSession


async def driver_connection(session: AsyncSession) -> Any:
    """The psycopg connection under the session (for COPY, which SQLAlchemy does not speak)."""
    connection = await (await session.connection()).get_raw_connection()
    return connection.driver_connection


async def copy_out(session: AsyncSession, query: sql.Composable, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """The rows of `query` as a frame of `schema` (its columns in the query's order). Datetime columns must arrive as
    text with an offset (e.g. `to_char(ts AT TIME ZONE 'UTC', …) || '+0000'`): CSV readers differ on offsets."""
    buffer = io.BytesIO()
    statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv, HEADER true)").format(query)
    async with (await driver_connection(session)).cursor() as cursor, cursor.copy(statement) as copy:
        async for block in copy:
            buffer.write(block)
    if buffer.tell() == 0:
        return pl.DataFrame(schema=schema)
    buffer.seek(0)
    text_schema = {name: (pl.Utf8() if isinstance(dtype, pl.Datetime) else dtype) for name, dtype in schema.items()}
    frame = pl.read_csv(buffer, schema=text_schema)
    return frame.with_columns(
        pl.col(name).str.to_datetime("%Y-%m-%d %H:%M:%S%.f%#z", time_zone="UTC").alias(name)
        for name, dtype in schema.items()
        if isinstance(dtype, pl.Datetime)
    )
