"""Words as topic matching and brand safety read them: lower-cased letters (accents kept), stop words dropped, a
plural `s` folded so that "podcasts" meets "podcast"."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Final

WORD: Final = re.compile(r"[^\W\d_][\w'\u2019-]*[^\W_]|[^\W\d_]", re.UNICODE)

# Kept as running text so the list stays readable.
STOP_WORDS: Final = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before being below between
    both but by can could did do does doing down during each episode episodes few for from further had has have having
    he her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
    now of off on once only or other our ours ourselves out over own podcast same she should show so some such than that
    the their theirs them themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves new one two three
    week weeks today talk talks join joins get gets us de la le les des du et en un une el los las y que del por para
    con est pas sur au aux ce qui dans il elle ne se sa son ses
    """.split()  # noqa: SIM905
)


def fold(word: str) -> str:
    """A word's matching form: lower case, straight apostrophes, a plural `s` removed from longer words."""
    word = word.lower().replace("\u2019", "'")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return word


def words(text: str) -> list[str]:
    """The matching words of a text, in order, stop words dropped."""
    folded = (fold(match) for match in WORD.findall(text))
    return [word for word in folded if len(word) > 1 and word not in STOP_WORDS]


def counts(texts: Iterable[str]) -> Counter[str]:
    total: Counter[str] = Counter()
    for text in texts:
        total.update(words(text))
    return total
