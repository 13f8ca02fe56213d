"""Sign-up, sign-in, users and roles, API keys and the audit log, over real HTTP."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.factories.identity import PASSWORD, make_tenant, token_for


@pytest.fixture(scope="module")
def tenant(server: str):
    return make_tenant(server, roles=("owner", "admin", "sales", "ops", "creator", "advertiser"))


@pytest.fixture(scope="module")
def other(server: str):
    return make_tenant(server)


def test_signup_creates_a_workspace_whose_owner_can_sign_in(server: str) -> None:
    tag = uuid.uuid4().hex[:6]
    body = {"workspace_name": f"Acme Audio {tag}", "email": f"boss-{tag}@acme.example", "password": PASSWORD}
    created = httpx.post(f"{server}/api/v1/auth/signup", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["slug"] == f"acme-audio-{tag}"
    token = token_for(server, f"boss-{tag}@acme.example")
    me = httpx.get(f"{server}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["role"] == "owner" and me["tenant_name"] == f"Acme Audio {tag}" and me["credential"] == "jwt"


def test_signup_with_a_taken_slug_is_409_and_a_weak_password_is_422_without_echo(server: str, tenant) -> None:
    body = {"workspace_name": "Copycat", "workspace_slug": tenant.slug, "email": "c@example.com", "password": PASSWORD}
    taken = httpx.post(f"{server}/api/v1/auth/signup", json=body)
    assert taken.status_code == 409
    assert taken.json()["errors"][0]["field"] == "workspace_slug"
    weak = httpx.post(f"{server}/api/v1/auth/signup", json={**body, "workspace_slug": None, "password": "hunter2"})
    assert weak.status_code == 422
    assert weak.headers["content-type"].startswith("application/problem+json")
    assert "hunter2" not in weak.text


def test_wrong_password_is_401_and_repeated_failures_are_throttled(server: str) -> None:
    victim = make_tenant(server)
    body = {"email": victim.owner_email, "password": "wrong password!"}
    statuses = [httpx.post(f"{server}/api/v1/auth/token", json=body).status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    blocked = httpx.post(f"{server}/api/v1/auth/token", json={**body, "password": PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0


def test_an_email_in_two_workspaces_must_name_the_workspace(server: str, tenant, other) -> None:
    shared = f"consultant-{uuid.uuid4().hex[:6]}@example.com"
    for workspace in (tenant, other):
        with workspace.client() as owner:
            added = owner.post("/api/v1/users", json={"email": shared, "role": "sales", "password": PASSWORD})
            assert added.status_code == 201, added.text
    ambiguous = httpx.post(f"{server}/api/v1/auth/token", json={"email": shared, "password": PASSWORD})
    assert ambiguous.status_code == 409
    assert set(ambiguous.json()["workspaces"]) == {tenant.slug, other.slug}
    token = token_for(server, shared, workspace=other.slug)
    me = httpx.get(f"{server}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["tenant_id"] == other.id


def test_only_admins_manage_users_and_nobody_grants_above_their_role(tenant) -> None:
    with tenant.client("sales") as sales:
        assert sales.get("/api/v1/users").status_code == 403
        assert sales.post("/api/v1/users", json={"email": "x@example.com", "role": "ops"}).status_code == 403
    with tenant.client("admin") as admin:
        grant_owner = admin.post(
            "/api/v1/users", json={"email": "o2@example.com", "role": "owner", "password": PASSWORD}
        )
        assert grant_owner.status_code == 403
        assert admin.patch(f"/api/v1/users/{tenant.user_ids['owner']}", json={"role": "sales"}).status_code == 403


def test_advertiser_users_need_a_sponsor_of_this_workspace(tenant) -> None:
    with tenant.client() as owner:
        missing = owner.post(
            "/api/v1/users", json={"email": "ad@example.com", "role": "advertiser", "password": PASSWORD}
        )
        assert missing.status_code == 422
        assert missing.json()["errors"][0]["field"] == "sponsor_id"
        foreign = owner.post(
            "/api/v1/users",
            json={
                "email": "ad@example.com",
                "role": "advertiser",
                "password": PASSWORD,
                "sponsor_id": str(uuid.uuid4()),
            },
        )
        assert foreign.status_code == 422


def test_a_role_change_ends_old_sessions_and_is_audited(server: str, tenant) -> None:
    with tenant.client() as owner:
        email = f"ops-{uuid.uuid4().hex[:6]}@example.com"
        user = owner.post("/api/v1/users", json={"email": email, "role": "ops", "password": PASSWORD}).json()
        old_token = token_for(server, email)
        changed = owner.patch(f"/api/v1/users/{user['id']}", json={"role": "sales"})
        assert changed.status_code == 200 and changed.json()["role"] == "sales"
        stale = httpx.get(f"{server}/api/v1/me", headers={"Authorization": f"Bearer {old_token}"})
        assert stale.status_code == 401
        fresh = httpx.get(f"{server}/api/v1/me", headers={"Authorization": f"Bearer {token_for(server, email)}"})
        assert fresh.json()["role"] == "sales"
        audit = owner.get("/api/v1/audit-log").json()
        change = next(a for a in audit if a["action"] == "user.role_changed" and a["target_id"] == user["id"])
        assert change["details"] == {"from": "ops", "to": "sales"}
        assert any(a["action"] == "user.signed_in" for a in audit)


def test_a_deactivated_user_cannot_sign_in(server: str, tenant) -> None:
    with tenant.client() as owner:
        email = f"gone-{uuid.uuid4().hex[:6]}@example.com"
        user = owner.post("/api/v1/users", json={"email": email, "role": "creator", "password": PASSWORD}).json()
        token = token_for(server, email)
        assert owner.patch(f"/api/v1/users/{user['id']}", json={"is_active": False}).status_code == 200
    assert httpx.get(f"{server}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    refused = httpx.post(f"{server}/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert refused.status_code == 401


def test_invited_user_sets_a_password_and_signs_in(server: str, tenant) -> None:
    email = f"invitee-{uuid.uuid4().hex[:6]}@example.com"
    with tenant.client() as owner:
        created = owner.post("/api/v1/users", json={"email": email, "role": "creator"})
        assert created.status_code == 201, created.text
        invite_url = created.json()["invite_url"]
    token = invite_url.rsplit("/", 1)[1]
    refused = httpx.post(f"{server}/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert refused.status_code == 401
    accepted = httpx.post(f"{server}/api/v1/auth/accept-invite", json={"token": token, "password": PASSWORD})
    assert accepted.status_code == 200, accepted.text
    assert token_for(server, email)
    reused = httpx.post(f"{server}/api/v1/auth/accept-invite", json={"token": token, "password": PASSWORD + "!"})
    assert reused.status_code == 404


def test_api_keys_are_shown_once_scoped_tracked_and_revocable(server: str, tenant, other) -> None:
    with tenant.client() as owner:
        created = owner.post("/api/v1/api-keys", json={"name": "reporting", "scopes": ["catalog:read"]})
        assert created.status_code == 201, created.text
        key = created.json()
        assert key["token"].startswith(f"psk_{key['prefix']}_")
        listed = owner.get("/api/v1/api-keys").json()
        assert key["token"] not in str(listed)
        assert next(k for k in listed if k["id"] == key["id"])["last_used_at"] is None
    as_key = httpx.Client(base_url=server, headers={"Authorization": f"Bearer {key['token']}"})
    me = as_key.get("/api/v1/me").json()
    assert me["credential"] == "api_key" and me["permissions"] == ["catalog:read"]
    assert as_key.get("/api/v1/podcasts").status_code == 200
    assert as_key.post("/api/v1/podcasts", json={"title": "Not allowed"}).status_code == 403
    with other.client() as intruder:
        assert intruder.delete(f"/api/v1/api-keys/{key['id']}").status_code == 404
    with tenant.client() as owner:
        assert next(k for k in owner.get("/api/v1/api-keys").json() if k["id"] == key["id"])["last_used_at"]
        assert owner.delete(f"/api/v1/api-keys/{key['id']}").json()["revoked_at"]
        actions = [a["action"] for a in owner.get("/api/v1/audit-log").json()]
        assert "api_key.created" in actions and "api_key.revoked" in actions
    assert as_key.get("/api/v1/me").status_code == 401
    assert httpx.get(f"{server}/api/v1/me", headers={"Authorization": "Bearer psk_nonsense"}).status_code == 401


def test_a_key_cannot_do_more_than_its_creator(tenant) -> None:
    with tenant.client("admin") as admin:
        assert admin.post("/api/v1/api-keys", json={"name": "ok", "scopes": ["sales:write"]}).status_code == 201
    with tenant.client("ops") as ops:
        assert ops.post("/api/v1/api-keys", json={"name": "x", "scopes": ["sales:write"]}).status_code == 403


def test_unknown_scope_is_a_422_naming_the_field(tenant) -> None:
    with tenant.client() as owner:
        response = owner.post("/api/v1/api-keys", json={"name": "x", "scopes": ["everything"]})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"].startswith("scopes")


def test_cookie_sessions_must_send_the_csrf_token_to_write_through_the_api(server: str, tenant, settings) -> None:
    from podsponsor.auth.tokens import TokenClaims, issue_session

    session = issue_session(settings, TokenClaims(uuid.UUID(tenant.id), uuid.UUID(tenant.user_ids["owner"]), 1))
    cookies = {"podsponsor_session": session, "podsponsor_csrf": "page-token"}
    with httpx.Client(base_url=server, cookies=cookies) as browser:
        assert browser.get("/api/v1/podcasts").status_code == 200
        refused = browser.post("/api/v1/podcasts", json={"title": "Forged"})
        assert refused.status_code == 403 and refused.json()["type"].endswith("/csrf-failed")
        wrong = browser.post("/api/v1/podcasts", json={"title": "Forged"}, headers={"X-CSRF-Token": "other"})
        assert wrong.status_code == 403
        allowed = browser.post(
            "/api/v1/podcasts", json={"title": "From a page"}, headers={"X-CSRF-Token": "page-token"}
        )
        assert allowed.status_code == 201
