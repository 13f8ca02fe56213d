"""`podsponsor measurement`: download counting from a shell. This module makes the command group and its
`import-logs` (a host or CDN log's requests stored like the API's upload, and counts of their days queued);
cli_counting adds count, explain, export and settings to it.

Heavy modules are imported when a command runs, so `podsponsor --help` stays quick.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from podsponsor.cli_output import fail

if TYPE_CHECKING:
    from podsponsor.measurement.log_models import LogImport

measurement_app = typer.Typer(
    name="measurement",
    help="Download counting (IAB v2.3): import host and CDN logs, count days, explain and export.",
    no_args_is_help=True,
)
ERRORS_SHOWN = 5
# Below this a file is read in a moment; a bar would only flicker.
PROGRESS_MIN_BYTES = 1 << 20


class LogFormatChoice(StrEnum):
    cloudfront = "cloudfront"
    csv = "csv"
    jsonl = "jsonl"


@measurement_app.command("import-logs")
def import_logs(
    path: Annotated[
        Path, typer.Argument(help="The log file, plain or gzipped.", exists=True, dir_okay=False, readable=True)
    ],
    tenant: Annotated[str, typer.Option("--tenant", "--workspace", help="The workspace's slug.")],
    log_format: Annotated[
        LogFormatChoice,
        typer.Option("--format", help="cloudfront (standard log), or the generic shape as csv or jsonl."),
    ],
) -> None:
    """Store a log's requests for counting and queue counts of the UTC days they fall on.

    Lines that cannot be read are skipped and listed; the others are stored. Importing the same file again stores
    nothing new. A file where no line can be read stores nothing (exit code 1)."""
    from podsponsor.cli_runtime import with_database
    from podsponsor.config import get_settings

    show_progress = path.stat().st_size >= PROGRESS_MIN_BYTES
    record = with_database(get_settings(), _import(path, tenant, log_format.value, show_progress))
    for line in summary(record):
        typer.echo(line)


async def _import(path: Path, tenant: str, log_format: str, show_progress: bool) -> LogImport:
    from podsponsor.auth.subject import system_subject
    from podsponsor.cli_accounts import tenant_for_slug
    from podsponsor.db.tenancy import tenant_transaction
    from podsponsor.measurement import log_import

    tenant_id = await tenant_for_slug(tenant)
    if tenant_id is None:
        fail(f"no workspace has the slug {tenant!r}")
    subject = system_subject(tenant_id)
    bar = _Bar() if show_progress else None
    try:
        async with tenant_transaction(tenant_id) as session:
            return await log_import.import_log(
                session, subject, file_name=path.name, path_or_lines=path, format=log_format, on_progress=bar
            )
    except log_import.LogUnreadable as exc:
        if bar is not None:
            bar.close()
        _print_errors(exc.errors or [], int(exc.extra.get("error_count", 0)))
        fail(exc.detail)
    finally:
        if bar is not None:
            bar.close()


class _Bar:
    """A progress bar on stderr over the file's lines, shown once the file is hashed and its lines known."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.done = 0

    def __call__(self, lines_read: int, lines_total: int) -> None:
        if self.bar is None:
            self.bar = typer.progressbar(length=lines_total, label="importing", file=sys.stderr)
            self.bar.__enter__()
        self.bar.length = lines_total
        self.bar.update(lines_read - self.done)
        self.done = lines_read

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def summary(record: LogImport) -> list[str]:
    """What an import did, for a person: lines, requests, errors with their first line numbers, days queued."""
    lines = [
        f"{record.file_name} ({record.format}): {record.lines_read:,} lines read",
        f"  {record.requests_stored:,} requests stored, {record.requests_already_stored:,} already stored",
    ]
    if record.error_count:
        shown = ", ".join(str(error["line"]) for error in record.errors[:ERRORS_SHOWN])
        more = " …" if record.error_count > ERRORS_SHOWN else ""
        noun = "line" if record.error_count == 1 else "lines"
        lines.append(f"  {record.error_count:,} {noun} could not be read (line {shown}{more}); skipped:")
        lines += [f"    line {error['line']}: {error['reason']}" for error in record.errors[:ERRORS_SHOWN]]
    if record.days:
        lines.append(f"  counts queued for {len(record.days)} day(s): {', '.join(record.days)}")
    lines.append(f"import {record.id}")
    return lines


def _print_errors(errors: list[dict[str, Any]], count: int) -> None:
    for error in errors[:ERRORS_SHOWN]:
        typer.echo(f"line {error.get('line')}: {error.get('reason')}", err=True)
    if count > ERRORS_SHOWN:
        typer.echo(f"… and {count - ERRORS_SHOWN:,} more", err=True)
