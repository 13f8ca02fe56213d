"""Outbound webhook signatures against the Standard Webhooks specification, the retry schedule, and the catalogue of
event types an endpoint may subscribe to."""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import random
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from podsponsor.events import webhook_sender, webhook_signing
from podsponsor.events.event_types import EVENT_TYPES
from podsponsor.events.webhook_schemas import EndpointIn

SRC = Path(__file__).resolve().parents[2] / "src" / "podsponsor"

# The specification's published test vector.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_signature_reproduces_the_specification_test_vector() -> None:
    assert webhook_signing.signature(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_signed_headers_verify_with_the_reference_library_and_fail_when_anything_changes() -> None:
    secret = webhook_signing.new_secret()
    body = b'{"type":"podcast.created","timestamp":"2026-11-22T10:00:00Z","data":{"title":"Caf\xc3\xa9 Talk"}}'
    headers = webhook_signing.signed_headers(secret, "msg_abc", int(time.time()), body)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert Webhook(secret).verify(body, headers)["data"]["title"] == "Café Talk"
    for tampered in (body.replace(b"Talk", b"Tales"), body + b" "):
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(tampered, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhook_signing.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-id": "msg_other"})


def test_an_independent_hmac_agrees() -> None:
    secret = webhook_signing.new_secret()
    key = base64.b64decode(secret.removeprefix("whsec_"))
    body = b'{"a":1}'
    expected = base64.b64encode(hmac.new(key, b"msg_1.1700000000." + body, hashlib.sha256).digest()).decode()
    assert webhook_signing.signature(secret, "msg_1", 1700000000, body) == f"v1,{expected}"


def test_a_new_secret_is_whsec_and_32_random_bytes() -> None:
    secrets = {webhook_signing.new_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
        assert len(webhook_signing.secret_key(secret)) == 32


def test_a_stored_secret_is_sealed(settings: object) -> None:
    secret = webhook_signing.new_secret()
    stored = webhook_signing.seal_secret(secret)
    assert secret not in stored and secret.removeprefix("whsec_") not in stored
    assert webhook_signing.unseal_secret(stored) == secret


def test_retry_ceilings_grow_fourfold_to_six_hours_and_delays_are_fully_jittered() -> None:
    ceilings = [webhook_sender.retry_ceiling(n) for n in range(1, webhook_sender.MAX_ATTEMPTS)]
    assert ceilings[:5] == [timedelta(seconds=s) for s in (30, 120, 480, 1920, 7680)]
    assert ceilings[5:] == [timedelta(hours=6)] * 3
    assert sum(ceilings, timedelta()) < timedelta(hours=24)
    rng = random.Random(11)
    for attempt, ceiling in enumerate(ceilings, start=1):
        delays = [webhook_sender.retry_delay(attempt, rng) for _ in range(400)]
        assert all(timedelta(0) <= d <= ceiling for d in delays)
        assert len(set(delays)) == 400, "full jitter: no two retries of a burst wait the same"
        spread = sum(d.total_seconds() for d in delays) / len(delays) / ceiling.total_seconds()
        assert 0.4 < spread < 0.6, f"uniform between zero and the ceiling: mean share {spread:.2f}"


def _recorded_types() -> set[str]:
    """Event types passed as string literals to a `*record` call, or named by a module's EVENT constant."""
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", None) or getattr(node.func, "id", None) or ""
                if name.endswith("record") and name != "record_audit":
                    found |= {
                        arg.value
                        for arg in node.args
                        if isinstance(arg, ast.Constant)
                        and isinstance(arg.value, str)
                        and re.fullmatch(r"[a-z_]+\.[a-z_]+", arg.value)
                    }
            elif isinstance(node, ast.AnnAssign | ast.Assign):
                targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
                named = any(isinstance(t, ast.Name) and t.id == "EVENT" for t in targets)
                if named and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                    found.add(node.value.value)
    return found


def test_every_recorded_event_type_can_be_subscribed_to() -> None:
    recorded = _recorded_types()
    assert {"podcast.created", "deal.stage_changed", "attribution.recalculated", "webhook.endpoint_disabled"} <= (
        recorded
    )
    assert recorded - EVENT_TYPES == set(), "add these to podsponsor/events/event_types.py"


def test_subscriptions_are_checked_and_all_means_all() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        EndpointIn(url="https://example.com/h", event_types=["podcast.created", "podcast.exploded"])
    assert EndpointIn(url="https://example.com/h", event_types=["io.delivered", "*"]).event_types == ["*"]
    twice = EndpointIn(url="https://example.com/h", event_types=["io.delivered", "io.delivered"])
    assert twice.event_types == ["io.delivered"]
