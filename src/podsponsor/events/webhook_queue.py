"""Waking the webhook sender from the transaction that made deliveries due, so they go out as soon as it commits."""

from __future__ import annotations

from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.jobs.enqueue import JobAlreadyQueued, enqueue

SEND_TASK: Final = "webhooks.send_due"


async def wake_sender(session: AsyncSession) -> None:
    """Queue a sending run unless one is already waiting. A waiting run that starts before this transaction commits
    misses these deliveries; the periodic run, every few seconds, sends them then."""
    try:
        await enqueue(session, SEND_TASK, queueing_lock=SEND_TASK)
    except JobAlreadyQueued:
        return
