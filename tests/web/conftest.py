"""Page tests: a browser-like HTTP client that keeps cookies and reads CSRF tokens, and real Chromium."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories.identity import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
HTML = {"Accept": "text/html,application/xhtml+xml"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
        ],
    }


def csrf_of(response: httpx.Response) -> str:
    found = _CSRF.search(response.text)
    assert found, f"no CSRF field on {response.url}"
    return found.group(1)


def browser(server: str) -> httpx.Client:
    """Like a browser: asks for HTML, keeps cookies, and lets the test see each redirect."""
    return httpx.Client(base_url=server, headers=HTML, timeout=30, follow_redirects=False)


def submit(client: httpx.Client, form_page: str, action: str, fields: dict[str, Any]) -> httpx.Response:
    """Open the page holding the form (which sets the CSRF cookie), then post the form with its token."""
    token = csrf_of(client.get(form_page))
    return client.post(action, data={"csrf_token": token, **fields})


@dataclass
class Workspace:
    name: str
    slug: str
    email: str
    client: httpx.Client

    def __enter__(self) -> httpx.Client:
        return self.client

    def __exit__(self, *_: object) -> None:
        self.client.close()


def sign_up(server: str, name: str | None = None) -> Workspace:
    tag = uuid.uuid4().hex[:8]
    name = name or f"Studio {tag}"
    client = browser(server)
    fields = {
        "workspace_name": name,
        "workspace_slug": f"studio-{tag}",
        "kind": "network",
        "display_name": "Olive Owner",
        "email": f"olive-{tag}@example.com",
        "password": PASSWORD,
    }
    response = submit(client, "/signup", "/signup", fields)
    assert response.status_code == 303, response.text
    return Workspace(name, f"studio-{tag}", fields["email"], client)


@pytest.fixture
def workspace(server: str) -> Iterator[Workspace]:
    signed_up = sign_up(server)
    yield signed_up
    signed_up.client.close()
