"""The inventory calendar page: pick a show, see its weeks, each episode's slots booked or open."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from podsponsor.auth.dependencies import require_page
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.bookings import inventory
from podsponsor.catalog import service as catalog
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.flags.dependencies import feature
from podsponsor.listing import window
from podsponsor.web.charts import Series, bar_chart
from podsponsor.web.forms import parse_id
from podsponsor.web.render import render

router = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[Depends(feature("ENABLE_IO_BOOKINGS"))])
Reader = Annotated[Subject, Depends(require_page(Permission.BOOKINGS_READ))]
WEEKS = 8
SHOWS_LISTED = 200


@router.get("/inventory", response_class=HTMLResponse)
async def inventory_page(request: Request, subject: Reader) -> Response:
    chosen = request.query_params.get("podcast_id")
    start = _day(request.query_params.get("start"))
    async with tenant_transaction(subject.tenant_id) as session:
        shows, _ = await catalog.list_podcasts(
            session, subject, None, None, None, window(SHOWS_LISTED, 0, "title", ("title",), SHOWS_LISTED)
        )
        found = None
        if chosen or shows:
            show_id = parse_id(chosen, "podcast") if chosen else shows[0].id
            found = await inventory.calendar(session, subject, show_id, start=start, weeks=WEEKS)
    context: dict[str, Any] = {"shows": shows, "found": found}
    if found is not None:
        first = found.weeks[0].start
        context.update(
            previous=(first - timedelta(weeks=WEEKS)).isoformat(),
            following=(first + timedelta(weeks=WEEKS)).isoformat(),
            units={unit["id"]: unit for unit in found.ad_units},
            chart=bar_chart(
                [
                    Series("Booked", [(week.start, float(week.booked)) for week in found.weeks]),
                    Series("Open", [(week.start, float(week.open)) for week in found.weeks]),
                ],
                title="Slots by week",
                x_label="Week starting",
                y_label="Slots",
                chart_id="inventory-weeks",
                height=200,
            ),
        )
    return render(request, "bookings/inventory.html", **context)


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
