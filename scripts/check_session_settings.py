"""Fail when code under src/ sets a PostgreSQL setting beyond the current transaction; `make check` runs it.

A pooled connection carries a session-level setting into the next request. The rule (what runtime code and
migrations may each do) is in tests/security/session_settings.py, which `make test` checks as well.

    .venv/bin/python scripts/check_session_settings.py [SRC_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.security.session_settings import scan  # noqa: E402


def main(argv: list[str]) -> int:
    offenders = scan(Path(argv[0]) if argv else ROOT / "src")
    for offender in offenders:
        print(f"session-level setting (leaks to the next user of a pooled connection): {offender}", file=sys.stderr)
    return 1 if offenders else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
