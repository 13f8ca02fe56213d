"""The page shell over HTTP: sign-up, sign-in, sign-out, CSRF, redirects, throttling, cookies and headers."""

from __future__ import annotations

import uuid

import httpx

from tests.factories.identity import PASSWORD, make_tenant
from tests.web.conftest import Workspace, browser, csrf_of, sign_up, submit


def _set_cookie(response: httpx.Response, name: str) -> str:
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert found, f"no {name} cookie in {response.headers.get_list('set-cookie')}"
    return found[0]


def test_signing_up_opens_the_new_workspace_with_a_safe_session_cookie(server: str) -> None:
    workspace = sign_up(server, name="Harbor Audio")
    with workspace as client:
        home = client.get("/")
        assert home.status_code == 200
        assert "Harbor Audio" in home.text
        assert "Olive Owner" in home.text
        assert 'href="/settings/users"' in home.text, "the owner's navigation offers the settings"


def test_session_cookie_is_httponly_lax_and_lives_for_the_session_ttl(server: str) -> None:
    tenant = make_tenant(server)
    with browser(server) as client:
        response = submit(client, "/login", "/login", {"email": tenant.owner_email, "password": PASSWORD})
        assert response.status_code == 303
        cookie = _set_cookie(response, "podsponsor_session").lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        assert "path=/" in cookie
        assert "max-age=1209600" in cookie
        assert "; secure" not in cookie, "plain-HTTP test server: no Secure flag"


def test_anonymous_pages_send_the_visitor_to_sign_in(server: str) -> None:
    with browser(server) as client:
        shows = client.get("/podcasts")
        assert shows.status_code == 303
        assert shows.headers["location"] == "/login?next=/podcasts"
        home = client.get("/")
        assert home.status_code == 303
        assert home.headers["location"].startswith("/login")
        login = client.get("/login")
        assert 'href="/signup"' in login.text
        assert "Sign out" not in login.text


def test_a_form_posted_without_its_csrf_token_is_refused(server: str, workspace: Workspace) -> None:
    client = workspace.client
    forged = client.post("/podcasts", data={"title": "Forged Show"})
    assert forged.status_code == 403
    assert "form expired" in forged.text.lower()
    wrong = client.post("/podcasts", data={"title": "Forged Show", "csrf_token": "not-the-token"})
    assert wrong.status_code == 403
    assert "Forged Show" not in client.get("/podcasts").text
    with browser(server) as stranger:
        login = stranger.post("/login", data={"email": workspace.email, "password": PASSWORD})
        assert login.status_code == 403
        assert "podsponsor_session" not in login.headers.get("set-cookie", "")


def test_sign_in_returns_to_a_local_page_but_never_to_another_site(server: str) -> None:
    tenant = make_tenant(server)
    credentials = {"email": tenant.owner_email, "password": PASSWORD}
    for hostile in ("//evil.example", "https://evil.example/", "/\\evil.example", "evil.example"):
        with browser(server) as client:
            page = client.get("/login", params={"next": hostile})
            assert "evil.example" not in page.text
            response = submit(client, "/login", "/login", {**credentials, "next": hostile})
            assert response.status_code == 303
            assert response.headers["location"] == "/", hostile
    with browser(server) as client:
        response = submit(client, "/login", "/login", {**credentials, "next": "/podcasts?q=news"})
        assert response.headers["location"] == "/podcasts?q=news"


def test_wrong_passwords_show_a_message_then_the_form_is_throttled(server: str) -> None:
    tenant = make_tenant(server)
    with browser(server) as client:
        token = csrf_of(client.get("/login"))
        attempt = {"csrf_token": token, "email": tenant.owner_email, "password": "wrong password!"}
        for _ in range(5):
            wrong = client.post("/login", data=attempt)
            assert wrong.status_code == 401
            assert "e-mail or the password is wrong" in wrong.text
            assert "wrong password!" not in wrong.text, "the password is never echoed back"
        throttled = client.post("/login", data={**attempt, "password": PASSWORD})
        assert throttled.status_code == 429
        assert "Too many failed sign-ins" in throttled.text
        assert int(throttled.headers["retry-after"]) > 0
        assert "podsponsor_session" not in throttled.headers.get("set-cookie", "")


def test_login_form_names_the_field_it_cannot_read(server: str) -> None:
    with browser(server) as client:
        response = submit(client, "/login", "/login", {"email": "not-an-email", "password": "x"})
        assert response.status_code == 422
        assert 'id="email-error"' in response.text
        assert 'value="not-an-email"' in response.text


def test_an_email_in_two_workspaces_is_asked_which_one(server: str) -> None:
    first = make_tenant(server)
    email = first.owner_email
    with browser(server) as client:
        second_slug = f"second-{uuid.uuid4().hex[:6]}"
        fields = {
            "workspace_name": "Second Studio",
            "workspace_slug": second_slug,
            "email": email,
            "password": PASSWORD,
            "kind": "creator",
        }
        assert submit(client, "/signup", "/signup", fields).status_code == 303
    with browser(server) as client:
        ask = submit(client, "/login", "/login", {"email": email, "password": PASSWORD})
        assert ask.status_code == 409
        assert f'<option value="{second_slug}"' in ask.text
        assert f'<option value="{first.slug}"' in ask.text
        chosen = submit(client, "/login", "/login", {"email": email, "password": PASSWORD, "workspace": second_slug})
        assert chosen.status_code == 303
        assert "Second Studio" in client.get("/").text


def test_signup_errors_are_shown_by_field(server: str, workspace: Workspace) -> None:
    with browser(server) as client:
        bad = submit(
            client,
            "/signup",
            "/signup",
            {"workspace_name": "X", "email": "nobody", "password": "short", "kind": "network"},
        )
        assert bad.status_code == 422
        for field in ("workspace_name", "email", "password"):
            assert f'id="{field}-error"' in bad.text
        assert 'value="short"' not in bad.text
        taken = submit(
            client,
            "/signup",
            "/signup",
            {
                "workspace_name": "Copycat",
                "workspace_slug": workspace.slug,
                "email": "c@example.com",
                "password": PASSWORD,
                "kind": "network",
            },
        )
        assert taken.status_code == 409
        assert 'id="workspace_slug-error"' in taken.text
        assert "podsponsor_session" not in taken.headers.get("set-cookie", "")


def test_signing_out_ends_the_session(server: str, workspace: Workspace) -> None:
    client = workspace.client
    out = submit(client, "/", "/logout", {})
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    assert 'podsponsor_session=""' in _set_cookie(out, "podsponsor_session")
    after = client.get("/login")
    assert "You are signed out." in after.text
    assert client.get("/").status_code == 303


def test_pages_carry_security_headers(server: str) -> None:
    with browser(server) as client:
        page = client.get("/login")
        assert page.headers["content-security-policy"].startswith("default-src 'self'; frame-ancestors 'none'")
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "same-origin"
        assert page.headers["cache-control"] == "no-store"
        assert "<script>" not in page.text, "no inline script: the policy would block it"
        asset = client.get("/static/vendor/htmx.min.js")
        assert asset.status_code == 200
        assert asset.headers["x-content-type-options"] == "nosniff"
        assert client.get("/static/app.css").status_code == 200


def test_unknown_pages_and_other_errors_render_as_pages(server: str, workspace: Workspace) -> None:
    missing = workspace.client.get("/podcasts/not-a-show")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "Not found" in missing.text
    assert workspace.name in missing.text, "the error page keeps the signed-in navigation"
    api = httpx.get(f"{server}/api/v1/podcasts/{uuid.uuid4()}", timeout=30)
    assert api.headers["content-type"].startswith("application/problem+json")
