"""Retrieval's reads and writes in the store: documents, chunks, vectors and full-text search.

Every statement is scoped by a `Scope` (user and collection), so no query here can return another
user's row. A document and its chunks are written in one transaction, replacing any document of
the same `external_id`: a crash part-way leaves the old document or the new one, never half of
one. The full-text index (migration 0006) follows the chunks by itself: FTS5 triggers on SQLite,
an expression index on PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import ColumnElement, delete, func, literal_column, select, table, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.retrieval.chunking import Chunk as TextChunk
from powerstrip.store import Chunk, Document, transaction

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "DocumentMeta",
    "Filter",
    "Scope",
    "StoredHit",
    "chunk_ids",
    "count_vectors",
    "delete_documents",
    "filtered_chunk_ids",
    "full_text_search",
    "list_documents",
    "load_hits",
    "load_vectors",
    "scope_version",
    "scopes_with_vectors",
    "unchanged",
    "write_document",
]

_WORD = re.compile(r"\w+")
_MAX_QUERY_WORDS = 64  # a pasted page as a query must not become a 10,000-term OR
# Words too common to say anything: an OR over "in the" would rank any passage with "in the"
# first. PostgreSQL's `english` configuration drops these itself; FTS5 keeps every word.
_STOPWORD_TEXT = (
    "a about above after again against all am an and any are as at be because been before "
    "being below between both but by can could did do does doing down during each few for "
    "from further had has have having he her here hers herself him himself his how i if in "
    "into is it its itself just me more most my myself no nor not now of off on once only or "
    "other our ours ourselves out over own same she should so some such than that the their "
    "theirs them themselves then there these they this those through to too under until up "
    "very was we were what when where which while who whom why will with would you your yours "
    "yourself yourselves "
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True)
class Scope:
    """One user's collection: every retrieval read and write names one."""

    user_id: int
    collection: str = "default"


@dataclass(frozen=True)
class DocumentMeta:
    """What is known about a document besides its text."""

    external_id: str
    kind: str
    title: str
    content_sha256: str
    byte_count: int
    source: str | None = None
    source_id: str | None = None
    url: str | None = None
    author: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class Filter:
    """Metadata a hit must have; empty fields do not filter. Dates bound `created_at`."""

    external_ids: tuple[str, ...] = ()
    source: str | None = None
    source_id: str | None = None
    author: str | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None

    def is_empty(self) -> bool:
        """Whether the filter lets every document of the scope through."""
        return self == Filter()


@dataclass(frozen=True)
class StoredHit:
    """A chunk as search returns it, with its document's metadata."""

    chunk_id: int
    text: str
    position: int
    char_start: int
    char_end: int
    document: DocumentMeta = field(repr=False)


async def write_document(
    sessions: async_sessionmaker[AsyncSession],
    scope: Scope,
    meta: DocumentMeta,
    chunks: Sequence[TextChunk],
    vectors: NDArray[np.float32] | None,
    embedder: str | None,
) -> tuple[int, list[int]]:
    """Store a document and its chunks in one transaction; the document id and chunk ids."""
    async with transaction(sessions) as session:
        await session.execute(
            delete(Document).where(
                *_in_scope(Document, scope), Document.external_id == meta.external_id
            )
        )
        document = Document(
            user_id=scope.user_id,
            collection=scope.collection,
            external_id=meta.external_id,
            kind=meta.kind,
            title=meta.title,
            source=meta.source,
            source_id=meta.source_id,
            url=meta.url,
            author=meta.author,
            created_at=meta.created_at,
            content_sha256=meta.content_sha256,
            byte_count=meta.byte_count,
        )
        session.add(document)
        await session.flush()
        rows = [
            Chunk(
                document_id=document.id,
                user_id=scope.user_id,
                collection=scope.collection,
                position=chunk.position,
                text=chunk.text,
                char_start=chunk.char_start,
                char_end=chunk.char_end,
                token_count=chunk.token_count,
                embedder=embedder if vectors is not None else None,
                # Little-endian float32, whatever the machine: any worker can read it back.
                embedding=vectors[i].astype("<f4").tobytes() if vectors is not None else None,
            )
            for i, chunk in enumerate(chunks)
        ]
        session.add_all(rows)
        await session.flush()
        return document.id, [row.id for row in rows]


async def unchanged(
    sessions: async_sessionmaker[AsyncSession], scope: Scope, external_id: str, sha256: str
) -> bool:
    """Whether the scope already holds this document with exactly this content."""
    async with sessions() as session:
        found = await session.scalar(
            select(Document.id).where(
                *_in_scope(Document, scope),
                Document.external_id == external_id,
                Document.content_sha256 == sha256,
            )
        )
    return found is not None


async def delete_documents(
    sessions: async_sessionmaker[AsyncSession], scope: Scope, where: Filter | None
) -> int:
    """Delete the scope's documents matching `where` (all of them when None): how many went."""
    async with transaction(sessions) as session:
        conditions = list(_in_scope(Document, scope))
        if where is not None:
            conditions.extend(_document_filter(where))
        ids = list((await session.scalars(select(Document.id).where(*conditions))).all())
        if not ids:
            return 0
        # Chunks go by ON DELETE CASCADE, their full-text entries with them (triggers).
        await session.execute(delete(Document).where(Document.id.in_(ids)))
        sqlite = session.get_bind().dialect.name == "sqlite"
        if sqlite:
            # FTS5 records a deletion as a tombstone beside the old entries, which keep the
            # words; merging every segment into one drops them (secure_delete zeroes the pages).
            await session.execute(text("INSERT INTO chunks_fts(chunks_fts) VALUES ('optimize')"))
    if sqlite:
        await _checkpoint(sessions)
    return len(ids)


async def _checkpoint(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Copy the write-ahead log into the database and empty it.

    The log still holds the pages the document was written in, text included, until a
    checkpoint; TRUNCATE also cuts the file to nothing. A reader in another process may keep
    part of the log alive: the next checkpoint (SQLite runs one every 1000 pages) finishes it.
    """
    async with sessions() as session:
        await session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


async def list_documents(
    sessions: async_sessionmaker[AsyncSession], scope: Scope, where: Filter | None = None
) -> list[tuple[DocumentMeta, int]]:
    """The scope's documents matching `where`, each with its chunk count, by external id."""
    chunks = (
        select(Chunk.document_id, func.count(Chunk.id).label("chunks"))
        .where(*_in_scope(Chunk, scope))
        .group_by(Chunk.document_id)
        .subquery()
    )
    async with sessions() as session:
        result = await session.execute(
            select(Document, func.coalesce(chunks.c.chunks, 0))
            .outerjoin(chunks, chunks.c.document_id == Document.id)
            .where(*_in_scope(Document, scope), *_document_filter(where or Filter()))
            .order_by(Document.external_id)
        )
        return [(_meta(document), int(count)) for document, count in result.all()]


async def scope_version(
    sessions: async_sessionmaker[AsyncSession], scope: Scope
) -> tuple[int, int]:
    """(chunk count, highest chunk id) of the scope: it changes with every write to it.

    Chunk ids are never reused (AUTOINCREMENT), so a write always raises the highest id or
    lowers the count.
    """
    async with sessions() as session:
        row = (
            await session.execute(
                select(func.count(Chunk.id), func.coalesce(func.max(Chunk.id), 0)).where(
                    *_in_scope(Chunk, scope)
                )
            )
        ).one()
    return int(row[0]), int(row[1])


async def scopes_with_vectors(
    sessions: async_sessionmaker[AsyncSession], embedder: str
) -> list[Scope]:
    """Every scope holding vectors of `embedder`: the indexes to build at start."""
    async with sessions() as session:
        result = await session.execute(
            select(Chunk.user_id, Chunk.collection).where(Chunk.embedder == embedder).distinct()
        )
        return [Scope(user_id, collection) for user_id, collection in result.all()]


async def chunk_ids(
    sessions: async_sessionmaker[AsyncSession],
    scope: Scope,
    embedder: str,
    *,
    after: int = 0,
) -> set[int]:
    """The ids above `after` of the scope's chunks that hold a vector of `embedder`."""
    async with sessions() as session:
        result = await session.scalars(
            select(Chunk.id).where(
                *_in_scope(Chunk, scope), Chunk.embedder == embedder, Chunk.id > after
            )
        )
        return set(result.all())


async def count_vectors(
    sessions: async_sessionmaker[AsyncSession], scope: Scope, embedder: str
) -> int:
    """How many of the scope's chunks hold a vector of `embedder`."""
    async with sessions() as session:
        found = await session.scalar(
            select(func.count(Chunk.id)).where(*_in_scope(Chunk, scope), Chunk.embedder == embedder)
        )
    return int(found or 0)


async def load_vectors(
    sessions: async_sessionmaker[AsyncSession], ids: Sequence[int]
) -> tuple[list[int], NDArray[np.float32]]:
    """The vectors of these chunk ids, as (ids, matrix) in the same order."""
    found: list[int] = []
    rows: list[NDArray[np.float32]] = []
    async with sessions() as session:
        for start in range(0, len(ids), 500):  # bounded IN lists
            batch = ids[start : start + 500]
            result = await session.execute(
                select(Chunk.id, Chunk.embedding).where(Chunk.id.in_(batch))
            )
            for identifier, blob in result.all():
                if blob is not None:
                    found.append(identifier)
                    rows.append(np.frombuffer(blob, dtype="<f4"))
    matrix = np.vstack(rows).astype(np.float32) if rows else np.zeros((0, 0), dtype=np.float32)
    return found, np.ascontiguousarray(matrix)


async def filtered_chunk_ids(
    sessions: async_sessionmaker[AsyncSession], scope: Scope, where: Filter
) -> NDArray[np.int64]:
    """The ids of the scope's chunks whose document matches `where`."""
    async with sessions() as session:
        result = await session.scalars(
            select(Chunk.id)
            .join(Document, Document.id == Chunk.document_id)
            .where(*_in_scope(Chunk, scope), *_document_filter(where))
        )
        return np.array(result.all(), dtype=np.int64)


async def full_text_search(
    sessions: async_sessionmaker[AsyncSession],
    scope: Scope,
    query: str,
    limit: int,
    where: Filter | None = None,
    *,
    among: Sequence[int] | None = None,
) -> list[tuple[int, float]]:
    """Chunk ids with their full-text scores, best first: BM25 (SQLite FTS5) or `ts_rank_cd`.

    Any word of the query may match (an OR), so a question finds passages that share only some
    of its words; the ranking puts those sharing the rarer words first. Scores are positive
    (SQLite's `bm25()` is negated: higher is better); a chunk matching no word is not listed.
    `among` limits the search to these chunk ids (to score the other ranker's candidates).
    """
    words = _WORD.findall(query.lower())
    # A query of stopwords only ("who is it?") still searches for them rather than for nothing.
    words = ([w for w in words if w not in _STOPWORDS] or words)[:_MAX_QUERY_WORDS]
    if not words or (among is not None and len(among) == 0):
        return []
    conditions = [*_in_scope(Chunk, scope), *_document_filter(where or Filter())]
    if among is not None:
        conditions.append(Chunk.id.in_(list(among)))
    async with sessions() as session:
        dialect = session.get_bind().dialect.name
        if dialect == "sqlite":
            statement = _sqlite_match(words, conditions, limit)
        else:
            statement = _postgres_match(words, conditions, limit)
        result = await session.execute(statement)
        return [(int(identifier), float(score)) for identifier, score in result.all()]


def _sqlite_match(words: list[str], conditions: list[ColumnElement[bool]], limit: int) -> Any:
    # Any: a Select of two columns; spelling its generic type adds nothing here.
    fts = table("chunks_fts", literal_column("rowid"))
    # Each word quoted: FTS5 syntax (AND, NEAR, *, :) in user text is searched for, not run.
    match = " OR ".join(f'"{word}"' for word in dict.fromkeys(words))
    return (
        select(Chunk.id, literal_column("-bm25(chunks_fts)"))
        .select_from(fts)
        .join(Chunk, Chunk.id == literal_column("chunks_fts.rowid"))
        .join(Document, Document.id == Chunk.document_id)
        .where(text("chunks_fts MATCH :match").bindparams(match=match), *conditions)
        .order_by(text("bm25(chunks_fts)"), Chunk.id)
        .limit(limit)
    )


def _postgres_match(words: list[str], conditions: list[ColumnElement[bool]], limit: int) -> Any:
    # The same expression as the GIN index of migration 0006, so the index serves the match.
    vector = func.to_tsvector(literal_column("'english'::regconfig"), Chunk.text)
    query = func.to_tsquery(
        literal_column("'english'::regconfig"), " | ".join(dict.fromkeys(words))
    )
    rank = func.ts_rank_cd(vector, query)
    return (
        select(Chunk.id, rank)
        .join(Document, Document.id == Chunk.document_id)
        .where(vector.op("@@")(query), *conditions)
        .order_by(rank.desc(), Chunk.id)
        .limit(limit)
    )


async def load_hits(
    sessions: async_sessionmaker[AsyncSession], scope: Scope, ids: Sequence[int]
) -> dict[int, StoredHit]:
    """The chunks of these ids that belong to the scope, with their documents, by id."""
    if not ids:
        return {}
    async with sessions() as session:
        result = await session.execute(
            select(Chunk, Document)
            .join(Document, Document.id == Chunk.document_id)
            .where(*_in_scope(Chunk, scope), Chunk.id.in_(list(ids)))
        )
        return {
            chunk.id: StoredHit(
                chunk_id=chunk.id,
                text=chunk.text,
                position=chunk.position,
                char_start=chunk.char_start,
                char_end=chunk.char_end,
                document=_meta(document),
            )
            for chunk, document in result.all()
        }


def _meta(document: Document) -> DocumentMeta:
    return DocumentMeta(
        external_id=document.external_id,
        kind=document.kind,
        title=document.title,
        content_sha256=document.content_sha256,
        byte_count=document.byte_count,
        source=document.source,
        source_id=document.source_id,
        url=document.url,
        author=document.author,
        created_at=document.created_at,
    )


def _in_scope(model: type[Chunk] | type[Document], scope: Scope) -> list[ColumnElement[bool]]:
    return [model.user_id == scope.user_id, model.collection == scope.collection]


def _document_filter(where: Filter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if where.external_ids:
        conditions.append(Document.external_id.in_(where.external_ids))
    if where.source is not None:
        conditions.append(Document.source == where.source)
    if where.source_id is not None:
        conditions.append(Document.source_id == where.source_id)
    if where.author is not None:
        conditions.append(Document.author == where.author)
    if where.start_date is not None:
        conditions.append(Document.created_at >= where.start_date)
    if where.end_date is not None:
        conditions.append(Document.created_at <= where.end_date)
    return conditions
