"""Every identity query. Cross-tenant lookups go only through the SECURITY DEFINER functions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.models import ApiKey, AuditEntry, RecoveryCode, Tenant, User


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


async def claim_totp_step(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, step: int) -> bool:
    """Record `step` as the user's last accepted one, unless it is not later than it: one statement, so of two
    concurrent sign-ins with the same code the second waits for the first and then matches nothing."""
    claimed = await session.scalar(
        update(User)
        .where(
            User.tenant_id == tenant_id,
            User.id == user_id,
            User.totp_last_step.is_(None) | (User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .returning(User.id)
        .execution_options(synchronize_session="fetch")
    )
    return claimed is not None


async def replace_recovery_codes(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, code_hashes: Sequence[str]
) -> None:
    await delete_recovery_codes(session, tenant_id, user_id)
    rows = [{"tenant_id": tenant_id, "user_id": user_id, "code_hash": code_hash} for code_hash in code_hashes]
    await session.execute(insert(RecoveryCode), rows)


async def delete_recovery_codes(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await session.execute(
        delete(RecoveryCode).where(RecoveryCode.tenant_id == tenant_id, RecoveryCode.user_id == user_id)
    )


async def use_recovery_code(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, code_hash: str, at: datetime
) -> bool:
    """Mark the unused code with this hash used; False when there is none (wrong, or used already)."""
    used = await session.scalar(
        update(RecoveryCode)
        .where(
            RecoveryCode.tenant_id == tenant_id,
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == code_hash,
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=at)
        .returning(RecoveryCode.id)
        .execution_options(synchronize_session=False)
    )
    return used is not None


async def count_unused_recovery_codes(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.tenant_id == tenant_id, RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )
    return int(count or 0)
