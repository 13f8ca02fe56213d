"""Settings → Your account: two-step sign-in (an authenticator app, and recovery codes for when it is lost).

Every signed-in user has this page, whatever their role. Recovery codes appear once, in the answer to the form that
made them; the page never shows them again.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from podsponsor.auth import second_factor
from podsponsor.auth.dependencies import require_page
from podsponsor.auth.router import login_throttle
from podsponsor.auth.subject import Subject
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import AppError, Forbidden, TooManyRequests
from podsponsor.web.csrf import verify_csrf
from podsponsor.web.forms import app_errors, form_fields
from podsponsor.web.render import render
from podsponsor.web.session import redirect, set_notice

router = APIRouter(tags=["pages"], include_in_schema=False)
SignedIn = Annotated[Subject, Depends(require_page())]
PAGE = "/settings/account"


@router.get(PAGE, response_class=HTMLResponse)
async def account_page(request: Request, subject: SignedIn) -> Response:
    return await _page(request, subject)


@router.post(PAGE + "/totp/setup", response_class=HTMLResponse)
async def start_setup(request: Request, subject: SignedIn) -> Response:
    await verify_csrf(request)
    try:
        async with tenant_transaction(subject.tenant_id) as session:
            await second_factor.begin(session, subject)
    except AppError as exc:
        return await _page(request, subject, errors=app_errors(exc), status=exc.status)
    return redirect(PAGE + "#two-step")


@router.post(PAGE + "/totp/confirm", response_class=HTMLResponse)
async def confirm_setup(request: Request, subject: SignedIn) -> Response:
    await verify_csrf(request)
    code = (await form_fields(request)).get("code", "")
    if not second_factor.looks_like_app_code(code):
        return await _page(request, subject, errors={"code": "Enter the 6 digits your app shows."}, status=422)

    async def confirm() -> list[str]:
        async with tenant_transaction(subject.tenant_id) as session:
            return await second_factor.confirm(session, subject, code)

    return await _with_codes(request, subject, confirm, "code", "Two-step sign-in is on.")


@router.post(PAGE + "/totp/recovery-codes", response_class=HTMLResponse)
async def new_recovery_codes(request: Request, subject: SignedIn) -> Response:
    await verify_csrf(request)
    code, password = _proof(await form_fields(request), "codes_proof")

    async def regenerate() -> list[str]:
        async with tenant_transaction(subject.tenant_id) as session:
            return await second_factor.regenerate_recovery_codes(session, subject, code=code, password=password)

    notice = "New recovery codes: the old ones no longer work."
    return await _with_codes(request, subject, regenerate, "codes_proof", notice)


@router.post(PAGE + "/totp/disable", response_class=HTMLResponse)
async def turn_off(request: Request, subject: SignedIn) -> Response:
    await verify_csrf(request)
    code, password = _proof(await form_fields(request), "disable_proof")
    throttle = login_throttle(request)
    user_id = _user_id(subject)
    try:
        await throttle.code_attempt(user_id)
        async with tenant_transaction(subject.tenant_id) as session:
            await second_factor.disable(session, subject, code=code, password=password)
    except AppError as exc:
        return await _refused(request, subject, exc, "disable_proof")
    await throttle.code_right(user_id)
    response = redirect(PAGE)
    set_notice(response, "Two-step sign-in is off: your password alone signs you in.")
    return response


def _proof(values: dict[str, str], field: str) -> tuple[str | None, str | None]:
    """One field takes either: six digits are the app's code, anything else the password (10 characters or more)."""
    proof = values.get(field, "")
    if not proof:
        return None, None
    return (proof, None) if second_factor.looks_like_app_code(proof) else (None, proof)


async def _with_codes(
    request: Request, subject: Subject, make: Callable[[], Awaitable[list[str]]], field: str, notice: str
) -> Response:
    """Check the code or password (counted against the second-factor limit), then show the new recovery codes."""
    throttle = login_throttle(request)
    user_id = _user_id(subject)
    try:
        await throttle.code_attempt(user_id)
        codes = await make()
    except AppError as exc:
        return await _refused(request, subject, exc, field)
    await throttle.code_right(user_id)
    return await _page(request, subject, status=201, recovery_codes=codes, notice={"kind": "ok", "message": notice})


async def _refused(request: Request, subject: Subject, exc: AppError, field: str) -> Response:
    errors = app_errors(exc)
    # The form's one field carries the message, whichever of code or password it held.
    said = errors.pop("password", None) or errors.pop("code", None)
    if said:
        errors[field] = said
    page = await _page(request, subject, errors=errors, status=exc.status)
    if isinstance(exc, TooManyRequests):
        page.headers["Retry-After"] = str(exc.retry_after)
    return page


def _user_id(subject: Subject) -> uuid.UUID:
    if subject.user_id is None:
        raise Forbidden("sign in as a user")
    return subject.user_id


async def _page(
    request: Request, subject: Subject, *, errors: dict[str, str] | None = None, status: int = 200, **extra: Any
) -> Response:
    async with tenant_transaction(subject.tenant_id) as session:
        state = await second_factor.status(session, subject)
    return render(request, "web/settings_account.html", status, state=state, errors=errors or {}, **extra)
