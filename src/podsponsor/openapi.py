"""The OpenAPI document tells the truth about errors and credentials.

Every error the API answers is an RFC 9457 problem document (`application/problem+json`), rendered by one handler
in `app.py` — also the 422 of a request that fails validation, which FastAPI would otherwise document as its own
`HTTPValidationError` JSON. The statuses that follow from how a route is built are declared here, once, from the
route itself: 400 where there is a body (one that cannot be decoded), 401 for every route (a malformed or expired
bearer token is refused even where signing in is optional), 403 where a permission is required, 404 where an id is in
the path, query or body or a feature flag can hide the route, 409 on a guarded write, 422 where there is input, 429
where the rate-limit middleware counts the path. Statuses particular to one route (413, 415, 502, …) are declared by
that route; they get the problem schema here too unless the route gives content of its own. The bearer scheme is
declared on every route that requires a permission, so clients and fuzzers know which calls need credentials.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from pydantic import BaseModel, ConfigDict, Field
from starlette.routing import BaseRoute

from podsponsor.errors import PROBLEM_JSON
from podsponsor.ratelimit import limits
from podsponsor.ratelimit.middleware import RULES

PROBLEM_REF = "#/components/schemas/Problem"
BEARER = "bearer"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PATH_PARAMETER = re.compile(r"\{[^}]+\}")

DESCRIPTIONS: dict[int, str] = {
    400: "the body could not be read as the declared media type (e.g. it is not UTF-8)",
    401: "no credential, or one that is malformed, expired or revoked",
    403: "your role lacks the permission this route needs",
    404: "no such object in your workspace (another workspace's id is 404 too), or the feature is off",
    409: "the change conflicts with the current state (a duplicate, or a state that does not allow it)",
    422: "the input is not valid: `errors` names each failing field",
    429: "too many requests: try again after `Retry-After` seconds",
}


class FieldError(BaseModel):
    model_config = ConfigDict(extra="allow")

    field: str | None = None
    reason: str | None = None


class Problem(BaseModel):
    """An error, as RFC 9457 problem details; extra members (e.g. `limit`) may follow."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="a stable URI naming the kind of problem")
    title: str
    status: int
    detail: str
    instance: str | None = Field(None, description="the path of the request")
    errors: list[FieldError] | None = Field(None, description="each failing field, row or column")


def document_problems(app: FastAPI) -> None:
    """Declare the problem responses and the bearer scheme on every operation of the app's OpenAPI document."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        facts = dict(_route_facts(app.routes))
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                found = facts.get((method.upper(), path), set())
                _document_operation(path, method.upper(), operation, found, schemas)
        # FastAPI's own validation error shape is never answered: the 422 is a problem document like the rest.
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem.pop("$defs", {}))
        schemas["Problem"] = problem
        document["components"]["securitySchemes"] = {
            BEARER: {
                "type": "http",
                "scheme": "bearer",
                "description": "a token from /api/v1/auth/token, or an API key",
            }
        }
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _document_operation(
    path: str, method: str, operation: dict[str, Any], facts: set[str], schemas: dict[str, Any]
) -> None:
    statuses = {401}
    if "permission" in facts:
        statuses.add(403)
        operation.setdefault("security", [{BEARER: []}])
        if method in WRITES:
            statuses.add(409)
        if _names_an_object(operation, schemas):
            statuses.add(404)
    if _PATH_PARAMETER.search(path) or "feature" in facts:
        statuses.add(404)
    if operation.get("parameters") or operation.get("requestBody") or method in WRITES:
        statuses.add(422)
    if operation.get("requestBody"):
        statuses.add(400)
    if any(rule.limit != limits.PIXEL and method in rule.methods and rule.path.fullmatch(path) for rule in RULES):
        # The middleware counts this path and refuses with a 429 (past its limit the pixel answers as always).
        statuses.add(429)
    responses = operation.setdefault("responses", {})
    for status in statuses:
        responses.setdefault(str(status), {"description": DESCRIPTIONS[status]})
    for code, answer in responses.items():
        if not (code.isdigit() and int(code) >= 400):
            continue
        content = answer.setdefault("content", {})
        if content.get("application/json", {}).get("schema") == {"$ref": "#/components/schemas/HTTPValidationError"}:
            del content["application/json"]
            answer["description"] = DESCRIPTIONS[422]
        if not content:
            content[PROBLEM_JSON] = {"schema": {"$ref": PROBLEM_REF}}


def _names_an_object(operation: dict[str, Any], schemas: dict[str, Any]) -> bool:
    """An id (a UUID) in the query or the body: one that names no object of the workspace is a 404."""
    found: list[Any] = [p.get("schema", {}) for p in operation.get("parameters", [])]
    found += [media.get("schema", {}) for media in operation.get("requestBody", {}).get("content", {}).values()]
    seen: set[str] = set()
    while found:
        node = found.pop()
        if isinstance(node, list):
            found.extend(node)
        elif isinstance(node, dict):
            if node.get("format") == "uuid":
                return True
            ref = node.get("$ref")
            if isinstance(ref, str) and ref not in seen:
                seen.add(ref)
                found.append(schemas.get(ref.rsplit("/", 1)[-1], {}))
            found.extend(value for key, value in node.items() if key != "$ref")
    return False


def _route_facts(routes: list[BaseRoute]) -> Iterator[tuple[tuple[str, str], set[str]]]:
    """(method, path) → what the route's dependencies say: "permission" (a guard), "feature" (a flag can hide it)."""
    for route in routes:
        if not hasattr(route, "effective_route_contexts"):
            continue
        for ctx in route.effective_route_contexts():
            calls = list(_calls(getattr(ctx, "dependant", None)))
            calls += [d.dependency for d in getattr(ctx, "dependencies", None) or [] if d.dependency is not None]
            facts = {"permission" for c in calls if hasattr(c, "__permission__")}
            facts |= {"feature" for c in calls if hasattr(c, "__feature__")}
            for method in getattr(ctx.original_route, "methods", None) or ():
                yield (method, str(ctx.path_format)), facts


def _calls(dependant: Dependant | None) -> Iterator[Callable[..., Any]]:
    if dependant is None:
        return
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)
