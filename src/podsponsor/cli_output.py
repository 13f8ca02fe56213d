"""How the CLI reports refusals: one `error:` line per problem on stderr, naming the option, and an exit code
(2 for input the command cannot take, 1 for a refusal or failure)."""

from __future__ import annotations

from typing import NoReturn

import typer
from pydantic import ValidationError

from podsponsor.errors import AppError

# The CLI's words for the fields that input validation names.
OPTION_NAMES = {
    "workspace_name": "NAME",
    "workspace_slug": "--slug",
    "kind": "--kind",
    "email": "--email",
    "password": "--password",
    "display_name": "--name",
    "role": "--role",
    "sponsor_id": "--sponsor-id",
}


def fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def invalid(exc: ValidationError, names: dict[str, str] | None = None) -> NoReturn:
    names = {**OPTION_NAMES, **(names or {})}
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        typer.secho(f"error: {names.get(field, field)}: {error['msg']}", err=True, fg=typer.colors.RED)
    raise typer.Exit(2)


def refused(exc: AppError) -> NoReturn:
    details = "; ".join(f"{OPTION_NAMES.get(e['field'], e['field'])}: {e['reason']}" for e in exc.errors or [])
    fail(f"{exc.detail}" + (f" ({details})" if details else ""))
