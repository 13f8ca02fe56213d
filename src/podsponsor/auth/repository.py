"""Every identity query. Cross-tenant lookups go only through the SECURITY DEFINER functions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.models import ApiKey, AuditEntry, Tenant, User


@dataclass(frozen=True)
class LoginCandidate:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    password_hash: str
    tenant_slug: str
    tenant_name: str


async def find_logins(session: AsyncSession, email: str) -> list[LoginCandidate]:
    rows = await session.execute(text("SELECT * FROM auth_find_logins(:email)"), {"email": email})
    return [LoginCandidate(*row) for row in rows]


async def find_api_keys(session: AsyncSession, prefix: str) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    rows = await session.execute(text("SELECT * FROM auth_find_api_key(:prefix)"), {"prefix": prefix})
    return [(row[0], row[1], row[2]) for row in rows]


async def tenant_ids(session: AsyncSession) -> list[uuid.UUID]:
    return list((await session.execute(text("SELECT * FROM system_tenant_ids()"))).scalars())


async def add(session: AsyncSession, row: Any) -> None:
    session.add(row)
    await session.flush()


async def get_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant | None:
    return await session.get(Tenant, tenant_id)


async def get_user(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
    return await session.scalar(select(User).where(User.tenant_id == tenant_id, User.id == user_id))


async def get_user_by_email(session: AsyncSession, tenant_id: uuid.UUID, email: str) -> User | None:
    return await session.scalar(
        select(User).where(User.tenant_id == tenant_id, func.lower(User.email) == email.lower())
    )


async def list_users(session: AsyncSession, tenant_id: uuid.UUID) -> Sequence[User]:
    return (await session.scalars(select(User).where(User.tenant_id == tenant_id).order_by(User.email))).all()


async def touch_login(session: AsyncSession, user: User, at: datetime) -> None:
    user.last_login_at = at
    await session.flush()


async def get_api_key(session: AsyncSession, tenant_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
    return await session.scalar(select(ApiKey).where(ApiKey.tenant_id == tenant_id, ApiKey.id == key_id))


async def list_api_keys(session: AsyncSession, tenant_id: uuid.UUID) -> Sequence[ApiKey]:
    query = select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.created_at.desc())
    return (await session.scalars(query)).all()


async def touch_api_key(session: AsyncSession, tenant_id: uuid.UUID, key_id: uuid.UUID) -> None:
    # At most once a minute per key, so a busy integration does not write on every request.
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.tenant_id == tenant_id,
            ApiKey.id == key_id,
            (ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < func.now() - text("interval '1 minute'")),
        )
        .values(last_used_at=func.now())
    )


async def list_audit(session: AsyncSession, tenant_id: uuid.UUID, limit: int) -> Sequence[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id).order_by(AuditEntry.at.desc()).limit(limit)
    return (await session.scalars(query)).all()
