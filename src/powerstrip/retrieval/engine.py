"""The retrieval engine: add documents, delete them, and search a user's collection.

    retriever = Retriever.from_settings(sessions, settings)
    await retriever.start()                        # build the vector indexes from the store
    await retriever.add_file(Scope(user.id), Path("paper.pdf"))
    [hits] = await retriever.search(Scope(user.id), [Query("what does the paper find?")])
    await retriever.aclose()

A search ranks the scope's chunks twice, by full-text relevance (BM25) and by vector similarity,
takes the best of each as candidates, scores every candidate by both, and fuses the two scores
by a weighted sum of normalised scores (`fusion.convex_fusion`); in lexical-only mode the
full-text ranking alone answers. A question of several sentences is also embedded sentence by
sentence, and a passage's similarity is its best over the question and its sentences, so each
part of a many-part question finds its passage. Metadata filters pick the allowed chunks first,
and both rankings only ever see those.

The store is the truth. Each collection's in-memory index is built at start and brought in step
before every search: the collection's (count, highest id) in the store says whether any process
wrote to it, and only the difference is loaded. So several workers on one PostgreSQL agree.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import numpy as np

from powerstrip.errors import IngestError, SearchError
from powerstrip.retrieval import records
from powerstrip.retrieval.chunking import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_OVERLAP,
    chunk_text,
    sentences,
)
from powerstrip.retrieval.embedders import Embedder, make_embedder
from powerstrip.retrieval.extract import ExtractedText, extract, kind_of, read_file
from powerstrip.retrieval.fusion import DEFAULT_VECTOR_WEIGHT, convex_fusion
from powerstrip.retrieval.hnsw import DEFAULT_HNSW_RESCORE, HnswIndex
from powerstrip.retrieval.index import ExactIndex, VectorIndex
from powerstrip.retrieval.records import DocumentMeta, Filter, Scope

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from powerstrip.settings import Settings

__all__ = ["INDEX_KINDS", "AddedDocument", "Hit", "Query", "Retriever"]

INDEX_KINDS = ("auto", "exact", "hnsw")
DEFAULT_HNSW_MIN_VECTORS = 200_000

logger = logging.getLogger(__name__)

DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024
_MAX_TOP_K = 100
_POOL_FACTOR = 4  # each ranking offers this many times top_k candidates to the fusion
_MIN_POOL = 20
_HNSW_INLINE_ROWS = 256  # larger HNSW insertions go to a worker thread
_MAX_QUERY_SENTENCES = 8  # a pasted page as a query embeds its first sentences only


@dataclass(frozen=True)
class Query:
    """One search: its text, how many hits, and the metadata they must have."""

    text: str
    top_k: int = 5
    where: Filter = field(default_factory=Filter)


@dataclass(frozen=True)
class Hit:
    """A chunk found by a search, its document, and its fused score (higher is better)."""

    chunk_id: int
    text: str
    position: int
    score: float
    document: DocumentMeta


@dataclass(frozen=True)
class AddedDocument:
    """What adding a document did: `skipped` when the same content was already there."""

    external_id: str
    chunks: int
    skipped: bool = False


@dataclass
class _Partition:
    index: VectorIndex
    version: tuple[int, int] | None = None
    lock: anyio.Lock = field(default_factory=anyio.Lock)


class Retriever:
    """Documents in, ranked chunks out, over the store's documents and chunks tables."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        embedder: Embedder | None,
        *,
        chunk_tokens: int = DEFAULT_MAX_TOKENS,
        chunk_overlap: int = DEFAULT_OVERLAP,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        index: str = "auto",
        hnsw_min_vectors: int = DEFAULT_HNSW_MIN_VECTORS,
        hnsw_rescore: int = DEFAULT_HNSW_RESCORE,
        vector_weight: float = DEFAULT_VECTOR_WEIGHT,
    ) -> None:
        if index not in INDEX_KINDS:
            raise ValueError(f"index must be one of {', '.join(INDEX_KINDS)}, not {index!r}")
        if hnsw_rescore < 0:
            raise ValueError(f"hnsw_rescore must be at least 0, not {hnsw_rescore}")
        if not 0.0 <= vector_weight <= 1.0:
            raise ValueError(f"vector_weight must be from 0 to 1, not {vector_weight}")
        self._vector_weight = vector_weight
        self._index_kind = index
        self._hnsw_min_vectors = hnsw_min_vectors
        self._hnsw_rescore = hnsw_rescore
        self._sessions = sessions
        self._embedder = embedder
        self._chunk_tokens = chunk_tokens
        self._chunk_overlap = chunk_overlap
        self.max_file_bytes = max_file_bytes
        self._partitions: dict[Scope, _Partition] = {}

    @classmethod
    def from_settings(
        cls, sessions: async_sessionmaker[AsyncSession], settings: Settings
    ) -> Retriever:
        """A retriever with the embedder, chunking and size cap the settings choose."""
        return cls(
            sessions,
            make_embedder(settings),
            chunk_tokens=settings.retrieval_chunk_tokens,
            chunk_overlap=settings.retrieval_chunk_overlap,
            max_file_bytes=settings.retrieval_max_file_bytes,
            index=settings.retrieval_index,
            hnsw_min_vectors=settings.retrieval_hnsw_min_vectors,
            hnsw_rescore=settings.retrieval_hnsw_rescore,
            vector_weight=settings.retrieval_vector_weight,
        )

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """The store's sessions the retriever reads and writes with."""
        return self._sessions

    @property
    def embedder(self) -> Embedder | None:
        """The embedder in use; None in lexical-only mode."""
        return self._embedder

    async def start(self) -> None:
        """Build the in-memory index of every collection from the vectors in the store."""
        if self._embedder is None:
            return
        for scope in await records.scopes_with_vectors(self._sessions, self._embedder.name):
            await self._sync(scope)

    async def aclose(self) -> None:
        """Release the embedder."""
        if self._embedder is not None:
            await self._embedder.aclose()

    async def add_file(
        self,
        scope: Scope,
        path: Path,
        *,
        external_id: str | None = None,
        source: str | None = "file",
        source_id: str | None = None,
        url: str | None = None,
        author: str | None = None,
        created_at: datetime | None = None,
    ) -> AddedDocument:
        """Read, chunk, embed and store one file; a file already stored unchanged is skipped.

        `external_id` defaults to the file's absolute path, so adding it again replaces it.
        Metadata given here wins over what the file says about itself.
        """
        # Reading and parsing (a PDF, a DOCX) block: a worker thread does them.
        extracted, resolved = await anyio.to_thread.run_sync(self._read, path)
        return await self._add(
            scope,
            extracted,
            external_id=external_id or resolved,
            source=source,
            source_id=source_id,
            url=url,
            author=author,
            created_at=created_at,
        )

    def _read(self, path: Path) -> tuple[ExtractedText, str]:
        return read_file(path, max_bytes=self.max_file_bytes), str(path.resolve())

    async def add_text(
        self,
        scope: Scope,
        external_id: str,
        text: str,
        *,
        kind: str = "text",
        source: str | None = None,
        source_id: str | None = None,
        url: str | None = None,
        author: str | None = None,
        created_at: datetime | None = None,
    ) -> AddedDocument:
        """Chunk, embed and store a text given directly (an API upsert, a note)."""
        data = text.encode("utf-8")
        if len(data) > self.max_file_bytes:
            raise IngestError(
                f"the text is {len(data)} bytes, above the {self.max_file_bytes}-byte cap",
                where=external_id,
                fix="split it into several documents",
            )
        extracted = extract(data, kind, name=external_id)
        return await self._add(
            scope,
            extracted,
            external_id=external_id,
            source=source,
            source_id=source_id,
            url=url,
            author=author,
            created_at=created_at,
        )

    async def add_bytes(
        self,
        scope: Scope,
        external_id: str,
        data: bytes,
        *,
        filename: str,
        source: str | None = "file",
        source_id: str | None = None,
        url: str | None = None,
        author: str | None = None,
        created_at: datetime | None = None,
    ) -> AddedDocument:
        """Read, chunk, embed and store a file's bytes (an upload); `filename` gives its type."""
        if len(data) > self.max_file_bytes:
            raise IngestError(
                f"the file is {len(data)} bytes, above the {self.max_file_bytes}-byte cap",
                where=filename,
                fix="split it, or raise POWERSTRIP_RETRIEVAL_MAX_FILE_BYTES",
            )
        kind = kind_of(filename)
        extracted = await anyio.to_thread.run_sync(lambda: extract(data, kind, name=filename))
        return await self._add(
            scope,
            extracted,
            external_id=external_id,
            source=source,
            source_id=source_id,
            url=url,
            author=author,
            created_at=created_at,
        )

    async def delete(self, scope: Scope, where: Filter | None = None) -> int:
        """Delete the scope's documents matching `where` (all when None): how many went."""
        deleted = await records.delete_documents(self._sessions, scope, where)
        await self._sync(scope)
        return deleted

    async def documents(
        self, scope: Scope, where: Filter | None = None
    ) -> list[tuple[DocumentMeta, int]]:
        """The scope's documents (matching `where`), each with its number of chunks."""
        return await records.list_documents(self._sessions, scope, where)

    async def search(self, scope: Scope, queries: Sequence[Query]) -> list[list[Hit]]:
        """The best chunks of the scope for each query, best first."""
        for query in queries:
            if not 1 <= query.top_k <= _MAX_TOP_K:
                raise SearchError(
                    f"top_k must be from 1 to {_MAX_TOP_K}, not {query.top_k}",
                    where="query",
                    fix=f"ask for at most {_MAX_TOP_K} results",
                )
        results: list[list[Hit]] = []
        for query, (lexical, vector) in zip(
            queries, await self.candidates(scope, queries), strict=True
        ):
            weight = self._vector_weight if vector else 0.0
            fused = convex_fusion(lexical, vector, weight=weight)[: query.top_k]
            stored = await records.load_hits(self._sessions, scope, [i for i, _ in fused])
            results.append(
                [
                    Hit(
                        chunk_id=identifier,
                        text=stored[identifier].text,
                        position=stored[identifier].position,
                        score=score,
                        document=stored[identifier].document,
                    )
                    for identifier, score in fused
                    if identifier in stored  # deleted by another worker since ranking
                ]
            )
        return results

    async def candidates(
        self, scope: Scope, queries: Sequence[Query]
    ) -> list[tuple[dict[int, float], dict[int, float]]]:
        """Each query's candidate chunks, each scored by both rankers: (full-text, vector).

        The candidates are the best few (4 x top_k, at least 20) of each ranker; then each
        ranker scores the other's candidates too, so the fusion compares real scores, never a
        guess for a passage one ranker did not list. A chunk matching no word of the query has
        no full-text score (0). The vector scores are empty in lexical-only mode.
        """
        pools = [max(_MIN_POOL, query.top_k * _POOL_FACTOR) for query in queries]
        vector_side = await self._vector_candidates(scope, queries, pools)
        out: list[tuple[dict[int, float], dict[int, float]]] = []
        for query, pool, (vector, score_more) in zip(queries, pools, vector_side, strict=True):
            lexical = dict(
                await records.full_text_search(self._sessions, scope, query.text, pool, query.where)
            )
            unscored = [i for i in vector if i not in lexical]
            if unscored:
                lexical.update(
                    await records.full_text_search(
                        self._sessions, scope, query.text, len(unscored), among=unscored
                    )
                )
            vector.update(score_more([i for i in lexical if i not in vector]))
            out.append((lexical, vector))
        return out

    async def _vector_candidates(
        self, scope: Scope, queries: Sequence[Query], pools: Sequence[int]
    ) -> list[tuple[dict[int, float], _Scorer]]:
        """Each query's best chunks by vector similarity, and a scorer of any other chunks."""
        if self._embedder is None or not queries:
            return [({}, _no_scores) for _ in queries]
        partition = await self._sync(scope)
        if len(partition.index) == 0:
            return [({}, _no_scores) for _ in queries]
        # Each query, then (for a question of several sentences) its sentences: one batch.
        texts = [query.text for query in queries]
        owners = list(range(len(queries)))
        for number, query in enumerate(queries):
            parts = sentences(query.text)
            if len(parts) > 1:
                texts.extend(parts[:_MAX_QUERY_SENTENCES])
                owners.extend([number] * min(len(parts), _MAX_QUERY_SENTENCES))
        vectors = await self._embedder.embed(texts)
        rows_of: list[list[int]] = [[] for _ in queries]
        for row, owner in enumerate(owners):
            rows_of[owner].append(row)
        index = partition.index
        found: list[list[list[tuple[int, float]]]] = [[] for _ in queries]
        if all(query.where.is_empty() for query in queries):
            # One pass over the vectors for the whole batch.
            for row, hits in enumerate(index.search(vectors, max(pools))):
                found[owners[row]].append(hits[: pools[owners[row]]])
        else:
            for number, (query, pool) in enumerate(zip(queries, pools, strict=True)):
                allowed = None
                if not query.where.is_empty():
                    allowed = await records.filtered_chunk_ids(self._sessions, scope, query.where)
                found[number] = index.search(vectors[rows_of[number]], pool, allowed=allowed)
        out: list[tuple[dict[int, float], _Scorer]] = []
        for number, pool in enumerate(pools):
            query_vectors = vectors[rows_of[number]]
            best: dict[int, float] = {}
            for hits in found[number]:
                for identifier, score in hits:
                    best[identifier] = max(score, best.get(identifier, score))
            # Each question vector's own top list may miss a chunk another one found: so the
            # candidates are scored again by every vector of the question, exactly.
            candidates = sorted(best, key=lambda i: -best[i])[:pool]
            scores = _best_scores(index, query_vectors, candidates)
            out.append((scores, _scorer(index, query_vectors)))
        return out

    async def _add(
        self,
        scope: Scope,
        extracted: ExtractedText,
        *,
        external_id: str,
        source: str | None,
        source_id: str | None,
        url: str | None,
        author: str | None,
        created_at: datetime | None,
    ) -> AddedDocument:
        if await records.unchanged(self._sessions, scope, external_id, extracted.sha256):
            return AddedDocument(external_id, 0, skipped=True)
        chunks = chunk_text(
            extracted.text, max_tokens=self._chunk_tokens, overlap=self._chunk_overlap
        )
        # Embedded before the transaction: a failing model leaves the store as it was.
        vectors = None
        if self._embedder is not None:
            vectors = await self._embedder.embed([chunk.text for chunk in chunks])
        meta = DocumentMeta(
            external_id=external_id,
            kind=extracted.kind,
            title=extracted.title,
            content_sha256=extracted.sha256,
            byte_count=extracted.byte_count,
            source=source,
            source_id=source_id,
            url=url,
            author=author or extracted.author,
            created_at=created_at or extracted.created_at,
        )
        await records.write_document(
            self._sessions,
            scope,
            meta,
            chunks,
            vectors,
            self._embedder.name if self._embedder else None,
        )
        await self._sync(scope)
        return AddedDocument(external_id, len(chunks))

    async def _sync(self, scope: Scope) -> _Partition:
        """Bring the scope's index in step with the store, loading only the difference.

        Every chunk written since the last sync has an id above the highest id seen then, so
        those are loaded first; if the index then holds as many vectors as the store, nothing
        was deleted (the common case: a batch of adds). Otherwise the ids are reconciled.
        """
        partition = self._partitions.get(scope)
        if partition is None:
            first: VectorIndex = (
                HnswIndex(rescore=self._hnsw_rescore)
                if self._index_kind == "hnsw"
                else ExactIndex()
            )
            partition = self._partitions.setdefault(scope, _Partition(first))
        if self._embedder is None:
            return partition
        name = self._embedder.name
        async with partition.lock:
            version = await records.scope_version(self._sessions, scope)
            if version == partition.version:
                return partition
            seen = partition.version[1] if partition.version else 0
            added = await records.chunk_ids(self._sessions, scope, name, after=seen)
            ids, vectors = await records.load_vectors(self._sessions, sorted(added))
            await _add_vectors(partition.index, ids, vectors)
            if len(partition.index) != await records.count_vectors(self._sessions, scope, name):
                stored = await records.chunk_ids(self._sessions, scope, name)
                partition.index.remove(partition.index.ids() - stored)
                missing = sorted(stored - partition.index.ids())
                ids, vectors = await records.load_vectors(self._sessions, missing)
                await _add_vectors(partition.index, ids, vectors)
            partition.version = version
            if (
                self._index_kind == "auto"
                and isinstance(partition.index, ExactIndex)
                and len(partition.index) >= self._hnsw_min_vectors
            ):
                # Once: the graph is built from the rows already in memory, off the event loop;
                # it keeps them to score its candidates with.
                exact = partition.index
                partition.index = await anyio.to_thread.run_sync(
                    functools.partial(HnswIndex.from_exact, exact, rescore=self._hnsw_rescore)
                )
                logger.info(
                    "retrieval index now hnsw user_id=%s collection=%s vectors=%d",
                    scope.user_id,
                    scope.collection,
                    len(partition.index),
                )
            logger.debug(
                "retrieval index in step user_id=%s collection=%s vectors=%d",
                scope.user_id,
                scope.collection,
                len(partition.index),
            )
        return partition


_Scorer = Callable[[list[int]], dict[int, float]]


def _no_scores(ids: list[int]) -> dict[int, float]:
    return {}


def _best_scores(
    index: VectorIndex, query_vectors: NDArray[np.float32], ids: list[int]
) -> dict[int, float]:
    """Each id's best similarity to any of the query's vectors."""
    if not ids:
        return {}
    best: dict[int, float] = {}
    allowed = np.asarray(ids, dtype=np.int64)
    for hits in index.search(query_vectors, len(ids), allowed=allowed):
        for identifier, score in hits:
            best[identifier] = max(score, best.get(identifier, score))
    return best


def _scorer(index: VectorIndex, query_vectors: NDArray[np.float32]) -> _Scorer:
    return lambda ids: _best_scores(index, query_vectors, ids)


async def _add_vectors(index: VectorIndex, ids: list[int], vectors: NDArray[np.float32]) -> None:
    """Add to an index; a large batch into an HNSW graph is built in a worker thread.

    Inserting into the graph costs far more than copying rows (a second per few thousand
    vectors): other collections' requests must not wait for it. usearch takes concurrent
    searches while it inserts; the exact index is only ever changed on the event loop.
    """
    if isinstance(index, HnswIndex) and len(ids) > _HNSW_INLINE_ROWS:
        await anyio.to_thread.run_sync(index.add, ids, vectors)
    else:
        index.add(ids, vectors)
