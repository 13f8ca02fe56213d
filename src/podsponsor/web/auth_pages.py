"""Sign-up, sign-in, sign-out and accepting an invitation: the pages that set or clear the session cookie."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from podsponsor.auth import second_factor, service
from podsponsor.auth.dependencies import public_route
from podsponsor.auth.exceptions import InvalidCredentials, SlugTaken, TotpInvalid, TotpRequired, WorkspaceRequired
from podsponsor.auth.router import check_password, finish_sign_in
from podsponsor.auth.schemas import AcceptInviteIn, LoginIn, SignupIn
from podsponsor.auth.subject import Subject
from podsponsor.auth.tokens import TokenClaims, read_invite
from podsponsor.clients import client_address, hash_address
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import NotFound, TooManyRequests
from podsponsor.web.csrf import verify_csrf
from podsponsor.web.forms import FORM_ERROR, app_errors, form_fields, optional, safe_next, validation_errors
from podsponsor.web.render import render
from podsponsor.web.session import (
    await_second_factor,
    awaiting_second_factor,
    end_second_factor,
    end_session,
    redirect,
    set_notice,
    start_session,
)

router = APIRouter(tags=["pages"], include_in_schema=False)
Visitor = Annotated[Subject | None, Depends(public_route)]
WORKSPACE_KINDS = (
    ("network", "Podcast network"),
    ("creator", "Independent creator"),
    ("agency", "Agency"),
    ("advertiser", "Advertiser"),
)


@router.get("/signup", response_class=HTMLResponse)
async def signup_form(request: Request, visitor: Visitor) -> Response:
    if visitor is not None:
        return redirect("/")
    return render(request, "web/signup.html", kinds=WORKSPACE_KINDS, values={"kind": "network"})


@router.post("/signup", response_class=HTMLResponse)
async def signup(request: Request, _: Visitor) -> Response:
    await verify_csrf(request)
    values = await form_fields(request)
    try:
        data = SignupIn.model_validate(
            {
                "workspace_name": values.get("workspace_name", ""),
                "workspace_slug": optional(values.get("workspace_slug")),
                "kind": values.get("kind", "network"),
                "display_name": values.get("display_name", ""),
                "email": values.get("email", ""),
                "password": values.get("password", ""),
            }
        )
    except ValidationError as exc:
        return _signup_page(request, values, validation_errors(exc), 422)
    tenant_id = uuid.uuid4()
    try:
        async with tenant_transaction(tenant_id) as session:
            created = await service.signup(session, tenant_id, data)
            first = TokenClaims(tenant_id, created.owner.id, created.owner.session_version)
            claims = await service.complete_login(session, first, hash_address(client_address(request)))
    except SlugTaken as exc:
        return _signup_page(request, values, app_errors(exc), exc.status)
    response = redirect("/")
    start_session(response, claims)
    set_notice(response, f"Welcome to {created.tenant.name}. Your workspace is ready.")
    return response


def _signup_page(request: Request, values: dict[str, str], errors: dict[str, str], status: int) -> Response:
    values.pop("password", None)
    return render(request, "web/signup.html", status, kinds=WORKSPACE_KINDS, values=values, errors=errors)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, visitor: Visitor) -> Response:
    target = safe_next(request.query_params.get("next"))
    if visitor is not None:
        return redirect(target)
    return render(request, "web/login.html", values={"next": target})


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, _: Visitor) -> Response:
    await verify_csrf(request)
    values = await form_fields(request)
    values["next"] = safe_next(values.get("next"))
    try:
        data = LoginIn.model_validate(
            {
                "email": values.get("email", ""),
                "password": values.get("password", ""),
                "workspace": optional(values.get("workspace")),
            }
        )
    except ValidationError as exc:
        return _login_page(request, values, validation_errors(exc), 422)
    try:
        found = await check_password(request, str(data.email), data.password, data.workspace)
        async with tenant_transaction(found.tenant_id) as session:
            needs_code = await second_factor.required(session, found)
        if needs_code:
            response = redirect("/login/second-factor")
            await_second_factor(response, found, values["next"])
            return response
        claims = await finish_sign_in(request, found)
    except InvalidCredentials as exc:
        return _login_page(request, values, {FORM_ERROR: "The e-mail or the password is wrong."}, exc.status)
    except WorkspaceRequired as exc:
        workspaces = [str(slug) for slug in exc.extra.get("workspaces", [])]
        errors = {"workspace": "This e-mail signs in to several workspaces: choose one."}
        return _login_page(request, values, errors, exc.status, workspaces=workspaces)
    except TooManyRequests as exc:
        page = _login_page(request, values, app_errors(exc), exc.status)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    response = redirect(values["next"])
    start_session(response, claims)
    return response


def _login_page(
    request: Request, values: dict[str, str], errors: dict[str, str], status: int, workspaces: list[str] | None = None
) -> Response:
    values.pop("password", None)
    choices = [(slug, slug) for slug in workspaces or []]
    return render(request, "web/login.html", status, values=values, errors=errors, workspaces=choices)


@router.get("/login/second-factor", response_class=HTMLResponse)
async def second_factor_form(request: Request, _: Visitor) -> Response:
    if awaiting_second_factor(request) is None:
        return _second_factor_expired()
    return render(request, "web/login_second_factor.html")


@router.post("/login/second-factor", response_class=HTMLResponse)
async def second_factor_step(request: Request, _: Visitor) -> Response:
    await verify_csrf(request)
    pending = awaiting_second_factor(request)
    if pending is None:
        return _second_factor_expired()
    found, next_url = pending
    code = (await form_fields(request)).get("code", "").strip()
    if not code:
        errors = {"code": "Enter the code your app shows, or one of your recovery codes."}
        return render(request, "web/login_second_factor.html", 422, errors=errors)
    app_code = second_factor.looks_like_app_code(code)
    try:
        claims = await finish_sign_in(
            request, found, totp_code=code if app_code else None, recovery_code=None if app_code else code
        )
    except (TotpInvalid, TotpRequired) as exc:
        errors = {"code": "That code is wrong, expired or used already. Try the app's next code."}
        return render(request, "web/login_second_factor.html", exc.status, errors=errors)
    except TooManyRequests as exc:
        page = render(request, "web/login_second_factor.html", exc.status, errors=app_errors(exc))
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    except InvalidCredentials:
        return _second_factor_expired()
    response = redirect(next_url)
    end_second_factor(response)
    start_session(response, claims)
    return response


def _second_factor_expired() -> Response:
    response = redirect("/login")
    end_second_factor(response)
    set_notice(response, "Sign in again: the five minutes for the second step are over.", "error")
    return response


@router.post("/logout")
async def logout(request: Request, _: Visitor) -> Response:
    await verify_csrf(request)
    response = redirect("/login")
    end_session(response)
    set_notice(response, "You are signed out.")
    return response


@router.get("/invite/{token}", name="invite_page", response_class=HTMLResponse)
async def invite_form(token: str, request: Request, _: Visitor) -> Response:
    if read_invite(get_settings(), token) is None:
        raise NotFound("this invitation is unknown or has expired; ask for a new one")
    return render(request, "web/invite.html", token=token)


@router.post("/invite/{token}", response_class=HTMLResponse)
async def accept_invite(token: str, request: Request, _: Visitor) -> Response:
    await verify_csrf(request)
    invite = read_invite(get_settings(), token)
    if invite is None:
        raise NotFound("this invitation is unknown or has expired; ask for a new one")
    values = await form_fields(request)
    try:
        data = AcceptInviteIn.model_validate({"token": token, "password": values.get("password", "")})
    except ValidationError as exc:
        return render(request, "web/invite.html", 422, token=token, errors=validation_errors(exc))
    if values.get("password_confirm") != data.password:
        errors = {"password_confirm": "The two passwords differ."}
        return render(request, "web/invite.html", 422, token=token, errors=errors)
    async with tenant_transaction(invite.tenant_id) as session:
        user = await service.set_password(session, invite, data.password)
        current = TokenClaims(user.tenant_id, user.id, user.session_version)
        claims = await service.complete_login(session, current, hash_address(client_address(request)))
    response = redirect("/")
    start_session(response, claims)
    set_notice(response, "Your password is set and you are signed in.")
    return response
