"""Two-step sign-in over the API: enrolment, sign-in with a code or a recovery code, replay refusal (also concurrent),
throttled guessing, turning it off; problem types totp-required and totp-invalid."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from cryptography.fernet import Fernet

from podsponsor.auth import totp
from podsponsor.db.bootstrap import DatabaseUrls
from tests.attribution.world import as_owner
from tests.factories.identity import PASSWORD, Tenant, make_tenant

PROBLEMS = "https://podsponsor.dev/problems/"


def code(secret: str, offset: int = 0) -> str:
    """The app's code now (offset 0) or a step later: both stay valid if a step boundary passes mid-request."""
    return totp.code_at(secret, totp.step_at(time.time()) + offset)


def wrong_codes(secret: str, count: int) -> list[str]:
    """Six-digit codes that no step within the drift window has."""
    valid = {code(secret, offset) for offset in (-1, 0, 1, 2)}
    return [guess for guess in (str(n) * 6 for n in range(10)) if guess not in valid][:count]


def enrol(owner: httpx.Client) -> tuple[str, list[str]]:
    """Turn two-step sign-in on with this step's code; the secret and the recovery codes."""
    setup = owner.post("/api/v1/auth/totp/setup")
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    confirmed = owner.post("/api/v1/auth/totp/confirm", json={"code": code(secret)})
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"]


def sign_in(tenant: Tenant, **second: str) -> httpx.Response:
    body = {"email": tenant.owner_email, "password": PASSWORD, **second}
    return httpx.post(f"{tenant.base_url}/api/v1/auth/token", json=body, timeout=30)


@pytest.fixture
def tenant(server: str) -> Tenant:
    return make_tenant(server)


def test_setup_gives_a_secret_its_uri_and_qr_code_and_is_off_until_confirmed(tenant: Tenant) -> None:
    with tenant.client() as owner:
        assert owner.get("/api/v1/auth/totp").json() == {
            "enabled": False,
            "enabled_at": None,
            "recovery_codes_left": 0,
            "setup_pending": False,
        }
        setup = owner.post("/api/v1/auth/totp/setup").json()
        assert setup["otpauth_uri"] == totp.provisioning_uri(setup["secret"], tenant.owner_email, "podsponsor")
        assert setup["qr_svg"].startswith("<svg")
        assert owner.get("/api/v1/auth/totp").json()["setup_pending"] is True
        # Not on yet: the password alone still signs in.
        assert sign_in(tenant).status_code == 200
        wrong = owner.post("/api/v1/auth/totp/confirm", json={"code": wrong_codes(setup["secret"], 1)[0]})
        assert wrong.status_code == 422 and wrong.json()["type"] == PROBLEMS + "code-wrong"
        assert wrong.json()["errors"][0]["field"] == "code"
        confirmed = owner.post("/api/v1/auth/totp/confirm", json={"code": code(setup["secret"])})
        assert confirmed.status_code == 200
        codes = confirmed.json()["recovery_codes"]
        assert len(set(codes)) == 10
        state = owner.get("/api/v1/auth/totp").json()
        assert state["enabled"] is True and state["recovery_codes_left"] == 10 and state["enabled_at"]
        assert owner.post("/api/v1/auth/totp/setup").status_code == 409
        actions = [entry["action"] for entry in owner.get("/api/v1/audit-log").json()]
        assert "user.totp_enabled" in actions


def test_sign_in_needs_the_code_and_a_code_never_works_twice(tenant: Tenant) -> None:
    with tenant.client() as owner:
        secret, _ = enrol(owner)
    missing = sign_in(tenant)
    assert missing.status_code == 401
    assert missing.json()["type"] == PROBLEMS + "totp-required"
    assert missing.headers["www-authenticate"] == "Bearer"
    # The code that turned it on was spent doing so.
    replayed = sign_in(tenant, totp_code=code(secret))
    assert replayed.status_code == 401 and replayed.json()["type"] == PROBLEMS + "totp-invalid"
    next_code = code(secret, 1)
    signed_in = sign_in(tenant, totp_code=next_code[:3] + " " + next_code[3:])
    assert signed_in.status_code == 200, signed_in.text
    token = signed_in.json()["access_token"]
    assert httpx.get(f"{tenant.base_url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    again = sign_in(tenant, totp_code=next_code)
    assert again.status_code == 401 and again.json()["type"] == PROBLEMS + "totp-invalid"
    # A wrong password is still just a wrong password, whatever the code.
    wrong_password = httpx.post(
        f"{tenant.base_url}/api/v1/auth/token",
        json={"email": tenant.owner_email, "password": "not it at all", "totp_code": code(secret, 1)},
    )
    assert wrong_password.json()["type"] == PROBLEMS + "invalid-credentials"


async def test_the_same_code_sent_five_times_at_once_signs_in_once(tenant: Tenant) -> None:
    with tenant.client() as owner:
        secret, _ = enrol(owner)
    body = {"email": tenant.owner_email, "password": PASSWORD, "totp_code": code(secret, 1)}
    async with httpx.AsyncClient(base_url=tenant.base_url, timeout=60) as client:
        responses = await asyncio.gather(*(client.post("/api/v1/auth/token", json=body) for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [200, 401, 401, 401, 401]
    assert {r.json()["type"] for r in responses if r.status_code == 401} == {PROBLEMS + "totp-invalid"}


def test_a_recovery_code_signs_in_once_and_is_audited(tenant: Tenant) -> None:
    with tenant.client() as owner:
        _, codes = enrol(owner)
    # Typed back in capitals with spaces, as people do.
    used = sign_in(tenant, recovery_code=codes[3].upper().replace("-", " "))
    assert used.status_code == 200, used.text
    again = sign_in(tenant, recovery_code=codes[3])
    assert again.status_code == 401 and again.json()["type"] == PROBLEMS + "totp-invalid"
    with tenant.client() as owner:
        assert owner.get("/api/v1/auth/totp").json()["recovery_codes_left"] == 9
        audit = owner.get("/api/v1/audit-log").json()
    spent = [entry for entry in audit if entry["action"] == "user.recovery_code_used"]
    assert len(spent) == 1 and spent[0]["details"] == {"recovery_codes_left": 9}
    assert spent[0]["target_id"] == tenant.user_ids["owner"]
    assert any(e["action"] == "user.signed_in" and e["details"] == {"second_factor": "recovery_code"} for e in audit)


def test_new_recovery_codes_replace_the_old_ones(tenant: Tenant) -> None:
    with tenant.client() as owner:
        _, old = enrol(owner)
        refused = owner.post("/api/v1/auth/totp/recovery-codes", json={"password": "not my password"})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "password"
        fresh = owner.post("/api/v1/auth/totp/recovery-codes", json={"password": PASSWORD})
        assert fresh.status_code == 200
        new = fresh.json()["recovery_codes"]
    assert not set(new) & set(old)
    assert sign_in(tenant, recovery_code=old[0]).status_code == 401
    assert sign_in(tenant, recovery_code=new[0]).status_code == 200


def test_guessing_codes_is_paused_after_five_wrong_ones(tenant: Tenant) -> None:
    with tenant.client() as owner:
        secret, _ = enrol(owner)
    assert [sign_in(tenant, totp_code=guess).status_code for guess in wrong_codes(secret, 5)] == [401] * 5
    paused = sign_in(tenant, totp_code=code(secret, 1))
    assert paused.status_code == 429
    assert paused.json()["type"] == PROBLEMS + "rate-limited"
    assert 0 < int(paused.headers["retry-after"]) <= 900


def test_turning_it_off_needs_a_code_or_the_password(tenant: Tenant) -> None:
    with tenant.client() as owner:
        secret, _ = enrol(owner)
        refused = owner.post("/api/v1/auth/totp/disable", json={"code": code(secret)})  # spent on enrolment
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "code"
        assert owner.post("/api/v1/auth/totp/disable", json={}).status_code == 422
        assert owner.post("/api/v1/auth/totp/disable", json={"code": code(secret, 1)}).status_code == 204
        assert owner.get("/api/v1/auth/totp").json()["enabled"] is False
        assert owner.post("/api/v1/auth/totp/disable", json={"password": PASSWORD}).status_code == 409
        actions = [entry["action"] for entry in owner.get("/api/v1/audit-log").json()]
        assert "user.totp_disabled" in actions
    assert sign_in(tenant).status_code == 200


def test_only_a_signed_in_user_has_a_second_factor(server: str, tenant: Tenant) -> None:
    assert httpx.post(f"{server}/api/v1/auth/totp/setup").status_code == 401
    with tenant.client() as owner:
        key = owner.post("/api/v1/api-keys", json={"name": "k", "scopes": ["catalog:read"]}).json()["token"]
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {key}"}) as as_key:
        assert as_key.get("/api/v1/auth/totp").status_code == 403
        assert as_key.post("/api/v1/auth/totp/setup").status_code == 403


def test_each_user_has_their_own_second_factor(server: str) -> None:
    tenant = make_tenant(server, roles=("owner", "advertiser"))
    with tenant.client("advertiser") as advertiser:
        enrol(advertiser)
    with tenant.client() as owner:
        assert owner.get("/api/v1/auth/totp").json()["enabled"] is False
    assert sign_in(tenant).status_code == 200
    email = f"advertiser-{tenant.slug.removeprefix('net-')}@example.com"
    needs = httpx.post(f"{server}/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert needs.json()["type"] == PROBLEMS + "totp-required"


def test_a_secret_sealed_under_another_key_refuses_codes_and_recovery_codes_still_work(
    tenant: Tenant, database: DatabaseUrls
) -> None:
    with tenant.client() as owner:
        secret, codes = enrol(owner)
    # As after SECRET_KEY changed: the stored secret no longer opens.
    sealed = Fernet(Fernet.generate_key()).encrypt(secret.encode()).decode()
    as_owner(database, "UPDATE users SET totp_secret_encrypted = %s WHERE id = %s", sealed, tenant.user_ids["owner"])
    refused = sign_in(tenant, totp_code=code(secret, 1))
    assert refused.status_code == 401 and refused.json()["type"] == PROBLEMS + "totp-invalid"
    assert sign_in(tenant, recovery_code=codes[0]).status_code == 200
