"""Tenants and users made through the public API, the way a customer would make them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import httpx

PASSWORD = "correct horse battery staple"


@dataclass
class Tenant:
    id: str
    slug: str
    owner_email: str
    base_url: str
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, str] = field(default_factory=dict)

    def client(self, role: str = "owner") -> httpx.Client:
        """A client authenticated as this tenant's user of `role` (made on first use)."""
        return httpx.Client(
            base_url=self.base_url, timeout=30, headers={"Authorization": f"Bearer {self.tokens[role]}"}
        )


def token_for(base_url: str, email: str, workspace: str | None = None, password: str = PASSWORD) -> str:
    body = {"email": email, "password": password}
    if workspace:
        body["workspace"] = workspace
    response = httpx.post(f"{base_url}/api/v1/auth/token", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def make_tenant(base_url: str, roles: tuple[str, ...] = ("owner",), name: str | None = None) -> Tenant:
    """A new workspace with one user per role (advertiser users get a sponsor of their own)."""
    tag = uuid.uuid4().hex[:8]
    email = f"owner-{tag}@example.com"
    response = httpx.post(
        f"{base_url}/api/v1/auth/signup",
        json={
            "workspace_name": name or f"Network {tag}",
            "workspace_slug": f"net-{tag}",
            "email": email,
            "password": PASSWORD,
            "display_name": "Olive Owner",
        },
        timeout=30,
    )
    assert response.status_code == 201, response.text
    tenant = Tenant(id=response.json()["id"], slug=f"net-{tag}", owner_email=email, base_url=base_url)
    tenant.tokens["owner"] = token_for(base_url, email)
    with tenant.client() as owner:
        tenant.user_ids["owner"] = owner.get("/api/v1/me").json()["user_id"]
        for role in roles:
            if role == "owner":
                continue
            body: dict[str, object] = {"email": f"{role}-{tag}@example.com", "role": role, "password": PASSWORD}
            if role == "advertiser":
                sponsor = owner.post("/api/v1/sponsors", json={"name": f"Sponsor {tag}", "industry": "software"})
                assert sponsor.status_code == 201, sponsor.text
                body["sponsor_id"] = sponsor.json()["id"]
            created = owner.post("/api/v1/users", json=body)
            assert created.status_code == 201, created.text
            tenant.user_ids[role] = created.json()["id"]
            tenant.tokens[role] = token_for(base_url, f"{role}-{tag}@example.com")
    return tenant
