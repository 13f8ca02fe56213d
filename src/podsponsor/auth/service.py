"""Identity rules: sign-up, sign-in, users and roles, API keys, the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth import repository
from podsponsor.auth.exceptions import (
    EmailTaken,
    InvalidCredentials,
    RoleNotAssignable,
    SlugTaken,
    WorkspaceRequired,
)
from podsponsor.auth.models import ApiKey, AuditEntry, Tenant, User
from podsponsor.auth.passwords import burn_time, hash_password, verify_password
from podsponsor.auth.permissions import ASSIGNABLE_ROLES, Permission, permissions_for
from podsponsor.auth.schemas import ApiKeyIn, SignupIn, UserIn, UserPatch, slugify
from podsponsor.auth.subject import Subject
from podsponsor.auth.tokens import NewApiKey, TokenClaims, hash_api_key, new_api_key, same_token
from podsponsor.errors import Forbidden, NotFound, ValidationFailed
from podsponsor.sales import service as sales


@dataclass(frozen=True)
class SignedUp:
    tenant: Tenant
    owner: User


async def signup(session: AsyncSession, tenant_id: uuid.UUID, data: SignupIn) -> SignedUp:
    """A new tenant and its owner. The caller's transaction is already scoped to `tenant_id`."""
    tenant = Tenant(
        id=tenant_id, name=data.workspace_name, slug=data.workspace_slug or slugify(data.workspace_name), kind=data.kind
    )
    try:
        async with session.begin_nested():
            await repository.add(session, tenant)
    except IntegrityError as exc:
        raise SlugTaken(
            f"the workspace '{tenant.slug}' exists; choose another name or slug",
            errors=[{"field": "workspace_slug", "value": tenant.slug, "reason": "taken"}],
        ) from exc
    owner = User(
        tenant_id=tenant_id,
        email=str(data.email).lower(),
        display_name=data.display_name,
        password_hash=hash_password(data.password),
        role="owner",
    )
    await repository.add(session, owner)
    await record_audit(
        session,
        tenant_id,
        "tenant.created",
        actor_user_id=owner.id,
        target=("tenant", str(tenant_id)),
        details={"slug": tenant.slug},
    )
    return SignedUp(tenant, owner)


async def find_login(session: AsyncSession, email: str, password: str, workspace: str | None) -> TokenClaims:
    """Check a password against every workspace the e-mail is in (session unscoped: lookups only)."""
    candidates = await repository.find_logins(session, email)
    if workspace:
        candidates = [c for c in candidates if c.tenant_slug == workspace]
    if not candidates:
        burn_time(password)
        raise InvalidCredentials("the e-mail or the password is wrong")
    matching = [c for c in candidates if verify_password(c.password_hash, password)]
    if not matching:
        raise InvalidCredentials("the e-mail or the password is wrong")
    if len(matching) > 1:
        raise WorkspaceRequired(
            "this e-mail signs in to several workspaces; say which",
            workspaces=[c.tenant_slug for c in matching],
        )
    return TokenClaims(matching[0].tenant_id, matching[0].user_id, 0)


async def complete_login(
    session: AsyncSession, claims: TokenClaims, address_hash: str | None, second_factor: str | None = None
) -> TokenClaims:
    """Sign the user in; `second_factor` names what they showed after the password (totp, recovery_code), if asked."""
    user = await repository.get_user(session, claims.tenant_id, claims.user_id)
    if user is None or not user.is_active:
        raise InvalidCredentials("the e-mail or the password is wrong")
    await repository.touch_login(session, user, datetime.now(UTC))
    await record_audit(
        session,
        claims.tenant_id,
        "user.signed_in",
        actor_user_id=user.id,
        target=("user", str(user.id)),
        details={"second_factor": second_factor} if second_factor else None,
        ip_hash=address_hash,
    )
    return TokenClaims(user.tenant_id, user.id, user.session_version)


async def subject_for_user(session: AsyncSession, claims: TokenClaims, kind: str) -> Subject | None:
    """The subject behind a session or JWT, if the user still exists, is active and the session is current."""
    user = await repository.get_user(session, claims.tenant_id, claims.user_id)
    if user is None or not user.is_active or user.session_version != claims.session_version:
        return None
    tenant = await repository.get_tenant(session, claims.tenant_id)
    return Subject(
        tenant_id=user.tenant_id,
        role=user.role,
        kind=kind,  # type: ignore[arg-type]
        user_id=user.id,
        sponsor_id=user.sponsor_id,
        email=user.email,
        display_name=user.display_name or user.email,
        tenant_name=tenant.name if tenant else "",
    )


async def find_api_key(session: AsyncSession, token: str, prefix: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(tenant, key id) for a presented key, checked by hash in constant time."""
    presented = hash_api_key(token)
    for tenant_id, key_id, key_hash in await repository.find_api_keys(session, prefix):
        if same_token(presented, key_hash):
            return tenant_id, key_id
    return None


async def subject_for_api_key(session: AsyncSession, tenant_id: uuid.UUID, key_id: uuid.UUID) -> Subject | None:
    key = await repository.get_api_key(session, tenant_id, key_id)
    if key is None or key.revoked_at is not None:
        return None
    creator = await repository.get_user(session, tenant_id, key.created_by)
    if creator is None or not creator.is_active:
        return None
    await repository.touch_api_key(session, tenant_id, key_id)
    # A key never does more than its creator may do now.
    role = creator.role
    scopes = frozenset(Permission(s) for s in key.scopes) & permissions_for(role)
    return Subject(
        tenant_id=tenant_id,
        role=role,
        kind="api_key",
        api_key_id=key.id,
        sponsor_id=creator.sponsor_id,
        display_name=key.name,
        scopes=scopes,
    )


async def add_user(session: AsyncSession, subject: Subject, data: UserIn) -> User:
    _check_assignable(subject, data.role)
    await _check_sponsor(session, subject, data.role, data.sponsor_id)
    if await repository.get_user_by_email(session, subject.tenant_id, str(data.email)):
        raise EmailTaken(
            f"{data.email} is already a user here",
            errors=[{"field": "email", "value": str(data.email), "reason": "taken"}],
        )
    # Without a password the user is invited: the unguessable hash cannot be matched until they set one.
    password = data.password or uuid.uuid4().hex + uuid.uuid4().hex
    user = User(
        tenant_id=subject.tenant_id,
        email=str(data.email).lower(),
        display_name=data.display_name,
        password_hash=hash_password(password),
        role=data.role,
        sponsor_id=data.sponsor_id,
    )
    await repository.add(session, user)
    await record_audit(
        session,
        subject.tenant_id,
        "user.added",
        actor=subject,
        target=("user", str(user.id)),
        details={"email": user.email, "role": user.role, "invited": data.password is None},
    )
    return user


async def update_user(session: AsyncSession, subject: Subject, user_id: uuid.UUID, data: UserPatch) -> User:
    user = await get_user(session, subject, user_id)
    changes = data.model_dump(exclude_unset=True)
    if user.role == "owner" and subject.role != "owner":
        raise Forbidden("only an owner may change an owner")
    if "sponsor_id" in changes and changes.get("role", user.role) == user.role:
        await _check_sponsor(session, subject, user.role, changes["sponsor_id"])
    if "role" in changes and changes["role"] != user.role:
        _check_assignable(subject, changes["role"])
        await _check_sponsor(session, subject, changes["role"], changes.get("sponsor_id", user.sponsor_id))
        await record_audit(
            session,
            subject.tenant_id,
            "user.role_changed",
            actor=subject,
            target=("user", str(user.id)),
            details={"from": user.role, "to": changes["role"]},
        )
        user.session_version += 1
    if changes.get("is_active") is False and user.id == subject.user_id:
        raise ValidationFailed(
            "you cannot deactivate yourself", errors=[{"field": "is_active", "value": False, "reason": "self"}]
        )
    if "is_active" in changes and changes["is_active"] != user.is_active:
        user.session_version += 1
        await record_audit(
            session,
            subject.tenant_id,
            "user.activation_changed",
            actor=subject,
            target=("user", str(user.id)),
            details={"is_active": changes["is_active"]},
        )
    for field, value in changes.items():
        setattr(user, field, value)
    await session.flush()
    return user


async def set_password(session: AsyncSession, claims: TokenClaims, password: str) -> User:
    user = await repository.get_user(session, claims.tenant_id, claims.user_id)
    if user is None or user.session_version != claims.session_version:
        raise NotFound("this invitation is no longer valid")
    user.password_hash = hash_password(password)
    user.session_version += 1
    await record_audit(
        session, claims.tenant_id, "user.password_set", actor_user_id=user.id, target=("user", str(user.id))
    )
    await session.flush()
    return user


async def sign_out_everywhere(session: AsyncSession, subject: Subject) -> None:
    if subject.user_id is None:
        return
    user = await get_user(session, subject, subject.user_id)
    user.session_version += 1
    await session.flush()


async def get_user(session: AsyncSession, subject: Subject, user_id: uuid.UUID) -> User:
    user = await repository.get_user(session, subject.tenant_id, user_id)
    if user is None:
        raise NotFound("no such user")
    return user


async def user_exists(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Whether `user_id` is a user of this tenant (for other domains that point at users, e.g. a deal's seller)."""
    return await repository.get_user(session, tenant_id, user_id) is not None


async def list_users(session: AsyncSession, subject: Subject) -> Sequence[User]:
    return await repository.list_users(session, subject.tenant_id)


async def create_api_key(session: AsyncSession, subject: Subject, data: ApiKeyIn) -> tuple[ApiKey, NewApiKey]:
    beyond = set(data.scopes) - subject.permissions
    if beyond:
        raise Forbidden(
            "a key cannot do more than you can",
            errors=[{"field": "scopes", "value": sorted(beyond), "reason": "beyond your role"}],
        )
    if subject.user_id is None:
        raise Forbidden("API keys are created by a signed-in user")
    secret = new_api_key()
    key = ApiKey(
        tenant_id=subject.tenant_id,
        name=data.name,
        prefix=secret.prefix,
        key_hash=secret.key_hash,
        scopes=sorted(set(data.scopes)),
        role=subject.role,
        sponsor_id=subject.sponsor_id,
        created_by=subject.user_id,
        expires_at=data.expires_at,
    )
    await repository.add(session, key)
    await record_audit(
        session,
        subject.tenant_id,
        "api_key.created",
        actor=subject,
        target=("api_key", str(key.id)),
        details={"name": key.name, "prefix": key.prefix, "scopes": key.scopes},
    )
    return key, secret


async def revoke_api_key(session: AsyncSession, subject: Subject, key_id: uuid.UUID) -> ApiKey:
    key = await repository.get_api_key(session, subject.tenant_id, key_id)
    if key is None:
        raise NotFound("no such API key")
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        await record_audit(
            session,
            subject.tenant_id,
            "api_key.revoked",
            actor=subject,
            target=("api_key", str(key.id)),
            details={"prefix": key.prefix},
        )
        await session.flush()
    return key


async def list_api_keys(session: AsyncSession, subject: Subject) -> Sequence[ApiKey]:
    return await repository.list_api_keys(session, subject.tenant_id)


async def list_audit(session: AsyncSession, subject: Subject, limit: int) -> Sequence[AuditEntry]:
    return await repository.list_audit(session, subject.tenant_id, limit)


async def tenant_ids(session: AsyncSession) -> list[uuid.UUID]:
    return await repository.tenant_ids(session)


async def get_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
    tenant = await repository.get_tenant(session, tenant_id)
    if tenant is None:
        raise NotFound("no such tenant")
    return tenant


async def record_audit(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    action: str,
    *,
    actor: Subject | None = None,
    actor_user_id: uuid.UUID | None = None,
    target: tuple[str, str] | None = None,
    details: dict[str, Any] | None = None,
    ip_hash: str | None = None,
) -> None:
    entry = AuditEntry(
        tenant_id=tenant_id,
        action=action,
        actor_user_id=actor.user_id if actor else actor_user_id,
        actor_api_key_id=actor.api_key_id if actor else None,
        target_type=target[0] if target else None,
        target_id=target[1] if target else None,
        details=details or {},
        ip_hash=ip_hash,
    )
    await repository.add(session, entry)


def _check_assignable(subject: Subject, role: str) -> None:
    if role not in ASSIGNABLE_ROLES.get(subject.role, frozenset()):
        raise RoleNotAssignable(
            f"a {subject.role} cannot grant the role '{role}'",
            errors=[{"field": "role", "value": role, "reason": "not assignable by you"}],
        )


async def _check_sponsor(session: AsyncSession, subject: Subject, role: str, sponsor_id: uuid.UUID | None) -> None:
    """An advertiser user needs a sponsor of this workspace; a sponsor given with any role must be one (an unknown id
    would otherwise reach the foreign key)."""
    if sponsor_id is None and role != "advertiser":
        return
    if sponsor_id is None or not await sales.sponsor_exists(session, subject.tenant_id, sponsor_id):
        raise ValidationFailed(
            "an advertiser user needs a sponsor of this workspace, and a sponsor given must be one",
            errors=[
                {
                    "field": "sponsor_id",
                    "value": str(sponsor_id) if sponsor_id else None,
                    "reason": "missing or unknown sponsor",
                }
            ],
        )
