"""Counting a day from the database: hits matched to episodes, downloads and tallies replaced (never added) on a
recount, daily metrics rolled up, runs recorded with the window and list versions, first-touch windows carried
across midnight, host logs with the byte threshold, the review queue fed, and one tenant's count blind to another's.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from podsponsor.auth.subject import system_subject
from podsponsor.catalog.models import Episode, Podcast
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.measurement import counting_job
from podsponsor.measurement.tasks import queue_recent_days
from tests.factories.identity import make_tenant

# A weekday well inside the hit partitions' allowed window (the last 400 days).
MONDAY = datetime.now(UTC).date() - timedelta(days=datetime.now(UTC).date().weekday() + 14)
APP_UA = "AppleCoreMedia/1.0.0.20E247 (iPhone; U; CPU OS 16_4 like Mac OS X; en_us)"
BOT_UA = "FeedFetcher-crawler/2.0"
AUDIO = "cdn.example.com/shows/ep1.mp3"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


async def _show(tenant_id: uuid.UUID, *, bytes_: int | None = 60_000_000, duration: int | None = 3600) -> Any:
    """A show with one episode at https://cdn.example.com/shows/ep1.mp3 (published the Friday before MONDAY)."""
    async with tenant_transaction(tenant_id) as session:
        show = Podcast(tenant_id=tenant_id, title="Counting test show")
        session.add(show)
        await session.flush()
        episode = Episode(
            tenant_id=tenant_id,
            podcast_id=show.id,
            guid="ep-1",
            title="Episode one",
            enclosure_url=f"https://{AUDIO}",
            enclosure_destination_url=f"https://{AUDIO}",
            enclosure_bytes=bytes_,
            duration_seconds=duration,
            publish_date=at(MONDAY - timedelta(days=3), 6),
        )
        session.add(episode)
        await session.flush()
        await session.execute(
            text("SELECT measurement_ensure_hit_partitions(:first, :last)"),
            {"first": MONDAY - timedelta(days=2), "last": MONDAY + timedelta(days=3)},
        )
        return show.id, episode.id


async def _hits(tenant_id: uuid.UUID, podcast_id: uuid.UUID, rows: list[dict[str, Any]]) -> list[uuid.UUID]:
    ids = []
    async with tenant_transaction(tenant_id) as session:
        for row in rows:
            hit_id = uuid.uuid4()
            ids.append(hit_id)
            values = {
                "id": hit_id,
                "tenant_id": tenant_id,
                "podcast_id": podcast_id,
                "method": "GET",
                "url": f"/p/token/{AUDIO}",
                "destination": f"https://{AUDIO}",
                "range_header": None,
                "user_agent": APP_UA,
                "referer": None,
                "ip_hash": "listener-a",
                "country": "US",
                "datacenter": None,
                "status": 302,
                **row,
            }
            await session.execute(
                text(
                    "INSERT INTO download_requests (id, tenant_id, ts, podcast_id, method, url, destination, "
                    "range_header, user_agent, referer, ip_hash, country, datacenter, status) VALUES (:id, "
                    ":tenant_id, :ts, :podcast_id, :method, :url, :destination, :range_header, :user_agent, "
                    ":referer, :ip_hash, :country, :datacenter, :status)"
                ),
                values,
            )
    return ids


async def _count(tenant_id: uuid.UUID, day: date) -> Any:
    async with tenant_transaction(tenant_id) as session:
        return await counting_job.count_day(session, tenant_id, day, trigger="cli")


async def _rows(tenant_id: uuid.UUID, query: str, **params: Any) -> list[Any]:
    async with tenant_transaction(tenant_id) as session:
        return list(await session.execute(text(query), params))


async def _set_window(tenant_id: uuid.UUID, window: str) -> None:
    async with tenant_transaction(tenant_id) as session:
        await counting_job.update_settings(session, system_subject(tenant_id), {"window": window})


@pytest.fixture
def tenant_id(server: str) -> uuid.UUID:
    return uuid.UUID(make_tenant(server).id)


async def test_six_user_agents_behind_one_address_are_six_downloads_and_a_recount_adds_nothing(db, tenant_id) -> None:
    podcast_id, episode_id = await _show(tenant_id)
    # IAB §5.5.4: ten requests of one episode from six user agents behind one address within the day.
    agents = [f"{APP_UA} v{i % 6}" for i in range(10)]
    await _hits(tenant_id, podcast_id, [{"ts": at(MONDAY, 8, i), "user_agent": ua} for i, ua in enumerate(agents)])
    first = await _count(tenant_id, MONDAY)
    again = await _count(tenant_id, MONDAY)
    assert (first.downloads, again.downloads) == (6, 6)
    assert again.window_type == "calendar_day" and again.requests_on_day == 10
    metrics = await _rows(
        tenant_id, "SELECT source, downloads, listeners FROM metrics_daily WHERE day = :day", day=MONDAY
    )
    assert [tuple(row) for row in metrics] == [("prefix", 6, 6)]
    downloads = await _rows(tenant_id, "SELECT episode_id, country, source_kind, run_id FROM downloads")
    assert len(downloads) == 6
    assert {(row.episode_id, row.country, row.source_kind, row.run_id) for row in downloads} == {
        (episode_id, "US", "prefix", again.id)
    }
    tallies = await _rows(tenant_id, "SELECT reason, requests FROM download_tallies ORDER BY reason")
    assert [tuple(row) for row in tallies] == [("counted", 6), ("duplicate_in_window", 4)]
    runs = await _rows(
        tenant_id, "SELECT count(*) FROM count_runs WHERE day = :day AND status = 'completed'", day=MONDAY
    )
    assert runs[0][0] == 2


async def test_head_bots_and_unknown_files_are_tallied_with_their_reason(db, tenant_id) -> None:
    podcast_id, episode_id = await _show(tenant_id)
    await _hits(
        tenant_id,
        podcast_id,
        [
            {"ts": at(MONDAY, 9), "method": "HEAD"},
            {"ts": at(MONDAY, 9, 1), "user_agent": BOT_UA, "ip_hash": "bot"},
            {"ts": at(MONDAY, 9, 2), "destination": "https://cdn.example.com/shows/trailer.mp3"},
            # Same file: scheme, host case and query string do not matter.
            {"ts": at(MONDAY, 9, 3), "destination": "HTTP://CDN.Example.com/shows/ep1.mp3?tracking=1"},
            {"ts": at(MONDAY, 9, 4), "range_header": "bytes=0-1", "ip_hash": "probe"},
        ],
    )
    run = await _count(tenant_id, MONDAY)
    assert run.downloads == 1
    tallies = await _rows(tenant_id, "SELECT reason, episode_id, podcast_id, requests FROM download_tallies")
    found = {row.reason: (row.episode_id, row.podcast_id, row.requests) for row in tallies}
    assert found == {
        "head": (episode_id, podcast_id, 1),
        "bot_keyword": (episode_id, podcast_id, 1),
        "no_episode": (None, podcast_id, 1),
        "counted": (episode_id, podcast_id, 1),
        "zero_one_range_only": (episode_id, podcast_id, 1),
    }


async def test_first_touch_windows_carry_over_midnight_between_daily_counts(db, tenant_id) -> None:
    podcast_id, _ = await _show(tenant_id)
    await _set_window(tenant_id, "first_touch_24h")
    tuesday = MONDAY + timedelta(days=1)
    # IAB §5.5.1's first three requests: Mon 22:00 opens a window, Tue 03:00 falls in it, Tue 22:15 opens another.
    await _hits(tenant_id, podcast_id, [{"ts": at(MONDAY, 22)}, {"ts": at(tuesday, 3)}, {"ts": at(tuesday, 22, 15)}])
    monday_run = await _count(tenant_id, MONDAY)
    tuesday_run = await _count(tenant_id, tuesday)
    assert (monday_run.downloads, tuesday_run.downloads) == (1, 1)
    assert tuesday_run.window_type == "first_touch_24h"
    starts = await _rows(tenant_id, "SELECT window_start FROM downloads ORDER BY window_start")
    assert [row.window_start for row in starts] == [at(MONDAY, 22), at(tuesday, 22, 15)]
    await _set_window(tenant_id, "extending_24h")
    # Extending: Tue 03:00 extends Monday's window to Wed 03:00, so 22:15 is inside it.
    assert (await _count(tenant_id, tuesday)).downloads == 0


async def test_host_logs_count_only_when_the_bytes_reach_a_minute(db, tenant_id) -> None:
    _, episode_id = await _show(tenant_id)
    import_id = uuid.uuid4()
    # 60 MB for an hour: a minute is the 256 KiB header plus a sixtieth of the rest of the file.
    required = 262_144 + -(-(60_000_000 - 262_144) * 60 // 3600)  # rounded up
    rows = [
        ("log:1", at(MONDAY, 7), 0, 499_999, "listener-a"),
        ("log:2", at(MONDAY, 7, 1), 0, 2_000_000, "listener-b"),
    ]
    async with tenant_transaction(tenant_id) as session:
        for line_id, ts, start, end, ip_hash in rows:
            await session.execute(
                text(
                    "INSERT INTO log_requests (tenant_id, id, line_id, import_id, ts, method, url, status, "
                    "range_start, range_end, bytes_sent, user_agent, ip_hash) VALUES (:tenant, :id, :line, "
                    ":import_id, :ts, 'GET', :url, 206, :start, :end, :sent, :ua, :ip)"
                ),
                {
                    "tenant": tenant_id,
                    "id": uuid.uuid4(),
                    "line": line_id,
                    "import_id": import_id,
                    "ts": ts,
                    "url": AUDIO,
                    "start": start,
                    "end": end,
                    "sent": end - start + 1,
                    "ua": APP_UA,
                    "ip": ip_hash,
                },
            )
    run = await _count(tenant_id, MONDAY)
    assert run.downloads == 1
    counted = await _rows(
        tenant_id, "SELECT first_request_id, source_kind, bytes_covered, bytes_required FROM downloads"
    )
    assert [tuple(row) for row in counted] == [("log:2", "logs", 2_000_001, required)]
    metrics = await _rows(tenant_id, "SELECT source, episode_id, downloads FROM metrics_daily")
    assert [tuple(row) for row in metrics] == [("logs", episode_id, 1)]


async def test_unknown_user_agents_reach_the_review_queue(db, tenant_id) -> None:
    podcast_id, _ = await _show(tenant_id)
    unknown = f"TotallyNewPodcatcher/{uuid.uuid4().hex[:6]}"
    await _hits(tenant_id, podcast_id, [{"ts": at(MONDAY, 10, i), "user_agent": unknown} for i in range(3)])
    await _count(tenant_id, MONDAY)
    queue = await _rows(tenant_id, "SELECT hits FROM unknown_user_agents WHERE user_agent = :ua", ua=unknown)
    assert [row.hits for row in queue] == [3]


async def test_a_tenants_count_never_sees_another_tenants_hits(db, server: str) -> None:
    first, second = uuid.UUID(make_tenant(server).id), uuid.UUID(make_tenant(server).id)
    podcast_id, _ = await _show(first)
    await _show(second)
    await _hits(first, podcast_id, [{"ts": at(MONDAY, 11)}])
    assert (await _count(second, MONDAY)).requests_read == 0
    assert (await _count(first, MONDAY)).downloads == 1
    assert await _rows(second, "SELECT * FROM downloads") == []


async def test_log_imports_and_the_hourly_job_queue_the_days_they_affect(db, tenant_id) -> None:
    assert counting_job.affected_days([MONDAY], "calendar_day") == [MONDAY]
    assert counting_job.affected_days([MONDAY], "extending_24h") == [
        MONDAY - timedelta(days=1),
        MONDAY,
        MONDAY + timedelta(days=1),
    ]
    async with tenant_transaction(tenant_id) as session:
        assert await counting_job.schedule_days(session, tenant_id, [MONDAY], trigger="logs") == 1
        # One waiting job per day: asking again queues nothing more.
        assert await counting_job.schedule_days(session, tenant_id, [MONDAY], trigger="logs") == 0
    podcast_id, _ = await _show(tenant_id)
    today = datetime.now(UTC)
    async with tenant_transaction(tenant_id) as session:
        await queue_recent_days(session, tenant_id)  # no hits lately: nothing to count
    await _hits(tenant_id, podcast_id, [{"ts": today - timedelta(minutes=1)}])
    async with tenant_transaction(tenant_id) as session:
        await queue_recent_days(session, tenant_id)
    jobs = await _rows(
        tenant_id,
        "SELECT args->>'day' AS day FROM procrastinate_jobs WHERE task_name = 'measurement.count_day' "
        "AND args->>'tenant_id' = :tenant AND status = 'todo' ORDER BY 1",
        tenant=str(tenant_id),
    )
    assert [row.day for row in jobs] == sorted(
        {MONDAY.isoformat(), (today.date() - timedelta(days=1)).isoformat(), today.date().isoformat()}
    )
