"""A show's audience on its page: daily raw requests beside IAB downloads, the first 30 days of each recent episode
(pacing), downloads at fixed ages after release, and why requests were filtered. The show page loads it as a
partial (htmx); opened directly it is a page of its own."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from podsponsor.auth.dependencies import require_page
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.catalog import service as catalog
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.measurement import reports
from podsponsor.measurement.counting_rules import REASON_TEXT
from podsponsor.web.charts import Series, line_chart
from podsponsor.web.forms import parse_id
from podsponsor.web.render import render

router = APIRouter(tags=["pages"], include_in_schema=False)
Reader = Annotated[Subject, Depends(require_page(Permission.MEASUREMENT_READ))]
RANGES: Final = (30, 90, 365)
PACED_EPISODES: Final = 10
WINDOW_NAMES: Final = {
    "calendar_day": "calendar day (UTC)",
    "first_touch_24h": "first-touch rolling 24 hours",
    "extending_24h": "extending rolling 24 hours",
}


@router.get("/podcasts/{podcast_id}/audience", response_class=HTMLResponse)
async def audience(podcast_id: str, request: Request, subject: Reader) -> Response:
    show_id = parse_id(podcast_id, "podcast")
    try:
        days = int(request.query_params.get("days", RANGES[0]))
    except ValueError:
        days = RANGES[0]
    days = days if days in RANGES else RANGES[0]
    start, end = reports.check_range(None, None, default_days=days)
    scope = reports.Range(start, end, podcast_id=show_id)
    async with tenant_transaction(subject.tenant_id) as session:
        show = await catalog.get_podcast(session, subject, show_id)
        daily = await reports.downloads(session, subject, ["day"], scope)
        listeners = await reports.distinct_listeners(session, subject, scope)
        ages = await reports.lifecycle(session, subject, podcast_id=show_id, latest=PACED_EPISODES)
    context: dict[str, Any] = {
        "show": show,
        "days": days,
        "ranges": RANGES,
        "report": daily,
        "windows": [WINDOW_NAMES.get(name, name) for name in daily.window_types],
        "daily_chart": _daily_chart(daily, start, end),
        "pacing_chart": _pacing_chart(ages),
        "ages": ages,
        "age_columns": reports.LIFECYCLE_AGES,
        "listeners": listeners,
        "reason_text": REASON_TEXT,
    }
    partial = request.headers.get("hx-request") == "true"
    template = "measurement/_audience.html" if partial else "measurement/audience.html"
    return render(request, template, **context)


def _daily_chart(report: reports.DownloadsReport, start: Any, end: Any) -> Any:
    by_day = {row["day"]: row for row in report.rows}
    every_day = [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
    raw = Series(
        "Raw requests", [(day, float(by_day[day]["raw_requests"] or 0) if day in by_day else 0.0) for day in every_day]
    )
    counted = Series(
        "IAB downloads", [(day, float(by_day[day]["downloads"]) if day in by_day else 0.0) for day in every_day]
    )
    has_data = any(value for _, value in raw.points)
    return line_chart(
        [raw, counted] if has_data else [],
        title="Daily downloads",
        x_label="UTC day",
        y_label="Requests / downloads",
        empty_text="No requests through the prefix in this period yet",
        chart_id="daily-downloads",
    )


def _pacing_chart(ages: list[reports.EpisodeAges]) -> Any:
    series = [
        Series(episode.title, [(age, float(total)) for age, total in enumerate(episode.pacing)])
        for episode in ages
        if episode.pacing and episode.pacing[-1] > 0
    ]
    return line_chart(
        series,
        title="First 30 days of each episode",
        x_label="Days since release",
        y_label="Downloads (cumulative)",
        max_legend=PACED_EPISODES,
        empty_text="No episode of this show has counted downloads in its first 30 days yet",
        chart_id="episode-pacing",
    )
