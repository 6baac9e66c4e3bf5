"""Okapi BM25 over a handful of short documents (one per tool), built once per tool list."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

__all__ = ["BM25Index"]


class BM25Index:
    """Score a query's terms against each document; documents are lists of terms."""

    def __init__(self, documents: Sequence[Sequence[str]], *, k1: float = 1.2, b: float = 0.75):
        self.k1 = k1
        self.b = b
        self._counts = [Counter(doc) for doc in documents]
        self._lengths = [len(doc) for doc in documents]
        total = sum(self._lengths)
        self._average = total / len(documents) if documents and total else 1.0
        frequency: Counter[str] = Counter()
        for counts in self._counts:
            frequency.update(counts.keys())
        size = len(documents)
        # The "+1" form of idf stays positive when a term is in every document, which matters
        # here: with one or two tools, every shared word would otherwise score zero or less.
        self._idf = {
            term: math.log(1.0 + (size - df + 0.5) / (df + 0.5)) for term, df in frequency.items()
        }

    def __len__(self) -> int:
        return len(self._counts)

    def idf(self, term: str) -> float:
        """The term's inverse document frequency; 0 for a term no document has."""
        return self._idf.get(term, 0.0)

    def scores(self, query: Sequence[str]) -> list[float]:
        """One BM25 score per document, in document order."""
        unique = set(query)
        out: list[float] = []
        for counts, length in zip(self._counts, self._lengths, strict=True):
            norm = self.k1 * (1.0 - self.b + self.b * length / self._average)
            score = 0.0
            for term in unique:
                tf = counts.get(term)
                if tf:
                    score += self._idf[term] * tf * (self.k1 + 1.0) / (tf + norm)
            out.append(score)
        return out
