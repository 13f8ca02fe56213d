"""Settings pages: users (add, invite, role, deactivate) and API keys (create once, revoke), by role."""

from __future__ import annotations

import html
import re

import httpx

from tests.factories.identity import PASSWORD
from tests.web.conftest import Workspace, browser, csrf_of, sign_up, submit


def _invite_link(page: httpx.Response) -> str:
    found = re.search(r'value="(http[^"]+/invite/[^"]+)"', page.text)
    assert found, "the page shows the invitation link"
    return html.unescape(found.group(1))


def _user_id(page: str, email: str) -> str:
    row = page[page.index(email) :]
    found = re.search(r'action="/settings/users/([0-9a-f-]{36})"', row)
    assert found
    return found.group(1)


def test_owner_adds_a_user_who_signs_in_with_the_password_given(server: str, workspace: Workspace) -> None:
    added = submit(
        workspace.client,
        "/settings/users",
        "/settings/users",
        {"email": "sam@example.com", "display_name": "Sam Seller", "role": "sales", "password": PASSWORD},
    )
    assert added.status_code == 303
    listing = workspace.client.get("/settings/users").text
    assert "sam@example.com can now sign in as sales." in listing
    assert "Sam Seller" in listing
    with browser(server) as sam:
        login = submit(sam, "/login", "/login", {"email": "sam@example.com", "password": PASSWORD})
        assert login.status_code == 303
        home = sam.get("/").text
        assert 'href="/sponsors"' in home
        assert 'href="/settings/users"' not in home, "no settings in a seller's navigation"
        assert sam.get("/settings/users").status_code == 403
        assert sam.get("/settings/api-keys").status_code == 403


def test_an_invited_user_chooses_a_password_once(server: str, workspace: Workspace) -> None:
    invited = submit(
        workspace.client,
        "/settings/users",
        "/settings/users",
        {"email": "ivy@example.com", "role": "ops", "password": ""},
    )
    assert invited.status_code == 201
    link = _invite_link(invited)
    with browser(server) as ivy:
        form = ivy.get(link)
        assert form.status_code == 200
        mismatch = ivy.post(link, data={"csrf_token": csrf_of(form), "password": PASSWORD, "password_confirm": "x"})
        assert mismatch.status_code == 422
        assert 'id="password_confirm-error"' in mismatch.text
        accepted = ivy.post(
            link, data={"csrf_token": csrf_of(form), "password": PASSWORD, "password_confirm": PASSWORD}
        )
        assert accepted.status_code == 303
        assert workspace.name in ivy.get("/").text
    with browser(server) as replay:
        again = replay.get(link)
        token = csrf_of(again)
        reused = replay.post(
            link, data={"csrf_token": token, "password": "another password", "password_confirm": "another password"}
        )
        assert reused.status_code == 404
    with browser(server) as stranger:
        assert stranger.get("/invite/forged-token").status_code == 404


def test_roles_change_and_deactivated_users_lose_access(server: str, workspace: Workspace) -> None:
    submit(
        workspace.client,
        "/settings/users",
        "/settings/users",
        {"email": "dee@example.com", "role": "sales", "password": PASSWORD},
    )
    with browser(server) as dee:
        submit(dee, "/login", "/login", {"email": "dee@example.com", "password": PASSWORD})
        assert dee.get("/").status_code == 200
        user_id = _user_id(workspace.client.get("/settings/users").text, "dee@example.com")
        promoted = submit(workspace.client, "/settings/users", f"/settings/users/{user_id}", {"role": "admin"})
        assert promoted.status_code == 303
        assert "dee@example.com is admin" in workspace.client.get("/settings/users").text
        assert dee.get("/").status_code == 303, "a role change ends the old session"
        submit(dee, "/login", "/login", {"email": "dee@example.com", "password": PASSWORD})
        off = submit(workspace.client, "/settings/users", f"/settings/users/{user_id}", {"is_active": "false"})
        assert off.status_code == 303
        assert dee.get("/").status_code == 303
        refused = submit(dee, "/login", "/login", {"email": "dee@example.com", "password": PASSWORD})
        assert refused.status_code == 401


def test_user_form_errors_are_shown_by_field(server: str, workspace: Workspace) -> None:
    bad = submit(workspace.client, "/settings/users", "/settings/users", {"email": "nope", "role": "wizard"})
    assert bad.status_code == 422
    assert 'id="email-error"' in bad.text
    assert 'id="role-error"' in bad.text
    twice = {"email": "twin@example.com", "role": "ops", "password": PASSWORD}
    submit(workspace.client, "/settings/users", "/settings/users", twice)
    taken = submit(workspace.client, "/settings/users", "/settings/users", twice)
    assert taken.status_code == 409
    assert 'id="email-error"' in taken.text
    advertiser = submit(
        workspace.client,
        "/settings/users",
        "/settings/users",
        {"email": "ad@example.com", "role": "advertiser", "password": PASSWORD},
    )
    assert advertiser.status_code == 422
    assert 'id="sponsor_id-error"' in advertiser.text or "needs a sponsor" in advertiser.text


def test_another_workspaces_user_is_not_found(server: str, workspace: Workspace) -> None:
    submit(
        workspace.client,
        "/settings/users",
        "/settings/users",
        {"email": "kim@example.com", "role": "ops", "password": PASSWORD},
    )
    user_id = _user_id(workspace.client.get("/settings/users").text, "kim@example.com")
    other = sign_up(server)
    with other as client:
        response = submit(client, "/settings/users", f"/settings/users/{user_id}", {"is_active": "false"})
        assert response.status_code == 404
        assert submit(client, "/settings/users", "/settings/users/not-an-id", {"role": "ops"}).status_code == 404
    with browser(server) as kim:
        assert submit(kim, "/login", "/login", {"email": "kim@example.com", "password": PASSWORD}).status_code == 303


def test_an_api_key_is_shown_once_works_and_can_be_revoked(server: str, workspace: Workspace) -> None:
    created = submit(
        workspace.client,
        "/settings/api-keys",
        "/settings/api-keys",
        {"name": "Reporting export", "scopes": ["catalog:read", "sales:read"]},
    )
    assert created.status_code == 201
    token = re.search(r'id="new-token" type="text" readonly value="([^"]+)"', created.text)
    assert token, "the new key is on the page"
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {token.group(1)}"}) as api:
        assert api.get("/api/v1/podcasts").status_code == 200
        assert api.post("/api/v1/podcasts", json={"title": "Nope"}).status_code == 403
        listing = workspace.client.get("/settings/api-keys").text
        assert "Reporting export" in listing
        assert token.group(1) not in listing, "the key is shown only once"
        key_id = re.search(r'action="/settings/api-keys/([0-9a-f-]{36})/revoke"', listing)
        assert key_id
        revoked = submit(workspace.client, "/settings/api-keys", f"/settings/api-keys/{key_id.group(1)}/revoke", {})
        assert revoked.status_code == 303
        assert "is revoked" in workspace.client.get("/settings/api-keys").text
        assert api.get("/api/v1/podcasts").status_code == 401


def test_api_key_form_errors_are_shown_by_field(workspace: Workspace) -> None:
    none_chosen = submit(workspace.client, "/settings/api-keys", "/settings/api-keys", {"name": "", "scopes": []})
    assert none_chosen.status_code == 422
    assert 'id="name-error"' in none_chosen.text
    assert 'id="scopes-error"' in none_chosen.text
    past = submit(
        workspace.client,
        "/settings/api-keys",
        "/settings/api-keys",
        {"name": "Old", "scopes": ["catalog:read"], "expires_on": "2001-01-01"},
    )
    assert past.status_code == 422
    assert 'id="expires_on-error"' in past.text
    unknown = submit(workspace.client, "/settings/api-keys", "/settings/api-keys", {"name": "Odd", "scopes": ["root"]})
    assert unknown.status_code == 422
    assert 'id="scopes-error"' in unknown.text
