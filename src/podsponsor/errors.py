"""Domain errors and their RFC 9457 problem+json rendering.

Everything below the routers raises an `AppError` subclass; one handler turns it into a problem document with a
stable `type`. Validation failures name each failing field (or CSV row/column).
"""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://podsponsor.dev/problems/"
PROBLEM_JSON = "application/problem+json"


class AppError(Exception):
    status: int = 400
    type: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class ValidationFailed(AppError):
    status = 422
    type = "validation-error"
    title = "The input is not valid"


class NotAuthenticated(AppError):
    status = 401
    type = "not-authenticated"
    title = "Authentication required"


class Forbidden(AppError):
    status = 403
    type = "forbidden"
    title = "Not allowed for your role"


class NotFound(AppError):
    status = 404
    type = "not-found"
    title = "Not found"


class Conflict(AppError):
    status = 409
    type = "conflict"
    title = "Conflict"


class TooManyRequests(AppError):
    status = 429
    type = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after


class PayloadTooLarge(AppError):
    status = 413
    type = "payload-too-large"
    title = "Payload too large"


class FeatureDisabled(NotFound):
    """A disabled feature looks like it does not exist."""

    type = "not-found"
