"""Matching, case by case: promo codes and vanity clicks first, then households by address and device family within
the lookback; shared households used for nothing and counted in the unusable share."""

from __future__ import annotations

from typing import Any

import pytest

from podsponsor.attribution.engine import MAX_USER_AGENTS
from tests.attribution.frames import OTHER_IO, PROMO_IO, click, conversion, exposure, matched, run

CASES: list[tuple[str, dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], tuple[str, list[str]] | None]] = [
    # name, conversion fields, exposures, clicks, (match type, orders on the path) or None when unmatched
    (
        "promo code, any case and spacing",
        {"promo_codes": [" sleep20 "], "ip_hash": None},
        [],
        [],
        ("promo_code", [PROMO_IO]),
    ),
    ("unknown promo code", {"promo_codes": ["WINTER"], "ip_hash": None}, [], [], None),
    ("vanity click in the lookback", {}, [], [click(2)], ("vanity", [OTHER_IO])),
    ("vanity click after the conversion", {}, [], [click(-0.1)], None),
    ("vanity click before the lookback", {}, [], [click(30.5)], None),
    ("vanity click from another household", {}, [], [click(2, household="next door")], None),
    ("household, same device family", {}, [exposure(3)], [], ("household", [OTHER_IO])),
    ("household, other device family", {}, [exposure(3, ua_family="Android")], [], None),
    (
        "household, conversion family unknown",
        {"ua_family": None},
        [exposure(3, ua_family="Android")],
        [],
        ("household", [OTHER_IO]),
    ),
    ("household, exposure family unknown", {}, [exposure(3, ua_family=None)], [], ("household", [OTHER_IO])),
    ("household, exposure family 'other'", {}, [exposure(3, ua_family="other")], [], ("household", [OTHER_IO])),
    ("exposure exactly a lookback before", {}, [exposure(30)], [], ("household", [OTHER_IO])),
    ("exposure just outside the lookback", {}, [exposure(30.01)], [], None),
    ("exposure at the conversion's moment", {}, [exposure(0)], [], None),
    ("exposure after the conversion", {}, [exposure(-1)], [], None),
    ("exposure of another household", {}, [exposure(3, household="next door")], [], None),
    ("conversion without an address", {"ip_hash": None}, [exposure(3)], [], None),
    (
        "promo code wins over a household exposure",
        {"promo_codes": ["SLEEP20"]},
        [exposure(3)],
        [],
        ("promo_code", [PROMO_IO]),
    ),
    (
        "promo code path keeps to its order's exposures",
        {"promo_codes": ["SLEEP20"]},
        [exposure(5, io_id=PROMO_IO), exposure(3), exposure(1, io_id=PROMO_IO, episode_id="ep2")],
        [],
        ("promo_code", [PROMO_IO, PROMO_IO]),
    ),
    (
        "vanity path: the click and the clicked order's exposures",
        {},
        [exposure(4), exposure(3, io_id=PROMO_IO)],
        [click(2)],
        ("vanity", [OTHER_IO, OTHER_IO]),
    ),
    (
        "household path: every exposure in time order",
        {},
        [exposure(3, io_id=PROMO_IO), exposure(9), exposure(40), exposure(1, ua_family="Android")],
        [],
        ("household", [OTHER_IO, PROMO_IO]),
    ),
]


@pytest.mark.parametrize(
    ("conversion_fields", "exposures", "clicks", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_matching(
    conversion_fields: dict[str, Any],
    exposures: list[dict[str, Any]],
    clicks: list[dict[str, Any]],
    expected: tuple[str, list[str]] | None,
) -> None:
    found = run([conversion(**conversion_fields)], exposures, clicks)

    assert matched(found).get("c1") == expected
    assert sum(found.stats.matched.values()) == (1 if expected else 0)
    if expected:
        assert found.stats.matched[expected[0]] == 1


def _crowd(agents: int, days_before: float = 3) -> list[dict[str, Any]]:
    """Exposures of one household from `agents` distinct user agents (the same device family)."""
    return [exposure(days_before, ua_digest=f"agent-{n}") for n in range(agents)]


def test_a_household_with_too_many_user_agents_is_unusable_and_reported() -> None:
    found = run(
        [
            conversion("shared", ip_hash="office"),
            conversion("fine"),
            conversion("shared promo", ip_hash="office", promo_codes=["SLEEP20"]),
            conversion("no address", ip_hash=None),
        ],
        [*(dict(e, household="office") for e in _crowd(MAX_USER_AGENTS + 1)), exposure(2)],
        [click(1, household="office")],
    )

    paths = matched(found)
    assert "shared" not in paths  # neither its exposures nor its vanity click count
    assert paths["fine"] == ("household", [OTHER_IO])
    # A promo code needs no household; the shared household's exposures stay off its path.
    assert paths["shared promo"] == ("promo_code", [PROMO_IO])
    assert found.touchpoints.filter(conversion_id="shared promo")["kind"].to_list() == ["promo_code"]
    assert (found.stats.unusable, found.stats.with_household) == (2, 3)
    assert found.stats.unusable_ip_share == pytest.approx(2 / 3)
    assert found.stats.matched == {"promo_code": 1, "vanity": 0, "household": 1}
    assert found.stats.unmatched == 2


def test_ten_user_agents_are_still_one_household_and_old_ones_do_not_count() -> None:
    crowded_long_ago = _crowd(MAX_USER_AGENTS + 5, days_before=45)
    found = run([conversion()], [*_crowd(MAX_USER_AGENTS), *crowded_long_ago])

    assert matched(found)["c1"][0] == "household"
    assert found.stats.unusable == 0
    assert found.stats.unusable_ip_share == 0


def test_the_lookback_is_the_settings() -> None:
    assert matched(run([conversion()], [exposure(10)], lookback_days=7)) == {}
    assert matched(run([conversion()], [exposure(10)], lookback_days=14))["c1"][0] == "household"


def test_a_path_lists_touchpoints_in_time_order_with_their_age() -> None:
    found = run([conversion()], [exposure(3, episode_id="ep3"), exposure(5, episode_id="ep5")], [click(1)])
    rows = found.touchpoints.to_dicts()

    assert [(r["kind"], r["episode_id"], r["position"], r["n"]) for r in rows] == [
        ("download", "ep5", 0, 3),
        ("download", "ep3", 1, 3),
        ("vanity_click", None, 2, 3),
    ]
    assert [r["age_days"] for r in rows] == pytest.approx([5, 3, 1])
    assert {r["household"] for r in rows} == {"home"}
    assert {r["match_type"] for r in rows} == {"vanity"}


def test_the_same_code_typed_twice_is_one_touchpoint() -> None:
    found = run(
        [conversion(promo_codes=["SLEEP20", "sleep20"], ip_hash=None)],
        clicks=[],
    )
    assert found.touchpoints.height == 1  # the same code twice is one order


def test_no_conversions_no_paths() -> None:
    found = run([], [exposure(1)], [click(1)])
    assert found.touchpoints.is_empty()
    assert found.stats.unusable_ip_share is None
