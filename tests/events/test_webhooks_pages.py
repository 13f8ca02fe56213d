"""Settings → Webhooks pages: add an endpoint (secret shown once), refused addresses, the endpoint page with its
delivery log and actions, a delivery's attempts with Replay; by role and workspace; and the whole flow in Chromium."""

from __future__ import annotations

import html
import re
import uuid

import httpx
import pytest
from playwright.async_api import Page, expect

from podsponsor.events import webhook_sender as sender
from tests.factories.identity import PASSWORD
from tests.factories.webhook_receiver import receiving
from tests.web.conftest import SCREENSHOTS, Workspace, browser, browser_type_launch_args, sign_up, submit, workspace
from tests.web.test_browser import chromium, page, problems  # noqa: F401

_FIXTURES = (browser_type_launch_args, workspace)

pytestmark = pytest.mark.usefixtures("db", "local_receivers_allowed")
PAGE = "/settings/webhooks"
ENDPOINT_LINK = re.compile(r'href="/settings/webhooks/([0-9a-f-]{36})"')
DELIVERY_LINK = re.compile(r'href="/settings/webhooks/deliveries/([0-9a-f-]{36})"')


def _add(client: httpx.Client, url: str, types: list[str]) -> httpx.Response:
    return submit(client, PAGE, PAGE, {"url": url, "description": "CRM sync", "event_types": types})


def _tenant_id(client: httpx.Client) -> uuid.UUID:
    return uuid.UUID(client.get("/api/v1/me").json()["tenant_id"])


def test_an_endpoint_is_added_and_its_secret_shown_once(workspace: Workspace) -> None:
    added = _add(workspace.client, "http://127.0.0.1:9/crm", ["podcast.created", "deal.stage_changed"])
    assert added.status_code == 201, added.text
    secret = re.search(r'id="revealed-secret" type="text" readonly value="(whsec_[^"]+)"', added.text)
    assert secret, "the secret is on the page that answers the form"
    listing = workspace.client.get(PAGE).text
    assert "http://127.0.0.1:9/crm" in listing and "2 types" in listing
    assert secret.group(1) not in listing, "and never again"
    endpoint_id = ENDPOINT_LINK.search(listing)
    assert endpoint_id
    detail = workspace.client.get(f"{PAGE}/{endpoint_id.group(1)}")
    assert detail.status_code == 200 and secret.group(1) not in detail.text
    assert 'value="podcast.created" checked' in detail.text and 'value="io.delivered" checked' not in detail.text


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://169.254.169.254/latest/meta-data/", "private network address"),
        ("https://10.0.0.7/hook", "private network address"),
        ("https://localhost/hook", "private network address"),
        ("http://93.184.216.34/hook", "use https"),
    ],
)
def test_a_refused_address_is_explained_next_to_the_field(workspace: Workspace, url: str, message: str) -> None:
    refused = _add(workspace.client, url, ["*"])
    assert refused.status_code == 422
    assert 'id="url-error"' in refused.text and message in html.unescape(refused.text)
    assert f'value="{url}"' in refused.text, "what was typed stays in the form"
    assert "whsec_" not in refused.text


def test_choosing_no_event_is_refused(workspace: Workspace) -> None:
    refused = _add(workspace.client, "http://127.0.0.1:9/none", [])
    assert refused.status_code == 422 and 'id="event_types-error"' in refused.text


async def test_the_endpoint_page_shows_the_log_and_a_delivery_can_be_replayed(workspace: Workspace) -> None:
    client = workspace.client
    tenant = _tenant_id(client)
    with receiving(503) as receiver:
        _add(client, receiver.url(), ["podcast.created"])
        endpoint_id = ENDPOINT_LINK.search(client.get(PAGE).text).group(1)  # type: ignore[union-attr]
        show = submit(client, "/podcasts/new", "/podcasts", {"title": "Logged on the page"})
        assert show.status_code == 303, show.text
        endpoint_page = client.get(f"{PAGE}/{endpoint_id}").text
        delivery_id = DELIVERY_LINK.search(endpoint_page).group(1)  # type: ignore[union-attr]
        assert "Pending" in endpoint_page

        await sender.send_one(tenant, uuid.UUID(delivery_id))
        endpoint_page = client.get(f"{PAGE}/{endpoint_id}").text
        assert "503" in endpoint_page and "the endpoint answered 503" in endpoint_page
        failed_only = client.get(f"{PAGE}/{endpoint_id}", params={"status": "succeeded"}).text
        assert "No deliveries with this status yet." in failed_only

        receiver.status = 200
        replayed = submit(client, f"{PAGE}/deliveries/{delivery_id}", f"{PAGE}/deliveries/{delivery_id}/replay", {})
        assert replayed.status_code == 303
        queued = client.get(replayed.headers["location"]).text
        assert "queued to be sent again" in queued
        await sender.send_one(tenant, uuid.UUID(delivery_id))
        detail = client.get(f"{PAGE}/deliveries/{delivery_id}").text
    assert "Succeeded" in detail and "Automatic" in detail and "Replay" in detail
    assert "&#34;type&#34;: &#34;podcast.created&#34;" in detail or '"type": "podcast.created"' in html.unescape(detail)
    first, again = (r.message_id for r in receiver.received)
    assert first == again, "the replay carries the same webhook-id"


def test_test_disable_enable_rotate_and_delete_from_the_endpoint_page(workspace: Workspace) -> None:
    client = workspace.client
    _add(client, "http://127.0.0.1:9/actions", ["*"])
    endpoint_id = ENDPOINT_LINK.search(client.get(PAGE).text).group(1)  # type: ignore[union-attr]
    here = f"{PAGE}/{endpoint_id}"

    tested = submit(client, here, f"{here}/test", {})
    assert tested.status_code == 303 and "/settings/webhooks/deliveries/" in tested.headers["location"]
    assert "webhook.test" in client.get(tested.headers["location"]).text

    rotated = submit(client, here, f"{here}/rotate", {})
    assert rotated.status_code == 200 and re.search(r'value="whsec_[^"]+"', rotated.text)

    disabled = submit(client, here, f"{here}/disable", {})
    assert disabled.status_code == 303
    page_now = client.get(here).text
    assert "Disabled" in page_now and "disabled by a user" in page_now and f"{here}/enable" in page_now
    assert submit(client, here, f"{here}/test", {}).status_code == 303
    assert "the endpoint is disabled" in client.get(here).text.lower()

    assert submit(client, here, f"{here}/enable", {}).status_code == 303
    assert "badge--ok" in client.get(here).text

    saved = submit(client, here, here, {"url": "http://127.0.0.1:9/moved", "description": "", "event_types": ["*"]})
    assert saved.status_code == 303 and "http://127.0.0.1:9/moved" in client.get(here).text
    moved_badly = submit(client, here, here, {"url": "https://10.1.1.1/x", "event_types": ["*"]})
    assert moved_badly.status_code == 422 and "private network address" in moved_badly.text

    deleted = submit(client, here, f"{here}/delete", {})
    assert deleted.status_code == 303 and client.get(here).status_code == 404


def test_other_workspaces_get_404_and_other_roles_403(server: str, workspace: Workspace) -> None:
    _add(workspace.client, "http://127.0.0.1:9/mine", ["*"])
    endpoint_id = ENDPOINT_LINK.search(workspace.client.get(PAGE).text).group(1)  # type: ignore[union-attr]
    tested = submit(workspace.client, f"{PAGE}/{endpoint_id}", f"{PAGE}/{endpoint_id}/test", {})
    delivery = tested.headers["location"]
    with sign_up(server) as other:
        assert other.get(f"{PAGE}/{endpoint_id}").status_code == 404
        assert other.get(delivery).status_code == 404
        assert submit(other, PAGE, f"{delivery}/replay", {}).status_code == 404
        assert submit(other, PAGE, f"{PAGE}/{endpoint_id}/delete", {}).status_code == 404
        assert "/mine" not in other.get(PAGE).text
    added = submit(
        workspace.client,
        "/settings/users",
        "/settings/users",
        {"email": f"s-{uuid.uuid4().hex[:6]}@example.com", "role": "sales", "password": PASSWORD},
    )
    email = re.search(r"([\w.-]+@example\.com) can now sign in as sales", workspace.client.get("/settings/users").text)
    assert added.status_code == 303 and email
    with browser(server) as seller:
        assert submit(seller, "/login", "/login", {"email": email.group(1), "password": PASSWORD}).status_code == 303
        assert seller.get(PAGE).status_code == 403
        assert seller.get(f"{PAGE}/{endpoint_id}").status_code == 403
    assert workspace.client.get(PAGE).status_code == 200


@pytest.mark.browser
async def test_an_owner_adds_an_endpoint_sends_a_test_and_replays_it(
    server: str,
    page: Page,  # noqa: F811
    problems: list[str],  # noqa: F811
) -> None:
    tag = uuid.uuid4().hex[:8]
    with receiving(200) as receiver:
        await page.goto(f"{server}/signup")
        await page.get_by_label("Workspace name").fill(f"Hooked {tag}")
        await page.get_by_label("E-mail").fill(f"hook-{tag}@example.com")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Create the workspace").click()
        await page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
        await page.get_by_role("navigation", name="Settings").get_by_role("link", name="Webhooks").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")

        await page.get_by_label("Address").fill("https://169.254.169.254/latest/meta-data/")
        await page.get_by_label("podcast.created").check()
        await page.get_by_role("button", name="Add the endpoint").click()
        await expect(page.locator("#url-error")).to_contain_text("private network address")

        await page.get_by_label("Address").fill(receiver.url())
        await page.get_by_label("Description").fill("Our CRM")
        await page.get_by_role("button", name="Add the endpoint").click()
        secret = page.get_by_role("textbox", name="The signing secret")
        await expect(secret).to_have_value(re.compile(r"^whsec_"))
        await page.screenshot(path=SCREENSHOTS / "webhooks-01-added.png", full_page=True)

        await page.get_by_role("link", name="Open the endpoint").click()
        await page.get_by_role("button", name="Send a test event").click()
        await expect(page.get_by_role("heading", level=1)).to_contain_text("webhook.test")
        tenant = uuid.UUID(await _tenant_of(page, server))
        delivery_id = uuid.UUID(page.url.rsplit("/", 1)[1])
        await sender.send_one(tenant, delivery_id)
        await page.reload()
        await expect(page.get_by_text("Succeeded", exact=True)).to_be_visible()
        await page.get_by_role("button", name="Replay").click()
        await expect(page.get_by_role("status")).to_contain_text("queued to be sent again")
        await sender.send_one(tenant, delivery_id)
        await page.reload()
        await expect(page.get_by_role("cell", name="Replay", exact=True)).to_be_visible()
        await page.screenshot(path=SCREENSHOTS / "webhooks-02-delivery.png", full_page=True)

        await page.get_by_role("link", name=receiver.url()).click()
        await expect(page.get_by_role("heading", name="Delivery log")).to_be_visible()
        await expect(page.get_by_role("link", name="webhook.test")).to_be_visible()
        await page.screenshot(path=SCREENSHOTS / "webhooks-03-endpoint.png", full_page=True)
    assert len(receiver.received) == 2 and receiver.received[0].message_id == receiver.received[1].message_id
    # The refused address is answered 422 on purpose, which Chromium reports on the console.
    assert [p for p in problems if "status of 422" not in p] == []


async def _tenant_of(tab: Page, server: str) -> str:
    response = await tab.request.get(f"{server}/api/v1/me")
    return str((await response.json())["tenant_id"])
