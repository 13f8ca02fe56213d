"""Brand safety: how much sensitive language a show carries, judged against an advertiser's tolerance.

The lexicon groups words by the sensitive categories brand-safety frameworks name (GARM-style: crime and violence,
drugs and alcohol, adult content, profanity, gambling, hate and conflict). A show's density is its sensitive words per
1,000 words of what it publishes (titles, descriptions, transcripts when present).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Final

from podsponsor.matching.text import fold

SENSITIVE: Final[dict[str, frozenset[str]]] = {
    category: frozenset(fold(word) for word in words.split())
    for category, words in {
        "crime and violence": "murder murdered murderer killing killed killer homicide stabbing shooting gunman "
        "assault kidnapping kidnapped massacre torture corpse bloody violence violent abuse strangled",
        "drugs and alcohol": "cocaine heroin meth methamphetamine fentanyl overdose cartel narcotics drunk "
        "hangover marijuana weed stoned opioid",
        "adult content": "sex sexual porn pornography erotic nude nudity explicit stripper fetish",
        "profanity": "fuck fucking shit bullshit damn bitch bastard asshole crap",
        "gambling": "gambling casino betting sportsbook poker wager jackpot",
        "hate and conflict": "terrorism terrorist extremist genocide war bombing hostage racist slur",
    }.items()
}
LEXICON: Final[dict[str, str]] = {word: category for category, words in SENSITIVE.items() for word in words}

# Sensitive words per 1,000 words at which the signal falls to 1/e, by tolerance: a strict advertiser reacts to a
# little, a permissive one only to a show that is mostly about such things.
SCALE_PER_1000: Final = {"strict": 1.5, "moderate": 5.0, "permissive": 20.0}
# What an explicit flag takes off, by tolerance.
EXPLICIT_PENALTY: Final = {"strict": 0.7, "moderate": 0.3, "permissive": 0.0}
TOLERANCES: Final = tuple(SCALE_PER_1000)


def sensitive_counts(counts: Counter[str]) -> Counter[str]:
    """Occurrences of each sensitive word in a show's word counts."""
    return Counter({word: n for word, n in counts.items() if word in LEXICON})


def value(tolerance: str, explicit: bool, per_1000: float) -> float:
    """The brand-safety signal in 0-1: what the explicit flag leaves, shrunk by the sensitive-word density."""
    tolerance = tolerance if tolerance in SCALE_PER_1000 else "moderate"
    kept = 1.0 - (EXPLICIT_PENALTY[tolerance] if explicit else 0.0)
    return kept * math.exp(-per_1000 / SCALE_PER_1000[tolerance])
