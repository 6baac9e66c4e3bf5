"""In-memory vector indexes behind one `VectorIndex` protocol; the store stays the truth.

`ExactIndex` keeps every vector as one row of a C-contiguous float32 matrix and scores a batch
of queries with one matrix product: exact, and bound by memory bandwidth, not arithmetic. Rows
are unit length, so the inner product is the cosine similarity. A filter arrives as the chunk ids
allowed (`allowed`), applied before ranking: the k best of the allowed rows, never the allowed
few of the k best.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from powerstrip.errors import EmbeddingError

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["ExactIndex", "ScoredId", "VectorIndex"]

ScoredId = tuple[int, float]  # a chunk id and its similarity to the query
_INITIAL_ROWS = 64


class VectorIndex(Protocol):
    """Vectors by chunk id; nearest neighbours of a batch of queries."""

    def add(self, ids: Sequence[int], vectors: NDArray[np.float32]) -> None:
        """Add (or replace) one vector per id."""

    def remove(self, ids: Iterable[int]) -> None:
        """Forget these ids; unknown ids are ignored."""

    def ids(self) -> set[int]:
        """Every id held."""

    def search(
        self, queries: NDArray[np.float32], k: int, *, allowed: NDArray[np.int64] | None = None
    ) -> list[list[ScoredId]]:
        """The `k` nearest ids of each query row, best first, among `allowed` when given."""

    def __len__(self) -> int:
        """How many vectors are held."""


class ExactIndex:
    """Exact inner-product search over a contiguous float32 matrix, grown by doubling."""

    def __init__(self, dimensions: int | None = None) -> None:
        self._dimensions = dimensions
        self._matrix: NDArray[np.float32] = np.zeros((0, dimensions or 0), dtype=np.float32)
        self._ids: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._rows: dict[int, int] = {}  # id -> row
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def ids(self) -> set[int]:
        """Every id held."""
        return set(self._rows)

    def items(self) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The ids and their vectors, row for row (views: copy before changing the index)."""
        return self._ids[: self._size], self._matrix[: self._size]

    def add(self, ids: Sequence[int], vectors: NDArray[np.float32]) -> None:
        """Add (or replace) one vector per id."""
        if len(ids) == 0:
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(ids):
            raise ValueError(f"{len(ids)} ids need a ({len(ids)}, d) array, not {vectors.shape}")
        self._check_dimensions(vectors.shape[1])
        self._reserve(self._size + len(ids))
        for identifier, vector in zip(ids, vectors, strict=True):
            row = self._rows.get(int(identifier))
            if row is None:
                row = self._size
                self._size += 1
                self._rows[int(identifier)] = row
                self._ids[row] = identifier
            self._matrix[row] = vector

    def remove(self, ids: Iterable[int]) -> None:
        """Forget these ids: the last row moves into each hole, so rows stay packed."""
        for identifier in ids:
            row = self._rows.pop(int(identifier), None)
            if row is None:
                continue
            last = self._size - 1
            if row != last:
                moved = int(self._ids[last])
                self._matrix[row] = self._matrix[last]
                self._ids[row] = moved
                self._rows[moved] = row
            self._size = last

    def search(
        self, queries: NDArray[np.float32], k: int, *, allowed: NDArray[np.int64] | None = None
    ) -> list[list[ScoredId]]:
        """The `k` nearest ids of each query row, best first, among `allowed` when given."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if self._size == 0 or k <= 0:
            return [[] for _ in range(len(queries))]
        self._check_dimensions(queries.shape[1])
        matrix = self._matrix[: self._size]
        ids = self._ids[: self._size]
        if allowed is not None:
            rows = np.flatnonzero(np.isin(ids, allowed))
            matrix, ids = matrix[rows], ids[rows]
            if len(ids) == 0:
                return [[] for _ in range(len(queries))]
        # (queries, rows): one pass over the matrix for the whole batch. One query is a
        # matrix-vector product over the rows as stored (BLAS gemv), which streams the matrix
        # fastest; `@` on the transposed view ran several times slower (numpy 2, OpenBLAS).
        if len(queries) == 1:
            scores = np.dot(matrix, queries[0])[None, :]
        else:
            scores = np.dot(queries, matrix.T)
        k = min(k, len(ids))
        best = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        results: list[list[ScoredId]] = []
        for query_row, candidates in enumerate(best):
            ordered = candidates[np.argsort(-scores[query_row, candidates], kind="stable")]
            results.append([(int(ids[col]), float(scores[query_row, col])) for col in ordered])
        return results

    def _check_dimensions(self, dimensions: int) -> None:
        if self._dimensions is None:
            self._dimensions = dimensions
            self._matrix = np.zeros((0, dimensions), dtype=np.float32)
        elif dimensions != self._dimensions:
            raise EmbeddingError(
                f"a vector of {dimensions} dimensions met an index of {self._dimensions}",
                where="retrieval index",
                fix="re-index the collection after changing the embedding model",
            )

    def _reserve(self, rows: int) -> None:
        capacity = len(self._matrix)
        if rows <= capacity:
            return
        capacity = max(_INITIAL_ROWS, capacity)
        while capacity < rows:
            capacity *= 2
        matrix = np.zeros((capacity, self._matrix.shape[1]), dtype=np.float32)
        matrix[: self._size] = self._matrix[: self._size]
        ids = np.zeros(capacity, dtype=np.int64)
        ids[: self._size] = self._ids[: self._size]
        self._matrix, self._ids = matrix, ids
