"""The limits table: sign-in follows LOGIN_MAX_FAILURES, and RATE_LIMITS changes or switches off any limit by name."""

from __future__ import annotations

import pytest

from podsponsor.config import Settings
from podsponsor.ratelimit.limiter import Limit, MemoryBackend, RedisBackend
from podsponsor.ratelimit.limits import DEFAULTS, configured_limits, limiter_for, parse_overrides


def settings_with(**values: object) -> Settings:
    return Settings.model_validate({"SECRET_KEY": "k" * 40, **values})


def test_defaults_and_sign_in_from_the_login_settings() -> None:
    limits = configured_limits(settings_with(LOGIN_MAX_FAILURES=7, LOGIN_WINDOW_SECONDS=600, RATE_LIMITS=""))
    assert limits["sign-in"] == Limit(7, 600)
    assert limits["sign-in-address"] == Limit(70, 600)
    assert limits["second-factor"] == Limit(5, 900)
    assert {name: limits[name] for name in DEFAULTS} == DEFAULTS


def test_overrides_change_or_switch_off_limits_by_name() -> None:
    limits = configured_limits(settings_with(RATE_LIMITS=" signup = 2/30 , vanity=off,sign-in=3/60.5"))
    assert limits["signup"] == Limit(2, 30)
    assert limits["vanity"] is None
    assert limits["sign-in"] == Limit(3, 60.5)
    assert limits["pixel"] == DEFAULTS["pixel"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("signup=20", "is not 'name=count/seconds'"),
        ("sign_up=2/60", "is not 'name=count/seconds'"),
        ("signups=2/60", "no limit is named 'signups'"),
        ("signup=0/60", "at least 1"),
        ("signup=2/0", "longer than 0"),
    ],
)
def test_a_wrong_override_is_refused_at_start_with_what_to_fix(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_overrides(raw, ["signup"])


def test_the_backend_is_redis_only_when_redis_url_is_set() -> None:
    assert isinstance(limiter_for(settings_with(REDIS_URL=None)).backend, MemoryBackend)
    shared = limiter_for(settings_with(REDIS_URL="redis://127.0.0.1:6379/15", REDIS_KEY_PREFIX="x:"))
    assert isinstance(shared.backend, RedisBackend) and shared.prefix == "x:" and shared.shared
