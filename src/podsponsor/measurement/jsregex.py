"""OPAWG patterns are JavaScript regular expressions; this turns one into a Python `re` pattern with the same meaning.

What differs, and what is done about it:
- `\\d`, `\\w`, `\\b` are ASCII in JavaScript: patterns are compiled with `re.ASCII`.
- `\\s` is Unicode whitespace in JavaScript: it is spelled out as JavaScript's set (and `\\S` outside a class as its
  complement), so `re.ASCII` does not narrow it.
- `[]` never matches and `[^]` matches anything in JavaScript; Python reads `]` right after `[` as a literal.
- A literal `[` and the pairs `&&`, `||`, `--`, `~~` inside a class are escaped (Python reserves them for set
  operations and warns).
- Inline flags such as `(?i)` (PCRE style, common in lists written for other engines) apply from where they stand to
  the end of their group, alternatives included; Python accepts global flags only at the start, so each following
  alternative is wrapped in a scoped `(?i:…)` group.
- Named groups become plain groups (`(?<n>…)`, `(?P<n>…)`): the classifier joins every pattern of a list into one
  expression, where equal names would clash. Backreferences are refused for the same reason: group numbers shift.
- `\\/` is an escaped slash in JavaScript and is written as a plain slash.
- `$` and `.` differ only around line breaks, and user agents and referers are matched with line breaks removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FLAGS = re.ASCII
SCOPED_FLAGS = frozenset("imsx")
# JavaScript's \s: WhiteSpace and LineTerminator code points.
JS_SPACE = r"\t\n\x0b\f\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_RESERVED_PAIRS = ("&&", "||", "--", "~~")


class UnsupportedPattern(ValueError):
    """The pattern uses a JavaScript feature with no faithful Python equivalent here."""


@dataclass
class _Group:
    flags: str = ""
    wrapped: bool = False


@dataclass
class _Writer:
    out: list[str] = field(default_factory=list)
    groups: list[_Group] = field(default_factory=lambda: [_Group()])

    def open_wrap(self) -> None:
        group = self.groups[-1]
        if group.flags and not group.wrapped:
            self.out.append(f"(?{group.flags}:")
            group.wrapped = True

    def close_wrap(self) -> None:
        group = self.groups[-1]
        if group.wrapped:
            self.out.append(")")
            group.wrapped = False


def to_python(pattern: str) -> str:
    """The Python spelling of a JavaScript pattern, to compile with `FLAGS`."""
    writer = _Writer()
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i = _escape(pattern, i, writer.out)
        elif char == "[":
            i = _char_class(pattern, i, writer.out)
        elif char == "(":
            i = _open_group(pattern, i, writer)
        elif char == ")":
            writer.close_wrap()
            if len(writer.groups) > 1:
                writer.groups.pop()
            writer.out.append(")")
            i += 1
        elif char == "|":
            writer.close_wrap()
            writer.out.append("|")
            writer.open_wrap()
            i += 1
        else:
            writer.out.append(char)
            i += 1
    while writer.groups:
        writer.close_wrap()
        writer.groups.pop()
    return "".join(writer.out)


def compile_js(pattern: str) -> re.Pattern[str]:
    """Compile a JavaScript pattern; UnsupportedPattern or re.error says why it cannot be used."""
    return re.compile(to_python(pattern), FLAGS)


def _escape(pattern: str, i: int, out: list[str]) -> int:
    if i + 1 >= len(pattern):
        raise UnsupportedPattern("the pattern ends with a lone backslash")
    nxt = pattern[i + 1]
    if nxt.isdigit() and nxt != "0":
        raise UnsupportedPattern(f"backreference \\{nxt} is not supported")
    if nxt == "k" and pattern[i + 2 : i + 3] == "<":
        raise UnsupportedPattern("named backreferences are not supported")
    if nxt == "/":
        out.append("/")
    elif nxt == "s":
        out.append(f"[{JS_SPACE}]")
    elif nxt == "S":
        out.append(f"[^{JS_SPACE}]")
    else:
        out.append(pattern[i : i + 2])
    return i + 2


def _char_class(pattern: str, i: int, out: list[str]) -> int:
    start = i
    i += 1
    negated = pattern[i : i + 1] == "^"
    if negated:
        i += 1
    if pattern[i : i + 1] == "]":
        out.append(r"[\s\S]" if negated else "(?!)")
        return i + 1
    body: list[str] = []
    while i < len(pattern) and pattern[i] != "]":
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            body.append(JS_SPACE if nxt == "s" else "/" if nxt == "/" else pattern[i : i + 2])
            i += 2
            continue
        if char == "[" or pattern[i : i + 2] in _RESERVED_PAIRS:
            body.append("\\" + char)
        else:
            body.append(char)
        i += 1
    if i >= len(pattern):
        raise UnsupportedPattern(f"the character class opened at offset {start} is not closed")
    out.append("[" + ("^" if negated else "") + "".join(body) + "]")
    return i + 1


def _open_group(pattern: str, i: int, writer: _Writer) -> int:
    rest = pattern[i + 1 :]
    flags = re.match(r"\?([a-zA-Z]+)\)", rest)
    if flags:
        _set_flags(flags.group(1), writer)
        return i + 1 + flags.end()
    named = re.match(r"\?P?<([A-Za-z_][A-Za-z0-9_]*)>", rest)
    # A group inside a flagged stretch is already inside its scoped wrap; it starts with no flags of its own.
    writer.groups.append(_Group())
    if named:
        writer.out.append("(?:")
        return i + 1 + named.end()
    scoped = re.match(r"\?([a-zA-Z]*)(?:-([a-zA-Z]+))?:", rest)
    if scoped and (scoped.group(1) or scoped.group(2)):
        _check_flags(scoped.group(1) + (scoped.group(2) or ""))
    writer.out.append("(")
    return i + 1


def _set_flags(letters: str, writer: _Writer) -> None:
    _check_flags(letters)
    group = writer.groups[-1]
    writer.close_wrap()
    group.flags = "".join(sorted(set(group.flags) | set(letters)))
    writer.open_wrap()


def _check_flags(letters: str) -> None:
    unknown = set(letters) - SCOPED_FLAGS
    if unknown:
        raise UnsupportedPattern(f"inline flag(s) {''.join(sorted(unknown))} are not supported")


META = frozenset("\\.^$*+?()[]{}|")
QUANTIFIERS = frozenset("*+?{")


def branches(pattern: str) -> list[str]:
    """The top-level alternatives of a pattern (split at `|` outside groups and classes)."""
    parts: list[str] = []
    depth = 0
    start = 0
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i = _class_end(pattern, i)
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


def pattern_gates(pattern: str) -> list[tuple[str, str]] | None:
    """One literal gate per top-level alternative, or None when some alternative has none (the pattern must always
    be tried). An inline flag anywhere may reach into later alternatives (`a(?i)b|c`), so it disables every gate."""
    if re.search(r"\(\?[a-zA-Z]", pattern):
        return None
    gates: list[tuple[str, str]] = []
    for branch in branches(pattern):
        found = _branch_gates(branch)
        if found is None:
            return None
        gates += found
    return gates


MIN_GATE = 4


def _branch_gates(branch: str) -> list[tuple[str, str]] | None:
    """The gate of one alternative; one that opens with a group of alternatives (`^(Foo|Bar)/`) has the gates of
    those alternatives, any of which must then match."""
    gate = literal_gate(branch)
    if gate is not None and len(gate[1]) >= MIN_GATE:
        return [gate]
    anchor = "^" if branch.startswith("^") else ""
    body = branch[len(anchor) :]
    opening = 3 if body.startswith("(?:") else 1 if body.startswith("(") and not body.startswith("(?") else 0
    if not opening:
        return None if gate is None else [gate]
    end = _group_end(body, 0)
    if body[end : end + 1] in QUANTIFIERS:
        return None if gate is None else [gate]
    gates: list[tuple[str, str]] = []
    for alternative in branches(body[opening : end - 1]):
        found = _branch_gates(alternative if alternative.startswith("^") else anchor + alternative)
        if found is None:
            return None if gate is None else [gate]
        gates += found
    return gates


def literal_gate(branch: str) -> tuple[str, str] | None:
    """A cheap necessary condition for one alternative to match: ("prefix", text) when it is anchored and starts
    with literal text, ("contains", text) for its longest literal run, None when it has no usable literal.

    Conservative by construction: a character followed by a quantifier is dropped, and anything that is not a plain
    character (class, group, character-class escape, dot, anchor, quantifier) ends the run."""
    if re.search(r"\(\?(?![:=!])", branch):
        return None  # inline flags (a case-insensitive stretch), lookbehind, named groups: no literal is certain
    anchored = branch.startswith("^")
    runs: list[list[str]] = [[]]
    i = 1 if anchored else 0
    while i < len(branch):
        char = branch[i]
        if char in "[({":
            i = (
                _class_end(branch, i)
                if char == "["
                else _group_end(branch, i)
                if char == "("
                else _brace_end(branch, i)
            )
            runs.append([])
            continue
        literal, i = _literal_at(branch, i)
        if literal is None or branch[i : i + 1] in QUANTIFIERS:
            runs.append([])
            continue
        runs[-1].append(literal)
    texts = ["".join(run) for run in runs]
    if anchored and texts[0]:
        return ("prefix", texts[0])
    longest = max(texts, key=len)
    return ("contains", longest) if len(longest) >= 2 else None


def _literal_at(branch: str, i: int) -> tuple[str | None, int]:
    """The literal character at `i`, if it is one, and the index after it."""
    char = branch[i]
    if char != "\\":
        return (None if char in META else char), i + 1
    nxt = branch[i + 1 : i + 2]
    code = re.match(r"u([0-9A-Fa-f]{4})|x([0-9A-Fa-f]{2})", branch[i + 1 : i + 6])
    if code:
        return chr(int(code.group(1) or code.group(2), 16)), i + 1 + code.end()
    if nxt.isdigit() or nxt == "c":
        skip = re.match(r"c[A-Za-z]|\d+", branch[i + 1 :])
        return None, i + 1 + (skip.end() if skip else 1)
    if nxt and not nxt.isalnum():
        return nxt, i + 2
    return None, i + 2


def _brace_end(pattern: str, i: int) -> int:
    """After a `{n}`/`{n,m}` quantifier; a brace that is no quantifier is a single character."""
    found = re.match(r"\{\d+(?:,\d*)?\}", pattern[i:])
    return i + (found.end() if found else 1)


def _class_end(pattern: str, i: int) -> int:
    """The index after the class that opens at `i` (JavaScript rules: `]` right after `[` or `[^` closes it)."""
    i += 1
    if pattern[i : i + 1] == "^":
        i += 1
    if pattern[i : i + 1] == "]":
        return i + 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i + 1


def _group_end(pattern: str, i: int) -> int:
    """The index after the group that opens at `i`."""
    depth = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i = _class_end(pattern, i)
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i
