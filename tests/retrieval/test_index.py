"""The exact index finds the true nearest rows, among the allowed ones, for a batch of queries."""

from __future__ import annotations

import numpy as np
import pytest

from powerstrip.errors import EmbeddingError
from powerstrip.retrieval import ExactIndex, HnswIndex


def _unit(rows: int, dims: int, seed: int) -> np.ndarray:
    matrix = np.random.default_rng(seed).standard_normal((rows, dims)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def test_a_batch_of_queries_gets_the_same_top_k_as_brute_force() -> None:
    vectors, queries = _unit(500, 16, 1), _unit(7, 16, 2)
    ids = list(range(1000, 1500))
    index = ExactIndex()
    index.add(ids, vectors)
    found = index.search(queries, 10)
    for query, hits in zip(queries, found, strict=True):
        expected = np.argsort(-(vectors @ query))[:10] + 1000
        assert [identifier for identifier, _ in hits] == expected.tolist()
        scores = [score for _, score in hits]
        assert scores == sorted(scores, reverse=True)


def test_only_allowed_ids_are_ranked() -> None:
    vectors = _unit(100, 8, 3)
    index = ExactIndex()
    index.add(list(range(100)), vectors)
    allowed = np.array([5, 17, 63], dtype=np.int64)
    [hits] = index.search(vectors[0], 10, allowed=allowed)
    assert sorted(identifier for identifier, _ in hits) == [5, 17, 63]
    assert index.search(vectors[0], 10, allowed=np.array([], dtype=np.int64)) == [[]]


def test_removed_ids_are_never_found_and_the_rest_still_are() -> None:
    vectors = _unit(50, 8, 4)
    index = ExactIndex()
    index.add(list(range(50)), vectors)
    index.remove([0, 10, 49, 999])
    assert len(index) == 47
    assert index.ids() == set(range(50)) - {0, 10, 49}
    for identifier in (0, 10, 49):
        [hits] = index.search(vectors[identifier], 50)
        assert identifier not in {i for i, _ in hits}
    [[(best, score)]] = index.search(vectors[20], 1)
    assert best == 20
    assert score == pytest.approx(1.0, abs=1e-5)


def test_adding_an_id_again_replaces_its_vector() -> None:
    vectors = _unit(2, 4, 5)
    index = ExactIndex()
    index.add([7], vectors[:1])
    index.add([7], vectors[1:])
    assert len(index) == 1
    [[(_, score)]] = index.search(vectors[1], 1)
    assert score == pytest.approx(1.0, abs=1e-5)


def test_a_vector_of_other_dimensions_is_refused() -> None:
    index = ExactIndex()
    index.add([1], _unit(1, 4, 6))
    with pytest.raises(EmbeddingError, match="8 dimensions met an index of 4"):
        index.add([2], _unit(1, 8, 7))


@pytest.mark.parametrize("make", [ExactIndex, HnswIndex], ids=["exact", "hnsw"])
def test_each_index_filters_before_ranking_and_forgets_removed_ids(make: type) -> None:
    vectors = _unit(300, 16, 8)
    index = make()
    index.add(list(range(300)), vectors)
    index.add([5], vectors[6:7])  # replaced: id 5 now holds row 6's vector
    assert len(index) == 300
    index.remove([0, 1, 2, 12345])
    assert index.ids() == set(range(3, 300))
    [[(best, score)]] = index.search(vectors[6], 1, allowed=np.array([5, 200], dtype=np.int64))
    assert best == 5
    assert score == pytest.approx(1.0, abs=1e-4)
    [hits] = index.search(vectors[0], 10, allowed=np.array([0, 1, 7, 8], dtype=np.int64))
    assert sorted(i for i, _ in hits) == [7, 8]
    [hits] = index.search(vectors[0], 300)
    assert {0, 1, 2}.isdisjoint(i for i, _ in hits)


def test_hnsw_finds_nearly_all_of_the_exact_top_10() -> None:
    vectors, queries = _unit(3000, 32, 9), _unit(50, 32, 10)
    exact, approximate = ExactIndex(), HnswIndex()
    exact.add(list(range(3000)), vectors)
    approximate = HnswIndex.from_exact(exact)
    assert len(approximate) == 3000
    truth = exact.search(queries, 10)
    found = approximate.search(queries, 10)
    overlap = [
        len({i for i, _ in a} & {i for i, _ in b}) / 10 for a, b in zip(truth, found, strict=True)
    ]
    assert sum(overlap) / len(overlap) >= 0.95
    scores = [score for _, score in found[0]]
    assert scores == sorted(scores, reverse=True)


def test_hnsw_refuses_vectors_of_another_size() -> None:
    index = HnswIndex()
    index.add([1], _unit(1, 8, 11))
    with pytest.raises(EmbeddingError, match="re-index"):
        index.add([2], _unit(1, 4, 12))


def test_a_large_index_is_scored_block_by_block_with_the_same_result() -> None:
    # More rows than one block holds (one query: 262,144 scores a block; 16 queries: 16,384
    # rows), and ties: the rows are duplicated, so equal scores come back in row order.
    base = _unit(150_000, 8, 6)
    vectors = np.vstack([base, base[:20_000]])
    queries = _unit(16, 8, 7)
    index = ExactIndex()
    index.add(list(range(len(vectors))), vectors)
    for batch in (queries[:1], queries):
        found = index.search(batch, 5)
        for query, hits in zip(batch, found, strict=True):
            scores = vectors @ query
            expected = np.lexsort((np.arange(len(vectors)), -scores))[:5]
            assert [identifier for identifier, _ in hits] == expected.tolist()


def test_an_id_given_twice_in_one_batch_keeps_its_last_vector() -> None:
    vectors = _unit(3, 4, 8)
    index = ExactIndex()
    index.add([1, 2, 1], vectors)
    assert len(index) == 2
    [[(best, score)]] = index.search(vectors[2], 1)
    assert best == 1
    assert score == pytest.approx(1.0, abs=1e-5)


def test_a_few_allowed_ids_among_many_are_looked_up_and_unknown_ones_ignored() -> None:
    vectors = _unit(1000, 8, 9)
    index = ExactIndex()
    index.add(list(range(1000)), vectors)
    allowed = np.array([999, 3, 3, 5000], dtype=np.int64)
    [hits] = index.search(vectors[3], 10, allowed=allowed)
    assert [identifier for identifier, _ in hits] == [3, 999]


def test_an_int8_hnsw_graph_still_finds_nearly_all_of_the_exact_top_10() -> None:
    vectors, queries = _unit(3000, 32, 11), _unit(50, 32, 12)
    exact, approximate = ExactIndex(), HnswIndex(dtype="i8", expansion_add=64)
    exact.add(list(range(3000)), vectors)
    approximate.add(list(range(3000)), vectors)
    approximate.expansion_search = 128
    assert approximate.expansion_search == 128
    assert approximate.memory_bytes > 0
    truth = exact.search(queries, 10)
    for one, many in (
        (approximate.search(queries[:1], 10), truth[:1]),
        (approximate.search(queries, 10), truth),
    ):
        overlap = [
            len({i for i, _ in a} & {i for i, _ in b}) / 10 for a, b in zip(one, many, strict=True)
        ]
        assert sum(overlap) / len(overlap) >= 0.9
    with pytest.raises(ValueError, match="dtype"):
        HnswIndex(dtype="f64")
    with pytest.raises(ValueError, match="expansion_search"):
        approximate.expansion_search = 0
