"""The webhook sender's job: woken right after an event fans out to deliveries, and every 20 seconds for retries
(and for anything a killed sender left pending)."""

from __future__ import annotations

from podsponsor.events import webhook_sender
from podsponsor.events.webhook_queue import SEND_TASK
from podsponsor.jobs.app import app


@app.periodic(cron="* * * * * */20")
@app.task(name=SEND_TASK, queue="webhooks")
async def send_due(timestamp: int | None = None) -> None:
    await webhook_sender.send_due()
