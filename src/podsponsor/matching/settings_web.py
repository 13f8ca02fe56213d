"""The workspace's matchmaking settings page (admins): the signal weights and the other scoring settings as a form,
a button that queues the whole-workspace recalculation and follows its progress (htmx polls the run's fragment until
it ends), and the latest runs. Hidden (404) while ENABLE_MATCHMAKING is off."""

from __future__ import annotations

import math
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from podsponsor.auth.dependencies import require_page
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.flags.dependencies import feature
from podsponsor.matching import service
from podsponsor.matching import settings as matching_settings
from podsponsor.matching.models import MatchRun
from podsponsor.matching.schemas import RunOut
from podsponsor.matching.settings import SIGNAL_NAMES, SIGNALS, MatchSettings, MatchSettingsIn, Weights
from podsponsor.web.csrf import verify_csrf
from podsponsor.web.forms import FORM_ERROR, form_fields, parse_id, validation_errors
from podsponsor.web.render import render
from podsponsor.web.session import redirect, set_notice

router = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[Depends(feature(service.FLAG))])
Admin = Annotated[Subject, Depends(require_page(Permission.TENANT_ADMIN))]
PAGE: Final = "/settings/matching"
RUNS_SHOWN: Final = 10
ACTIVE: Final = ("queued", "running")
WHOLE_NUMBERS: Final = {
    "conflict_cap": (0, 100),
    "prior_impressions": (0, 100_000_000),
    "keep_per_entity": (1, 10_000),
}


def _typed(found: MatchSettings) -> dict[str, str]:
    values = {f"weight_{name}": f"{found.weights[name]:g}" for name in SIGNALS}
    values |= {name: str(getattr(found, name)) for name in WHOLE_NUMBERS}
    return values


def _shares(found: MatchSettings) -> dict[str, float]:
    total = sum(found.weights.values())
    return {name: found.weights[name] / total if total else 0.0 for name in SIGNALS}


def read_settings(fields: dict[str, str]) -> tuple[MatchSettingsIn | None, dict[str, str]]:
    """The settings as typed, or the messages by form field."""
    errors: dict[str, str] = {}
    weights: dict[str, Any] = {}
    for name in SIGNALS:
        raw = fields.get(f"weight_{name}", "")
        try:
            weights[name] = float(raw)
        except ValueError:
            weights[name] = None
        if weights[name] is None or not math.isfinite(weights[name]) or not 0 <= weights[name] <= 100:
            errors[f"weight_{name}"] = "Give a number from 0 to 100."
    numbers: dict[str, int] = {}
    for name, (low, high) in WHOLE_NUMBERS.items():
        raw = fields.get(name, "").replace(",", "")
        if raw.isdigit() and low <= int(raw) <= high:
            numbers[name] = int(raw)
        else:
            errors[name] = f"Give a whole number from {low:,} to {high:,}."
    if errors:
        return None, errors
    try:
        return MatchSettingsIn(weights=Weights(**weights), **numbers), {}
    except ValidationError as exc:
        found = validation_errors(exc)
        if FORM_ERROR in found:
            found["weights"] = found.pop(FORM_ERROR)
        return None, found


async def _page(
    request: Request, subject: Subject, typed: dict[str, str] | None = None, errors: dict[str, str] | None = None
) -> Response:
    async with tenant_transaction(subject.tenant_id) as session:
        current = await matching_settings.match_settings(session, subject.tenant_id)
        runs = await service.latest_runs(session, subject, RUNS_SHOWN)
    active = next((run for run in runs if run.status in ACTIVE), None)
    return render(
        request,
        "matching/settings.html",
        422 if errors else 200,
        values=typed or _typed(current),
        errors=errors or {},
        signals=[(name, SIGNAL_NAMES[name].capitalize()) for name in SIGNALS],
        shares=_shares(current),
        keep=current.keep_per_entity,
        runs=runs,
        active=RunOut.of(active) if active else None,
    )


@router.get(PAGE, response_class=HTMLResponse)
async def settings_page(request: Request, subject: Admin) -> Response:
    return await _page(request, subject)


@router.post(PAGE, response_class=HTMLResponse)
async def save_settings(request: Request, subject: Admin) -> Response:
    await verify_csrf(request)
    fields = await form_fields(request)
    data, errors = read_settings(fields)
    if data is None:
        return await _page(request, subject, fields, errors)
    async with tenant_transaction(subject.tenant_id) as session:
        await matching_settings.update_settings(session, subject, data)
    response = redirect(PAGE)
    set_notice(response, "The matchmaking settings are saved. Stored scores change when they are recalculated.")
    return response


@router.post(f"{PAGE}/recalculate", response_class=HTMLResponse)
async def recalculate_workspace(request: Request, subject: Admin) -> Response:
    await verify_csrf(request)
    async with tenant_transaction(subject.tenant_id) as session:
        await service.recalculate(session, subject)
    response = redirect(f"{PAGE}#match-run")
    set_notice(response, "The whole workspace is queued for recalculation; its progress shows below.")
    return response


@router.get(f"{PAGE}/runs/{{run_id}}", response_class=HTMLResponse)
async def run_progress(run_id: str, request: Request, subject: Admin) -> Response:
    """The run's progress section, for htmx to swap in while it runs; when it ends, the runs table comes along."""
    if "hx-request" not in request.headers:
        return redirect(f"{PAGE}#match-run")
    found_id = parse_id(run_id, "match run")
    async with tenant_transaction(subject.tenant_id) as session:
        run: MatchRun = await service.get_run(session, subject, found_id)
        runs = await service.latest_runs(session, subject, RUNS_SHOWN) if run.status not in ACTIVE else []
    return render(request, "matching/_run_progress.html", active=RunOut.of(run), runs=runs, out_of_band=True)
