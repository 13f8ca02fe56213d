"""Workspaces and users made from the command line, through the identity service like the API makes them."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError

from podsponsor.auth import service as auth
from podsponsor.auth.schemas import SignupIn, UserIn
from podsponsor.auth.subject import system_subject
from podsponsor.cli_output import fail, invalid, refused
from podsponsor.db.tenancy import set_tenant, tenant_transaction, unscoped_transaction
from podsponsor.errors import AppError


def signup_input(fields: dict[str, Any]) -> SignupIn:
    try:
        return SignupIn.model_validate(fields)
    except ValidationError as exc:
        invalid(exc, {"email": "--owner-email"})


def user_input(fields: dict[str, Any]) -> UserIn:
    try:
        return UserIn.model_validate(fields)
    except ValidationError as exc:
        invalid(exc)


async def create_tenant(data: SignupIn) -> tuple[uuid.UUID, str]:
    tenant_id = uuid.uuid4()
    try:
        async with tenant_transaction(tenant_id) as session:
            created = await auth.signup(session, tenant_id, data)
    except AppError as exc:
        refused(exc)
    return tenant_id, created.tenant.slug


async def create_user(workspace: str, data: UserIn) -> uuid.UUID:
    tenant_id = await tenant_for_slug(workspace)
    if tenant_id is None:
        fail(f"no workspace has the slug {workspace!r}")
    try:
        async with tenant_transaction(tenant_id) as session:
            user = await auth.add_user(session, system_subject(tenant_id), data)
    except AppError as exc:
        refused(exc)
    return user.id


async def tenant_for_slug(slug: str) -> uuid.UUID | None:
    """The runtime role sees one tenant per transaction setting, so the slug is compared tenant by tenant (the
    tenant list comes from the SECURITY DEFINER lookup). Linear in tenants: fine for an operator's command."""
    async with unscoped_transaction() as session:
        for tenant_id in await auth.tenant_ids(session):
            await set_tenant(session, tenant_id)
            if (await auth.get_tenant(session, tenant_id)).slug == slug:
                return tenant_id
    return None
