"""Reading HTML forms and turning validation failures into messages by field."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from pydantic import ValidationError

from podsponsor.errors import AppError, NotFound

FORM_ERROR = "form"
MAX_PAGE = 100_000


async def form_fields(request: Request) -> dict[str, str]:
    """The submitted text fields (uploads are ignored), stripped of surrounding spaces."""
    form = await request.form()
    return {key: value.strip() for key, value in form.items() if isinstance(value, str)}


async def form_list(request: Request, name: str) -> list[str]:
    """Every value of a repeated field, such as a group of checkboxes."""
    form = await request.form()
    return [value for value in form.getlist(name) if isinstance(value, str)]


def optional(value: str | None) -> str | None:
    """An empty form field means "not given"."""
    return value or None


def validation_errors(exc: ValidationError) -> dict[str, str]:
    """The first message for each failing field, in words a person can act on."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else FORM_ERROR
        errors.setdefault(field, _plain_message(error["type"], error.get("ctx") or {}, str(error["msg"])))
    return errors


def _plain_message(kind: str, ctx: dict[str, Any], message: str) -> str:
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return "Fill this in."
    if kind == "string_too_short":
        return f"Use at least {ctx['min_length']} characters."
    if kind == "string_too_long":
        return f"Use at most {ctx['max_length']} characters."
    if kind == "too_short":
        return "Choose at least one."
    if kind == "too_long":
        return f"Give at most {ctx['max_length']}."
    if kind in ("literal_error", "enum"):
        return "Choose one of the offered options."
    if kind == "string_pattern_mismatch":
        return "This is not in the expected form; see the hint."
    text = message.removeprefix("Value error, ")
    return text[0].upper() + text[1:] if text else "Not valid."


def app_errors(exc: AppError) -> dict[str, str]:
    """A domain error's messages by field, with its detail as the message of the whole form."""
    errors = {FORM_ERROR: exc.detail[0].upper() + exc.detail[1:] if exc.detail else exc.title}
    for item in exc.errors or []:
        field = str(item.get("field", FORM_ERROR))
        errors.setdefault(field, str(item.get("reason", "not valid")).capitalize())
    return errors


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a path on this site, never another host (`//host`, `/\\host`)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return "/"
    return target


def page_number(raw: str | None) -> int:
    """A 1-based page number from the query string; anything unreadable is the first page."""
    if raw is None or not raw.isdigit():
        return 1
    return max(1, min(int(raw), MAX_PAGE))


@dataclass(frozen=True)
class Pager:
    number: int
    size: int
    total: int
    prev_url: str | None
    next_url: str | None

    @property
    def first_item(self) -> int:
        return (self.number - 1) * self.size + 1 if self.total else 0

    @property
    def last_item(self) -> int:
        return min(self.number * self.size, self.total)


def pager(request: Request, number: int, size: int, total: int) -> Pager:
    """Links to the neighbouring pages, keeping the other query parameters (search text, filters)."""

    def link(to: int) -> str:
        params: dict[str, Any] = {k: v for k, v in request.query_params.items() if k != "page"}
        if to > 1:
            params["page"] = to
        query = urlencode(params)
        return request.url.path + (f"?{query}" if query else "")

    has_next = number * size < total
    return Pager(number, size, total, link(number - 1) if number > 1 else None, link(number + 1) if has_next else None)


def parse_id(raw: str, what: str) -> uuid.UUID:
    """An id from a URL; a malformed one names nothing, so it is "not found" like any unknown id."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound(f"no such {what}") from None


_MONEY = re.compile(r"^\d{1,13}(\.\d{1,2})?$")


def money_cents(raw: str, name: str, errors: dict[str, str]) -> int | None:
    """An amount typed in currency units ("22.50", "$1,250") as integer cents; None when empty, or when it is not
    an amount (then `errors[name]` says why). Exact: Decimal, never float."""
    text = raw.replace(",", "").removeprefix("$").strip()
    if not text:
        return None
    if not _MONEY.match(text):
        errors[name] = "Give an amount such as 22.50 (two decimals at most)."
        return None
    try:
        return int(Decimal(text) * 100)
    except InvalidOperation:
        errors[name] = "Give an amount such as 22.50."
        return None
