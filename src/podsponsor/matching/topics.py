"""Topic overlap: how much of what an advertiser wants to be near a show talks about.

An advertiser's terms (industry, target topics, brief keywords, the categories of shows it already won) are weighted
by how rare each term is among the workspace's shows (inverse document frequency) and normalised to sum to 1. A show
covers a term fully when it is one of its categories, and otherwise by how often the term occurs in what it
publishes: `f / (f + K)` with `f` the occurrences per 1,000 words, so a term mentioned now and then counts for
something and one the show keeps returning to counts for nearly all. The signal is the covered share of the
advertiser's weight, in 0-1; the terms carrying most of it are the "shared terms" a seller can repeat.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from podsponsor.matching.text import words

HALF_COVERAGE_PER_1000: Final = 1.0  # occurrences per 1,000 words at which a term is half covered
INDUSTRY_WEIGHT: Final = 1.0
TOPIC_WEIGHT: Final = 2.0
KEYWORD_WEIGHT: Final = 2.0
WON_CATEGORY_WEIGHT: Final = 0.5
SHARED_TERM_FLOOR: Final = 0.2  # coverage below this is not named as shared

Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class ShowText:
    categories: frozenset[str]  # matching words of the show's categories
    counts: Counter[str]  # matching words of titles, descriptions and transcripts
    total: int  # all matching words counted


@dataclass(frozen=True)
class AdvertiserTerms:
    weights: dict[str, float]


def advertiser_terms(
    industry: str, topics: list[str], keywords: list[str], won_categories: list[str]
) -> AdvertiserTerms:
    weights: dict[str, float] = {}
    for texts, weight in (
        ([industry], INDUSTRY_WEIGHT),
        (topics, TOPIC_WEIGHT),
        (keywords, KEYWORD_WEIGHT),
        (won_categories, WON_CATEGORY_WEIGHT),
    ):
        for text in texts:
            for word in set(words(text)):
                weights[word] = max(weights.get(word, 0.0), weight)
    return AdvertiserTerms(weights)


def show_text(categories: list[str], texts: list[str]) -> ShowText:
    category_words = frozenset(word for category in categories for word in words(category))
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(words(text))
    return ShowText(category_words, counts, sum(counts.values()))


@dataclass(frozen=True)
class TopicModel:
    vocabulary: list[str]
    query: Matrix  # advertisers x terms, rows sum to 1 (or 0: no terms)
    coverage: Matrix  # shows x terms, each in 0-1

    def has_terms(self) -> npt.NDArray[np.bool_]:
        result: npt.NDArray[np.bool_] = self.query.sum(axis=1) > 0
        return result

    def overlap(self, advertisers: slice | npt.NDArray[np.intp]) -> Matrix:
        """Topic overlap of the given advertisers with every show (advertisers x shows)."""
        result: Matrix = self.query[advertisers] @ self.coverage.T
        return result

    def shared_terms(self, advertiser: int, show: int, limit: int = 3) -> list[str]:
        carried = self.query[advertiser] * self.coverage[show]
        order = np.argsort(-carried, kind="stable")[:limit]
        return [self.vocabulary[i] for i in order if carried[i] > 0 and self.coverage[show, i] >= SHARED_TERM_FLOOR]


def build(
    advertisers: list[AdvertiserTerms], shows: list[ShowText], corpus: list[ShowText] | None = None
) -> TopicModel:
    """The model of `advertisers` against `shows`, terms weighted by their rarity among `corpus` (default: `shows`)."""
    vocabulary = sorted({term for advertiser in advertisers for term in advertiser.weights})
    index = {term: i for i, term in enumerate(vocabulary)}
    coverage = np.zeros((len(shows), len(vocabulary)), dtype=np.float32)
    for row, show in enumerate(shows):
        scale = 1000.0 / show.total if show.total else 0.0
        for term in show.categories & index.keys():
            coverage[row, index[term]] = 1.0
        for term, count in show.counts.items():
            column = index.get(term)
            if column is not None and term not in show.categories:
                per_1000 = count * scale
                coverage[row, column] = per_1000 / (per_1000 + HALF_COVERAGE_PER_1000)
    documents = corpus if corpus is not None else shows
    present = Counter(term for show in documents for term in (show.categories | show.counts.keys()) & index.keys())
    idf = np.array(
        [math.log((len(documents) + 1) / (present[term] + 1)) + 1.0 for term in vocabulary], dtype=np.float32
    )
    query = np.zeros((len(advertisers), len(vocabulary)), dtype=np.float32)
    for row, advertiser in enumerate(advertisers):
        for term, weight in advertiser.weights.items():
            query[row, index[term]] = weight * idf[index[term]]
        total = query[row].sum()
        if total > 0:
            query[row] /= total
    return TopicModel(vocabulary, query, coverage)
