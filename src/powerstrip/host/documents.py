"""`Documents`: the acting user's document collections, for every edge (CLI, API, plugins).

Every call takes the acting user, and the user alone decides the collection searched or written:
no edge can name another user's collection. The embedding model loads when the service starts,
not with the host, so commands that never search pay nothing for it.

    documents = await Documents.start(host.sessions, host.settings)
    await documents.add_file(user, Path("paper.pdf"))
    hits = await documents.search(user, "what does the paper find?", top_k=3)
    await documents.aclose()
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from powerstrip.names import DEFAULT_COLLECTION

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from powerstrip.host.users import UserInfo
    from powerstrip.retrieval import AddedDocument, DocumentMeta, Filter, Hit, Retriever
    from powerstrip.settings import Settings

# powerstrip.retrieval (numpy, the model loaders) is imported when the service starts, not
# with the host: every CLI command and server start imports the host.

__all__ = ["DEFAULT_COLLECTION", "DocumentInfo", "Documents"]


@dataclass(frozen=True)
class DocumentInfo:
    """A document of a collection: its metadata and how many passages it was cut into."""

    document: DocumentMeta
    chunks: int


class Documents:
    """Add, search and delete documents in the acting user's collections."""

    def __init__(self, retriever: Retriever) -> None:
        self._retriever = retriever

    @classmethod
    async def start(
        cls, sessions: async_sessionmaker[AsyncSession], settings: Settings
    ) -> Documents:
        """The service with the settings' embedder, its indexes built from the store."""
        from powerstrip.retrieval import Retriever

        retriever = Retriever.from_settings(sessions, settings)
        await retriever.start()
        return cls(retriever)

    @property
    def max_file_bytes(self) -> int:
        """The largest file `add_file` accepts."""
        return self._retriever.max_file_bytes

    async def add_file(
        self, user: UserInfo, path: Path, *, collection: str = DEFAULT_COLLECTION
    ) -> AddedDocument:
        """Index one file in the user's collection (skipped when already there unchanged)."""
        from powerstrip.retrieval import Scope

        return await self._retriever.add_file(Scope(user.id, collection), path)

    async def add_text(
        self,
        user: UserInfo,
        external_id: str,
        text: str,
        *,
        kind: str = "text",
        source: str | None = None,
        author: str | None = None,
        url: str | None = None,
        created_at: datetime | None = None,
        collection: str = DEFAULT_COLLECTION,
    ) -> AddedDocument:
        """Index a text given directly (a note, an API upload's text); the same id replaces.

        `kind` is `text`, `markdown` or `html`; the title comes from the text's first heading.
        """
        from powerstrip.retrieval import Scope

        return await self._retriever.add_text(
            Scope(user.id, collection),
            external_id,
            text,
            kind=kind,
            source=source,
            author=author,
            url=url,
            created_at=created_at,
        )

    async def add_bytes(
        self,
        user: UserInfo,
        external_id: str,
        data: bytes,
        *,
        filename: str,
        source: str | None = "file",
        collection: str = DEFAULT_COLLECTION,
    ) -> AddedDocument:
        """Index an uploaded file's bytes; `filename`'s suffix says its type (.pdf, .docx...)."""
        from powerstrip.retrieval import Scope

        return await self._retriever.add_bytes(
            Scope(user.id, collection), external_id, data, filename=filename, source=source
        )

    async def list_documents(
        self, user: UserInfo, where: Filter | None = None, *, collection: str = DEFAULT_COLLECTION
    ) -> list[DocumentInfo]:
        """The user's documents in the collection (matching `where`), by external id."""
        from powerstrip.retrieval import Scope

        found = await self._retriever.documents(Scope(user.id, collection), where)
        return [DocumentInfo(document, chunks) for document, chunks in found]

    async def search(
        self,
        user: UserInfo,
        query: str,
        *,
        top_k: int = 5,
        where: Filter | None = None,
        collection: str = DEFAULT_COLLECTION,
    ) -> list[Hit]:
        """The user's best chunks for `query`."""
        from powerstrip.retrieval import Filter, Query, Scope

        [hits] = await self._retriever.search(
            Scope(user.id, collection), [Query(query, top_k, where or Filter())]
        )
        return hits

    async def delete(
        self, user: UserInfo, where: Filter | None = None, *, collection: str = DEFAULT_COLLECTION
    ) -> int:
        """Delete the user's documents matching `where` (all of the collection when None)."""
        from powerstrip.retrieval import Scope

        return await self._retriever.delete(Scope(user.id, collection), where)

    async def delete_ids(
        self, user: UserInfo, external_ids: Sequence[str], *, collection: str = DEFAULT_COLLECTION
    ) -> int:
        """Delete the user's documents of these ids (unknown ids are skipped): how many went.

        Deleted text leaves search at once, and (on SQLite) the database file: see
        docs/retrieval.md.
        """
        from powerstrip.retrieval import Filter

        if not external_ids:
            return 0
        return await self.delete(
            user, Filter(external_ids=tuple(external_ids)), collection=collection
        )

    async def aclose(self) -> None:
        """Release the embedding model."""
        await self._retriever.aclose()
