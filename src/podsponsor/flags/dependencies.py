"""`feature(NAME)`: a route dependency that makes a disabled feature's routes answer 404."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from podsponsor.auth.dependencies import resolve_subject
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import FeatureDisabled
from podsponsor.flags import service


def feature(name: str) -> Callable[[Request], Awaitable[None]]:
    async def check(request: Request) -> None:
        subject = await resolve_subject(request)
        if subject is None:
            enabled = get_settings().flag_default(name)
        else:
            async with tenant_transaction(subject.tenant_id) as session:
                enabled = await service.is_enabled(session, subject.tenant_id, name)
        if not enabled:
            raise FeatureDisabled("not found")

    # The OpenAPI document declares a 404 on every route a flag can hide (podsponsor.openapi).
    check.__feature__ = name  # type: ignore[attr-defined]
    return check
