"""`GET /api/v1/inventory`: a show's episodes by ad unit and week, booked or open."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from podsponsor.auth.dependencies import require
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.bookings import inventory
from podsponsor.bookings.inventory_schemas import InventoryOut
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.flags.dependencies import feature

router = APIRouter(prefix="/api/v1", tags=["bookings"], dependencies=[Depends(feature("ENABLE_IO_BOOKINGS"))])
Reader = Annotated[Subject, Depends(require(Permission.BOOKINGS_READ))]


@router.get("/inventory", response_model=InventoryOut, summary="A show's slots by week: booked or open")
async def show_inventory(
    subject: Reader,
    podcast_id: uuid.UUID,
    start: Annotated[date | None, Query(description="any day of the first week (weeks start on Monday)")] = None,
    weeks: Annotated[int, Query(description=f"1 to {inventory.MAX_WEEKS}")] = 12,
) -> InventoryOut:
    async with tenant_transaction(subject.tenant_id) as session:
        found = await inventory.calendar(session, subject, podcast_id, start=start, weeks=weeks)
    return InventoryOut.of(found)
