"""Fusing the full-text and the vector ranking into one.

**Convex combination** (the engine's): each candidate passage is scored by both rankers (BM25
and cosine similarity), each score is normalised into [0, 1] by dividing it by the best score
of its ranker among the candidates (the theoretical minimum of both is 0: no word in common, or
an orthogonal vector; a negative cosine counts as 0), and the fused score is
`weight * vector + (1 - weight) * lexical`. This is the "TM2C2" fusion of Bruch, Gai and
Ingber, *An Analysis of Fusion Functions for Hybrid Retrieval* (ACM TOIS, 2023), who found it
ranks better than reciprocal rank fusion in and out of domain and needs few examples to set
its one weight. Unlike rank fusion it keeps how far ahead a passage is: a passage that matches
the query's rare words by far, or whose vector is far closer than the next, stays ahead.
The fused score is in [0, 1] (1: the best candidate of both rankers), and a passage's score
does not depend on which other passages made the candidate pool, except the best ones.

**Reciprocal rank fusion** (Cormack, Clarke and Buettcher, 2009) is kept for comparison
(bench/retrieval.py): each list gives an item `1 / (k + rank)`, by rank alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["DEFAULT_VECTOR_WEIGHT", "RRF_K", "convex_fusion", "reciprocal_rank_fusion"]

# Chosen by bench/retrieval.py on BFCL: five-fold cross-validation picked 0.6 to 0.75, and any
# weight from 0.6 to 0.8 ranked within 0.1 point of nDCG@10 of the best (docs/retrieval.md).
DEFAULT_VECTOR_WEIGHT = 0.7
RRF_K = 60


def convex_fusion(
    lexical: Mapping[int, float], vector: Mapping[int, float], *, weight: float
) -> list[tuple[int, float]]:
    """The ids of both rankers' candidates, best first, with fused scores in [0, 1].

    `lexical` and `vector` hold each candidate's raw score by that ranker (higher is better);
    an id one of them lacks scores 0 there (no word matched). `weight` is the vector ranker's
    share, from 0 (full-text only) to 1 (vectors only). Ties keep first-seen order, lexical
    candidates first.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"the vector weight must be from 0 to 1, not {weight}")
    best_lexical = max(lexical.values(), default=0.0)
    best_vector = max(vector.values(), default=0.0)
    scores: dict[int, float] = {}
    for identifier in (*lexical, *vector):
        if identifier in scores:
            continue
        fused = 0.0
        if best_lexical > 0.0:
            fused += (1.0 - weight) * max(lexical.get(identifier, 0.0), 0.0) / best_lexical
        if best_vector > 0.0:
            fused += weight * max(vector.get(identifier, 0.0), 0.0) / best_vector
        scores[identifier] = fused
    return sorted(scores.items(), key=lambda item: -item[1])


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], *, k: int = RRF_K
) -> list[tuple[int, float]]:
    """The ids of all `rankings` (each best first), fused, with their fused scores."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, identifier in enumerate(ranking, start=1):
            scores[identifier] = scores.get(identifier, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])
