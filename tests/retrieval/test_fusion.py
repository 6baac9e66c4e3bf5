"""Fusing the full-text and the vector scores: normalised, weighted, and in [0, 1]."""

from __future__ import annotations

import pytest

from powerstrip.retrieval import convex_fusion, reciprocal_rank_fusion


def test_each_ranker_is_divided_by_its_best_and_weighted() -> None:
    lexical = {1: 8.0, 2: 2.0}  # BM25: any positive scale
    vector = {2: 0.9, 3: 0.45}  # cosine
    fused = dict(convex_fusion(lexical, vector, weight=0.5))
    assert fused[1] == pytest.approx(0.5 * 1.0)  # best by words, no vector score
    assert fused[2] == pytest.approx(0.5 * 0.25 + 0.5 * 1.0)
    assert fused[3] == pytest.approx(0.5 * 0.5)
    assert [i for i, _ in convex_fusion(lexical, vector, weight=0.5)] == [2, 1, 3]


def test_the_weight_moves_the_ranking_from_words_to_vectors() -> None:
    lexical = {1: 5.0, 2: 1.0}
    vector = {1: 0.2, 2: 0.8}
    assert convex_fusion(lexical, vector, weight=0.0)[0][0] == 1
    assert convex_fusion(lexical, vector, weight=1.0)[0][0] == 2
    scores = [score for _, score in convex_fusion(lexical, vector, weight=0.7)]
    assert all(0.0 <= score <= 1.0 for score in scores)


def test_a_far_lead_survives_fusion_where_rank_fusion_loses_it() -> None:
    # Passage 1 matches the query's words far better than anything; by vectors it is a close
    # second. Rank fusion sees only "first and second" for both passages and ties them.
    lexical = {1: 20.0, 2: 1.0}
    vector = {2: 0.80, 1: 0.79}
    assert convex_fusion(lexical, vector, weight=0.7)[0][0] == 1
    rrf = reciprocal_rank_fusion([[1, 2], [2, 1]])
    assert rrf[0][1] == pytest.approx(rrf[1][1])


def test_negative_similarities_count_as_none_and_empty_rankers_add_nothing() -> None:
    assert convex_fusion({}, {}, weight=0.7) == []
    fused = dict(convex_fusion({}, {1: 0.5, 2: -0.3}, weight=0.7))
    assert fused == {1: pytest.approx(0.7), 2: 0.0}
    assert dict(convex_fusion({4: 3.0}, {}, weight=0.0)) == {4: 1.0}


def test_a_weight_outside_0_to_1_is_refused() -> None:
    with pytest.raises(ValueError, match="from 0 to 1"):
        convex_fusion({1: 1.0}, {}, weight=1.5)
