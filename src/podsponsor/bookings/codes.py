"""Promo codes, vanity slugs and IO numbers: their form, and readable candidates to offer.

Pure functions: whether a candidate is free is the service's question (it asks the database).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Final

# Read aloud in a host read and typed at checkout: no 0/O, 1/I/L, which listeners confuse.
PROMO_LETTERS: Final = "ABCDEFGHJKMNPQRSTUVWXYZ"
PROMO_DIGITS: Final = "23456789"
PROMO_ALPHABET: Final = PROMO_LETTERS + PROMO_DIGITS
PROMO_MIN, PROMO_MAX = 4, 20
PROMO_RULE: Final = f"{PROMO_MIN}-{PROMO_MAX} characters from A-Z and 2-9, without the look-alikes 0, O, 1, I and L"
_PROMO = re.compile(rf"^[{PROMO_ALPHABET}]{{{PROMO_MIN},{PROMO_MAX}}}$")
# Random stems alternate consonants and vowels so they can be said: "BAKUTE".
_CONSONANTS: Final = "BCDFGHJKMNPRSTVWXZ"
_VOWELS: Final = "AEU"
_STEM_MAX = 10

SLUG_MIN, SLUG_MAX = 3, 60
SLUG_RULE: Final = f"{SLUG_MIN}-{SLUG_MAX} characters from a-z, 0-9 and '-'"
_SLUG = re.compile(rf"^[a-z0-9-]{{{SLUG_MIN},{SLUG_MAX}}}$")
_SLUG_BASE_MAX = 40


def normalize_promo_code(raw: str) -> str:
    """Codes are compared ignoring case and stored upper-case."""
    return raw.strip().upper()


def is_promo_code(code: str) -> bool:
    return bool(_PROMO.match(code))


def normalize_vanity_slug(raw: str) -> str:
    return raw.strip().lower()


def is_vanity_slug(slug: str) -> bool:
    return bool(_SLUG.match(slug))


def _digits(count: int) -> str:
    return "".join(secrets.choice(PROMO_DIGITS) for _ in range(count))


def random_promo_code() -> str:
    """A sayable random code, e.g. BAKUTE47."""
    stem = "".join(secrets.choice(_CONSONANTS if i % 2 == 0 else _VOWELS) for i in range(6))
    return stem + _digits(2)


def promo_code_stems(sponsor_name: str) -> list[str]:
    """Words of the sponsor's name that are made only of safe characters, e.g. "Acme Feed Co" → ACME, FEED.

    A word with a look-alike character is skipped rather than mangled ("BRIGHT" would become "BRGHT")."""
    words = [re.sub(r"[^A-Z0-9]", "", word) for word in sponsor_name.upper().split()]
    joined = "".join(words)
    candidates = [joined] if len(words) > 1 else []
    candidates += words
    stems = [w[:_STEM_MAX] for w in candidates if len(w) >= 3 and all(ch in PROMO_ALPHABET for ch in w)]
    return list(dict.fromkeys(stems))


def promo_code_candidates(sponsor_name: str, attempts: int = 12) -> Iterator[str]:
    """Sponsor-name stem + 2 digits while a stem exists, then sayable random codes."""
    stems = promo_code_stems(sponsor_name)
    for i in range(attempts):
        if stems and i < attempts // 2:
            yield stems[i % len(stems)] + _digits(2)
        else:
            yield random_promo_code()


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:_SLUG_BASE_MAX].rstrip("-")


def vanity_slug_candidates(sponsor_name: str, show_title: str = "", attempts: int = 12) -> Iterator[str]:
    """The sponsor's name as a slug ("brightside-coffee"), then with the show or two digits, then random."""
    base = slugify(sponsor_name)
    if len(base) < SLUG_MIN:
        base = f"offer-{base}".rstrip("-")
    yield base
    show = slugify(show_title)
    if show:
        yield f"{base}-{show}"[:SLUG_MAX].rstrip("-")
    for _ in range(attempts):
        yield f"{base}-{_digits(2)}"
    yield f"{base}-{random_promo_code().lower()}"


def io_number_prefix(year: int) -> str:
    return f"IO-{year}-"


def io_number(year: int, sequence: int) -> str:
    """IO-2026-0042: the year it was booked and the workspace's count of that year (more digits past 9999)."""
    return f"{io_number_prefix(year)}{sequence:04d}"
