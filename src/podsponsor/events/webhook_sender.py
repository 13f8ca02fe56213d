"""Sending outbound webhooks: at least once, signed, retried with backoff, an endpoint disabled after repeated failure.

Each due delivery is sent in its own workspace's transaction, which locks the delivery row (`FOR UPDATE SKIP LOCKED`)
for the whole attempt: the HTTP request, then the attempt's record and outcome, then the commit. Senders running side
by side never send the same delivery at once; a sender killed mid-request leaves nothing committed, so the row is
still pending, unlocked, and the next run sends it again. A receiver may therefore see a message twice (the same
`webhook-id`), never zero times.

A failed attempt (no answer within the timeout, a network error, any status but 2xx, redirects included) is retried
after a random delay between zero and a ceiling that grows fourfold per attempt from 30 s up to 6 h ("full jitter",
so that many deliveries failing together do not retry together). After MAX_ATTEMPTS the delivery has failed; when
DISABLE_AFTER deliveries in a row have failed, the endpoint is disabled and its waiting deliveries end.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor import __version__, outbound
from podsponsor.auth.subject import system_subject
from podsponsor.db.tenancy import tenant_transaction, unscoped_transaction
from podsponsor.events import webhook_repository as repository
from podsponsor.events import webhooks
from podsponsor.events.models import Event
from podsponsor.events.webhook_models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from podsponsor.events.webhook_signing import signed_headers, unseal_secret
from podsponsor.sealing import SecretUnreadable

log = logging.getLogger(__name__)

USER_AGENT: Final = f"podsponsor-webhooks/{__version__}"
# Receivers should answer quickly and do their work later; the row stays locked while we wait.
SEND_TIMEOUT: Final = 10.0
RESPONSE_MAX_BYTES: Final = 256 * 1024
MAX_ATTEMPTS: Final = 9
RETRY_FIRST_CEILING: Final = timedelta(seconds=30)
RETRY_GROWTH: Final = 4
RETRY_MAX_CEILING: Final = timedelta(hours=6)
DISABLE_AFTER: Final = 5
BATCH: Final = 100
# Deliveries in flight at once in one run, each holding a database connection for its attempt.
CONCURRENCY: Final = 4
# A run takes further batches while they come full, for at most this long; the next run goes on from there.
RUN_BUDGET_SECONDS: Final = 60.0
ERROR_MAX: Final = 500


def retry_ceiling(attempt: int) -> timedelta:
    """The longest wait after failed attempt number `attempt` (1-based)."""
    seconds = RETRY_FIRST_CEILING.total_seconds() * RETRY_GROWTH ** (attempt - 1)
    return min(timedelta(seconds=seconds), RETRY_MAX_CEILING)


def retry_delay(attempt: int, rng: random.Random | None = None) -> timedelta:
    """Full jitter: uniformly between zero and the ceiling."""
    return retry_ceiling(attempt) * (rng or random).random()


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class Sent:
    """The outcome of one attempt: the delivery's status after it."""

    delivery_id: str
    status: str
    status_code: int | None
    error: str | None


async def send_due(*, now: datetime | None = None, rng: random.Random | None = None, batch: int = BATCH) -> list[Sent]:
    """Send every delivery due at `now` (default: the clock), batch after batch while they come full, within the
    run's budget. `now` also dates the attempts and the retries it schedules."""
    started = time.monotonic()
    sent: list[Sent] = []
    gate = asyncio.Semaphore(CONCURRENCY)

    async def guarded(tenant_id: uuid.UUID, delivery_id: uuid.UUID) -> Sent | None:
        async with gate:
            return await send_one(tenant_id, delivery_id, now=now, rng=rng)

    while True:
        async with unscoped_transaction() as session:
            due = await repository.due_deliveries(session, now or datetime.now(UTC), batch)
        results = await asyncio.gather(*(guarded(t, d) for t, d in due), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                log.error("webhook delivery attempt failed unexpectedly", exc_info=result)
            elif result is not None:
                sent.append(result)
        # A batch that was all held by other senders would come back the same: leave it to them.
        claimed = sum(1 for result in results if isinstance(result, Sent))
        if len(due) < batch or not claimed or time.monotonic() - started > RUN_BUDGET_SECONDS:
            break
    if sent:
        log.info("webhooks sent", extra={"attempts": len(sent), **Counter(s.status for s in sent)})
    return sent


async def send_one(
    tenant_id: uuid.UUID, delivery_id: uuid.UUID, *, now: datetime | None = None, rng: random.Random | None = None
) -> Sent | None:
    """One attempt at one delivery, if it is still due and no other sender holds it."""
    async with tenant_transaction(tenant_id) as session:
        moment = now or datetime.now(UTC)
        claimed = await repository.claim(session, tenant_id, delivery_id, moment)
        if claimed is None:
            return None
        delivery, endpoint, event = claimed
        if not endpoint.active:
            delivery.status, delivery.next_attempt_at = "failed", None
            delivery.last_error, delivery.replay_requested = webhooks.ENDED_BY_DISABLING, False
            await session.flush()
            return Sent(str(delivery.id), delivery.status, None, delivery.last_error)
        answer = await _post(endpoint, delivery, event)
        await _settle(session, delivery, endpoint, answer, moment, rng)
        return Sent(str(delivery.id), delivery.status, answer.status_code, answer.error)


async def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery, event: Event) -> Answer:
    began = time.monotonic()

    def answer(status_code: int | None, error: str | None) -> Answer:
        return Answer(status_code, error, round((time.monotonic() - began) * 1000))

    try:
        secret = unseal_secret(endpoint.secret_encrypted)
    except SecretUnreadable:
        return answer(None, "the signing secret cannot be read (SECRET_KEY changed): rotate the endpoint's secret")
    body = webhooks.message_bytes(event)
    headers = {
        **signed_headers(secret, delivery.message_id, int(time.time()), body),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    try:
        result = await outbound.request(
            "POST", endpoint.url, headers=headers, content=body, timeout=SEND_TIMEOUT,
            max_bytes=RESPONSE_MAX_BYTES, follow_redirects=0, label="webhook",
        )  # fmt: skip
    except outbound.OutboundError as exc:
        return answer(None, exc.reason[:ERROR_MAX])
    except Exception as exc:  # a failed attempt like any other: left unrecorded, it would be retried every run
        log.exception("webhook request failed unexpectedly", extra={"delivery_id": str(delivery.id)})
        return answer(None, f"the request could not be made ({type(exc).__name__})")
    if 200 <= result.status < 300:
        return answer(result.status, None)
    return answer(result.status, f"the endpoint answered {result.status}")


async def _settle(
    session: AsyncSession,
    delivery: WebhookDelivery,
    endpoint: WebhookEndpoint,
    answer: Answer,
    moment: datetime,
    rng: random.Random | None,
) -> None:
    replay = delivery.replay_requested
    delivery.attempts += 1
    delivery.last_attempt_at, delivery.last_status_code, delivery.last_error = moment, answer.status_code, answer.error
    delivery.replay_requested = False
    attempt = WebhookAttempt(
        tenant_id=delivery.tenant_id,
        delivery_id=delivery.id,
        number=delivery.attempts,
        started_at=moment,
        duration_ms=answer.duration_ms,
        status_code=answer.status_code,
        error=answer.error,
        replay=replay,
    )
    await repository.add(session, attempt)
    if answer.ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "succeeded", moment, None
        await session.flush()
        await repository.reset_failure_streak(session, delivery.tenant_id, endpoint.id)
    elif replay or delivery.attempts >= MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = "failed", None
        await session.flush()
        if not replay:  # a replay is someone's manual try; only deliveries the sender gave up on count
            await _gave_up(session, delivery, endpoint)
    else:
        delivery.next_attempt_at = moment + retry_delay(delivery.attempts, rng)
        await session.flush()


async def _gave_up(session: AsyncSession, delivery: WebhookDelivery, endpoint: WebhookEndpoint) -> None:
    streak = await repository.bump_failure_streak(session, delivery.tenant_id, endpoint.id)
    if streak < DISABLE_AFTER:
        return
    reason = f"{streak} deliveries in a row failed after {MAX_ATTEMPTS} attempts each"
    subject = system_subject(delivery.tenant_id)
    if await webhooks.disable_endpoint(session, subject, delivery.tenant_id, endpoint.id, reason):
        log.warning("webhook endpoint disabled", extra={"endpoint_id": str(endpoint.id), "streak": streak})
