"""`podsponsor measurement count | explain | export | settings`: count days now, say why one request did or did not
count, export a day's requests with their tags, and show or change how a workspace counts.

Registered on the `measurement` command group; heavy modules are imported when a command runs.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from podsponsor.cli_measurement import measurement_app
from podsponsor.cli_output import fail

if TYPE_CHECKING:
    from podsponsor.measurement.count_models import CountRun

MAX_DAYS = 400


class ExportFormatChoice(StrEnum):
    csv = "csv"
    tsv = "tsv"


class WindowChoice(StrEnum):
    calendar_day = "calendar_day"
    first_touch_24h = "first_touch_24h"
    extending_24h = "extending_24h"


TenantOption = Annotated[str, typer.Option("--tenant", "--workspace", help="The workspace's slug.")]


def _run(work: Any) -> Any:
    from podsponsor.cli_runtime import with_database
    from podsponsor.config import get_settings

    return with_database(get_settings(), work)


async def _tenant(slug: str) -> uuid.UUID:
    from podsponsor.cli_accounts import tenant_for_slug

    tenant_id = await tenant_for_slug(slug)
    if tenant_id is None:
        fail(f"no workspace has the slug {slug!r}")
    return tenant_id


@measurement_app.command("count")
def count(
    tenant: TenantOption,
    day: Annotated[
        list[str] | None, typer.Option("--day", help="A UTC day (YYYY-MM-DD); repeat for several. Default: today.")
    ] = None,
    first: Annotated[str | None, typer.Option("--from", help="First UTC day of a range (with --to).")] = None,
    last: Annotated[str | None, typer.Option("--to", help="Last UTC day of a range, included.")] = None,
) -> None:
    """Count days now (replacing their downloads, tallies and prefix/logs metrics), one line per day."""
    days = _days(day or [], first, last)
    _run(_count(tenant, days))


def _days(days: list[str], first: str | None, last: str | None) -> list[date]:
    from datetime import UTC, datetime

    try:
        chosen = [date.fromisoformat(value) for value in days]
        if first or last:
            start = date.fromisoformat(first or last or "")
            end = date.fromisoformat(last or first or "")
            if end < start:
                fail("--to is before --from")
            chosen += [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
    except ValueError as exc:
        fail(f"a day must be YYYY-MM-DD: {exc}")
    chosen = sorted(set(chosen)) or [datetime.now(UTC).date()]
    if len(chosen) > MAX_DAYS:
        fail(f"at most {MAX_DAYS} days at once")
    return chosen


async def _count(slug: str, days: list[date]) -> None:
    from podsponsor.db.tenancy import tenant_transaction
    from podsponsor.measurement import counting_job

    tenant_id = await _tenant(slug)
    total = 0
    for number, day in enumerate(days, start=1):
        async with tenant_transaction(tenant_id) as session:
            run = await counting_job.count_day(session, tenant_id, day, trigger="cli")
        total += run.downloads
        typer.echo(f"[{number}/{len(days)}] {_run_line(run)}")
    if len(days) > 1:
        typer.echo(f"{total:,} downloads over {len(days)} days")


def _run_line(run: CountRun) -> str:
    missing = f"; lists never loaded: {', '.join(run.lists_missing)}" if run.lists_missing else ""
    return (
        f"{run.day.isoformat()}: {run.requests_on_day:,} requests → {run.downloads:,} downloads "
        f"({run.window_type}, {run.duration_ms} ms){missing}"
    )


@measurement_app.command("explain")
def explain(
    hit_id: Annotated[str, typer.Argument(help="A prefix hit's id (uuid) or a log request's id (digest:line).")],
    tenant: TenantOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print the request, its tags and the run as JSON.")] = False,
) -> None:
    """Say why one request did or did not count, as its day was counted."""
    found = _run(_explain(tenant, hit_id))
    if as_json:
        typer.echo(json.dumps(found, default=str, indent=2))
        return
    typer.echo(found["sentence"])
    request = found["request"]
    typer.echo(
        f"  {request['ts']} {request['method']} {request.get('destination') or request.get('url')} "
        f"status {request['status']} source {request['source_kind']}"
    )
    typer.echo(f"  user agent: {request.get('user_agent') or '(none)'}")
    run = found["run"]
    if run:
        versions = ", ".join(f"{kind} {version[:8]}" for kind, version in sorted(run["list_versions"].items()))
        typer.echo(f"  counted by run {run['id']} ({found['window']}); lists: {versions or 'none loaded'}")


async def _explain(slug: str, hit_id: str) -> dict[str, Any]:
    from podsponsor.auth.subject import system_subject
    from podsponsor.db.tenancy import tenant_transaction
    from podsponsor.errors import NotFound
    from podsponsor.measurement import audit

    tenant_id = await _tenant(slug)
    try:
        async with tenant_transaction(tenant_id) as session:
            found = await audit.explain_hit(session, system_subject(tenant_id), hit_id)
    except NotFound as exc:
        fail(exc.detail)
    run = found.run
    return {
        "hit_id": found.hit_id,
        "day": found.day.isoformat(),
        "counted": found.counted,
        "reason": found.reason,
        "sentence": found.sentence,
        "window": found.window,
        "request": found.request,
        "run": {"id": str(run.id), "list_versions": run.list_versions} if run else None,
    }


@measurement_app.command("export")
def export(
    tenant: TenantOption,
    day: Annotated[str, typer.Option("--day", help="The UTC day (YYYY-MM-DD).")],
    export_format: Annotated[ExportFormatChoice, typer.Option("--format", help="csv or tsv.")] = ExportFormatChoice.tsv,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of to standard output.")
    ] = None,
    podcast: Annotated[str | None, typer.Option("--podcast", help="Only this show's requests (its id).")] = None,
) -> None:
    """Every request of a day with the tag it got, for audit."""
    try:
        when = date.fromisoformat(day)
        show = uuid.UUID(podcast) if podcast else None
    except ValueError as exc:
        fail(f"bad --day or --podcast: {exc}")
    body: str = _run(_export(tenant, when, show, export_format.value))
    if output is None:
        typer.echo(body, nl=False)
    else:
        output.write_text(body, encoding="utf-8")
        typer.echo(f"wrote {body.count(chr(10)) - 1:,} requests to {output}", err=True)


async def _export(slug: str, day: date, podcast_id: uuid.UUID | None, export_format: str) -> str:
    from podsponsor.auth.subject import system_subject
    from podsponsor.db.tenancy import tenant_transaction
    from podsponsor.measurement import audit

    tenant_id = await _tenant(slug)
    async with tenant_transaction(tenant_id) as session:
        found = await audit.audit_day(session, system_subject(tenant_id), day, podcast_id)
    return audit.export_text(found, "tsv" if export_format == "tsv" else "csv")


@measurement_app.command("settings")
def settings(
    tenant: TenantOption,
    window: Annotated[WindowChoice | None, typer.Option("--window", help="Set the window type.")] = None,
    ip_volume_limit: Annotated[
        int | None, typer.Option("--ip-volume-limit", min=1, help="Potential downloads per address and UTC day.")
    ] = None,
    header_bytes: Annotated[int | None, typer.Option("--header-bytes", min=0, help="Assumed ID3 header size.")] = None,
) -> None:
    """Show how the workspace counts, or change it (applies from each day's next count)."""
    changes = {
        key: value
        for key, value in (
            ("window", window.value if window else None),
            ("ip_volume_limit", ip_volume_limit),
            ("header_bytes", header_bytes),
        )
        if value is not None
    }
    current = _run(_settings(tenant, changes))
    for key, value in current.items():
        typer.echo(f"{key}: {value}")


async def _settings(slug: str, changes: dict[str, Any]) -> dict[str, Any]:
    from podsponsor.auth.subject import system_subject
    from podsponsor.db.tenancy import tenant_transaction
    from podsponsor.measurement import counting_job

    tenant_id = await _tenant(slug)
    async with tenant_transaction(tenant_id) as session:
        if changes:
            found = await counting_job.update_settings(session, system_subject(tenant_id), changes)
        else:
            found = await counting_job.tenant_settings(session, tenant_id)
    return {"window": found.window, "ip_volume_limit": found.ip_volume_limit, "header_bytes": found.header_bytes}
