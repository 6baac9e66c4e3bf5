"""The acting user's documents as a list, and one document's text: what MCP resources offer.

Reads the store only (no embedding model), so an MCP server can list and read documents without
loading the retrieval engine. Another user's document is "not found".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.errors import NotFoundError
from powerstrip.host.documents import DEFAULT_COLLECTION
from powerstrip.host.users import UserInfo
from powerstrip.store import Chunk, Document

__all__ = [
    "DocumentListing",
    "DocumentText",
    "list_documents",
    "read_document",
    "read_passages",
]

_LIST_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class DocumentListing:
    """One document of a collection, without its text."""

    id: int
    collection: str
    external_id: str
    title: str
    kind: str
    byte_count: int
    added_at: datetime


@dataclass(frozen=True, slots=True)
class DocumentText:
    """A document and its text, put back together from its chunks."""

    info: DocumentListing
    text: str


def _info(row: Document) -> DocumentListing:
    return DocumentListing(
        row.id, row.collection, row.external_id, row.title, row.kind, row.byte_count, row.added_at
    )


async def list_documents(
    sessions: async_sessionmaker[AsyncSession],
    user: UserInfo,
    *,
    collection: str = DEFAULT_COLLECTION,
) -> list[DocumentListing]:
    """The user's documents in `collection`, newest first (at most 1000)."""
    async with sessions() as session:
        rows = (
            await session.scalars(
                select(Document)
                .where(Document.user_id == user.id, Document.collection == collection)
                .order_by(Document.added_at.desc(), Document.id.desc())
                .limit(_LIST_LIMIT)
            )
        ).all()
    return [_info(row) for row in rows]


async def read_document(
    sessions: async_sessionmaker[AsyncSession], user: UserInfo, document_id: int
) -> DocumentText:
    """One of the user's documents with its text; NotFoundError for any other."""
    async with sessions() as session:
        row = await session.get(Document, document_id)
        if row is None or row.user_id != user.id:
            raise NotFoundError(
                f"no document {document_id}",
                where="documents",
                fix="list your documents to see their ids",
            )
        chunks = (
            await session.execute(
                select(Chunk.text, Chunk.char_start)
                .where(Chunk.document_id == document_id)
                .order_by(Chunk.position)
            )
        ).all()
        info = _info(row)
    return DocumentText(info, _joined(chunks))


async def read_passages(
    sessions: async_sessionmaker[AsyncSession],
    user: UserInfo,
    external_id: str,
    *,
    collection: str = DEFAULT_COLLECTION,
) -> list[str]:
    """A document's text in the pieces it was indexed in, each without the text it repeats of
    the one before (joined, they are the document's text); [] for a document not there."""
    async with sessions() as session:
        chunks = (
            await session.execute(
                select(Chunk.text, Chunk.char_start)
                .join(Document, Document.id == Chunk.document_id)
                .where(
                    Document.user_id == user.id,
                    Document.collection == collection,
                    Document.external_id == external_id,
                )
                .order_by(Chunk.position)
            )
        ).all()
    passages: list[str] = []
    end = 0
    for piece, start in chunks:
        fresh = piece[max(0, end - start) :]
        end = max(end, start + len(piece))
        if fresh:
            passages.append(fresh)
    return passages


def _joined(chunks: Sequence[Row[str, int]]) -> str:
    """The text the chunks were cut from: consecutive chunks overlap, so each adds its tail."""
    text = ""
    for piece, start in chunks:
        overlap = len(text) - start
        if overlap <= 0:
            text += ("\n" if text else "") + piece
        elif overlap < len(piece):
            text += piece[overlap:]
    return text
