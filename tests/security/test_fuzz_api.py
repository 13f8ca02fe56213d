"""Schemathesis over the whole OpenAPI document, as two tenants' owners, without credentials and with a forged token.

Reproduce: `.venv/bin/pytest tests/security/test_fuzz_api.py -s` prints a one-line JSON summary (also written to
test-artifacts/fuzz-summary.json; the app's log is test-artifacts/fuzz-server.log). Cases are drawn with Hypothesis
seed SEED below and no example database, so the same code, schemathesis and Hypothesis draw the same requests; the
answers may differ only where time enters (today's date) and in the ids the server makes. FUZZ_SEED=<n> draws other
cases and FUZZ_SCALE=<k> runs k times as many, to look further than CI does.

Against an app process of its own: rate limits off but sign-in's and the second factor's (their 429s are met), no
outbound address allowed but the seeded webhook's, so nothing is fetched. Two workspaces, A and B, each get one
object of every kind the API reaches by id. Then:
1. every operation: EXAMPLES_SIGNED_IN cases as A's owner and as B's owner (positive cases, on the caller's own
   objects for a third of them where the path has ids, and negative cases), EXAMPLES_ANONYMOUS without credentials and
   EXAMPLES_FORGED with a well-formed token signed with another key;
2. every request B makes that carries an id of B's is first sent as A;
3. every date query parameter, alone, at 0001-01-01 and 9999-12-31 (as A, on A's objects);
4. STATEFUL_SCENARIOS scenarios of up to STATEFUL_STEPS steps along the links schemathesis infers between operations
   (an id one answer returns becomes a later request's path parameter or body field), as B, each again tried as A.
Every answer must be declared by the document (status, content type, headers, body) and none may be a 5xx; without
valid credentials every route off the public allowlist answers 401; B's object in A's path is a 404, a write of A's
never takes B's id, and no answer to A names an object B made (nor the other way round).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis

from podsponsor.config import FEATURE_FLAGS
from podsponsor.db.bootstrap import DatabaseUrls
from tests.factories.app_server import serve_app
from tests.factories.identity import Tenant, make_tenant
from tests.security.fuzz_api import (
    ALLOWED_HOOK,
    Finding,
    Fuzzer,
    Identity,
    Tally,
    forged_token,
    operations,
    seed_tenant,
)
from tests.security.test_routes import PUBLIC

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
# The recorded seed; FUZZ_SEED=<n> draws other cases, to look further than CI does.
SEED = int(os.environ.get("FUZZ_SEED", "20261122"))
# CI's budget (a few minutes on two cores); FUZZ_SCALE=10 runs ten times the cases for a deeper look.
SCALE = int(os.environ.get("FUZZ_SCALE", "1"))
EXAMPLES_SIGNED_IN = 10 * SCALE
EXAMPLES_ANONYMOUS = 2
EXAMPLES_FORGED = 1
STATEFUL_SCENARIOS = 40 * SCALE
STATEFUL_STEPS = 8
# Every limit the middleware keeps, off: the fuzzer should reach the handlers. Sign-in and the second factor are
# limited where their outcome is known (podsponsor.auth.throttle) and stay on.
UNLIMITED = "signup=off,conversion-webhook=off,conversion-webhook-address=off,pixel=off,vanity=off,shared-report=off"


@pytest.fixture(scope="module")
def fuzz_server(database: DatabaseUrls) -> Iterator[str]:
    env = {
        **os.environ,
        "RATE_LIMITS": UNLIMITED,
        "OUTBOUND_ALLOW_HOSTS": ALLOWED_HOOK.split("/")[2],
    }
    with serve_app(env, ARTIFACTS / "fuzz-server.log") as base:
        yield base


@pytest.fixture(scope="module")
def fuzzed(fuzz_server: str) -> Tally:
    started = time.monotonic()
    a, b = (make_tenant(fuzz_server, roles=("owner", "sales"), name=f"Fuzz {n}") for n in "AB")
    tenant_a, tenant_b = _identity("tenant-a", a), _identity("tenant-b", b)
    anonymous = Identity("anonymous", {})
    forged = Identity("forged-token", {"Authorization": f"Bearer {forged_token(a.id)}"})
    schema = schemathesis.openapi.from_url(f"{fuzz_server}/openapi.json")
    fuzzer = Fuzzer(schema, fuzz_server, PUBLIC, SEED)
    fuzzer.know(tenant_a)
    fuzzer.know(tenant_b)
    try:
        for operation in operations(schema):
            fuzzer.fuzz(operation, tenant_a, EXAMPLES_SIGNED_IN)
            fuzzer.fuzz(operation, tenant_b, EXAMPLES_SIGNED_IN, probe=tenant_a)
            fuzzer.fuzz(operation, anonymous, EXAMPLES_ANONYMOUS)
            fuzzer.fuzz(operation, forged, EXAMPLES_FORGED)
            fuzzer.calendar_edges(operation, tenant_a)
        for tenant in (a, b):
            _restore_flags(tenant)
        fuzzer.stateful(tenant_b, tenant_a, STATEFUL_SCENARIOS, STATEFUL_STEPS)
        for identity in (tenant_a, tenant_b):
            me = httpx.get(f"{fuzz_server}/api/v1/me", headers=dict(identity.headers), timeout=30)
            fuzzer.tally.me_at_end[identity.name] = me.status_code
    finally:
        fuzzer.close()
    summary = fuzzer.tally.summary(time.monotonic() - started, SEED)
    print(f"\nfuzz summary: {summary}")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "fuzz-summary.json").write_text(summary + "\n")
    return fuzzer.tally


def _identity(name: str, tenant: Tenant) -> Identity:
    return Identity(
        name,
        {"Authorization": f"Bearer {tenant.tokens['owner']}"},
        user_id=tenant.user_ids["owner"],
        ids=seed_tenant(tenant),
        others={"user_id": tenant.user_ids["sales"]},
        owned=frozenset({tenant.id, *tenant.user_ids.values()}),
    )


def _restore_flags(tenant: Tenant) -> None:
    """The fuzzer may have switched features off for its workspace; the stateful phase starts with all of them."""
    with tenant.client() as owner:
        for name in FEATURE_FLAGS:
            response = owner.put(f"/api/v1/feature-flags/{name}", json={"enabled": None})
            assert response.status_code == httpx.codes.OK, response.text


def _report(tally: Tally, kind: str) -> str:
    """Each distinct finding once (operation, status, what), with how often it was met and one way to reproduce it."""
    found = tally.of(kind)
    groups: dict[tuple[str, int, str], list[Finding]] = {}
    for finding in found:
        groups.setdefault((finding.operation, finding.status, finding.title), []).append(finding)
    lines = [f"{len(found)} {kind}(s), {len(groups)} distinct:"]
    lines += [
        f"{group[0].line()}\n    ({len(group)}x, as {sorted({f.identity for f in group})})" for group in groups.values()
    ]
    return "\n".join(lines)


def test_the_fuzzer_reached_every_operation_as_every_identity(fuzzed: Tally, fuzz_server: str) -> None:
    documented = {
        f"{method.upper()} {path}"
        for path, item in httpx.get(f"{fuzz_server}/openapi.json").json()["paths"].items()
        for method in item
    }
    assert fuzzed.operations == documented
    assert set(fuzzed.cases) == {"tenant-a", "tenant-b", "anonymous", "forged-token"}
    assert min(fuzzed.cases.values()) >= len(documented)
    assert fuzzed.stateful_steps >= STATEFUL_SCENARIOS
    # The owners were still signed in at the end, so their cases met the routes, not only the sign-in check.
    assert fuzzed.me_at_end == {"tenant-a": 200, "tenant-b": 200}


def test_no_request_gets_a_server_error(fuzzed: Tally) -> None:
    assert not fuzzed.of("server error"), _report(fuzzed, "server error")


def test_every_response_is_one_the_openapi_document_declares(fuzzed: Tally) -> None:
    assert not fuzzed.of("schema violation"), _report(fuzzed, "schema violation")


def test_guarded_routes_answer_401_without_valid_credentials(fuzzed: Tally) -> None:
    assert not fuzzed.of("credentials ignored"), _report(fuzzed, "credentials ignored")


def test_another_tenants_objects_are_404_and_never_named_in_an_answer(fuzzed: Tally) -> None:
    assert not fuzzed.of("cross-tenant"), _report(fuzzed, "cross-tenant")
    # The probes met real objects (B's own request for them succeeded), not only ids that exist nowhere.
    assert fuzzed.probes_on_existing >= 50, fuzzed.probes_on_existing
