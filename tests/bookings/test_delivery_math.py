"""Pacing, spend and what counts, as pure arithmetic: every pacing mode before, during and after its flight, the
front-loaded switch at half the goal, each pricing model with the maximum-spend cap, and the days each kind of
booking counts."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from fractions import Fraction

import pytest

from podsponsor.bookings.delivery_repository import PlacementRow
from podsponsor.bookings.pacing import (
    CPA_NOTE,
    HYBRID_NOTE,
    Price,
    Spend,
    counting_plan,
    effective_cpm,
    elapsed_days,
    expected_by,
    pacing_pct,
    shortfall_value,
    spend_to_date,
)

START, END = date(2026, 3, 1), date(2026, 3, 10)  # ten days
GOAL = 1000


@pytest.mark.parametrize(
    ("today", "elapsed"),
    [
        (date(2026, 2, 27), 0),
        (date(2026, 2, 28), 0),
        (START, 1),
        (date(2026, 3, 5), 5),
        (END, 10),
        (date(2026, 4, 1), 10),
    ],
)
def test_elapsed_days_count_today_and_clamp_to_the_flight(today: date, elapsed: int) -> None:
    assert elapsed_days(START, END, today) == elapsed


@pytest.mark.parametrize(
    ("mode", "today", "delivered", "expected"),
    [
        # even: goal * elapsed / length
        ("even", date(2026, 2, 28), 0, 0),
        ("even", START, 0, 100),
        ("even", date(2026, 3, 5), 123, 500),
        ("even", END, 999, 1000),
        ("even", date(2026, 3, 20), 10, 1000),
        # ASAP: the whole goal as soon as the flight starts
        ("asap", date(2026, 2, 28), 0, 0),
        ("asap", START, 0, 1000),
        ("asap", date(2026, 3, 5), 700, 1000),
        ("asap", date(2026, 3, 20), 0, 1000),
        # front-loaded: even * 1.25 while under half the goal, then even; never past the goal
        ("front_loaded", date(2026, 2, 28), 0, 0),
        ("front_loaded", START, 0, 125),
        ("front_loaded", date(2026, 3, 4), 499, 500),
        ("front_loaded", date(2026, 3, 4), 500, 400),
        ("front_loaded", date(2026, 3, 4), 501, 400),
        ("front_loaded", date(2026, 3, 9), 100, 1000),
        ("front_loaded", date(2026, 3, 9), 600, 900),
        ("front_loaded", date(2026, 3, 20), 0, 1000),
    ],
)
def test_expected_by_today_follows_the_pacing_mode(mode: str, today: date, delivered: int, expected: int) -> None:
    assert expected_by(GOAL, mode, START, END, today, delivered) == expected


def test_expected_keeps_fractions_and_an_unknown_mode_is_an_error() -> None:
    assert expected_by(10, "even", START, START + timedelta(days=2), START, 0) == Fraction(10, 3)
    with pytest.raises(ValueError, match="pacing mode"):
        expected_by(GOAL, "sometimes", START, END, START, 0)


@pytest.mark.parametrize(
    ("delivered", "expected", "pct"),
    [
        (400, Fraction(500), 80.0),
        (500, Fraction(500), 100.0),
        (750, Fraction(500), 150.0),
        (1, Fraction(3), 33.3),
        (2, Fraction(3), 66.7),
        (1, Fraction(8), 12.5),
        (1, Fraction(10, 3), 30.0),
        (0, Fraction(0), None),
        (5, Fraction(0), None),
    ],
)
def test_pacing_is_delivered_over_expected_in_percent_and_none_before_the_flight(
    delivered: int, expected: Fraction, pct: float | None
) -> None:
    assert pacing_pct(delivered, expected) == pct


@pytest.mark.parametrize(
    ("price", "delivered", "aired", "spend"),
    [
        (Price("cpm", cpm_cents=2500), 1234, 0, Spend(3085)),
        (Price("cpm", cpm_cents=1500), 1, 0, Spend(2)),  # 1.5 cents rounds half up
        (Price("cpm", cpm_cents=1499), 1, 0, Spend(1)),
        (Price("cpm", cpm_cents=2500), 0, 0, Spend(0)),
        (Price("cpm", cpm_cents=2500, max_spend_cents=20_000), 10_000, 0, Spend(20_000, capped=True)),
        (Price("cpm", cpm_cents=2500, max_spend_cents=25_000), 10_000, 0, Spend(25_000, capped=False)),
        (Price("flat", flat_cents=50_000), 99_999, 3, Spend(150_000)),
        (Price("flat", flat_cents=50_000), 0, 0, Spend(0)),
        (Price("flat", flat_cents=50_000, max_spend_cents=120_000), 10, 3, Spend(120_000, capped=True)),
        (Price("cpa", cpa_cents=4000), 10_000, 2, Spend(0, note=CPA_NOTE)),
        (Price("hybrid", cpm_cents=1000, cpa_cents=2000), 5000, 0, Spend(5000, note=HYBRID_NOTE)),
        (
            Price("hybrid", cpm_cents=1000, cpa_cents=2000, max_spend_cents=4000),
            5000,
            0,
            Spend(4000, capped=True, note=HYBRID_NOTE),
        ),
    ],
)
def test_spend_to_date_by_pricing_model_capped_at_the_maximum(
    price: Price, delivered: int, aired: int, spend: Spend
) -> None:
    assert spend_to_date(price, delivered, aired) == spend


def test_effective_cpm_is_spend_per_thousand_delivered() -> None:
    assert effective_cpm(3085, 1234) == 2500
    assert effective_cpm(20_000, 10_000) == 2000  # a capped order's eCPM falls below its CPM
    assert effective_cpm(150_000, 4000) == 37_500  # flat: what each thousand actually cost
    assert effective_cpm(1, 3) == 333
    assert effective_cpm(0, 0) is None
    assert effective_cpm(500, 0) is None


def test_shortfall_is_valued_at_the_cpm_or_pro_rata_of_the_flat_price_and_not_for_cpa() -> None:
    assert shortfall_value(Price("cpm", cpm_cents=2500), 300, 1000, 0) == 750
    assert shortfall_value(Price("hybrid", cpm_cents=1000, cpa_cents=10), 300, 1000, 0) == 300
    assert shortfall_value(Price("flat", flat_cents=50_000), 250, 1000, 2) == 25_000
    assert shortfall_value(Price("cpa", cpa_cents=4000), 250, 1000, 0) is None


def _slot(episode: uuid.UUID, released: date | None, bonus_from: date | None = None) -> PlacementRow:
    return PlacementRow(uuid.uuid4(), episode, bonus_from is not None, released, bonus_from)


def test_dynamic_booked_episodes_count_inside_the_flight_only() -> None:
    early, inside = uuid.uuid4(), uuid.uuid4()
    plan = counting_plan(
        START, END, "dynamic", [_slot(early, date(2026, 2, 20)), _slot(inside, date(2026, 3, 3))], [], 30
    )
    assert plan.episodes == {early: (START, END), inside: (START, END)}
    assert plan.show_days is None and plan.last_day == END
    # Flat pricing bills the booked episodes released in the flight, once released.
    assert plan.billable_releases == (date(2026, 3, 3),)
    assert (plan.aired(date(2026, 3, 2)), plan.aired(date(2026, 3, 3))) == (0, 1)


def test_dynamic_unassigned_counts_the_whole_show_inside_the_flight() -> None:
    releases = [(uuid.uuid4(), date(2026, 3, 2)), (uuid.uuid4(), date(2026, 3, 9))]
    plan = counting_plan(START, END, "dynamic", [], releases, 30)
    assert (plan.episodes, plan.show_days, plan.last_day) == ({}, (START, END), END)
    assert plan.aired(END) == 2


def test_baked_in_episodes_accrue_after_the_flight_for_the_accrual_window() -> None:
    before, late_in_flight, after, unreleased = (uuid.uuid4() for _ in range(4))
    slots = [
        _slot(before, date(2026, 2, 1)),  # its accrual window ended before the flight did
        _slot(late_in_flight, date(2026, 3, 9)),
        _slot(after, date(2026, 3, 11)),  # released after the flight: the spot never ran in it
        _slot(unreleased, None),
    ]
    plan = counting_plan(START, END, "baked_in", slots, [], 30)
    assert plan.episodes == {before: (START, END), late_in_flight: (START, date(2026, 4, 7))}
    assert plan.last_day == date(2026, 4, 7)  # release day + 29: the episode's first 30 days
    assert counting_plan(START, END, "baked_in", slots, [], 7).last_day == date(2026, 3, 15)


def test_baked_in_unassigned_counts_the_episodes_released_in_the_flight() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    plan = counting_plan(START, END, "baked_in", [], [(first, START), (second, date(2026, 3, 8))], 30)
    assert plan.episodes == {first: (START, date(2026, 3, 30)), second: (START, date(2026, 4, 6))}
    assert plan.show_days is None and plan.last_day == date(2026, 4, 6)


def test_a_bonus_episode_counts_from_settlement_for_the_accrual_window() -> None:
    booked, bonus, later = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    settled = date(2026, 3, 13)
    slots = [
        _slot(booked, date(2026, 3, 2)),
        _slot(bonus, date(2026, 2, 1), bonus_from=settled),
        _slot(later, date(2026, 3, 20), bonus_from=settled),
    ]
    plan = counting_plan(START, END, "dynamic", slots, [], 30)
    assert plan.episodes == {
        booked: (START, END),
        bonus: (settled, date(2026, 4, 11)),
        later: (settled, date(2026, 4, 18)),  # released after settlement: 30 days from its release
    }
    assert plan.last_day == date(2026, 4, 18)
    assert plan.billable_releases == (date(2026, 3, 2),)  # bonus episodes are not billed


def test_a_bonus_episode_of_an_unassigned_order_counts_only_after_the_show_wide_days() -> None:
    bonus = uuid.uuid4()
    settled = date(2026, 3, 5)  # an extended flight can reach past the bonus's settlement
    plan = counting_plan(START, END, "dynamic", [_slot(bonus, date(2026, 2, 1), settled)], [], 30)
    assert plan.show_days == (START, END)
    assert plan.episodes == {bonus: (date(2026, 3, 11), date(2026, 4, 3))}


def test_a_bonus_slot_booked_with_the_order_counts_but_is_not_billed() -> None:
    paid, free = uuid.uuid4(), uuid.uuid4()
    slots = [_slot(paid, date(2026, 3, 2)), PlacementRow(uuid.uuid4(), free, True, date(2026, 3, 4), None)]
    plan = counting_plan(START, END, "dynamic", slots, [], 30)
    assert plan.episodes == {paid: (START, END), free: (START, END)}
    assert plan.aired(END) == 1
