"""`HnswIndex`: approximate nearest neighbours by an HNSW graph (usearch), for large collections.

The exact index scores every vector; at a million vectors that is ~1.5 GB read per query batch.
HNSW walks a graph instead and reads a few thousand vectors per query, at the price of missing
a true neighbour now and then (bench/retrieval.py measures recall@10 against exact search).

Two copies of the vectors, each for what it does best. The graph walks over a quantised copy
(`dtype`, int8 by default: a byte a dimension, 4 times less memory to read than float32, and
usearch's int8 distances are its fastest), which finds the right neighbourhood but cannot rank
its close members (a unit vector's coordinates are ~0.05, a few int8 steps). So the graph's
best `rescore` candidates are scored again exactly against the float32 rows, an `ExactIndex`
(the one the collection was scored with before it outgrew exact search, adopted as it is), and
the best k of those returned: the recall of the graph's top `rescore`, at the cost of a few
hundred dot products. The scores returned are always the float32 ones.

The graph's parameters: 16 links per node, `expansion_add` candidates when inserting, and
`expansion_search` (at least 2 * k and at least `rescore`) when searching. A filter
(`allowed`) is applied before ranking, as in `ExactIndex`: the allowed rows are scored exactly,
so a filtered search is never the allowed few of an approximate top k.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from powerstrip.retrieval.index import ExactIndex, ScoredId

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["DEFAULT_HNSW_RESCORE", "HnswIndex"]

DEFAULT_HNSW_RESCORE = 100
_CONNECTIVITY = 16
_EXPANSION_ADD = 128
_EXPANSION_SEARCH = 128
_DTYPES = ("f32", "f16", "i8")


class HnswIndex:
    """Inner-product HNSW over unit vectors, re-scored exactly; ids are chunk ids."""

    def __init__(
        self,
        dimensions: int | None = None,
        *,
        expansion_search: int = _EXPANSION_SEARCH,
        expansion_add: int = _EXPANSION_ADD,
        dtype: str = "i8",
        rescore: int = DEFAULT_HNSW_RESCORE,
        exact: ExactIndex | None = None,
    ) -> None:
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(_DTYPES)}, not {dtype!r}")
        if rescore < 0:
            raise ValueError(f"rescore must be at least 0, not {rescore}")
        if expansion_search < 1:
            raise ValueError(f"expansion_search must be at least 1, not {expansion_search}")
        self._expansion = expansion_search
        self._expansion_add = expansion_add
        self._dtype = dtype
        self._rescore = rescore
        self._exact = exact if exact is not None else ExactIndex(dimensions)
        self._index: Any = None  # Any: usearch ships no type information
        if len(self._exact):
            ids, matrix = self._exact.items()
            self._graph(matrix.shape[1]).add(ids.astype(np.uint64), matrix, threads=0)

    @classmethod
    def from_exact(
        cls,
        exact: ExactIndex,
        *,
        dtype: str = "i8",
        rescore: int = DEFAULT_HNSW_RESCORE,
        expansion_add: int = _EXPANSION_ADD,
    ) -> HnswIndex:
        """A graph over an exact index's vectors, which it adopts as its float32 rows.

        The exact index is the HNSW index's from then on: change it only through this one.
        Its rows go into the graph in one batch, inserted on every CPU.
        """
        return cls(dtype=dtype, rescore=rescore, expansion_add=expansion_add, exact=exact)

    def __len__(self) -> int:
        return len(self._exact)

    @property
    def expansion_search(self) -> int:
        """Candidates kept while searching (at least 2 * k and `rescore`): more finds more."""
        return self._expansion

    @expansion_search.setter
    def expansion_search(self, value: int) -> None:
        if value < 1:
            raise ValueError(f"expansion_search must be at least 1, not {value}")
        self._expansion = value

    @property
    def rescore(self) -> int:
        """How many of the graph's best candidates are scored again exactly (at least k)."""
        return self._rescore

    @rescore.setter
    def rescore(self, value: int) -> None:
        if value < 0:
            raise ValueError(f"rescore must be at least 0, not {value}")
        self._rescore = value

    @property
    def memory_bytes(self) -> int:
        """The bytes of the graph with its quantised copy (usearch's count) and the float32 rows."""
        graph = 0 if self._index is None else int(self._index.memory_usage)
        return graph + self._exact.memory_bytes

    def ids(self) -> set[int]:
        """Every id held."""
        return self._exact.ids()

    def add(self, ids: Sequence[int], vectors: NDArray[np.float32]) -> None:
        """Add (or replace) one vector per id."""
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(ids):
            raise ValueError(f"{len(ids)} ids need a ({len(ids)}, d) array, not {vectors.shape}")
        keys = np.asarray(ids, dtype=np.uint64)
        replaced = [int(key) for key in keys if int(key) in self._exact]
        # The rows first (this checks the dimensions): the graph must never offer an id that
        # has no row to be scored with.
        self._exact.add(ids, vectors)
        graph = self._graph(vectors.shape[1])
        if replaced:
            graph.remove(np.asarray(replaced, dtype=np.uint64))
        graph.add(keys, vectors, threads=0)

    def remove(self, ids: Iterable[int]) -> None:
        """Forget these ids; unknown ids are ignored."""
        known = [int(i) for i in ids if int(i) in self._exact]
        if not known:
            return
        if self._index is not None:
            self._index.remove(np.asarray(known, dtype=np.uint64))
        self._exact.remove(known)

    def search(
        self, queries: NDArray[np.float32], k: int, *, allowed: NDArray[np.int64] | None = None
    ) -> list[list[ScoredId]]:
        """The `k` nearest ids of each query row, best first, among `allowed` when given."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if allowed is not None or self._index is None or k <= 0 or not len(self._exact):
            return self._exact.search(queries, k, allowed=allowed)
        candidates = min(max(k, self._rescore), len(self._exact))
        self._exact.check_dimensions(queries.shape[1])
        self._index.expansion_search = max(self._expansion, 2 * k, candidates)
        # One query on the calling thread (a thread pool's start costs more than the walk).
        found = self._index.search(queries, candidates, threads=1 if len(queries) == 1 else 0)
        keys = np.atleast_2d(found.keys).astype(np.int64)
        counts = np.atleast_1d(getattr(found, "counts", [keys.shape[1]]))
        return [
            self._exact.search(queries[row], k, allowed=keys[row, : counts[row]])[0]
            for row in range(len(queries))
        ]

    def _graph(self, dimensions: int) -> Any:  # Any: usearch's Index
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
