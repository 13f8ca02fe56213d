"""Two-step sign-in in the pages: Settings → Your account turns it on (QR code, key, first code, recovery codes shown
once) and off; signing in then asks for the code on a second page, with no password kept in between."""

from __future__ import annotations

import re
import time

import httpx
from itsdangerous import URLSafeTimedSerializer

from podsponsor.auth import totp
from tests.conftest import TEST_SECRET
from tests.factories.identity import PASSWORD
from tests.web.conftest import Workspace, browser, csrf_of, submit

SECRET = re.compile(r'id="totp-secret">([A-Z2-7]+)<')
RECOVERY = re.compile(r"<li><code>([a-z2-9]{4}(?:-[a-z2-9]{4}){3})</code></li>")
PENDING = "podsponsor_second_factor"


def code(secret: str, offset: int = 0) -> str:
    return totp.code_at(secret, totp.step_at(time.time()) + offset)


def turn_on(client: httpx.Client) -> tuple[str, list[str]]:
    """Through the account page, as a person would; the key the page showed and the recovery codes."""
    started = submit(client, "/settings/account", "/settings/account/totp/setup", {})
    assert started.status_code == 303 and started.headers["location"] == "/settings/account#two-step"
    page = client.get("/settings/account")
    assert "Being set up" in page.text and "<svg" in page.text
    found = SECRET.search(page.text)
    assert found, "the page shows no key to type in"
    secret = found.group(1)
    confirmed = client.post("/settings/account/totp/confirm", data={"csrf_token": csrf_of(page), "code": code(secret)})
    assert confirmed.status_code == 201, confirmed.text
    codes = RECOVERY.findall(confirmed.text)
    assert len(set(codes)) == 10
    return secret, codes


def sign_out(client: httpx.Client) -> None:
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/"))})
    client.cookies.clear()


def password_step(client: httpx.Client, email: str, next_url: str = "/") -> httpx.Response:
    return submit(client, "/login", "/login", {"email": email, "password": PASSWORD, "next": next_url})


def test_turning_it_on_shows_the_recovery_codes_once(workspace: Workspace) -> None:
    with workspace as client:
        off = client.get("/settings/account")
        assert off.status_code == 200 and "Set up two-step sign-in" in off.text
        _, codes = turn_on(client)
        later = client.get("/settings/account")
        assert "10 of 10 recovery codes left" in later.text
        assert not set(codes) & set(RECOVERY.findall(later.text)), "recovery codes are shown only once"
        assert "Turn off two-step sign-in" in later.text


def test_signing_in_asks_for_the_code_on_a_second_page_keeping_no_password(server: str, workspace: Workspace) -> None:
    with workspace as client:
        secret, _ = turn_on(client)
        sign_out(client)
        first = password_step(client, workspace.email, "/podcasts")
        assert first.status_code == 303 and first.headers["location"] == "/login/second-factor"
        assert "podsponsor_session" not in client.cookies, "no session before the second factor"
        pending = client.cookies[PENDING]
        payload = URLSafeTimedSerializer(TEST_SECRET, salt="second-factor").loads(pending)
        assert set(payload) == {"t", "u", "n"} and PASSWORD not in str(payload)
        assert client.get("/").status_code == 303, "still signed out"

        step = client.get("/login/second-factor")
        assert step.status_code == 200 and "authenticator app" in step.text
        wrong = client.post("/login/second-factor", data={"csrf_token": csrf_of(step), "code": "12345x"})
        assert wrong.status_code == 401 and "That code is wrong" in wrong.text
        done = client.post("/login/second-factor", data={"csrf_token": csrf_of(step), "code": code(secret, 1)})
        assert done.status_code == 303 and done.headers["location"] == "/podcasts"
        assert PENDING not in client.cookies
        assert client.get("/podcasts").status_code == 200


def test_a_recovery_code_signs_in_on_the_second_page(workspace: Workspace) -> None:
    with workspace as client:
        _, codes = turn_on(client)
        sign_out(client)
        password_step(client, workspace.email)
        step = client.get("/login/second-factor")
        done = client.post("/login/second-factor", data={"csrf_token": csrf_of(step), "code": codes[0]})
        assert done.status_code == 303 and done.headers["location"] == "/"
        assert "9 of 10 recovery codes left" in client.get("/settings/account").text


def test_the_second_page_without_a_right_password_sends_you_back(server: str) -> None:
    with browser(server) as stranger:
        assert stranger.get("/login/second-factor").headers["location"] == "/login"
        token = csrf_of(stranger.get("/login"))
        stranger.cookies.set(PENDING, "eyJ0IjoiMSJ9.forged.signature", path="/login")
        forged = stranger.post("/login/second-factor", data={"csrf_token": token, "code": "123456"})
        assert forged.status_code == 303 and forged.headers["location"] == "/login"


def test_turning_it_off_needs_the_password_or_a_code(workspace: Workspace) -> None:
    with workspace as client:
        turn_on(client)
        page = client.get("/settings/account")
        refused = client.post(
            "/settings/account/totp/disable", data={"csrf_token": csrf_of(page), "disable_proof": "not my password"}
        )
        assert refused.status_code == 422
        assert 'id="disable_proof-error"' in refused.text
        off = client.post(
            "/settings/account/totp/disable", data={"csrf_token": csrf_of(page), "disable_proof": PASSWORD}
        )
        assert off.status_code == 303
        assert "Set up two-step sign-in" in client.get("/settings/account").text
        sign_out(client)
        assert password_step(client, workspace.email).headers["location"] == "/"


def test_every_role_finds_its_account_page(server: str, workspace: Workspace) -> None:
    with workspace as owner:
        page = owner.get("/settings/users")
        owner.post(
            "/settings/users",
            data={"csrf_token": csrf_of(page), "email": "cora@example.com", "role": "creator", "password": PASSWORD},
        )
    with browser(server) as cora:
        submit(cora, "/login", "/login", {"email": "cora@example.com", "password": PASSWORD})
        home = cora.get("/")
        assert '<a class="account__name" href="/settings/account"' in home.text
        assert "Your account" in cora.get("/settings/account").text
