"""Identity over REST: sign-up, tokens, the current caller, users, API keys, the audit log."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status

from podsponsor.auth import second_factor, service
from podsponsor.auth.dependencies import public_route, require
from podsponsor.auth.exceptions import TotpRequired, WorkspaceRequired
from podsponsor.auth.permissions import Permission
from podsponsor.auth.schemas import (
    AcceptInviteIn,
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    AuditOut,
    LoginIn,
    MeOut,
    RecoveryCodesOut,
    SignupIn,
    TenantOut,
    TokenOut,
    TotpCodeIn,
    TotpProofIn,
    TotpSetupOut,
    TotpStatusOut,
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
from podsponsor.errors import Forbidden, NotFound

router = APIRouter(prefix="/api/v1", tags=["identity"])
Public = Annotated[Subject | None, Depends(public_route)]
UsersAdmin = Annotated[Subject, Depends(require(Permission.USERS_ADMIN))]
KeysAdmin = Annotated[Subject, Depends(require(Permission.API_KEYS_ADMIN))]
Anyone = Annotated[Subject, Depends(require(Permission.CATALOG_READ))]
# Sign-in and second-factor codes are throttled where their outcome is known (podsponsor.auth.throttle).
THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {"description": "too many wrong attempts: retry after Retry-After s"}
}


def login_throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


async def check_password(request: Request, email: str, password: str, workspace: str | None) -> TokenClaims:
    """Throttled password check: whose password it is (shared by the API and the login page)."""
    throttle = login_throttle(request)
    address = client_address(request)
    await throttle.password_attempt(email, address)
    try:
        async with unscoped_transaction() as session:
            found = await service.find_login(session, email, password, workspace)
    except WorkspaceRequired:
        await throttle.password_right(email, address)
        raise
    await throttle.password_right(email, address)
    return found


async def finish_sign_in(
    request: Request, found: TokenClaims, *, totp_code: str | None = None, recovery_code: str | None = None
) -> TokenClaims:
    """Sign in a user whose password was right, once their second factor is shown too when it is on."""
    throttle = login_throttle(request)
    address_hash = hash_address(client_address(request))
    method = None
    async with tenant_transaction(found.tenant_id) as session:
        if await second_factor.required(session, found):
            if not totp_code and not recovery_code:
                raise TotpRequired("two-step sign-in is on: send totp_code (or a recovery_code) with the password")
            await throttle.code_attempt(found.user_id)
            method = await second_factor.verify_sign_in(
                session, found, totp_code=totp_code, recovery_code=recovery_code, address_hash=address_hash
            )
        claims = await service.complete_login(session, found, address_hash, method)
    if method is not None:
        await throttle.code_right(found.user_id)
    return claims


@router.post(
    "/auth/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=TenantOut,
    responses={409: {"description": "the workspace name or the e-mail is taken"}},
    summary="Create a workspace and its owner",
)
async def signup(body: SignupIn, _: Public) -> TenantOut:
    tenant_id = uuid.uuid4()
    async with tenant_transaction(tenant_id) as session:
        created = await service.signup(session, tenant_id, body)
        return TenantOut.model_validate(created.tenant)


@router.post(
    "/auth/token",
    response_model=TokenOut,
    responses={409: {"description": "the e-mail belongs to several workspaces: name one"}, **THROTTLED},
    summary="Exchange e-mail and password (and the second factor, when on) for a bearer JWT",
)
async def token(body: LoginIn, request: Request, _: Public) -> TokenOut:
    found = await check_password(request, str(body.email), body.password, body.workspace)
    claims = await finish_sign_in(request, found, totp_code=body.totp_code, recovery_code=body.recovery_code)
    access, ttl = issue_jwt(get_settings(), claims)
    return TokenOut(access_token=access, expires_in=ttl)


@router.post(
    "/auth/accept-invite",
    response_model=UserOut,
    responses={404: {"description": "the invitation is unknown, expired or used"}},
    summary="Set a password from an invitation",
)
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


@router.get("/auth/totp", response_model=TotpStatusOut, summary="Whether your two-step sign-in is on")
async def totp_status(subject: Anyone) -> TotpStatusOut:
    async with tenant_transaction(subject.tenant_id) as session:
        found = await second_factor.status(session, subject)
    return TotpStatusOut(
        enabled=found.enabled,
        enabled_at=found.enabled_at,
        recovery_codes_left=found.recovery_codes_left,
        setup_pending=found.pending is not None,
    )


@router.post(
    "/auth/totp/setup",
    response_model=TotpSetupOut,
    summary="Start two-step sign-in: a new secret for your authenticator app (on once confirmed)",
)
async def totp_setup(subject: Anyone) -> TotpSetupOut:
    async with tenant_transaction(subject.tenant_id) as session:
        enrolment = await second_factor.begin(session, subject)
    return TotpSetupOut(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri, qr_svg=enrolment.qr_svg)


@router.post(
    "/auth/totp/confirm",
    response_model=RecoveryCodesOut,
    responses=THROTTLED,
    summary="Turn two-step sign-in on with the app's first code; the recovery codes are shown once",
)
async def totp_confirm(body: TotpCodeIn, request: Request, subject: Anyone) -> RecoveryCodesOut:
    user_id = _user_of(subject)
    await login_throttle(request).code_attempt(user_id)
    async with tenant_transaction(subject.tenant_id) as session:
        codes = await second_factor.confirm(session, subject, body.code)
    await login_throttle(request).code_right(user_id)
    return RecoveryCodesOut(recovery_codes=codes)


@router.post(
    "/auth/totp/disable",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=THROTTLED,
    summary="Turn two-step sign-in off (a current code or your password)",
)
async def totp_disable(body: TotpProofIn, request: Request, subject: Anyone) -> None:
    user_id = _user_of(subject)
    await login_throttle(request).code_attempt(user_id)
    async with tenant_transaction(subject.tenant_id) as session:
        await second_factor.disable(session, subject, code=body.code, password=body.password)
    await login_throttle(request).code_right(user_id)


@router.post(
    "/auth/totp/recovery-codes",
    response_model=RecoveryCodesOut,
    responses=THROTTLED,
    summary="New recovery codes (a current code or your password); the old ones stop working",
)
async def totp_recovery_codes(body: TotpProofIn, request: Request, subject: Anyone) -> RecoveryCodesOut:
    user_id = _user_of(subject)
    await login_throttle(request).code_attempt(user_id)
    async with tenant_transaction(subject.tenant_id) as session:
        codes = await second_factor.regenerate_recovery_codes(session, subject, code=body.code, password=body.password)
    await login_throttle(request).code_right(user_id)
    return RecoveryCodesOut(recovery_codes=codes)


def _user_of(subject: Subject) -> uuid.UUID:
    if subject.user_id is None:
        raise Forbidden("the second factor belongs to a user: sign in as one (an API key has none)")
    return subject.user_id
