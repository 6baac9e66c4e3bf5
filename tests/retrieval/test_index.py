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


def _recall(found: list[list[tuple[int, float]]], truth: list[list[tuple[int, float]]]) -> float:
    overlap = [
        len({i for i, _ in a} & {i for i, _ in b}) / 10 for a, b in zip(found, truth, strict=True)
    ]
    return sum(overlap) / len(overlap)


def _clustered(rows: int, dims: int, seed: int, centres: np.ndarray) -> np.ndarray:
    """Unit rows around `centres`, as text embeddings cluster by subject: close neighbours."""
    rng = np.random.default_rng(seed)
    matrix = centres[rng.integers(0, len(centres), rows)] + rng.standard_normal(
        (rows, dims)
    ).astype(np.float32) / np.sqrt(dims)
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


def test_the_int8_graphs_candidates_rescored_with_float32_find_the_exact_top_10() -> None:
    # Close neighbours (topics of 30 rows) in 384 dimensions, a coordinate ~0.05: int8 steps
    # cannot rank them, the float32 rows can.
    centres = _unit(100, 384, 13)
    vectors, queries = _clustered(3000, 384, 14, centres), _clustered(40, 384, 15, centres)
    exact, approximate = ExactIndex(), HnswIndex(dtype="i8", rescore=0)
    exact.add(list(range(3000)), vectors)
    approximate.add(list(range(3000)), vectors)
    truth = exact.search(queries, 10)
    graph_only = _recall(approximate.search(queries, 10), truth)
    approximate.rescore = 100
    assert approximate.rescore == 100
    for found in (
        approximate.search(queries, 10),
        [approximate.search(query, 10)[0] for query in queries],  # one at a time
    ):
        assert _recall(found, truth) >= 0.99
        assert _recall(found, truth) > graph_only
        # The scores are the float32 ones, best first.
        for hits, expected in zip(found, truth, strict=True):
            scores = dict(expected)
            for identifier, score in hits:
                if identifier in scores:
                    assert score == pytest.approx(scores[identifier], abs=1e-6)
            assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert approximate.memory_bytes > 3000 * 384 * 4  # the float32 rows and the graph


def test_a_graph_built_from_an_exact_index_keeps_its_rows_and_follows_changes() -> None:
    vectors = _unit(500, 16, 16)
    exact = ExactIndex()
    exact.add(list(range(500)), vectors)
    index = HnswIndex.from_exact(exact, rescore=20)
    assert len(index) == 500
    index.add([1000], vectors[7:8])
    index.add([3], vectors[8:9])  # replaced
    index.remove([4, 99999])
    assert 1000 in exact
    assert 4 not in exact
    assert index.ids() == exact.ids() == (set(range(500)) - {4}) | {1000}
    [[first, second, _]] = index.search(vectors[8], 3)
    assert {first[0], second[0]} == {3, 8}
    assert first[1] == pytest.approx(1.0, abs=1e-5)
    [hits] = index.search(vectors[7], 2)
    assert {i for i, _ in hits} == {7, 1000}
    [hits] = index.search(vectors[4], 500)
    assert 4 not in {i for i, _ in hits}


def test_hnsw_parameters_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="dtype"):
        HnswIndex(dtype="f64")
    with pytest.raises(ValueError, match="rescore"):
        HnswIndex(rescore=-1)
    with pytest.raises(ValueError, match="expansion_search"):
        HnswIndex(expansion_search=0)
    index = HnswIndex()
    with pytest.raises(ValueError, match="expansion_search"):
        index.expansion_search = 0
    with pytest.raises(ValueError, match="rescore"):
        index.rescore = -5
