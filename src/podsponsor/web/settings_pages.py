"""Workspace settings: who may sign in (users, roles, invitations) and which programs may call the API (keys)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from podsponsor.auth import service
from podsponsor.auth.dependencies import require_page
from podsponsor.auth.permissions import ASSIGNABLE_ROLES, Permission
from podsponsor.auth.schemas import ApiKeyIn, Role, UserIn, UserPatch
from podsponsor.auth.subject import Subject
from podsponsor.auth.tokens import issue_invite
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import AppError, NotFound
from podsponsor.listing import window
from podsponsor.sales import service as sales
from podsponsor.web.csrf import verify_csrf
from podsponsor.web.forms import app_errors, form_fields, form_list, optional, parse_id, validation_errors
from podsponsor.web.render import render
from podsponsor.web.session import redirect, set_notice

router = APIRouter(tags=["pages"], include_in_schema=False)
UsersAdmin = Annotated[Subject, Depends(require_page(Permission.USERS_ADMIN))]
KeysAdmin = Annotated[Subject, Depends(require_page(Permission.API_KEYS_ADMIN))]
SPONSORS_OFFERED = 200
ROLES: tuple[str, ...] = get_args(Role)


@router.get("/settings/users", response_class=HTMLResponse)
async def users_page(request: Request, subject: UsersAdmin) -> Response:
    return await _users_page(request, subject)


@router.post("/settings/users", response_class=HTMLResponse)
async def add_user(request: Request, subject: UsersAdmin) -> Response:
    await verify_csrf(request)
    values = await form_fields(request)
    try:
        data = UserIn.model_validate(
            {
                "email": values.get("email", ""),
                "role": values.get("role", ""),
                "display_name": values.get("display_name", ""),
                "sponsor_id": optional(values.get("sponsor_id")),
                "password": optional(values.get("password")),
            }
        )
    except ValidationError as exc:
        return await _users_page(request, subject, values, validation_errors(exc), 422)
    try:
        async with tenant_transaction(subject.tenant_id) as session:
            user = await service.add_user(session, subject, data)
    except AppError as exc:
        return await _users_page(request, subject, values, app_errors(exc), exc.status)
    if data.password is not None:
        response = redirect("/settings/users")
        set_notice(response, f"{user.email} can now sign in as {user.role}.")
        return response
    invite = issue_invite(get_settings(), user.tenant_id, user.id, user.session_version)
    invite_url = str(request.url_for("invite_page", token=invite))
    return await _users_page(request, subject, status=201, invited=user.email, invite_url=invite_url)


@router.post("/settings/users/{user_id}", response_class=HTMLResponse)
async def update_user(user_id: str, request: Request, subject: UsersAdmin) -> Response:
    await verify_csrf(request)
    target = parse_id(user_id, "user")
    values = await form_fields(request)
    changes: dict[str, Any] = {}
    if "role" in values:
        changes["role"] = values["role"]
    if "is_active" in values:
        changes["is_active"] = values["is_active"] == "true"
    try:
        patch = UserPatch.model_validate(changes)
        async with tenant_transaction(subject.tenant_id) as session:
            user = await service.update_user(session, subject, target, patch)
    except ValidationError as exc:
        return await _users_page(request, subject, errors=validation_errors(exc), status=422)
    except NotFound:
        raise
    except AppError as exc:
        return await _users_page(request, subject, errors=app_errors(exc), status=exc.status)
    response = redirect("/settings/users")
    state = "" if user.is_active else ", deactivated"
    set_notice(response, f"Saved: {user.email} is {user.role}{state}.")
    return response


async def _users_page(
    request: Request,
    subject: Subject,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    async with tenant_transaction(subject.tenant_id) as session:
        users = await service.list_users(session, subject)
        sponsors, _ = await sales.list_sponsors(
            session, subject, None, None, window(SPONSORS_OFFERED, 0, "name", sales.SPONSOR_SORTS, SPONSORS_OFFERED)
        )
    assignable = ASSIGNABLE_ROLES.get(subject.role, frozenset())
    (values or {}).pop("password", None)
    return render(
        request,
        "web/settings_users.html",
        status,
        users=users,
        sponsors=sponsors,
        roles=[role for role in ROLES if role in assignable],
        values=values or {"role": "sales"},
        errors=errors or {},
        adding=values is not None,
        **extra,
    )


@router.get("/settings/api-keys", response_class=HTMLResponse)
async def api_keys_page(request: Request, subject: KeysAdmin) -> Response:
    return await _keys_page(request, subject)


@router.post("/settings/api-keys", response_class=HTMLResponse)
async def create_api_key(request: Request, subject: KeysAdmin) -> Response:
    await verify_csrf(request)
    values = await form_fields(request)
    scopes = await form_list(request, "scopes")
    try:
        expires_at = _end_of_day(values.get("expires_on", ""))
    except ValueError as exc:
        return await _keys_page(request, subject, values, scopes, {"expires_on": str(exc)}, 422)
    try:
        data = ApiKeyIn.model_validate({"name": values.get("name", ""), "scopes": scopes, "expires_at": expires_at})
        async with tenant_transaction(subject.tenant_id) as session:
            key, secret = await service.create_api_key(session, subject, data)
    except ValidationError as exc:
        return await _keys_page(request, subject, values, scopes, validation_errors(exc), 422)
    except AppError as exc:
        return await _keys_page(request, subject, values, scopes, app_errors(exc), exc.status)
    return await _keys_page(request, subject, status=201, created=key, token=secret.token)


def _end_of_day(raw: str) -> datetime | None:
    """A key chosen to expire on a day works through that whole day (UTC)."""
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValueError("Use a date like 2030-12-31.") from None
    if day < datetime.now(UTC).date():
        raise ValueError("Choose today or a later day.")
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


@router.post("/settings/api-keys/{key_id}/revoke", response_class=HTMLResponse)
async def revoke_api_key(key_id: str, request: Request, subject: KeysAdmin) -> Response:
    await verify_csrf(request)
    target = parse_id(key_id, "API key")
    async with tenant_transaction(subject.tenant_id) as session:
        key = await service.revoke_api_key(session, subject, target)
    response = redirect("/settings/api-keys")
    set_notice(response, f"The key {key.name} ({key.prefix}) is revoked: requests with it now fail.")
    return response


async def _keys_page(
    request: Request,
    subject: Subject,
    values: dict[str, str] | None = None,
    scopes: list[str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    async with tenant_transaction(subject.tenant_id) as session:
        keys = await service.list_api_keys(session, subject)
    return render(
        request,
        "web/settings_api_keys.html",
        status,
        keys=keys,
        permissions=sorted(subject.permissions),
        chosen=set(scopes or []),
        values=values or {},
        errors=errors or {},
        today=datetime.now(UTC).date().isoformat(),
        **extra,
    )
