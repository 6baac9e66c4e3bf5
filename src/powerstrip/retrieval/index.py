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

    def __contains__(self, identifier: object) -> bool:
        return identifier in self._rows

    def ids(self) -> set[int]:
        """Every id held."""
        return set(self._rows)

    @property
    def memory_bytes(self) -> int:
        """The bytes of the matrix and its ids (the capacity allocated, not only the rows used)."""
        return int(self._matrix.nbytes + self._ids.nbytes)

    def items(self) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The ids and their vectors, row for row (views: copy before changing the index)."""
        return self._ids[: self._size], self._matrix[: self._size]

    def add(self, ids: Sequence[int], vectors: NDArray[np.float32]) -> None:
        """Add (or replace) one vector per id (of an id given twice, the last vector)."""
        if len(ids) == 0:
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(ids):
            raise ValueError(f"{len(ids)} ids need a ({len(ids)}, d) array, not {vectors.shape}")
        self.check_dimensions(vectors.shape[1])
        keys = [int(identifier) for identifier in ids]
        if len(set(keys)) != len(keys):
            last = {key: n for n, key in enumerate(keys)}
            vectors = vectors[list(last.values())]
            keys = list(last)
        self._reserve(self._size + len(keys))
        rows = np.empty(len(keys), dtype=np.int64)
        size = self._size
        for n, key in enumerate(keys):
            row = self._rows.get(key)
            if row is None:
                row, size = size, size + 1
            rows[n] = row
        # One copy of all rows (not a Python loop over them), written before the new rows are
        # counted: an HNSW index adds to its exact rows in a worker thread while searches read.
        self._ids[rows] = keys
        self._matrix[rows] = vectors
        self._rows.update(zip(keys, rows.tolist(), strict=True))
        self._size = size

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
        self.check_dimensions(queries.shape[1])
        matrix = self._matrix[: self._size]
        ids = self._ids[: self._size]
        if allowed is not None:
            rows = self._allowed_rows(np.asarray(allowed, dtype=np.int64))
            if len(rows) == 0:
                return [[] for _ in range(len(queries))]
            # The allowed rows only (a copy of them): the others are never scored.
            matrix, ids = matrix[rows], ids[rows]
        columns, scores = _top_k(matrix, queries, min(k, len(ids)))
        return [
            list(zip(row_ids, row_scores, strict=True))
            for row_ids, row_scores in zip(ids[columns].tolist(), scores.tolist(), strict=True)
        ]

    def _allowed_rows(self, allowed: NDArray[np.int64]) -> NDArray[np.int64]:
        """The rows of the allowed ids held, in row order (so they are read front to back)."""
        if len(allowed) * 8 < self._size:  # a few ids: look each up
            found = (self._rows.get(identifier) for identifier in allowed.tolist())
            rows = np.fromiter((row for row in found if row is not None), dtype=np.int64)
            return np.unique(rows)  # sorted, and an id allowed twice is one row
        return np.flatnonzero(np.isin(self._ids[: self._size], allowed))

    def check_dimensions(self, dimensions: int) -> None:
        """Refuse vectors of another size than the index's (the first vector's sets it)."""
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


# Rows scored per block: the block's scores (queries x rows float32) stay about 1 MiB, so they
# are still in cache when their top k is picked, and a batch never holds a (queries x all
# rows) matrix (at a million rows and 32 queries, 128 MB).
_BLOCK_SCORES = 1 << 18


def _top_k(
    matrix: NDArray[np.float32], queries: NDArray[np.float32], k: int
) -> tuple[NDArray[np.intp], NDArray[np.float32]]:
    """The columns (rows of `matrix`) and scores of each query's `k` best, best first.

    The matrix is read once for the whole batch, block by block: one query is a BLAS
    matrix-vector product over the rows as stored (gemv, which streams the matrix fastest; `@`
    on the transposed view ran several times slower, numpy 2 and OpenBLAS), a batch one matrix
    product (gemm). Each block keeps its k best by `argpartition` (linear, no sort); the
    survivors of all blocks are partitioned again and only the last k sorted.
    """
    count = len(queries)
    rows = len(matrix)
    block = max(k, 4096, _BLOCK_SCORES // count)
    if count == 1 and rows <= block:  # the common case, without the merging's overheads
        scores = np.dot(matrix, queries[0])
        columns = np.argpartition(scores, rows - k)[rows - k :] if rows > k else np.arange(rows)
        values = scores[columns]
        order = np.lexsort((columns, -values))
        return columns[order][None, :], values[order][None, :]
    buffer = np.empty(count * min(block, rows), dtype=np.float32)
    kept_columns: list[NDArray[np.intp]] = []
    kept_scores: list[NDArray[np.float32]] = []
    for start in range(0, rows, block):
        part = matrix[start : start + block]
        scores = buffer[: count * len(part)].reshape(count, len(part))
        if count == 1:
            np.dot(part, queries[0], out=scores[0])
        else:
            np.dot(queries, part.T, out=scores)
        if len(part) > k:
            columns = np.argpartition(scores, len(part) - k, axis=1)[:, len(part) - k :]
        else:
            columns = np.broadcast_to(np.arange(len(part)), (count, len(part)))
        kept_scores.append(np.take_along_axis(scores, columns, axis=1))
        kept_columns.append(columns + start)
    columns = np.concatenate(kept_columns, axis=1)
    scores = np.concatenate(kept_scores, axis=1)
    if columns.shape[1] > k:
        best = np.argpartition(scores, columns.shape[1] - k, axis=1)[:, columns.shape[1] - k :]
        columns = np.take_along_axis(columns, best, axis=1)
        scores = np.take_along_axis(scores, best, axis=1)
    # Best first; equal scores in row order.
    order = np.lexsort((columns, -scores), axis=1)
    return np.take_along_axis(columns, order, axis=1), np.take_along_axis(scores, order, axis=1)
