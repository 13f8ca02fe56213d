from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from podsponsor.auth.dependencies import require
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.flags import service
from podsponsor.flags.schemas import FlagOut, FlagSet

router = APIRouter(prefix="/api/v1/feature-flags", tags=["feature flags"])


@router.get("", response_model=list[FlagOut], summary="Every flag, with its value for this workspace")
async def list_flags(subject: Annotated[Subject, Depends(require(Permission.FLAGS_ADMIN))]) -> list[FlagOut]:
    async with tenant_transaction(subject.tenant_id) as session:
        return await service.list_flags(session, subject)


@router.put("/{name}", response_model=FlagOut, summary="Override a flag for this workspace (null: back to default)")
async def set_flag(
    name: str, body: FlagSet, subject: Annotated[Subject, Depends(require(Permission.FLAGS_ADMIN))]
) -> FlagOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return await service.set_flag(session, subject, name, body.enabled)
