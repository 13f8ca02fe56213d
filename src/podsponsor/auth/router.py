"""Identity over REST: sign-up, tokens, the current caller, users, API keys, the audit log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from podsponsor.auth import service
from podsponsor.auth.dependencies import public_route, require
from podsponsor.auth.exceptions import InvalidCredentials
from podsponsor.auth.permissions import Permission
from podsponsor.auth.schemas import (
    AcceptInviteIn,
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    AuditOut,
    LoginIn,
    MeOut,
    SignupIn,
    TenantOut,
    TokenOut,
    UserCreated,
    UserIn,
    UserOut,
    UserPatch,
)
from podsponsor.auth.subject import Subject
from podsponsor.auth.throttle import LoginThrottle
from podsponsor.auth.tokens import TokenClaims, issue_invite, issue_jwt, read_invite
from podsponsor.clients import client_address, hash_address
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction, unscoped_transaction
from podsponsor.errors import NotFound, TooManyRequests

router = APIRouter(prefix="/api/v1", tags=["identity"])
Public = Annotated[Subject | None, Depends(public_route)]
UsersAdmin = Annotated[Subject, Depends(require(Permission.USERS_ADMIN))]
KeysAdmin = Annotated[Subject, Depends(require(Permission.API_KEYS_ADMIN))]
Anyone = Annotated[Subject, Depends(require(Permission.CATALOG_READ))]


def login_throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


async def sign_in(request: Request, email: str, password: str, workspace: str | None) -> TokenClaims:
    """Throttled password check; the claims of the signed-in user (shared by the API and the login page)."""
    throttle = login_throttle(request)
    address = client_address(request)
    wait = throttle.retry_after(email, address)
    if wait:
        raise TooManyRequests(f"too many failed sign-ins; try again in {wait} s", retry_after=wait)
    try:
        async with unscoped_transaction() as session:
            found = await service.find_login(session, email, password, workspace)
    except InvalidCredentials:
        throttle.failed(email, address)
        raise
    throttle.succeeded(email, address)
    async with tenant_transaction(found.tenant_id) as session:
        return await service.complete_login(session, found, hash_address(address))


@router.post(
    "/auth/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=TenantOut,
    summary="Create a workspace and its owner",
)
async def signup(body: SignupIn, _: Public) -> TenantOut:
    tenant_id = uuid.uuid4()
    async with tenant_transaction(tenant_id) as session:
        created = await service.signup(session, tenant_id, body)
        return TenantOut.model_validate(created.tenant)


@router.post("/auth/token", response_model=TokenOut, summary="Exchange e-mail and password for a bearer JWT")
async def token(body: LoginIn, request: Request, _: Public) -> TokenOut:
    claims = await sign_in(request, str(body.email), body.password, body.workspace)
    access, ttl = issue_jwt(get_settings(), claims)
    return TokenOut(access_token=access, expires_in=ttl)


@router.post("/auth/accept-invite", response_model=UserOut, summary="Set a password from an invitation")
async def accept_invite(body: AcceptInviteIn, _: Public) -> UserOut:
    claims = read_invite(get_settings(), body.token)
    if claims is None:
        raise NotFound("this invitation is unknown or expired")
    async with tenant_transaction(claims.tenant_id) as session:
        return UserOut.model_validate(await service.set_password(session, claims, body.password))


@router.get("/me", response_model=MeOut, summary="Who the credential belongs to")
async def me(subject: Anyone) -> MeOut:
    return MeOut(
        tenant_id=subject.tenant_id,
        tenant_name=subject.tenant_name,
        user_id=subject.user_id,
        email=subject.email,
        role=subject.role,
        sponsor_id=subject.sponsor_id,
        permissions=sorted(subject.permissions),
        credential=subject.kind,
    )


@router.get("/users", response_model=list[UserOut], summary="Users of this workspace")
async def list_users(subject: UsersAdmin) -> list[UserOut]:
    async with tenant_transaction(subject.tenant_id) as session:
        return [UserOut.model_validate(u) for u in await service.list_users(session, subject)]


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    response_model=UserCreated,
    summary="Add a user (with a password) or invite one (without)",
)
async def add_user(body: UserIn, request: Request, subject: UsersAdmin) -> UserCreated:
    async with tenant_transaction(subject.tenant_id) as session:
        user = await service.add_user(session, subject, body)
        created = UserCreated.model_validate(user)
    if body.password is None:
        invite = issue_invite(get_settings(), user.tenant_id, user.id, user.session_version)
        created.invite_url = str(request.url_for("invite_page", token=invite))
    return created


@router.get("/users/{user_id}", response_model=UserOut, summary="One user")
async def get_user(user_id: uuid.UUID, subject: UsersAdmin) -> UserOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return UserOut.model_validate(await service.get_user(session, subject, user_id))


@router.patch("/users/{user_id}", response_model=UserOut, summary="Change a user's role, name or activation")
async def update_user(user_id: uuid.UUID, body: UserPatch, subject: UsersAdmin) -> UserOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return UserOut.model_validate(await service.update_user(session, subject, user_id, body))


@router.get("/api-keys", response_model=list[ApiKeyOut], summary="API keys of this workspace (never the secret)")
async def list_api_keys(subject: KeysAdmin) -> list[ApiKeyOut]:
    async with tenant_transaction(subject.tenant_id) as session:
        return [ApiKeyOut.model_validate(k) for k in await service.list_api_keys(session, subject)]


@router.post(
    "/api-keys",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    summary="Create an API key; the token is shown once",
)
async def create_api_key(body: ApiKeyIn, subject: KeysAdmin) -> ApiKeyCreated:
    async with tenant_transaction(subject.tenant_id) as session:
        key, secret = await service.create_api_key(session, subject, body)
        return ApiKeyCreated.model_validate({**ApiKeyOut.model_validate(key).model_dump(), "token": secret.token})


@router.api_route("/api-keys/{key_id}", methods=["DELETE"], response_model=ApiKeyOut, summary="Revoke an API key")
async def revoke_api_key(key_id: uuid.UUID, subject: KeysAdmin) -> ApiKeyOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return ApiKeyOut.model_validate(await service.revoke_api_key(session, subject, key_id))


@router.get("/audit-log", response_model=list[AuditOut], summary="Sign-ins, key and role changes, newest first")
async def audit_log(subject: UsersAdmin, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[AuditOut]:
    async with tenant_transaction(subject.tenant_id) as session:
        return [AuditOut.model_validate(a) for a in await service.list_audit(session, subject, limit)]
