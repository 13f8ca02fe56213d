"""Who is asking: the resolved identity behind a request, whatever the credential."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

from podsponsor.auth.permissions import Permission, permissions_for


@dataclass(frozen=True)
class Subject:
    tenant_id: uuid.UUID
    role: str
    kind: Literal["session", "jwt", "api_key", "system"]
    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    sponsor_id: uuid.UUID | None = None
    email: str | None = None
    display_name: str = ""
    tenant_name: str = ""
    scopes: frozenset[Permission] | None = field(default=None)

    @property
    def permissions(self) -> frozenset[Permission]:
        granted = permissions_for(self.role)
        return granted & self.scopes if self.scopes is not None else granted

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def is_advertiser(self) -> bool:
        return self.role == "advertiser"


def system_subject(tenant_id: uuid.UUID) -> Subject:
    """The worker and CLI act for a tenant with an owner's rights."""
    return Subject(tenant_id=tenant_id, role="owner", kind="system")
