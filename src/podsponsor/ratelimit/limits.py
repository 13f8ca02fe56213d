"""The named limits, their defaults, and RATE_LIMITS overrides (`name=count/seconds` or `name=off`, comma-separated).

Sign-in counts only attempts that fail (a right password gives its hit back); every other limit counts every request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from podsponsor.config import Settings
from podsponsor.ratelimit.limiter import Limit, MemoryBackend, RateLimiter, RedisBackend

SIGN_IN = "sign-in"
SIGN_IN_ADDRESS = "sign-in-address"
SECOND_FACTOR = "second-factor"
SIGNUP = "signup"
CONVERSION_WEBHOOK = "conversion-webhook"
CONVERSION_WEBHOOK_ADDRESS = "conversion-webhook-address"
PIXEL = "pixel"
VANITY = "vanity"
SHARED_REPORT = "shared-report"

# Every limit but sign-in's, which LOGIN_MAX_FAILURES and LOGIN_WINDOW_SECONDS set.
DEFAULTS: Final[dict[str, Limit]] = {
    # Wrong authenticator or recovery codes for one user, whichever step asked for them.
    SECOND_FACTOR: Limit(5, 900),
    # New workspaces from one address.
    SIGNUP: Limit(20, 3600),
    # A shop sends one delivery per order (and retries); a sale's rush stays well below this per source.
    CONVERSION_WEBHOOK: Limit(600, 60),
    # Deliveries from one address whatever the token: unknown tokens are counted too.
    CONVERSION_WEBHOOK_ADDRESS: Limit(1200, 60),
    # Shoppers behind one address (an office, a carrier's NAT) browsing advertisers' sites.
    PIXEL: Limit(600, 60),
    # Listeners typing a vanity URL; an address that follows 120 in a minute is a crawler.
    VANITY: Limit(120, 60),
    # A shared report renders a PDF or spreadsheet on demand.
    SHARED_REPORT: Limit(60, 60),
}
# One office may share an address: the address-wide sign-in limit is this many times the per-account one.
ADDRESS_FACTOR = 10
OVERRIDE = re.compile(r"^\s*([a-z-]+)\s*=\s*(?:(off)|(\d+)\s*/\s*(\d+(?:\.\d+)?))\s*$")


def configured_limits(settings: Settings) -> dict[str, Limit | None]:
    limits: dict[str, Limit | None] = {
        SIGN_IN: Limit(settings.login_max_failures, settings.login_window_seconds),
        SIGN_IN_ADDRESS: Limit(settings.login_max_failures * ADDRESS_FACTOR, settings.login_window_seconds),
        **DEFAULTS,
    }
    limits.update(parse_overrides(settings.rate_limits, limits.keys()))
    return limits


def parse_overrides(raw: str, names: Iterable[str]) -> dict[str, Limit | None]:
    known = set(names)
    overrides: dict[str, Limit | None] = {}
    for part in filter(str.strip, raw.split(",")):
        found = OVERRIDE.match(part)
        if found is None:
            raise ValueError(f"RATE_LIMITS: '{part.strip()}' is not 'name=count/seconds' or 'name=off'")
        name, off, count, seconds = found.groups()
        if name not in known:
            raise ValueError(f"RATE_LIMITS: no limit is named '{name}'; the names are {', '.join(sorted(known))}")
        if off:
            overrides[name] = None
        elif int(count) < 1 or float(seconds) <= 0:
            raise ValueError(f"RATE_LIMITS: '{part.strip()}' must allow at least 1 per a window longer than 0 s")
        else:
            overrides[name] = Limit(int(count), float(seconds))
    return overrides


def limiter_for(settings: Settings) -> RateLimiter:
    """Redis when REDIS_URL is set, the process's own counters otherwise."""
    backend = RedisBackend(settings.redis_url) if settings.redis_url else MemoryBackend()
    return RateLimiter(configured_limits(settings), backend, prefix=settings.redis_key_prefix)
