"""The machinery of tests/security/test_fuzz_api.py: who calls, what each tenant owns, and the fuzzer that sends
schemathesis' cases and keeps every finding (it never stops at the first, so one run reports them all).

Each response goes through schemathesis' passive checks only (a 5xx, an undocumented status, a content type or body
or header the schema does not declare); none of its checks that send requests of their own are used. On top:
- without credentials (the anonymous caller, or a negative case that leaves the Authorization header out) every route
  off the public allowlist answers 401; with a forged token every route does, public ones too;
- no answer to one tenant carries an id of an object another tenant made (that it did not send itself);
- every request tenant B makes that carries an id of B's (in the path, query or body) is first sent as tenant A: with
  B's id in the path A must never get a 2xx, and must get a 404 where B's own request succeeds (the object exists);
  a write naming B's object in its body must not succeed for A.
Three things are changed in generated requests, all in `prepare`: addresses are pointed at a loopback host the app
refuses to fetch (the fuzzer must not reach the internet), a caller never edits its own user (a self-demotion would
end the run's credentials, not find a bug), and the anonymous caller sends no bearer token (schemathesis makes up one
wherever the document declares the scheme).
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import jwt
import requests
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from hypothesis.stateful import get_state_machine_test
from schemathesis import Case, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, ServerError
from schemathesis.core.result import Ok
from schemathesis.errors import FailureGroup
from schemathesis.generation.stateful import APIStateMachine
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.transport.prepare import get_exclude_headers

from tests.factories.identity import Tenant

AnyCase = Case[Any]
Operation = APIOperation[Any, Any, Any, Any]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Generated addresses go here: a loopback host not on OUTBOUND_ALLOW_HOSTS, so the app refuses to fetch it (422)
# without resolving or connecting anything.
REFUSED_NETLOC = "127.0.0.2:9"
# The seeded webhook endpoint needs an address the app accepts: this one is allowlisted for the fuzzed app; nothing
# listens there and no worker runs, so nothing is ever delivered.
ALLOWED_HOOK = "http://127.0.0.1:9/podsponsor-hooks"
URL = re.compile(r"^(https?)://", re.IGNORECASE)
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
SUCCESS = range(200, 300)
CALENDAR_EDGES = {
    "date": ("0001-01-01", "9999-12-31"),
    "date-time": ("0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00"),
}
# Stateful runs that Hypothesis may end early (see `Fuzzer.stateful`) before the scenarios are done.
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Identity:
    name: str
    headers: Mapping[str, str]
    user_id: str | None = None
    # Path parameter name → an id of this identity's tenant, so that cases reach real objects too.
    ids: Mapping[str, str] = field(default_factory=dict)
    others: Mapping[str, str] = field(default_factory=dict)  # another user of the tenant, for the self-edit guard
    owned: frozenset[str] = frozenset()  # the tenant's own id and its users' ids

    @property
    def signed_in(self) -> bool:
        return bool(self.ids)


@dataclass(frozen=True)
class Finding:
    kind: str  # "server error", "schema violation", "credentials ignored", "cross-tenant"
    identity: str
    operation: str
    status: int
    title: str
    detail: str

    def line(self) -> str:
        return f"[{self.kind}] {self.identity} {self.operation} → {self.status}: {self.title}\n    {self.detail}"


@dataclass
class Tally:
    cases: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    operations: set[str] = field(default_factory=set)
    probes: int = 0  # cross-tenant requests sent
    probes_on_existing: int = 0  # of which the object was shown to exist (B's own request succeeded)
    calendar_edges: int = 0
    stateful_scenarios: int = 0
    stateful_steps: int = 0
    stateful_restarts: int = 0
    findings: list[Finding] = field(default_factory=list)
    # What GET /api/v1/me answered each tenant's owner after the run: a 401 means the cases after some point only
    # met the sign-in check.
    me_at_end: dict[str, int] = field(default_factory=dict)

    def of(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    def summary(self, seconds: float, seed_value: int) -> str:
        return json.dumps(
            {
                "seed": seed_value,
                "operations": len(self.operations),
                "cases": dict(sorted(self.cases.items())),
                "calendar_edge_cases": self.calendar_edges,
                "stateful_scenarios": self.stateful_scenarios,
                "stateful_steps": self.stateful_steps,
                "stateful_restarts": self.stateful_restarts,
                "cross_tenant_probes": self.probes,
                "cross_tenant_probes_on_existing_objects": self.probes_on_existing,
                "statuses": {str(code): n for code, n in sorted(self.statuses.items())},
                "server_errors": len(self.of("server error")),
                "schema_violations": len(self.of("schema violation")),
                "credentials_ignored": len(self.of("credentials ignored")),
                "cross_tenant_leaks": len(self.of("cross-tenant")),
                "seconds": round(seconds, 1),
            },
            sort_keys=False,
        )


def forged_token(tenant_id: str) -> str:
    """A well-formed bearer token for a real workspace, signed with a key the app does not have."""
    now = datetime.now(UTC)
    claims = {"sub": str(uuid.uuid4()), "tid": tenant_id, "exp": now + timedelta(hours=1), "iat": now}
    return jwt.encode(claims, "not-the-app-secret-" + "x" * 32, algorithm="HS256")


def seed_tenant(tenant: Tenant) -> dict[str, str]:
    """One object of each kind the API reaches by id, made the way a customer makes them; name → id."""
    today = datetime.now(UTC).date()
    ids: dict[str, str] = {"user_id": tenant.user_ids["sales"]}
    with tenant.client() as owner:
        sponsor = _made(owner.post("/api/v1/sponsors", json={"name": "Brew Hub", "industry": "beverages"}))
        ids["sponsor_id"] = ids["advertiser_id"] = sponsor["id"]
        ids["podcast_id"] = _made(owner.post("/api/v1/podcasts", json={"title": "Night Shift"}))["id"]
        episode = {"podcast_id": ids["podcast_id"], "title": "Episode 1", "publish_date": _noon(today)}
        ids["episode_id"] = _made(owner.post("/api/v1/episodes", json=episode))["id"]
        campaign = {"sponsor_id": ids["sponsor_id"], "name": "Spring push"}
        ids["campaign_id"] = _made(owner.post("/api/v1/campaigns", json=campaign))["id"]
        unit = {"position": "mid", "length_seconds": 60}
        ids["ad_unit_id"] = _made(owner.post(f"/api/v1/podcasts/{ids['podcast_id']}/ad-units", json=unit))["id"]
        io = {
            "campaign_id": ids["campaign_id"],
            "podcast_id": ids["podcast_id"],
            "ad_unit_id": ids["ad_unit_id"],
            "episode_ids": [ids["episode_id"]],
            "flight_start": (today - timedelta(days=5)).isoformat(),
            "flight_end": (today + timedelta(days=25)).isoformat(),
            "impression_goal": 50_000,
            "pricing_model": "cpm",
            "cpm_cents": 2500,
        }
        booked = owner.post("/api/v1/io", json=io, headers={"Idempotency-Key": str(uuid.uuid4())})
        ids["io_id"] = _made(booked)["id"]
        source = {"sponsor_id": ids["sponsor_id"], "kind": "api", "name": "Server events"}
        ids["source_id"] = _made(owner.post("/api/v1/conversion-sources", json=source))["id"]
        hook = {"url": ALLOWED_HOOK, "event_types": ["podcast.created"]}
        ids["endpoint_id"] = _made(owner.post("/api/v1/webhooks/endpoints", json=hook))["id"]
        ids["key_id"] = _made(owner.post("/api/v1/api-keys", json={"name": "ci", "scopes": ["catalog:read"]}))["id"]
        link = f"/api/v1/reports/campaigns/{ids['campaign_id']}/share-links"
        ids["link_id"] = _made(owner.post(link, json={"label": "sponsor"}))["id"]
    return ids


def _made(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def _noon(day: date) -> str:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC).isoformat()


def operations(schema: BaseSchema) -> list[Operation]:
    """Every operation of the schema; deletions last, so the other operations meet the seeded objects first."""
    found = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            raise result.err()  # an operation schemathesis cannot read would otherwise go unfuzzed
        found.append(result.ok())
    return sorted(found, key=lambda op: op.method.upper() == "DELETE")


def is_guarded(operation: Operation) -> bool:
    return bool(operation.definition.raw.get("security"))


class Fuzzer:
    """Sends cases as an identity, checks each response, and keeps the findings in `tally`."""

    def __init__(self, schema: BaseSchema, base_url: str, public: frozenset[str], seed_value: int) -> None:
        self.schema = schema
        self.base_url = base_url
        self.public = public
        self.seed = seed_value
        self.tally = Tally()
        self.sessions: dict[str, requests.Session] = {}
        # Identity name → ids of the objects its tenant made (seeded, or answered to its creating requests).
        self.made: dict[str, set[str]] = {}

    def know(self, caller: Identity) -> None:
        self.made.setdefault(caller.name, set()).update({*caller.ids.values(), *caller.owned})

    def close(self) -> None:
        for session in self.sessions.values():
            session.close()

    # One operation, many generated cases.

    def fuzz(self, operation: Operation, caller: Identity, examples: int, probe: Identity | None = None) -> None:
        strategy = self._strategy(operation, caller)
        self.tally.operations.add(operation.label)

        @seed(self.seed)
        @_settings(max_examples=examples)
        @given(case=strategy)
        def run(case: AnyCase) -> None:
            self.exercise(case, caller, probe)

        run()

    def _strategy(self, operation: Operation, caller: Identity) -> st.SearchStrategy[AnyCase]:
        options = [operation.as_strategy(GenerationMode.POSITIVE)]
        if caller.signed_in:
            names = [p.name for p in operation.path_parameters]
            own = {name: caller.ids[name] for name in names if name in caller.ids}
            if own and len(own) == len(names):
                # A third of the cases reach a real object of the caller's own workspace, not a random id.
                options.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=own))
            options.append(operation.as_strategy(GenerationMode.NEGATIVE))
        return st.one_of(options)

    def calendar_edges(self, operation: Operation, caller: Identity) -> None:
        """Each date query parameter alone at the first and the last day a date can hold: date arithmetic from there
        overflows, and random generation seldom lands exactly on them."""
        if operation.method.upper() != "GET":
            return
        own = {p.name: caller.ids[p.name] for p in operation.path_parameters if p.name in caller.ids}
        if len(own) != len(operation.path_parameters):
            return
        for parameter in operation.definition.raw.get("parameters", []):
            kind = _date_format(parameter)
            if parameter.get("in") != "query" or kind is None:
                continue
            for value in CALENDAR_EDGES[kind]:
                case = operation.Case(path_parameters=dict(own), query={parameter["name"]: value})
                self.tally.calendar_edges += 1
                self.exercise(case, caller, None)

    # One case.

    def exercise(self, case: AnyCase, caller: Identity, probe: Identity | None) -> Response:
        prepare(case, caller)
        sent = _ids_in(case)
        shadow = None
        carries_theirs = bool(sent & self.made.get(caller.name, set()))
        if probe is not None and is_guarded(case.operation) and carries_theirs and not _drops_credentials(case):
            # Before the owner acts (a deletion would remove the evidence), the other tenant tries the same request.
            shadow = self.send(case, probe, probing=True)
            self.check_leaks(case, shadow, probe, sent)
        response = self.send(case, caller)
        self.check(case, response, caller)
        self.check_leaks(case, response, caller, sent)
        if response.status_code in SUCCESS and case.method.upper() in ("POST", "PUT"):
            self.made.setdefault(caller.name, set()).update(_created_ids(response))
        if shadow is not None and probe is not None:
            self.judge_probe(case, shadow, response, probe, sent & self.made.get(caller.name, set()))
        return response

    def send(self, case: AnyCase, caller: Identity, *, probing: bool = False) -> Response:
        session = self.sessions.setdefault(caller.name, requests.Session())
        response = case.call(base_url=self.base_url, session=session, headers=dict(caller.headers), timeout=60)
        if probing:
            self.tally.probes += 1
        else:
            self.tally.cases[caller.name] += 1
        self.tally.statuses[response.status_code] += 1
        return response

    def check(self, case: AnyCase, response: Response, caller: Identity) -> None:
        label = case.operation.label
        try:
            case.validate_response(response, checks=CHECKS, headers=dict(caller.headers))
        except FailureGroup as group:
            for failure in _unique(group.exceptions):
                self._found(
                    "server error" if isinstance(failure, ServerError) else "schema violation",
                    caller,
                    label,
                    response,
                    failure.title,
                    _reproduce(case, caller, failure),
                )
        if self._must_refuse(case, caller) and response.status_code != 401:
            detail = f"expected 401 without valid credentials\n    {_curl(case, caller)}"
            self._found("credentials ignored", caller, label, response, "a guarded route answered", detail)

    def _must_refuse(self, case: AnyCase, caller: Identity) -> bool:
        """No credential (the anonymous caller, or a negative case that leaves the header out) is refused wherever a
        route is guarded; a forged token everywhere, even where signing in is optional."""
        if _drops_credentials(case) or not caller.headers:
            return case.operation.label not in self.public
        return not caller.signed_in

    def check_leaks(self, case: AnyCase, response: Response, caller: Identity, sent: set[str]) -> None:
        """The answer names no object another tenant made, unless the caller sent that id itself."""
        if not caller.signed_in:
            return
        answered = {found.lower() for found in UUID_TEXT.findall(response.content.decode("utf-8", "replace"))}
        mine = self.made.get(caller.name, set())
        for other, theirs in self.made.items():
            leaked = (answered & theirs) - sent - mine
            if other != caller.name and leaked:
                detail = f"ids of {other}: {sorted(leaked)[:3]}\n    {_curl(case, caller)}"
                self._found("cross-tenant", caller, case.operation.label, response, "the answer names theirs", detail)

    def judge_probe(self, case: AnyCase, shadow: Response, own: Response, probe: Identity, theirs: set[str]) -> None:
        """`theirs`: the owner's ids the request carries. In the path they must be a 404 (never a 2xx); in the body of
        a write they must not be accepted."""
        in_path = {str(value).lower() for value in case.path_parameters.values()} & theirs
        exists = own.status_code in SUCCESS
        if in_path and exists:
            self.tally.probes_on_existing += 1
        if in_path:
            refused = shadow.status_code == 404 if exists else shadow.status_code not in SUCCESS
        else:
            refused = case.method.upper() == "GET" or shadow.status_code not in SUCCESS
        if not refused:
            detail = f"the owner got {own.status_code}\n    {_curl(case, probe)}\n    answer: {shadow.content[:300]!r}"
            title = "another tenant's id in the path was not a 404" if in_path else "a write took another tenant's id"
            self._found("cross-tenant", probe, case.operation.label, shadow, title, detail)

    def _found(self, kind: str, caller: Identity, label: str, response: Response, title: str, detail: str) -> None:
        self.tally.findings.append(Finding(kind, caller.name, label, response.status_code, title, detail))

    # The stateful phase.

    def stateful(self, owner: Identity, probe: Identity, scenarios: int, steps: int) -> None:
        """Scenarios along the links schemathesis infers between operations (an id one response returns is the
        next request's path parameter), as `owner`; each request carrying the owner's ids is tried as `probe` first.

        The server keeps what earlier scenarios did (a deleted show stays deleted), so Hypothesis may find that a
        replayed prefix now goes another way and stop with `Flaky`; what ran until then counts, and the next attempt
        continues with the next seed, as schemathesis' own runner does."""
        fuzzer = self
        machine_base: type[APIStateMachine] = self.schema.as_state_machine()

        class Machine(machine_base):  # type: ignore[valid-type, misc]
            def setup(self) -> None:
                fuzzer.tally.stateful_scenarios += 1

            def get_call_kwargs(self, case: AnyCase) -> dict[str, Any]:
                return {}

            def call(self, case: AnyCase, **kwargs: Any) -> Response:
                fuzzer.tally.stateful_steps += 1
                fuzzer.tally.operations.add(case.operation.label)
                return fuzzer.exercise(case, owner, probe)

            def validate_response(self, response: Any, case: AnyCase, *args: Any, **kwargs: Any) -> None:
                return None  # `exercise` checked it and kept the findings

        for attempt in range(MAX_ATTEMPTS):
            left = scenarios - self.tally.stateful_scenarios
            if left <= 0:
                break
            run = get_state_machine_test(
                Machine,
                settings=_settings(max_examples=left, stateful_step_count=steps),
                _min_steps=2,
            )
            try:
                seed(self.seed + attempt)(run)()
            except Exception as exc:
                if not (isinstance(exc, Flaky) or _inconsistent_replay(exc)):
                    raise
                self.tally.stateful_restarts += 1


def _settings(*, max_examples: int, stateful_step_count: int = 50) -> settings:
    """The recorded seed alone decides the cases: no example database, no derandomizing, no shrinking (a finding is
    kept, not raised), no deadline (a loaded CI machine is slow, not wrong)."""
    return settings(
        max_examples=max_examples,
        stateful_step_count=stateful_step_count,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )


def _inconsistent_replay(exc: BaseException) -> bool:
    """Hypothesis asserts, rather than raising `Flaky`, when a replay draws past a value an earlier run rejected."""
    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    return (
        isinstance(exc, AssertionError)
        and frame is not None
        and frame.tb_frame.f_globals.get("__name__") == "hypothesis.internal.conjecture.datatree"
    )


def prepare(case: AnyCase, caller: Identity) -> None:
    """Keep the case off the network and away from the caller's own account (see the module's docstring), and
    anonymous: schemathesis fills in a random bearer token where the document declares the scheme."""
    if isinstance(case.body, dict | list | str):
        case.body = _offline(case.body)
    if not caller.headers and case.headers:
        for name in [name for name in case.headers if name.lower() == "authorization"]:
            del case.headers[name]
    if (
        caller.user_id
        and case.operation.label == "PATCH /api/v1/users/{user_id}"
        and str(case.path_parameters.get("user_id")) == caller.user_id
    ):
        case.path_parameters["user_id"] = caller.others["user_id"]


def _date_format(parameter: dict[str, Any]) -> str | None:
    text = json.dumps(parameter.get("schema", {}))
    return "date-time" if '"date-time"' in text else "date" if '"format": "date"' in text else None


def _drops_credentials(case: AnyCase) -> bool:
    """A negative case schemathesis sends without the Authorization header, whatever the caller's credential."""
    return any(name.lower() == "authorization" for name in get_exclude_headers(case))


def _ids_in(case: AnyCase) -> set[str]:
    """Every UUID the request carries, in its path, query or body."""
    text = json.dumps([case.path_parameters, case.query, case.body], default=str)
    return {found.lower() for found in UUID_TEXT.findall(text)}


def _created_ids(response: Response) -> set[str]:
    """The id of what a creating request made: the answer's `id`, or the object its Location names."""
    made = {found.lower() for found in UUID_TEXT.findall(response.headers.get("location", [""])[0])}
    try:
        body = json.loads(response.content)
    except ValueError:
        return made
    if isinstance(body, dict) and isinstance(body.get("id"), str) and UUID_TEXT.fullmatch(body["id"]):
        made.add(body["id"].lower())
    return made


def _offline(value: Any) -> Any:
    if isinstance(value, str) and URL.match(value):
        parts = urlsplit(value)
        return urlunsplit((parts.scheme, REFUSED_NETLOC, parts.path, parts.query, parts.fragment))
    if isinstance(value, dict):
        return {key: _offline(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_offline(item) for item in value]
    return value


def _unique(failures: Iterable[Failure]) -> list[Failure]:
    seen: dict[tuple[str, str], Failure] = {}
    for failure in failures:
        seen.setdefault((type(failure).__name__, failure.title), failure)
    return list(seen.values())


def _reproduce(case: AnyCase, caller: Identity, failure: Failure) -> str:
    message = " ".join(failure.message.split())[:400]
    return f"{message}\n    {_curl(case, caller)}"


def _curl(case: AnyCase, caller: Identity) -> str:
    headers = {k: ("Bearer …" if k.lower() == "authorization" else v) for k, v in caller.headers.items()}
    return case.as_curl_command(headers=headers)
