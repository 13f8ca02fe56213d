"""Outbound webhook delivery through the services and the sender, against real HTTP receivers on 127.0.0.1: fan-out
in the event's own transaction, signed requests, retries with growing jittered delays, giving up, disabling an
endpoint after repeated failure, replays, test events, and addresses refused."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from standardwebhooks.webhooks import Webhook

from podsponsor.db.tenancy import tenant_transaction, unscoped_transaction
from podsponsor.events import service as events
from podsponsor.events import webhook_sender as sender
from podsponsor.events import webhooks
from podsponsor.events.webhook_exceptions import EndpointDisabled, WebhookAddressRefused
from podsponsor.events.webhook_schemas import EndpointPatch
from tests.events.conftest import (
    attempts,
    deliveries_of_event,
    delivery,
    endpoint_row,
    make_endpoint,
    owner,
    record_event,
)
from tests.factories.webhook_receiver import WebhookReceiver, receiving
from tests.jobs.conftest import new_tenant

pytestmark = pytest.mark.usefixtures("db", "local_receivers_allowed")


class Rollback(Exception):
    pass


async def _waiting_send_jobs() -> int:
    async with unscoped_transaction() as session:
        count = await session.scalar(
            text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'webhooks.send_due' AND status = 'todo'")
        )
        return int(count or 0)


async def _exhaust(tenant_id: uuid.UUID, delivery_id: uuid.UUID, rng: random.Random) -> list[timedelta]:
    """Attempt the delivery each time it falls due (the clock moved to its next attempt) until it ends; the delays
    the sender chose between attempts."""
    delays = []
    row = await delivery(tenant_id, delivery_id)
    while row["status"] == "pending":
        moment = row["next_attempt_at"]
        assert await sender.send_one(tenant_id, delivery_id, now=moment, rng=rng) is not None
        row = await delivery(tenant_id, delivery_id)
        if row["next_attempt_at"] is not None:
            delays.append(row["next_attempt_at"] - moment)
    return delays


async def _record_then_fail(tenant: uuid.UUID, seen: dict[str, Any]) -> None:
    async with tenant_transaction(tenant) as session:
        event = await events.record(session, owner(tenant), "podcast.created", payload={"title": "Gone"})
        seen["event_id"] = event.id
        seen["inside"] = await session.scalar(
            text("SELECT count(*) FROM webhook_deliveries WHERE event_id = :id"), {"id": event.id}
        )
        raise Rollback


async def test_an_event_fans_out_in_its_own_transaction() -> None:
    tenant = await new_tenant()
    everything, _ = await make_endpoint(tenant, "http://127.0.0.1:9/all")
    deals_only, _ = await make_endpoint(tenant, "http://127.0.0.1:9/deals", ["deal.stage_changed"])
    paused, _ = await make_endpoint(tenant, "http://127.0.0.1:9/paused", ["podcast.created"])
    async with tenant_transaction(tenant) as session:
        await webhooks.update_endpoint(session, owner(tenant), paused, EndpointPatch(active=False))

    seen: dict[str, Any] = {}
    with pytest.raises(Rollback):
        await _record_then_fail(tenant, seen)
    assert seen["inside"] == 1, "inside its transaction the event already has its delivery"
    assert await deliveries_of_event(tenant, seen["event_id"]) == []
    async with tenant_transaction(tenant) as session:
        gone = await session.scalar(text("SELECT count(*) FROM events WHERE id = :id"), {"id": seen["event_id"]})
        assert gone == 0

    created = await record_event(tenant, "podcast.created", title="Kept")
    [only] = await deliveries_of_event(tenant, created)
    assert (only["endpoint_id"], only["status"], only["attempts"]) == (everything, "pending", 0)
    assert only["message_id"] == f"msg_{created.hex}"
    assert await _waiting_send_jobs() >= 1, "the sender is woken by the commit"

    moved = await record_event(tenant, "deal.stage_changed", **{"from": "lead", "to": "qualified"})
    assert {d["endpoint_id"] for d in await deliveries_of_event(tenant, moved)} == {everything, deals_only}


async def test_a_workspace_without_endpoints_gets_no_deliveries() -> None:
    tenant = await new_tenant()
    event_id = await record_event(tenant)
    assert await deliveries_of_event(tenant, event_id) == []


async def test_a_delivery_is_signed_and_verifies_with_the_reference_library() -> None:
    tenant = await new_tenant()
    with receiving(200) as receiver:
        endpoint_id, secret = await make_endpoint(receiver_tenant := tenant, receiver.url())
        event_id = await record_event(tenant, "podcast.created", title="Café Talk")
        [pending] = await deliveries_of_event(tenant, event_id)
        sent = await sender.send_one(receiver_tenant, pending["id"])
        assert sent is not None and sent.status == "succeeded" and sent.status_code == 200
    [request] = receiver.received
    headers = request.headers
    assert headers["webhook-id"] == f"msg_{event_id.hex}"
    assert abs(int(headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 30
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("podsponsor-webhooks/")
    body = Webhook(secret).verify(request.body, headers)
    assert body["type"] == "podcast.created"
    assert body["data"]["title"] == "Café Talk"
    assert body["data"]["event_id"] == str(event_id) and body["data"]["workspace_id"] == str(tenant)
    assert body["data"]["subject_type"] == "podcast"
    assert datetime.fromisoformat(body["timestamp"]) <= datetime.now(UTC)

    done = await delivery(tenant, pending["id"])
    assert (done["status"], done["attempts"], done["last_status_code"], done["next_attempt_at"]) == (
        "succeeded",
        1,
        200,
        None,
    )
    assert done["delivered_at"] is not None
    [attempt] = await attempts(tenant, pending["id"])
    assert (attempt["number"], attempt["status_code"], attempt["error"], attempt["replay"]) == (1, 200, None, False)
    assert attempt["duration_ms"] >= 0
    assert (await endpoint_row(tenant, endpoint_id))["failure_streak"] == 0
    assert await sender.send_one(tenant, pending["id"]) is None, "a succeeded delivery is not sent again"


async def test_failures_retry_with_growing_jittered_delays_then_give_up() -> None:
    tenant = await new_tenant()
    with receiving(500) as receiver:
        receiver.script = [503, 500, 404]
        endpoint_id, _ = await make_endpoint(tenant, receiver.url())
        event_id = await record_event(tenant)
        [pending] = await deliveries_of_event(tenant, event_id)
        delays = await _exhaust(tenant, pending["id"], random.Random(5))
    expected = random.Random(5)
    chosen = [(sender.retry_ceiling(n) * expected.random()).total_seconds() for n in range(1, sender.MAX_ATTEMPTS)]
    assert [d.total_seconds() for d in delays] == pytest.approx(chosen, abs=0.001)
    ceilings = [sender.retry_ceiling(n) for n in range(1, sender.MAX_ATTEMPTS)]
    assert all(timedelta(0) <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert ceilings == sorted(ceilings) and ceilings[-1] == timedelta(hours=6)
    assert len(receiver.received) == sender.MAX_ATTEMPTS
    assert set(receiver.message_ids()) == {f"msg_{event_id.hex}"}, "every retry carries the same webhook-id"

    failed = await delivery(tenant, pending["id"])
    assert (failed["status"], failed["attempts"], failed["next_attempt_at"]) == ("failed", sender.MAX_ATTEMPTS, None)
    assert failed["last_error"] == "the endpoint answered 500"
    codes = [a["status_code"] for a in await attempts(tenant, pending["id"])]
    assert codes == [503, 500, 404] + [500] * (sender.MAX_ATTEMPTS - 3)
    assert (await endpoint_row(tenant, endpoint_id))["failure_streak"] == 1


async def test_a_redirect_or_an_unreachable_endpoint_is_a_failed_attempt() -> None:
    tenant = await new_tenant()
    with receiving(302) as receiver:
        await make_endpoint(tenant, receiver.url())
        event_id = await record_event(tenant)
        [pending] = await deliveries_of_event(tenant, event_id)
        moment = datetime.now(UTC)
        sent = await sender.send_one(tenant, pending["id"], now=moment)
    assert sent is not None and (sent.status, sent.status_code) == ("pending", 302)
    receiver_gone = receiver.url()
    other = await new_tenant()
    await make_endpoint(other, receiver_gone)
    lost_id = await record_event(other)
    [lost] = await deliveries_of_event(other, lost_id)
    unreachable = await sender.send_one(other, lost["id"])
    assert unreachable is not None and unreachable.status_code is None
    assert unreachable.error is not None and "could not connect" in unreachable.error
    assert (await delivery(other, lost["id"]))["status"] == "pending"


async def test_repeated_failures_disable_the_endpoint_and_end_its_waiting_deliveries() -> None:
    tenant = await new_tenant()
    rng = random.Random(3)
    with receiving(500) as receiver:
        endpoint_id, _ = await make_endpoint(tenant, receiver.url())
        watcher, _ = await make_endpoint(tenant, "http://127.0.0.1:9/watcher", ["webhook.endpoint_disabled"])
        event_ids = [await record_event(tenant, title=f"Show {n}") for n in range(sender.DISABLE_AFTER + 1)]
        pending = [(await deliveries_of_event(tenant, e))[0]["id"] for e in event_ids]
        for n, delivery_id in enumerate(pending[: sender.DISABLE_AFTER], start=1):
            assert (await endpoint_row(tenant, endpoint_id))["active"], f"disabled too early, after {n - 1}"
            await _exhaust(tenant, delivery_id, rng)
    disabled = await endpoint_row(tenant, endpoint_id)
    assert (disabled["active"], disabled["failure_streak"]) == (False, sender.DISABLE_AFTER)
    assert disabled["disabled_reason"] == f"{sender.DISABLE_AFTER} deliveries in a row failed after 9 attempts each"
    assert disabled["disabled_at"] is not None
    ended = await delivery(tenant, pending[-1])
    assert (ended["status"], ended["attempts"], ended["last_error"]) == ("failed", 0, webhooks.ENDED_BY_DISABLING)

    async with tenant_transaction(tenant) as session:
        notice = (
            await session.execute(
                text("SELECT payload FROM events WHERE type = 'webhook.endpoint_disabled' AND subject_id = :id"),
                {"id": endpoint_id},
            )
        ).scalar_one()
        ended_count = await session.scalar(
            text("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = :id AND last_error = :ended"),
            {"id": endpoint_id, "ended": webhooks.ENDED_BY_DISABLING},
        )
    # The sixth show's delivery, and those of the endpoints' own creation events (this one hears everything).
    assert notice["deliveries_ended"] == ended_count == 3 and notice["host"] == "127.0.0.1"
    later = await record_event(tenant)
    assert await deliveries_of_event(tenant, later) == [], "a disabled endpoint hears nothing new"

    async with tenant_transaction(tenant) as session:
        told = await session.scalar(
            text(
                "SELECT count(*) FROM webhook_deliveries d JOIN events e ON e.id = d.event_id "
                "WHERE d.endpoint_id = :watcher AND e.type = 'webhook.endpoint_disabled'"
            ),
            {"watcher": watcher},
        )
        assert told == 1
        await webhooks.enable_endpoint(session, owner(tenant), endpoint_id)
    enabled = await endpoint_row(tenant, endpoint_id)
    assert (enabled["active"], enabled["failure_streak"], enabled["disabled_reason"]) == (True, 0, None)
    assert len(await deliveries_of_event(tenant, await record_event(tenant))) == 1


async def test_a_success_resets_the_failure_streak() -> None:
    tenant = await new_tenant()
    with receiving(500) as receiver:
        endpoint_id, _ = await make_endpoint(tenant, receiver.url())
        first = (await deliveries_of_event(tenant, await record_event(tenant)))[0]["id"]
        await _exhaust(tenant, first, random.Random(1))
        assert (await endpoint_row(tenant, endpoint_id))["failure_streak"] == 1
        receiver.status = 204
        second = (await deliveries_of_event(tenant, await record_event(tenant)))[0]["id"]
        assert (await sender.send_one(tenant, second)).status == "succeeded"  # type: ignore[union-attr]
    assert (await endpoint_row(tenant, endpoint_id))["failure_streak"] == 0


async def test_a_replay_sends_the_same_webhook_id_once_and_is_logged_as_a_replay() -> None:
    tenant = await new_tenant()
    with receiving(500) as receiver:
        endpoint_id, secret = await make_endpoint(tenant, receiver.url())
        event_id = await record_event(tenant, title="Replayed")
        delivery_id = (await deliveries_of_event(tenant, event_id))[0]["id"]
        await _exhaust(tenant, delivery_id, random.Random(2))
        assert (await delivery(tenant, delivery_id))["status"] == "failed"

        async with tenant_transaction(tenant) as session:
            await webhooks.replay(session, owner(tenant), delivery_id)
        queued = await delivery(tenant, delivery_id)
        assert (queued["status"], queued["replay_requested"]) == ("pending", True)
        failed_replay = await sender.send_one(tenant, delivery_id)
        assert failed_replay is not None and failed_replay.status == "failed", "a failed replay is not retried"
        assert (await endpoint_row(tenant, endpoint_id))["failure_streak"] == 1, "a replay does not count"

        receiver.status = 200
        async with tenant_transaction(tenant) as session:
            await webhooks.replay(session, owner(tenant), delivery_id)
        assert (await sender.send_one(tenant, delivery_id)).status == "succeeded"  # type: ignore[union-attr]
        async with tenant_transaction(tenant) as session:
            await webhooks.replay(session, owner(tenant), delivery_id)
        assert (await sender.send_one(tenant, delivery_id)).status == "succeeded"  # type: ignore[union-attr]
    assert set(receiver.message_ids()) == {f"msg_{event_id.hex}"}
    last = receiver.received[-1]
    assert Webhook(secret).verify(last.body, last.headers)["data"]["title"] == "Replayed"
    log = await attempts(tenant, delivery_id)
    assert [a["replay"] for a in log] == [False] * sender.MAX_ATTEMPTS + [True, True, True]
    assert [a["number"] for a in log] == list(range(1, sender.MAX_ATTEMPTS + 4))
    done = await delivery(tenant, delivery_id)
    assert (done["status"], done["replay_requested"]) == ("succeeded", False)
    assert (await endpoint_row(tenant, endpoint_id))["failure_streak"] == 0


async def test_replaying_a_waiting_delivery_brings_its_next_attempt_forward() -> None:
    tenant = await new_tenant()
    with receiving(500) as receiver:
        await make_endpoint(tenant, receiver.url())
        delivery_id = (await deliveries_of_event(tenant, await record_event(tenant)))[0]["id"]
        await sender.send_one(tenant, delivery_id, rng=_Longest())
        waiting = await delivery(tenant, delivery_id)
        assert waiting["next_attempt_at"] > datetime.now(UTC) + timedelta(seconds=20)
        assert await sender.send_one(tenant, delivery_id) is None, "not due yet"
        async with tenant_transaction(tenant) as session:
            await webhooks.replay(session, owner(tenant), delivery_id)
        again = await sender.send_one(tenant, delivery_id, rng=_Longest())
    assert again is not None and again.status == "pending", "its retries go on"
    assert [a["replay"] for a in await attempts(tenant, delivery_id)] == [False, False]


class _Longest(random.Random):
    def random(self) -> float:
        return 1.0


async def test_a_disabled_endpoint_refuses_replays_and_tests() -> None:
    tenant = await new_tenant()
    endpoint_id, _ = await make_endpoint(tenant, "http://127.0.0.1:9/hook")
    delivery_id = (await deliveries_of_event(tenant, await record_event(tenant)))[0]["id"]
    async with tenant_transaction(tenant) as session:
        await webhooks.update_endpoint(session, owner(tenant), endpoint_id, EndpointPatch(active=False))
    row = await delivery(tenant, delivery_id)
    assert (row["status"], row["last_error"]) == ("failed", webhooks.ENDED_BY_DISABLING)
    async with tenant_transaction(tenant) as session:
        with pytest.raises(EndpointDisabled):
            await webhooks.replay(session, owner(tenant), delivery_id)
        with pytest.raises(EndpointDisabled):
            await webhooks.send_test(session, owner(tenant), endpoint_id)
    assert (await endpoint_row(tenant, endpoint_id))["disabled_reason"] == webhooks.DISABLED_BY_USER


async def test_a_test_event_goes_to_that_endpoint_only() -> None:
    tenant = await new_tenant()
    with receiving(200) as receiver:
        endpoint_id, secret = await make_endpoint(tenant, receiver.url(), ["io.delivered"])
        bystander, _ = await make_endpoint(tenant, "http://127.0.0.1:9/all")
        async with tenant_transaction(tenant) as session:
            view = await webhooks.send_test(session, owner(tenant), endpoint_id)
        assert (await sender.send_one(tenant, view.delivery.id)).status == "succeeded"  # type: ignore[union-attr]
        async with tenant_transaction(tenant) as session:
            to_bystander = await session.scalar(
                text(
                    "SELECT count(*) FROM webhook_deliveries d JOIN events e ON e.id = d.event_id "
                    "WHERE d.endpoint_id = :id AND e.type = 'webhook.test'"
                ),
                {"id": bystander},
            )
    assert to_bystander == 0
    [request] = receiver.received
    body = Webhook(secret).verify(request.body, request.headers)
    assert body["type"] == "webhook.test" and body["data"]["subject_id"] == str(endpoint_id)
    assert "test event" in body["data"]["message"]


async def test_two_senders_never_send_one_delivery_at_the_same_time() -> None:
    tenant = await new_tenant()
    receiver = WebhookReceiver(200, hold_first=1.0)
    try:
        await make_endpoint(tenant, receiver.url())
        delivery_id = (await deliveries_of_event(tenant, await record_event(tenant)))[0]["id"]
        results = await asyncio.gather(*(sender.send_one(tenant, delivery_id) for _ in range(3)))
    finally:
        receiver.stop()
    assert sorted(r.status for r in results if r is not None) == ["succeeded"]
    assert len(receiver.received) == 1
    assert len(await attempts(tenant, delivery_id)) == 1


async def test_send_due_sends_every_due_delivery_of_every_workspace() -> None:
    first, second = await new_tenant(), await new_tenant()
    with receiving(200) as receiver:
        await make_endpoint(first, receiver.url("/first"))
        await make_endpoint(second, receiver.url("/second"))
        ids = [await record_event(first), await record_event(second), await record_event(first)]
        sent = await sender.send_due()
    mine = {f"msg_{e.hex}" for e in ids}
    assert mine <= {s for s in receiver.message_ids()}
    assert sorted(r.path for r in receiver.received if r.message_id in mine) == ["/first", "/first", "/second"]
    assert len([s for s in sent if s.status == "succeeded"]) >= 3


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/hook", "private network address"),
        ("https://127.0.0.1:8443/hook", "private network address"),
        ("https://10.20.30.40/hook", "private network address"),
        ("https://192.168.1.5/hook", "private network address"),
        ("https://169.254.169.254/latest/meta-data/", "private network address"),
        ("https://[::1]/hook", "private network address"),
        ("https://[::ffff:127.0.0.1]/hook", "private network address"),
        ("https://localhost/hook", "private network address"),
        ("http://93.184.216.34/hook", "use https"),
        ("ftp://93.184.216.34/hook", "full address"),
        ("https://user:secret@93.184.216.34/hook", "no user name or password"),
        ("not an address", "full address"),
        ("https://no-such-host.invalid/hook", "could not be found"),
    ],
)
async def test_addresses_that_may_not_receive_webhooks_are_refused(
    url: str, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OUTBOUND_ALLOW_HOSTS")
    from podsponsor.config import reset_settings

    reset_settings()
    try:
        with pytest.raises(WebhookAddressRefused) as refused:
            await webhooks.checked_url(url)
    finally:
        monkeypatch.setenv("OUTBOUND_ALLOW_HOSTS", "127.0.0.1")
        reset_settings()
    assert refused.value.status == 422
    [error] = refused.value.errors or []
    assert error["field"] == "url" and reason in error["reason"]


async def test_a_public_https_address_is_accepted() -> None:
    assert (
        await webhooks.checked_url("https://93.184.216.34/hooks?token=abc") == "https://93.184.216.34/hooks?token=abc"
    )


async def test_the_body_is_the_event_as_json() -> None:
    tenant = await new_tenant()
    event_id = await record_event(tenant, "io.delivered", impressions=1200, subject_id="not the real one")
    async with tenant_transaction(tenant) as session:
        event = (await session.execute(text("SELECT * FROM events WHERE id = :id"), {"id": event_id})).one()
    from podsponsor.events.models import Event

    body = json.loads(webhooks.message_bytes(Event(**dict(event._mapping))))
    assert set(body) == {"type", "timestamp", "data"}
    assert body["data"]["impressions"] == 1200
    assert body["data"]["subject_id"] == str(event.subject_id), "the event's own ids win over a payload key"


async def test_an_unreadable_secret_is_a_failed_attempt_that_says_what_to_do() -> None:
    tenant = await new_tenant()
    with receiving(200) as receiver:
        endpoint_id, _ = await make_endpoint(tenant, receiver.url())
        async with tenant_transaction(tenant) as session:
            await session.execute(
                text("UPDATE webhook_endpoints SET secret_encrypted = 'gAAAAA-not-ours' WHERE id = :id"),
                {"id": endpoint_id},
            )
        delivery_id = (await deliveries_of_event(tenant, await record_event(tenant)))[0]["id"]
        sent = await sender.send_one(tenant, delivery_id)
    assert receiver.received == [], "nothing unsigned goes out"
    assert sent is not None and sent.status == "pending"
    assert sent.error is not None and "rotate the endpoint's secret" in sent.error
