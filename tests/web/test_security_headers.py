"""Every GET route of the app, walked from its real route table while signed in: each answer carries the security
headers, pages the strict content security policy (and no inline script, style or event handler), API answers the
policy that allows nothing."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import BaseRoute, Mount

from podsponsor.config import Settings
from podsponsor.web.headers import API_POLICY, PAGE_POLICY, PERMISSIONS_POLICY
from tests.web.conftest import Workspace

# The measurement prefix is answered ahead of the app (a redirect for podcast apps, neither page nor API); the static
# files are a mount, not routes.
NOT_WALKED = ("/p/{token}/{rest:path}",)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)(?![^>]*\stype=\"application/json\")[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<[a-z][^>]*\sstyle\s*=|<style[\s>]", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
PARAMETER = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


@pytest.fixture(scope="module")
def app(settings: Settings) -> FastAPI:
    from podsponsor.app import create_app

    return create_app(settings)


def get_paths(routes: list[BaseRoute]) -> Iterator[str]:
    for route in routes:
        if hasattr(route, "effective_route_contexts"):
            # Routers included with their own dependencies: each context is one route at its full path.
            for ctx in route.effective_route_contexts():
                original = ctx.original_route
                yield from _get_path(ctx.path or str(getattr(original, "path", "")), original)
        elif not isinstance(route, Mount):
            yield from _get_path(str(getattr(route, "path", "")), route)


def _get_path(path: str, route: BaseRoute) -> Iterator[str]:
    if "GET" in (getattr(route, "methods", None) or set()) and path not in NOT_WALKED:
        yield path


def filled(path: str, known: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in known:
            return known[name]
        if name.endswith("id"):
            return str(uuid.uuid4())
        return {"token": "t" * 32, "slug": "no-such-slug", "extension": "pdf"}.get(name, "x")

    return PARAMETER.sub(value, path)


def test_every_get_route_answers_with_the_security_headers(app: FastAPI, workspace: Workspace) -> None:
    paths = sorted(set(get_paths(app.routes)))
    assert len(paths) > 60, paths
    with workspace as client:
        show = client.post(
            "/api/v1/podcasts", json={"title": "Walked"}, headers={"X-CSRF-Token": client.cookies["podsponsor_csrf"]}
        )
        assert show.status_code == 201, show.text
        known = {"podcast_id": show.json()["id"]}
        pages, answers, problems = 0, 0, []
        for path in paths:
            url = filled(path, known)
            response = client.get(url)
            answers += 1
            problems += [f"{path}: {p}" for p in header_problems(path, response)]
            if response.status_code == 200 and response.headers.get("content-type", "").startswith("text/html"):
                pages += 1
    assert not problems, "\n".join(problems)
    assert answers == len(paths)
    # Enough real pages rendered (not only error pages) for the walk to mean something.
    assert pages >= 20, pages


def header_problems(path: str, response: httpx.Response) -> list[str]:
    headers = response.headers
    found = []
    expected = {
        "x-content-type-options": {"nosniff"},
        # Shared report links carry their credential in the path, so those pages send no referrer at all.
        "referrer-policy": {"same-origin", "no-referrer"},
        "cross-origin-opener-policy": {"same-origin"},
        "permissions-policy": {PERMISSIONS_POLICY},
    }
    found += [
        f"{name} is {headers.get(name)!r}" for name, values in expected.items() if headers.get(name) not in values
    ]
    if "strict-transport-security" in headers:
        found.append("HSTS over plain http")
    kind = headers.get("content-type", "")
    if path.startswith("/docs"):
        # FastAPI's Swagger UI loads from a CDN with an inline script: the one page without our policy.
        return found
    if kind.startswith("text/html"):
        if headers.get("content-security-policy") != PAGE_POLICY:
            found.append(f"page policy is {headers.get('content-security-policy')!r}")
        if headers.get("x-frame-options") != "DENY":
            found.append("page may be framed")
        for name, pattern in (("inline script", INLINE_SCRIPT), ("inline style", INLINE_STYLE)):
            if pattern.search(response.text):
                found.append(f"{name}: {pattern.search(response.text).group(0)[:80]}")  # type: ignore[union-attr]
        if EVENT_HANDLER.search(response.text):
            found.append(f"event handler attribute: {EVENT_HANDLER.search(response.text).group(0)[:80]}")  # type: ignore[union-attr]
    elif kind.startswith(("application/json", "application/problem+json")) and (
        headers.get("content-security-policy") != API_POLICY
    ):
        found.append(f"API policy is {headers.get('content-security-policy')!r}")
    return found


def test_the_page_policy_forbids_inline_script_and_framing() -> None:
    directives = dict(part.strip().split(" ", 1) for part in PAGE_POLICY.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe" not in PAGE_POLICY
