"""`HnswIndex`: approximate nearest neighbours by an HNSW graph (usearch), for large collections.

The exact index scores every vector; at a million vectors that is ~1.5 GB read per query batch.
HNSW walks a graph instead and reads a few thousand vectors per query, at the price of missing
a true neighbour now and then (bench/retrieval.py measures recall@10 against exact search).
The graph's parameters are usearch's usual ones: 16 links per node, 128 candidates when
inserting (`expansion_add`), and `expansion_search` (default 64, at least 2 * k) when
searching. The graph keeps its own copy of the vectors as float32 (`dtype="f32"`, the default),
or quantised to `"f16"` or `"i8"` (4 times smaller than float32; unit vectors lose little by it,
bench/retrieval.py measures how much).

A filter (`allowed`) is applied before ranking, as in `ExactIndex`: the allowed vectors are
taken out of the graph's storage and scored exactly, so a filtered search is never the allowed
few of an approximate top k.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from powerstrip.errors import EmbeddingError
from powerstrip.retrieval.index import ExactIndex, ScoredId

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["HnswIndex"]

_CONNECTIVITY = 16
_EXPANSION_ADD = 128
_EXPANSION_SEARCH = 64
_DTYPES = ("f32", "f16", "i8")


class HnswIndex:
    """Inner-product HNSW over unit vectors; ids are chunk ids."""

    def __init__(
        self,
        dimensions: int | None = None,
        *,
        expansion_search: int = _EXPANSION_SEARCH,
        expansion_add: int = _EXPANSION_ADD,
        dtype: str = "f32",
    ) -> None:
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(_DTYPES)}, not {dtype!r}")
        self._dimensions = dimensions
        self._expansion = expansion_search
        self._expansion_add = expansion_add
        self._dtype = dtype
        self._index: Any = None  # Any: usearch ships no type information
        self._ids: set[int] = set()

    @classmethod
    def from_exact(cls, exact: ExactIndex) -> HnswIndex:
        """An HNSW index of the same vectors (when a collection outgrows exact search)."""
        index = cls()
        ids, matrix = exact.items()
        index.add(list(ids), matrix)
        return index

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def expansion_search(self) -> int:
        """Candidates kept while searching (at least 2 * k): more finds more, slower."""
        return self._expansion

    @expansion_search.setter
    def expansion_search(self, value: int) -> None:
        if value < 1:
            raise ValueError(f"expansion_search must be at least 1, not {value}")
        self._expansion = value

    @property
    def memory_bytes(self) -> int:
        """The bytes the graph and its copy of the vectors take (usearch's own count)."""
        return 0 if self._index is None else int(self._index.memory_usage)

    def ids(self) -> set[int]:
        """Every id held."""
        return set(self._ids)

    def add(self, ids: Sequence[int], vectors: NDArray[np.float32]) -> None:
        """Add (or replace) one vector per id."""
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(ids):
            raise ValueError(f"{len(ids)} ids need a ({len(ids)}, d) array, not {vectors.shape}")
        graph = self._graph(vectors.shape[1])
        keys = np.asarray(ids, dtype=np.uint64)
        replaced = [int(key) for key in keys if int(key) in self._ids]
        if replaced:
            graph.remove(np.asarray(replaced, dtype=np.uint64))
        graph.add(keys, vectors, threads=0)
        self._ids.update(int(key) for key in keys)

    def remove(self, ids: Iterable[int]) -> None:
        """Forget these ids; unknown ids are ignored."""
        known = [int(i) for i in ids if int(i) in self._ids]
        if not known or self._index is None:
            return
        self._index.remove(np.asarray(known, dtype=np.uint64))
        self._ids.difference_update(known)

    def search(
        self, queries: NDArray[np.float32], k: int, *, allowed: NDArray[np.int64] | None = None
    ) -> list[list[ScoredId]]:
        """The `k` nearest ids of each query row, best first, among `allowed` when given."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if not self._ids or k <= 0 or self._index is None:
            return [[] for _ in range(len(queries))]
        self._check_dimensions(queries.shape[1])
        if allowed is not None:
            return self._search_allowed(queries, k, allowed)
        k = min(k, len(self._ids))
        self._index.expansion_search = max(self._expansion, 2 * k)
        # One query on the calling thread (a thread pool's start costs more than the walk).
        found = self._index.search(queries, k, threads=1 if len(queries) == 1 else 0)
        keys = np.atleast_2d(found.keys)
        distances = np.atleast_2d(found.distances)
        counts = np.atleast_1d(getattr(found, "counts", [keys.shape[1]]))
        # usearch's inner-product distance is 1 - similarity.
        return [
            [(int(keys[row, col]), float(1.0 - distances[row, col])) for col in range(counts[row])]
            for row in range(len(queries))
        ]

    def _search_allowed(
        self, queries: NDArray[np.float32], k: int, allowed: NDArray[np.int64]
    ) -> list[list[ScoredId]]:
        keys = [int(i) for i in allowed if int(i) in self._ids]
        if not keys:
            return [[] for _ in range(len(queries))]
        stored = self._index.get(np.asarray(keys, dtype=np.uint64), dtype=np.float32)
        subset = ExactIndex(self._dimensions)
        subset.add(keys, np.vstack(stored) if isinstance(stored, tuple) else stored)
        return subset.search(queries, k)

    def _graph(self, dimensions: int) -> Any:  # Any: usearch's Index
        self._check_dimensions(dimensions)
        if self._index is None:
            from usearch.index import Index  # imported when a collection first needs it

            self._index = Index(
                ndim=dimensions,
                metric="ip",
                dtype=self._dtype,
                connectivity=_CONNECTIVITY,
                expansion_add=self._expansion_add,
                expansion_search=self._expansion,
            )
        return self._index

    def _check_dimensions(self, dimensions: int) -> None:
        if self._dimensions is None:
            self._dimensions = dimensions
        elif dimensions != self._dimensions:
            raise EmbeddingError(
                f"a vector of {dimensions} dimensions met an index of {self._dimensions}",
                where="retrieval index",
                fix="re-index the collection after changing the embedding model",
            )
