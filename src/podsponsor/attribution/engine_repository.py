"""Every query of attribution's engine and results: reading conversions, exposures and vanity clicks into polars,
storing a run's paths and credits, and reading credits back for results.

Bulk reads are `COPY (SELECT …) TO STDOUT` in CSV straight into polars (no Python object per row; times travel as
integer microseconds). Bulk writes go through a temporary staging table and one `INSERT … SELECT`, which is the
statement row-level security checks (`COPY … FROM` is refused on a table under RLS). Every query names the tenant,
and RLS filters underneath.

Exposures are counted downloads (measurement's `downloads`, one row per download) of an order's counting scope as
delivery defines it (`bookings.delivery.CountingScope`): the episodes' downloads within their days, or a whole show's
within the flight; where the host logs counted an episode on a day only the logs count, as for delivery.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

import polars as pl
from psycopg import sql
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.attribution.engine import CLICKED_SCHEMA, CONVERSION_SCHEMA
from podsponsor.attribution.models import AttributionCredit, AttributionModel, AttributionPath, AttributionRun
from podsponsor.db.copy import copy_out, driver_connection

LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"
# Promo codes travel joined by the unit separator, which no code contains.
_SEPARATOR: Final = "\x1f"
PAIR_READ_SCHEMA: Final[dict[str, pl.DataType]] = {
    "conversion_id": pl.Utf8(),
    "episode_id": pl.Utf8(),
    "podcast_id": pl.Utf8(),
    "day": pl.Date(),
    "at_us": pl.Int64(),
    "ua_digest": pl.Utf8(),
    "device": pl.Utf8(),
    "device_category": pl.Utf8(),
    "source_kind": pl.Utf8(),
}
# What `household_exposures` answers: the engine's SEEN_SCHEMA with the device still to be named a family.
PAIR_COLUMNS: Final[dict[str, pl.DataType]] = {
    "conversion_id": pl.Utf8(),
    "io_id": pl.Utf8(),
    "episode_id": pl.Utf8(),
    "at": pl.Datetime("us", "UTC"),
    "ua_digest": pl.Utf8(),
    "device": pl.Utf8(),
    "device_category": pl.Utf8(),
}
PATH_COLUMNS: Final = ("conversion_id", "match_type", "household", "touchpoints")
CREDIT_COLUMNS: Final = ("conversion_id", "io_id", "episode_id", "model", "match_type", "credit", "household")
UNIT_SCHEMA: Final[dict[str, pl.DataType]] = {
    "unit": pl.Utf8(),
    "household": pl.Utf8(),
    "match_type": pl.Utf8(),
    "currency": pl.Utf8(),
    "conversions": pl.Float64(),
    "revenue_cents": pl.Float64(),
}


@dataclass(frozen=True)
class Scopes:
    """Counting scopes as rows: (io, episode, first day, last day) and (io, show, first day, last day)."""

    episodes: Sequence[tuple[uuid.UUID, uuid.UUID, date, date]]
    shows: Sequence[tuple[uuid.UUID, uuid.UUID, date, date]]

    def only_episode(self, episode_id: uuid.UUID) -> Scopes:
        return Scopes([row for row in self.episodes if row[1] == episode_id], self.shows)


@dataclass(frozen=True)
class ConversionWindow:
    """A sponsor's conversions of [start, end), each looking back `lookback_days` for its household's events."""

    sponsor_id: uuid.UUID
    start: datetime
    end: datetime
    lookback_days: int


async def lock_campaign(session: AsyncSession, tenant_id: uuid.UUID, campaign_id: uuid.UUID) -> None:
    await session.execute(text(LOCK_SQL), {"key": f"attribution:{tenant_id}:{campaign_id}"})


# Reading -------------------------------------------------------------------------------------------------------------


async def _fetch(session: AsyncSession, query: sql.Composable) -> list[tuple[Any, ...]]:
    async with (await driver_connection(session)).cursor() as cursor:
        await cursor.execute(query)
        return list(await cursor.fetchall())


def _micros(*column: str) -> sql.Composable:
    return sql.SQL("(extract(epoch FROM {}) * 1000000)::bigint").format(sql.Identifier(*column))


def _as_time(column: str) -> pl.Expr:
    return pl.col(f"{column}_us").cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias(column)


async def conversions(
    session: AsyncSession, tenant_id: uuid.UUID, sponsor_id: uuid.UUID, start: datetime, end: datetime
) -> pl.DataFrame:
    """The sponsor's conversions of [start, end) (CONVERSION_SCHEMA)."""
    query = sql.SQL(
        "SELECT id::text AS conversion_id, {occurred} AS occurred_at_us, value_cents, currency, "
        "array_to_string(promo_codes, {separator}) AS promo_codes, ip_hash, ua_family FROM conversions "
        "WHERE tenant_id = {tenant} AND sponsor_id = {sponsor} AND occurred_at >= {start} AND occurred_at < {end}"
    ).format(
        occurred=_micros("occurred_at"),
        separator=sql.Literal(_SEPARATOR),
        tenant=sql.Literal(str(tenant_id)),
        sponsor=sql.Literal(str(sponsor_id)),
        start=sql.Literal(start),
        end=sql.Literal(end),
    )
    read_schema = {**CONVERSION_SCHEMA, "promo_codes": pl.Utf8(), "occurred_at_us": pl.Int64()}
    del read_schema["occurred_at"]
    frame = await copy_out(session, query, read_schema)
    codes = pl.col("promo_codes").fill_null("").str.split(_SEPARATOR).list.eval(pl.element().filter(pl.element() != ""))
    return frame.with_columns(_as_time("occurred_at"), codes.alias("promo_codes")).select(list(CONVERSION_SCHEMA))


def _values(rows: Sequence[tuple[Any, ...]], names: Sequence[str], types: Sequence[str]) -> sql.Composable:
    """A VALUES list as a derived table named `names`; empty, it is a query of no rows of those types."""
    casts = [sql.SQL(f"{{}}::{kind}") for kind in types]
    if not rows:
        nulls = sql.SQL(", ").join(sql.SQL(f"NULL::{kind} AS {name}") for kind, name in zip(types, names, strict=True))
        return sql.SQL("SELECT {} WHERE false").format(nulls)
    body = sql.SQL(", ").join(
        sql.SQL("({})").format(
            sql.SQL(", ").join(cast.format(sql.Literal(str(v))) for cast, v in zip(casts, row, strict=True))
        )
        for row in rows
    )
    return sql.SQL("SELECT * FROM (VALUES {}) AS v ({})").format(
        body, sql.SQL(", ").join(sql.Identifier(n) for n in names)
    )


def _scoped_downloads(
    tenant_id: uuid.UUID, scopes: Scopes, extra: sql.Composable, columns: sql.Composable
) -> sql.Composable:
    """`columns` of the scopes' downloads passing `extra` (a condition on `d`), one source per episode and day."""
    tenant = sql.Literal(str(tenant_id))
    spans = _values(scopes.episodes, ("io_id", "key_id", "first_day", "last_day"), ("uuid", "uuid", "date", "date"))
    shows = _values(scopes.shows, ("io_id", "key_id", "first_day", "last_day"), ("uuid", "uuid", "date", "date"))
    in_scope = sql.SQL(
        "SELECT s.io_id, d.* FROM downloads d JOIN ({spans}) s ON d.episode_id = s.key_id "
        "AND d.day BETWEEN s.first_day AND s.last_day WHERE d.tenant_id = {tenant} AND {extra} "
        "UNION ALL "
        "SELECT s.io_id, d.* FROM downloads d JOIN ({shows}) s ON d.podcast_id = s.key_id "
        "AND d.day BETWEEN s.first_day AND s.last_day WHERE d.tenant_id = {tenant} AND {extra}"
    ).format(spans=spans, shows=shows, tenant=tenant, extra=extra)
    # The episodes and days the host logs counted: there the prefix's downloads would count the same listeners twice.
    logged = sql.SQL(
        "SELECT DISTINCT d.episode_id, d.day FROM downloads d WHERE d.tenant_id = {tenant} AND d.source_kind = 'logs' "
        "AND (d.episode_id, d.day) IN (SELECT episode_id, day FROM x)"
    ).format(tenant=tenant)
    return sql.SQL(
        "WITH x AS MATERIALIZED ({in_scope}), logged AS ({logged}) "
        "SELECT {columns} FROM x WHERE x.source_kind = 'logs' OR NOT EXISTS "
        "(SELECT 1 FROM logged l WHERE l.episode_id = x.episode_id AND l.day = x.day)"
    ).format(in_scope=in_scope, logged=logged, columns=columns)


def _of_window(tenant_id: uuid.UUID, window: ConversionWindow) -> sql.Composable:
    """The conditions on `c`: a conversion of the window with an address hash."""
    return sql.SQL(
        "c.tenant_id = {} AND c.sponsor_id = {} AND c.occurred_at >= {} AND c.occurred_at < {} "
        "AND c.ip_hash IS NOT NULL"
    ).format(
        sql.Literal(str(tenant_id)),
        sql.Literal(str(window.sponsor_id)),
        sql.Literal(window.start),
        sql.Literal(window.end),
    )


def _in_lookback(at: str, window: ConversionWindow) -> sql.Composable:
    return sql.SQL("{at} >= c.occurred_at - make_interval(days => {days}) AND {at} < c.occurred_at").format(
        at=sql.SQL(at), days=sql.Literal(window.lookback_days)
    )


async def household_exposures(
    session: AsyncSession, tenant_id: uuid.UUID, scopes: Scopes, window: ConversionWindow
) -> pl.DataFrame:
    """Each conversion of the window beside each download of its household in its lookback that counts for one of
    the scopes' orders (PAIR_COLUMNS: the engine's SEEN_SCHEMA with the device still to be named a family).

    The database pairs them, joining on the address hash over the downloads of the scopes' episodes and shows; a
    second pass finds the episodes and days the host logs counted. Each scope's days and the logs-over-prefix rule
    are then applied here, in polars."""
    rows = [*scopes.episodes, *scopes.shows]
    if not rows:
        return pl.DataFrame(schema=PAIR_COLUMNS)
    in_scope = sql.SQL(
        "d.tenant_id = {tenant} AND (d.episode_id = ANY({episodes}::uuid[]) OR d.podcast_id = ANY({shows}::uuid[])) "
        "AND d.day BETWEEN {first} AND {last}"
    ).format(
        tenant=sql.Literal(str(tenant_id)),
        episodes=sql.Literal(sorted({str(row[1]) for row in scopes.episodes})),
        shows=sql.Literal(sorted({str(row[1]) for row in scopes.shows})),
        first=sql.Literal(min(row[2] for row in rows)),
        last=sql.Literal(max(row[3] for row in rows)),
    )
    paired = sql.SQL(
        "SELECT c.id::text AS conversion_id, d.episode_id::text AS episode_id, d.podcast_id::text AS podcast_id, "
        "d.day, {at} AS at_us, split_part(d.listener, ':', 2) AS ua_digest, d.device, d.device_category, "
        "d.source_kind FROM conversions c JOIN downloads d ON split_part(d.listener, ':', 1) = c.ip_hash "
        "AND {lookback} WHERE {conversions} AND {in_scope}"
    ).format(
        at=_micros("d", "window_start"),
        lookback=_in_lookback("d.window_start", window),
        conversions=_of_window(tenant_id, window),
        in_scope=in_scope,
    )
    logged = sql.SQL(
        "SELECT DISTINCT d.episode_id::text AS episode_id, d.day FROM downloads d "
        "WHERE {in_scope} AND d.source_kind = 'logs'"
    ).format(in_scope=in_scope)
    found = await copy_out(session, paired, PAIR_READ_SCHEMA)
    by_logs = await copy_out(session, logged, {"episode_id": pl.Utf8(), "day": pl.Date()})
    return _counted(found.with_columns(_as_time("at")), by_logs, scopes)


def _counted(found: pl.DataFrame, logged: pl.DataFrame, scopes: Scopes) -> pl.DataFrame:
    """The downloads that count for each order, as delivery counts them: one source per episode and day (the logs
    where they counted any download), within each scope's days."""
    logged = logged.with_columns(pl.lit(True).alias("logged"))
    counted = found.join(logged, on=["episode_id", "day"], how="left")
    counted = counted.filter((pl.col("source_kind") == "logs") | pl.col("logged").is_null())
    kinds = {"io_id": pl.Utf8(), "key": pl.Utf8(), "first_day": pl.Date(), "last_day": pl.Date()}
    parts = []
    for rows, key in ((scopes.episodes, "episode_id"), (scopes.shows, "podcast_id")):
        spans = pl.DataFrame([(str(a), str(b), c, d) for a, b, c, d in rows], schema=kinds, orient="row")
        joined = counted.join(spans, left_on=key, right_on="key", how="inner")
        parts.append(joined.filter(pl.col("day").is_between(pl.col("first_day"), pl.col("last_day"))))
    return pl.concat(parts).select(list(PAIR_COLUMNS))


async def household_clicks(
    session: AsyncSession, tenant_id: uuid.UUID, io_ids: Sequence[uuid.UUID], window: ConversionWindow
) -> pl.DataFrame:
    """Each conversion of the window beside each visit to one of the orders' vanity URLs by its household in its
    lookback (CLICKED_SCHEMA)."""
    if not io_ids:
        return pl.DataFrame(schema=CLICKED_SCHEMA)
    query = sql.SQL(
        "SELECT c.id::text AS conversion_id, v.io_id::text AS io_id, {at} AS at_us FROM conversions c "
        "JOIN vanity_clicks v ON v.ip_hash = c.ip_hash AND {lookback} "
        "WHERE {conversions} AND v.tenant_id = {tenant} AND v.io_id = ANY({ios}::uuid[])"
    ).format(
        at=_micros("v", "ts"),
        lookback=_in_lookback("v.ts", window),
        conversions=_of_window(tenant_id, window),
        tenant=sql.Literal(str(tenant_id)),
        ios=sql.Literal([str(io) for io in io_ids]),
    )
    schema = {"conversion_id": pl.Utf8(), "io_id": pl.Utf8(), "at_us": pl.Int64()}
    frame = await copy_out(session, query, schema)
    return frame.with_columns(_as_time("at")).select(list(CLICKED_SCHEMA))


# A run: models, the run row, its paths and credits -------------------------------------------------------------------


async def models(session: AsyncSession, tenant_id: uuid.UUID, campaign_id: uuid.UUID) -> list[AttributionModel]:
    rows = await session.scalars(
        select(AttributionModel)
        .where(AttributionModel.tenant_id == tenant_id, AttributionModel.campaign_id == campaign_id)
        .order_by(AttributionModel.created_at, AttributionModel.model)
    )
    return list(rows)


async def add(session: AsyncSession, rows: Sequence[AttributionModel | AttributionRun]) -> None:
    session.add_all(rows)
    await session.flush()


async def _insert_through_stage(
    session: AsyncSession,
    table: str,
    stage_columns: str,
    constants: dict[str, uuid.UUID],
    rows: pl.DataFrame,
    casts: dict[str, str],
) -> None:
    """Insert `rows` into `table` with the `constants` (tenant, run, campaign) and a new id on every row."""
    if not rows.height:
        return
    stage = f"stage_{table}"
    await session.execute(text(f"DROP TABLE IF EXISTS pg_temp.{stage}"))
    await session.execute(text(f"CREATE TEMP TABLE {stage} ({stage_columns}) ON COMMIT DROP"))
    names = list(rows.columns)
    body = rows.write_csv(include_header=False, null_value="", quote_style="non_numeric")
    async with (await driver_connection(session)).cursor() as cursor:
        copy_into = f"COPY {stage} ({', '.join(names)}) FROM STDIN (FORMAT csv)"
        async with cursor.copy(copy_into) as copy:
            await copy.write(body)
    keys = ", ".join(constants)
    picked = ", ".join(f"{name}{casts.get(name, '')}" for name in names)
    bound = ", ".join(f":{key}" for key in constants)
    await session.execute(
        text(
            f"INSERT INTO {table} ({keys}, id, {', '.join(names)}) "
            f"SELECT {bound}, gen_random_uuid(), {picked} FROM {stage}"
        ),
        constants,
    )
    await session.execute(text(f"DROP TABLE pg_temp.{stage}"))


async def store_paths(
    session: AsyncSession, tenant_id: uuid.UUID, run_id: uuid.UUID, campaign_id: uuid.UUID, paths: pl.DataFrame
) -> None:
    """`paths`: conversion_id, match_type, household, touchpoints (a JSON array as text)."""
    await _insert_through_stage(
        session,
        "attribution_paths",
        "conversion_id uuid, match_type text, household text, touchpoints text",
        {"tenant_id": tenant_id, "run_id": run_id, "campaign_id": campaign_id},
        paths.select(PATH_COLUMNS),
        {"touchpoints": "::jsonb"},
    )


async def store_credits(
    session: AsyncSession, tenant_id: uuid.UUID, run_id: uuid.UUID, campaign_id: uuid.UUID, credits: pl.DataFrame
) -> None:
    """`credits`: CREDIT_COLUMNS, one row per touchpoint and model."""
    await _insert_through_stage(
        session,
        "attribution_credits",
        "conversion_id uuid, io_id uuid, episode_id uuid, model text, match_type text, credit float8, household text",
        {"tenant_id": tenant_id, "run_id": run_id, "campaign_id": campaign_id},
        credits.select(CREDIT_COLUMNS),
        {},
    )


async def drop_earlier_results(
    session: AsyncSession, tenant_id: uuid.UUID, campaign_id: uuid.UUID, keep_run: uuid.UUID
) -> None:
    """The campaign's paths and credits of every run but `keep_run` (the runs themselves stay, as history)."""
    for table in (AttributionCredit, AttributionPath):
        await session.execute(
            delete(table).where(
                table.tenant_id == tenant_id, table.campaign_id == campaign_id, table.run_id != keep_run
            )
        )


async def latest_run(session: AsyncSession, tenant_id: uuid.UUID, campaign_id: uuid.UUID) -> AttributionRun | None:
    """The campaign's newest completed run: the one its credits belong to."""
    return await session.scalar(
        select(AttributionRun)
        .where(
            AttributionRun.tenant_id == tenant_id,
            AttributionRun.campaign_id == campaign_id,
            AttributionRun.status == "completed",
        )
        .order_by(AttributionRun.started_at.desc(), AttributionRun.id)
        .limit(1)
    )


# Results --------------------------------------------------------------------------------------------------------------


async def credited_units(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    picks: Sequence[tuple[uuid.UUID, str]],
    *,
    io_id: uuid.UUID | None = None,
    episode_id: uuid.UUID | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pl.DataFrame:
    """Credit summed per household (or, without one, per conversion), match type and currency, over the credits of
    the (run, model) `picks`, of one order or episode if given, of conversions in [start, end) if given."""
    if not picks:
        return pl.DataFrame(schema=UNIT_SCHEMA)
    conditions: list[sql.Composable] = [sql.SQL("c.tenant_id = {}").format(sql.Literal(str(tenant_id)))]
    pairs = _values([(run, model) for run, model in picks], ("run_id", "model"), ("uuid", "text"))
    conditions.append(sql.SQL("(c.run_id, c.model) IN ({})").format(pairs))
    if io_id is not None:
        conditions.append(sql.SQL("c.io_id = {}").format(sql.Literal(str(io_id))))
    if episode_id is not None:
        conditions.append(sql.SQL("c.episode_id = {}").format(sql.Literal(str(episode_id))))
    if start is not None:
        conditions.append(sql.SQL("v.occurred_at >= {}").format(sql.Literal(start)))
    if end is not None:
        conditions.append(sql.SQL("v.occurred_at < {}").format(sql.Literal(end)))
    query = sql.SQL(
        "SELECT coalesce(c.household, 'conversion:' || c.conversion_id::text) AS unit, c.household, c.match_type, "
        "v.currency, sum(c.credit) AS conversions, sum(c.credit * coalesce(v.value_cents, 0)) AS revenue_cents "
        "FROM attribution_credits c JOIN conversions v ON v.tenant_id = c.tenant_id AND v.id = c.conversion_id "
        "WHERE {} GROUP BY 1, 2, 3, 4 ORDER BY 1, 3, 4"
    ).format(sql.SQL(" AND ").join(conditions))
    return await copy_out(session, query, UNIT_SCHEMA)


async def credit_by_io(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    run_id: uuid.UUID,
    model: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pl.DataFrame:
    """Credit summed per order, match type and currency under one run's model (conversions in [start, end))."""
    conditions: list[sql.Composable] = [
        sql.SQL("c.tenant_id = {} AND c.run_id = {} AND c.model = {}").format(
            sql.Literal(str(tenant_id)), sql.Literal(str(run_id)), sql.Literal(model)
        )
    ]
    if start is not None:
        conditions.append(sql.SQL("v.occurred_at >= {}").format(sql.Literal(start)))
    if end is not None:
        conditions.append(sql.SQL("v.occurred_at < {}").format(sql.Literal(end)))
    query = sql.SQL(
        "SELECT c.io_id::text AS io_id, c.match_type, v.currency, sum(c.credit) AS conversions, "
        "sum(c.credit * coalesce(v.value_cents, 0)) AS revenue_cents "
        "FROM attribution_credits c JOIN conversions v ON v.tenant_id = c.tenant_id AND v.id = c.conversion_id "
        "WHERE {} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    ).format(sql.SQL(" AND ").join(conditions))
    schema = {key: value for key, value in UNIT_SCHEMA.items() if key not in ("unit", "household")}
    return await copy_out(session, query, {"io_id": pl.Utf8(), **schema})


async def reach(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    scopes: Scopes,
    households: Sequence[str],
    *,
    episode_id: uuid.UUID | None = None,
    start: date | None = None,
    end: date | None = None,
) -> tuple[int, set[str]]:
    """(distinct households exposed in the scopes, those of `households` among them), of one episode and of the
    days [start, end] if given."""
    conditions: list[sql.Composable] = [sql.SQL("true")]
    if episode_id is not None:
        conditions.append(sql.SQL("d.episode_id = {}").format(sql.Literal(str(episode_id))))
    if start is not None:
        conditions.append(sql.SQL("d.day >= {}").format(sql.Literal(start)))
    if end is not None:
        conditions.append(sql.SQL("d.day <= {}").format(sql.Literal(end)))
    exposed = _scoped_downloads(
        tenant_id,
        scopes,
        sql.SQL(" AND ").join(conditions),
        sql.SQL("DISTINCT split_part(x.listener, ':', 1) AS household"),
    )
    query = sql.SQL(
        "WITH e AS MATERIALIZED ({}) SELECT (SELECT count(*) FROM e), "
        "(SELECT coalesce(array_agg(household), '{{}}') FROM e WHERE household = ANY({}::text[]))"
    ).format(exposed, sql.Literal(list(households)))
    rows = await _fetch(session, query)
    count, found = rows[0]
    return int(count), set(found)


async def downloads_per_io(
    session: AsyncSession, tenant_id: uuid.UUID, scopes: Scopes, episode_id: uuid.UUID | None = None
) -> dict[str, int]:
    """Counted downloads per order in the scopes (of one episode if given), as delivery counts them."""
    extra = sql.SQL("d.episode_id = {}").format(sql.Literal(str(episode_id))) if episode_id else sql.SQL("true")
    query = _scoped_downloads(tenant_id, scopes, extra, sql.SQL("x.io_id::text AS io_id"))
    counted = sql.SQL("SELECT io_id, count(*) FROM ({}) AS per_download GROUP BY io_id").format(query)
    return {str(io): int(total) for io, total in await _fetch(session, counted)}


async def episode_campaigns(session: AsyncSession, tenant_id: uuid.UUID, episode_id: uuid.UUID) -> list[uuid.UUID]:
    """The campaigns whose current credits name the episode."""
    rows = await session.scalars(
        select(AttributionCredit.campaign_id)
        .where(AttributionCredit.tenant_id == tenant_id, AttributionCredit.episode_id == episode_id)
        .distinct()
    )
    return sorted(rows)


# The nightly queue ---------------------------------------------------------------------------------------------------


async def campaigns_with_recent_flights(
    session: AsyncSession, tenant_id: uuid.UUID, since: date, today: date
) -> list[uuid.UUID]:
    """Campaigns with an order (not cancelled) whose flight has started by `today` and ends on or after `since`,
    and whose sponsor has any conversion."""
    rows = await session.execute(
        text(
            "SELECT DISTINCT io.campaign_id FROM insertion_orders io WHERE io.tenant_id = :tenant "
            "AND io.status <> 'cancelled' AND io.flight_start <= :today AND io.flight_end >= :since "
            "AND EXISTS (SELECT 1 FROM conversions c WHERE c.tenant_id = io.tenant_id AND c.sponsor_id = io.sponsor_id)"
            " ORDER BY io.campaign_id"
        ),
        {"tenant": tenant_id, "today": today, "since": since},
    )
    return [row[0] for row in rows]
