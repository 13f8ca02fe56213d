"""The review page as ops use it in a browser: the queue with counts, the "label as" form, CSRF, and who sees what."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from podsponsor.db.tenancy import tenant_transaction
from podsponsor.measurement import service
from tests.factories.identity import PASSWORD, Tenant, make_tenant
from tests.web.conftest import browser, csrf_of, submit

PAGE = "/measurement/review"


@contextmanager
def _signed_in(server: str, tenant: Tenant, role: str) -> Iterator[httpx.Client]:
    email = tenant.owner_email if role == "owner" else f"{role}-{tenant.slug.removeprefix('net-')}@example.com"
    with browser(server) as client:
        response = submit(client, "/login", "/login", {"email": email, "password": PASSWORD})
        assert response.status_code == 303, response.text
        yield client


async def _seed(tenant: Tenant, counts: dict[str, int]) -> dict[str, str]:
    tenant_id = uuid.UUID(tenant.id)
    async with tenant_transaction(tenant_id) as session:
        await service.note_unknown(session, tenant_id, counts)
    with tenant.client() as api:
        items = api.get("/api/v1/measurement/unknown-user-agents", params={"status": "all"}).json()["items"]
    return {item["user_agent"]: item["id"] for item in items}


def _rows(page: str) -> list[str]:
    return [html.unescape(found) for found in re.findall(r"<td title=\"([^\"]*)\"><code>", page)]


async def test_ops_see_the_queue_with_counts_and_label_from_the_page(db, server: str) -> None:
    tenant = make_tenant(server, roles=("ops",))
    ids = await _seed(tenant, {"HiddenGem/2.1 <script>": 1234, "Plain Fetcher": 3})
    with _signed_in(server, tenant, "ops") as client:
        page = client.get(PAGE)
        assert page.status_code == 200
        assert _rows(page.text) == ["HiddenGem/2.1 <script>", "Plain Fetcher"]
        assert ">1,234<" in page.text
        assert "<script>" not in page.text.split("<main", 1)[1], "user agents are shown escaped"
        assert f'action="/measurement/review/{ids["Plain Fetcher"]}/label"' in page.text
        assert "Reference lists in use" in page.text
        done = submit(
            client, PAGE, f"/measurement/review/{ids['Plain Fetcher']}/label", {"label": "bot", "name": "Fetcher"}
        )
        assert (done.status_code, done.headers["location"]) == (303, PAGE)
        after = client.get(PAGE)
        assert "Labelled bot (Fetcher): Plain Fetcher" in after.text
        assert _rows(after.text) == ["HiddenGem/2.1 <script>"]
        labelled = client.get(PAGE, params={"status": "labelled"}).text
        assert _rows(labelled) == ["Plain Fetcher"]
        assert 'badge badge--error">bot</span> Fetcher' in labelled


async def test_a_form_missing_a_name_is_shown_again_with_the_field_error(db, server: str) -> None:
    tenant = make_tenant(server)
    ids = await _seed(tenant, {"NeedsName/1": 2})
    with _signed_in(server, tenant, "owner") as client:
        response = submit(client, PAGE, f"/measurement/review/{ids['NeedsName/1']}/label", {"label": "app", "name": ""})
        assert response.status_code == 422
        assert f'id="name-{ids["NeedsName/1"]}-error"' in response.text
        assert "Required when the label is app" in response.text
        assert re.search(r'<option value="app" selected>', response.text)
        unknown = submit(client, PAGE, f"/measurement/review/{ids['NeedsName/1']}/label", {"label": "robot"})
        assert unknown.status_code == 422
        assert f'id="label-{ids["NeedsName/1"]}-error"' in unknown.text
    with tenant.client() as api:
        row = api.get("/api/v1/measurement/unknown-user-agents").json()["items"][0]
    assert (row["user_agent"], row["label"]) == ("NeedsName/1", None)


async def test_a_label_without_the_csrf_token_is_refused(db, server: str) -> None:
    tenant = make_tenant(server)
    ids = await _seed(tenant, {"CsrfProbe/1": 1})
    with _signed_in(server, tenant, "owner") as client:
        client.get(PAGE)
        refused = client.post(f"/measurement/review/{ids['CsrfProbe/1']}/label", data={"label": "bot"})
        assert refused.status_code == 403
        forged = client.post(
            f"/measurement/review/{ids['CsrfProbe/1']}/label", data={"label": "bot", "csrf_token": "forged"}
        )
        assert forged.status_code == 403
    with tenant.client() as api:
        assert api.get("/api/v1/measurement/unknown-user-agents").json()["items"][0]["label"] is None


async def test_who_sees_the_page_and_the_form(db, server: str) -> None:
    tenant = make_tenant(server, roles=("creator", "advertiser"))
    await _seed(tenant, {"ViewProbe/1": 1})
    with _signed_in(server, tenant, "creator") as client:
        page = client.get(PAGE)
        assert page.status_code == 200
        assert _rows(page.text) == ["ViewProbe/1"]
        assert "/label" not in page.text, "a creator may read the queue but not label it"
        token = csrf_of(page)
        row_id = (await _seed(tenant, {}))["ViewProbe/1"]
        assert (
            client.post(f"/measurement/review/{row_id}/label", data={"label": "bot", "csrf_token": token}).status_code
            == 403
        )
    with _signed_in(server, tenant, "advertiser") as client:
        assert client.get(PAGE).status_code == 403
    with browser(server) as anonymous:
        sent = anonymous.get(PAGE)
        assert (sent.status_code, sent.headers["location"]) == (303, "/login?next=/measurement/review")


async def test_another_workspaces_row_is_not_found_from_the_page(db, server: str) -> None:
    owner_of_row = make_tenant(server)
    ids = await _seed(owner_of_row, {"ElsewhereProbe/1": 1})
    stranger = make_tenant(server)
    with _signed_in(server, stranger, "owner") as client:
        assert "ElsewhereProbe/1" not in client.get(PAGE).text
        response = submit(client, PAGE, f"/measurement/review/{ids['ElsewhereProbe/1']}/label", {"label": "bot"})
        assert response.status_code == 404
        assert submit(client, PAGE, "/measurement/review/not-an-id/label", {"label": "bot"}).status_code == 404
