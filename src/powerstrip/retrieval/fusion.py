"""Reciprocal rank fusion: one ranking from several, by rank alone (Cormack et al., 2009).

Scores of BM25 and of cosine similarity are not on one scale; ranks are. Each list gives an item
`1 / (k + rank)` (rank from 1), the sums are sorted, and ties keep first-seen order. k = 60 is
the paper's value: it damps the weight of the very first ranks of any one list.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["RRF_K", "reciprocal_rank_fusion"]

RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], *, k: int = RRF_K
) -> list[tuple[int, float]]:
    """The ids of all `rankings` (each best first), fused, with their fused scores."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, identifier in enumerate(ranking, start=1):
            scores[identifier] = scores.get(identifier, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])
