"""`podsponsor metrics import FILE --workspace SLUG`: the API's import, run in this process and waited for.

Heavy modules are imported when the command runs, so `podsponsor --help` stays quick.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from podsponsor.cli_output import fail

if TYPE_CHECKING:
    from podsponsor.metrics.models import EtlImport

metrics_cli = typer.Typer(help="Daily metrics: import CSV exports.", no_args_is_help=True)
ERRORS_SHOWN = 20


@metrics_cli.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="The CSV file.", exists=True, dir_okay=False, readable=True)],
    workspace: Annotated[str, typer.Option(help="The workspace's slug.")],
    preset: Annotated[
        str | None, typer.Option(help="canonical, spotify, megaphone, youtube, apple or generic; default: detected.")
    ] = None,
    source: Annotated[str | None, typer.Option(help="The numbers' source label, e.g. 'spotify'.")] = None,
    mapping: Annotated[
        str | None, typer.Option(help='Columns by hand, as JSON: \'{"day": "Date", "downloads": "Plays"}\'.')
    ] = None,
) -> None:
    """Import a CSV of daily metrics into a workspace: every row is checked first, and a file with any bad row
    changes nothing (its errors are listed, and the exit code is 1). A file imported before is a no-op."""
    from pydantic import ValidationError

    from podsponsor.cli_output import invalid
    from podsponsor.cli_runtime import with_database
    from podsponsor.config import get_settings
    from podsponsor.metrics.schemas import ImportOptions

    try:
        options = ImportOptions.model_validate({"preset": preset, "mapping": mapping, "source": source})
    except ValidationError as exc:
        invalid(exc, {"preset": "--preset", "mapping": "--mapping", "source": "--source"})
    record = with_database(get_settings(), _import(file, workspace, options))
    if record.duplicate_of is not None:
        typer.echo(f"{file.name} was already imported (import {record.duplicate_of}); nothing changed.")
        return
    typer.echo(
        f"imported {record.rows_imported:,} rows from {file.name} as {record.format} "
        f"({record.rows_inserted:,} new, {record.rows_updated:,} updated, {record.rows_skipped:,} skipped); "
        f"import {record.id}"
    )


async def _import(file: Path, workspace: str, options: Any) -> EtlImport:
    from podsponsor.auth.subject import system_subject
    from podsponsor.cli_accounts import tenant_for_slug
    from podsponsor.metrics import pipeline
    from podsponsor.metrics.exceptions import ImportRejected

    tenant_id = await tenant_for_slug(workspace)
    if tenant_id is None:
        fail(f"no workspace has the slug {workspace!r}")
    subject = system_subject(tenant_id)
    try:
        arrival = pipeline.copy_local(subject, file, uuid.uuid4())
    except ValueError as exc:
        fail(str(exc))
    try:
        return await pipeline.accept(subject, arrival, options, wait=True)
    except ImportRejected as rejected:
        _print_errors(rejected.errors or [], rejected.error_count)
        fail(f"{rejected.detail} (import {rejected.import_id})")


def _print_errors(errors: list[dict[str, Any]], count: int) -> None:
    for error in errors[:ERRORS_SHOWN]:
        where = f"row {error['row']}" if error.get("row") is not None else "file"
        column = f", {error['column']}" if error.get("column") else ""
        value = f" {json.dumps(error['value'])}" if error.get("value") not in (None, "") else ""
        hint = f" ({error['suggestion']})" if error.get("suggestion") else ""
        typer.echo(f"{where}{column}:{value} {error['reason']}{hint}", err=True)
    if count > ERRORS_SHOWN:
        typer.echo(f"… and {count - ERRORS_SHOWN:,} more", err=True)
