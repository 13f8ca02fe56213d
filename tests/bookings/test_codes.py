"""Promo codes, vanity slugs and IO numbers as text, and the default rate card: pure functions, no database."""

from __future__ import annotations

import re

import pytest

from podsponsor.bookings import codes, service

SAFE = re.compile(r"^[A-HJKMNP-Z2-9]+$")


@pytest.mark.parametrize("code", ["BREW25", "ACME", "X2Y3Z4W5V6U7T8S9R2Q3"])
def test_codes_of_safe_characters_are_promo_codes(code: str) -> None:
    assert codes.is_promo_code(code)


@pytest.mark.parametrize("code", ["ABC", "X2Y3Z4W5V6U7T8S9R2Q34", "COFFEE", "BRIGHT", "ALL", "A0BC", "A1BC", "AB-C"])
def test_look_alikes_short_and_long_codes_are_not(code: str) -> None:
    assert not codes.is_promo_code(code)


def test_promo_codes_are_compared_upper_case() -> None:
    assert codes.normalize_promo_code("  brew25 ") == "BREW25"


def test_stems_are_whole_words_of_the_sponsor_name_without_look_alikes() -> None:
    assert codes.promo_code_stems("Acme Bed Co") == ["ACME", "BED"], "ACMEBEDCO has an O"
    assert codes.promo_code_stems("Acme Bed") == ["ACMEBED", "ACME", "BED"]
    assert codes.promo_code_stems("Brightside Coffee") == [], "no mangled stems like BRGHTSDE"
    assert codes.promo_code_stems("Ra") == []


def test_generated_codes_are_a_stem_and_two_digits_then_sayable_random_ones() -> None:
    candidates = list(codes.promo_code_candidates("Acme Bed Co", attempts=8))
    assert all(re.fullmatch(r"(ACME|BED)[2-9]{2}", c) for c in candidates[:4]), candidates
    assert all(re.fullmatch(r"([BCDFGHJKMNPRSTVWXZ][AEU]){3}[2-9]{2}", c) for c in candidates[4:]), candidates
    for candidate in candidates + [codes.random_promo_code() for _ in range(200)]:
        assert codes.is_promo_code(candidate) and SAFE.match(candidate), candidate


@pytest.mark.parametrize("slug", ["abc", "brew-hub-2026", "a" * 60, "---"])
def test_vanity_slugs(slug: str) -> None:
    assert codes.is_vanity_slug(slug)


@pytest.mark.parametrize("slug", ["ab", "a" * 61, "Brew", "brew hub", "brew_hub", "brüh"])
def test_not_vanity_slugs(slug: str) -> None:
    assert not codes.is_vanity_slug(slug)


def test_slug_candidates_start_from_the_sponsor_name() -> None:
    candidates = list(codes.vanity_slug_candidates("Brew Hub, Inc.", "Night Shift Stories", attempts=3))
    assert candidates[:2] == ["brew-hub-inc", "brew-hub-inc-night-shift-stories"]
    assert all(re.fullmatch(r"brew-hub-inc-[2-9]{2}", c) for c in candidates[2:5]), candidates
    assert all(codes.is_vanity_slug(c) for c in candidates)
    assert next(codes.vanity_slug_candidates("ü")) == "offer", "too short a name still makes a valid slug"
    assert all(codes.is_vanity_slug(c) for c in codes.vanity_slug_candidates("x" * 300, "y" * 300))


def test_io_numbers_carry_the_year_and_four_digits_at_least() -> None:
    assert codes.io_number(2026, 42) == "IO-2026-0042"
    assert codes.io_number(2026, 12345) == "IO-2026-12345"


def test_the_default_rate_card_puts_mid_roll_above_pre_roll_and_scales_by_length() -> None:
    sixty = {p: service.default_rate_cpm_cents(p, 60) for p in ("pre", "mid", "post")}
    assert sixty == {"pre": 2000, "mid": 2500, "post": 1800}
    assert all(1800 <= cents <= 2500 for cents in sixty.values()), "$18-25 for a 60-second spot"
    for position in ("pre", "mid", "post"):
        rates = [service.default_rate_cpm_cents(position, length) for length in (15, 30, 60, 90)]
        assert rates == sorted(rates) and len(set(rates)) == 4, rates
    assert service.default_rate_cpm_cents("mid", 30) == 1800
