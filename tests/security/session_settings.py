"""The session-settings lint: SQL in src/ may change a PostgreSQL setting only for the current transaction.

Why: the app's connections are pooled. A setting made at session level outlives the request that made it and is
inherited by the next request that checks out the connection, which then runs with the previous caller's tenant
(`app.tenant_id`), role, search path or timeouts.

The rule, by where the code lives:

- Runtime code (everything under src/ except src/podsponsor/migrations/) may only use the transaction-local forms:
  `set_config(name, value, true)` (the tenant is set with `set_config('app.tenant_id', …, true)`), `SET LOCAL …`,
  and the transaction-scoped `SET TRANSACTION …` / `SET CONSTRAINTS …`. Refused: `SET name = …` / `SET name TO …`,
  `SET SESSION …`, `SET ROLE`, `SET SESSION AUTHORIZATION`, `SET TIME ZONE`, `SET NAMES`, `SET SCHEMA`, `RESET …`,
  `set_config(…)` whose third argument is not literally `true` (SQL text, or SQLAlchemy's `func.set_config` without
  `True`), and `ALTER ROLE | USER | DATABASE … SET | RESET` (a default for every future session of the pooled role).
- Migrations run as the owner role on a connection of their own (NullPool in migrations/env.py) that is closed when
  they finish, so a session-level `SET lock_timeout …` before a DDL leaks to no request, and `CREATE FUNCTION … SET
  search_path = …` is scoped to the function (every SECURITY DEFINER function needs one). There only the tenant
  settings themselves are refused at session level: `SET app.… = …`, `set_config('app.…', …, false)`, `ALTER ROLE …
  SET app.…`.

SQL is read from the string literals of Python files (f-strings with each `{…}` kept as `{}`; docstrings skipped, so
prose about `set_config(..., false)` is not SQL) and from whole `.sql` files. A statement starts at the beginning of
a literal or after `;`, so `UPDATE t SET c = …` and `ON CONFLICT … DO UPDATE SET` are not settings. On top of that,
`SET [SESSION] app.… =|TO` is refused anywhere in the raw text, comments included: a tenant setting split over two
literals would otherwise slip through.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MIGRATIONS = Path("podsponsor") / "migrations"

# `SET app.x = …`, `SET SESSION app.x TO …`, `ALTER ROLE r SET app.x = …`: the tenant setting beyond a transaction.
SESSION_APP_SET = re.compile(r"\bSET\s+(?:SESSION\s+)?\"?app\.\w+\"?\s*(?:=|\bTO\b)", re.IGNORECASE)
# A statement (after leading comments) that sets something for the session; setting names may be placeholders.
# Keywords are matched in upper case, as this codebase writes SQL, so that UI text ("Set up to …", "Reset password")
# is not taken for a statement; the tenant setting above is matched in any case.
SESSION_STATEMENT = re.compile(
    r"""
    (?:SET\s+(?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b)(?:SESSION\s+)?
        (?:ROLE\b|AUTHORIZATION\b|TIME\s+ZONE\b|NAMES\b|SCHEMA\b|CHARACTERISTICS\b|[\w."{}%:$()]+\s*(?:=|\bTO\b))
    | RESET\s+[\w."{}%:$()]+\s*$
    | ALTER\s+(?:ROLE|USER|DATABASE)\b.*?\s(?:SET|RESET)\s
    )
    """,
    re.VERBOSE | re.DOTALL,
)
LEADING_COMMENTS = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.DOTALL)
SET_CONFIG = re.compile(r"\bset_config\s*\(", re.IGNORECASE)
# A setting name given as a bind parameter, placeholder or column could be an `app.` one.
PARAMETER = re.compile(r":\w+|%s|%\(\w+\)s|\$\d+|\{\}|\w+")


@dataclass(frozen=True)
class Finding:
    line: int
    statement: str

    def describe(self, path: str) -> str:
        return f"{path}:{self.line}: {' '.join(self.statement.split())[:160]}"


def set_config_calls(sql: str) -> Iterator[list[str]]:
    """The top-level arguments of every `set_config(...)` in the text, quotes and nested brackets respected."""
    for match in SET_CONFIG.finditer(sql):
        args, depth, quote, current = [], 0, "", ""
        for char in sql[match.end() :]:
            if quote:
                quote = "" if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char == "(":
                depth += 1
            elif char == ")" and depth:
                depth -= 1
            elif char == ")" or (char == "," and not depth):
                args.append(current.strip())
                current = ""
                if char == ")":
                    break
                continue
            current += char
        yield args


def _may_name_app_setting(name: str) -> bool:
    return name.strip("'\"").startswith("app.") or PARAMETER.fullmatch(name) is not None


def session_settings_in_sql(sql: str, *, migration: bool = False) -> list[str]:
    """Every statement or call in one SQL text that sets something beyond the current transaction."""
    found = [m.group(0) for m in SESSION_APP_SET.finditer(sql)]
    if not migration:
        for statement in sql.split(";"):
            body = LEADING_COMMENTS.sub("", statement, count=1)
            if SESSION_STATEMENT.match(body) and not SESSION_APP_SET.search(body):
                found.append(body.strip())
    for args in set_config_calls(sql):
        transaction_local = len(args) == 3 and args[2].lower() == "true"
        if not transaction_local and (not migration or _may_name_app_setting(args[0] if args else "")):
            found.append(f"set_config({', '.join(args)})")
    return found


def _docstring_nodes(tree: ast.AST) -> set[int]:
    """Bare string statements (docstrings and the like): never executed, so never SQL."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant | ast.JoinedStr)
    }


def _literals(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, text) of every string literal outside docstrings; an f-string is one text with `{}` for each field."""
    skipped = _docstring_nodes(tree)
    inside_fstrings = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    for node in ast.walk(tree):
        if id(node) in skipped or id(node) in inside_fstrings:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr):
            parts = (p.value if isinstance(p, ast.Constant) else "{}" for p in node.values)
            yield node.lineno, "".join(str(part) for part in parts)


def _set_config_function_calls(tree: ast.AST, *, migration: bool) -> Iterator[Finding]:
    """`func.set_config(name, value, True)` built in Python rather than written as SQL text."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name != "set_config":
            continue
        local = len(node.args) == 3 and isinstance(node.args[2], ast.Constant) and node.args[2].value is True
        first = node.args[0] if node.args else None
        app = not isinstance(first, ast.Constant) or str(first.value).startswith("app.")
        if not local and (not migration or app):
            yield Finding(node.lineno, ast.unparse(node))


def findings_in_python(source: str, *, migration: bool = False) -> list[Finding]:
    tree = ast.parse(source)
    found = [
        Finding(line, statement)
        for line, text in _literals(tree)
        for statement in session_settings_in_sql(text, migration=migration)
    ]
    found += _set_config_function_calls(tree, migration=migration)
    # Raw text, comments included, for the tenant setting only; hits already found in literals are not repeated.
    in_literals = Counter(f.statement for f in found)
    for match in SESSION_APP_SET.finditer(source):
        if in_literals[match.group(0)] > 0:
            in_literals[match.group(0)] -= 1
        else:
            found.append(Finding(source.count("\n", 0, match.start()) + 1, match.group(0)))
    return sorted(found, key=lambda f: f.line)


def findings_in_file(path: Path, src: Path) -> list[str]:
    relative = path.relative_to(src)
    migration = relative.is_relative_to(MIGRATIONS)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".sql":
        findings = [Finding(1, s) for s in session_settings_in_sql(text, migration=migration)]
    else:
        findings = findings_in_python(text, migration=migration)
    return [f.describe(str(relative)) for f in findings]


def sources(src: Path) -> list[Path]:
    return sorted(p for p in src.rglob("*") if p.suffix in {".py", ".sql"} and p.is_file())


def scan(src: Path) -> list[str]:
    """Every session-level setting in the tree, as `path:line: statement`."""
    return [found for path in sources(src) for found in findings_in_file(path, src)]
