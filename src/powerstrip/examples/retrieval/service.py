"""The retrieval plugin's side of the engine: one store, one collection per plugin user.

The plugin is a service of its own, as a third party's would be: its documents live in its own
SQLite file (`DATA_DIR/retrieval.db`, the store's schema), never in the host's database. Each
user the plugin authenticates gets a row of that file's `users` table, and every read and write
is scoped to it by the engine (`Scope`), so no user ever retrieves another's text.

The store, the embedding model and the indexes open on the first call, not when the app is
built: `powerstrip serve --with-examples` and `powerstrip check` never pay for the model.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

import anyio
import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from powerstrip.errors import PowerstripError
from powerstrip.examples.config import ExampleConfig
from powerstrip.examples.retrieval.models import (
    DocumentChunkMetadata,
    DocumentChunkWithScore,
    DocumentMetadata,
    DocumentMetadataFilter,
)
from powerstrip.sdk import PluginError
from powerstrip.store import User, create_engine, session_factory, transaction, upgrade

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from powerstrip.retrieval import AddedDocument, Filter, Hit, Retriever, Scope

__all__ = ["RetrievalService", "parse_date"]

EmbedderChoice = Literal["local", "lexical"]
_MAX_USERNAME = 64  # users.username


def parse_date(value: str | None, field: str) -> datetime | None:
    """An ISO 8601 date or date-time, or Unix seconds, as an aware UTC datetime."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if text.lstrip("-").replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(text), UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise PluginError(
            422, f"{field} {value!r} is not a date: give ISO 8601 (2024-03-01) or Unix seconds"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _refused(exc: PowerstripError) -> PluginError:
    """An engine error as the plugin's answer: bad input is the caller's (4xx), else 503."""
    from powerstrip.errors import IngestError, SearchError

    if isinstance(exc, IngestError | SearchError):
        return PluginError(400, str(exc))
    return PluginError(503, f"the search engine is unavailable: {exc}")


class RetrievalService:
    """Add, search and delete documents of one plugin user at a time."""

    def __init__(self, config: ExampleConfig, embedder: EmbedderChoice) -> None:
        self._config = config
        self._embedder = embedder
        self._lock = anyio.Lock()
        self._retriever: Retriever | None = None
        self._engine: AsyncEngine | None = None
        self._owners: dict[str, int] = {}

    async def _ready(self) -> Retriever:
        if self._retriever is not None:
            return self._retriever
        async with self._lock:
            if self._retriever is None:
                self._retriever = await self._open()
        return self._retriever

    async def _open(self) -> Retriever:
        from powerstrip.retrieval import OnnxEmbedder, Retriever, packaged_model

        url = f"sqlite+aiosqlite:///{self._config.database('retrieval').resolve()}"
        await upgrade(url)
        self._engine = create_engine(url)
        embedder = None
        if self._embedder == "local":
            # A second of file reads and graph set-up: not on the event loop.
            embedder = await anyio.to_thread.run_sync(lambda: OnnxEmbedder(packaged_model()))
        retriever = Retriever(session_factory(self._engine), embedder)
        await retriever.start()
        return retriever

    async def scope(self, user_id: str) -> Scope:
        """The collection of the plugin user `user_id`, made on first use."""
        from powerstrip.retrieval import Scope

        retriever = await self._ready()
        known = self._owners.get(user_id)
        if known is not None:
            return Scope(known)
        # A long id becomes its digest: users.username holds 64 characters.
        username = user_id
        if len(username) > _MAX_USERNAME:
            username = "sha256:" + hashlib.sha256(user_id.encode()).hexdigest()[:48]
        sessions = retriever.sessions
        for _attempt in range(2):  # a concurrent first call may insert the same row
            async with sessions() as session:
                found = await session.scalar(select(User.id).where(User.username == username))
            if found is not None:
                self._owners[user_id] = found
                return Scope(found)
            try:
                async with transaction(sessions) as session:
                    row = User(username=username, display_name="retrieval plugin user")
                    session.add(row)
                    await session.flush()
                    self._owners[user_id] = row.id
                    return Scope(row.id)
            except IntegrityError:
                continue
        raise PluginError(503, "the plugin's user table is busy; try again")

    async def upsert_text(
        self, user_id: str, text: str, document_id: str | None, meta: DocumentMetadata | None
    ) -> str:
        """Store one text document; its id (made when not given)."""
        meta = meta or DocumentMetadata()
        retriever = await self._ready()
        scope = await self.scope(user_id)
        external_id = document_id or str(uuid.uuid4())
        try:
            await retriever.add_text(
                scope,
                external_id,
                text,
                source=meta.source,
                source_id=meta.source_id,
                url=meta.url,
                author=meta.author,
                created_at=parse_date(meta.created_at, "created_at"),
            )
        except PowerstripError as exc:
            raise _refused(exc) from None
        return external_id

    async def upsert_file(
        self, user_id: str, data: bytes, filename: str, meta: DocumentMetadata | None
    ) -> AddedDocument:
        """Store an uploaded file (text, Markdown, HTML, PDF, DOCX) under a new id."""
        meta = meta or DocumentMetadata(source="file")
        retriever = await self._ready()
        scope = await self.scope(user_id)
        try:
            return await retriever.add_bytes(
                scope,
                str(uuid.uuid4()),
                data,
                filename=filename,
                source=meta.source,
                source_id=meta.source_id,
                url=meta.url,
                author=meta.author,
                created_at=parse_date(meta.created_at, "created_at"),
            )
        except PowerstripError as exc:
            raise _refused(exc) from None

    @property
    def max_file_bytes(self) -> int:
        """The largest upload accepted (the engine's cap)."""
        from powerstrip.retrieval.engine import DEFAULT_MAX_FILE_BYTES

        return self._retriever.max_file_bytes if self._retriever else DEFAULT_MAX_FILE_BYTES

    async def query(
        self, user_id: str, queries: Sequence[tuple[str, int, DocumentMetadataFilter | None]]
    ) -> list[list[DocumentChunkWithScore]]:
        """The user's best passages for each (query, top_k, filter), best first."""
        from powerstrip.retrieval import Query

        retriever = await self._ready()
        scope = await self.scope(user_id)
        asked = [Query(text, top_k, to_filter(where)) for text, top_k, where in queries]
        try:
            found = await retriever.search(scope, asked)
        except PowerstripError as exc:
            raise _refused(exc) from None
        return [[_passage(hit) for hit in hits] for hits in found]

    async def delete(
        self,
        user_id: str,
        *,
        ids: Sequence[str] | None,
        where: DocumentMetadataFilter | None,
        everything: bool,
    ) -> int:
        """Delete the user's documents by ids, by filter, or all; how many went."""
        from powerstrip.retrieval import Filter

        retriever = await self._ready()
        scope = await self.scope(user_id)
        if everything:
            return await retriever.delete(scope, None)
        deleted = 0
        if ids:
            deleted += await retriever.delete(scope, Filter(external_ids=tuple(ids)))
        if where is not None:
            chosen = to_filter(where)
            if chosen.is_empty():
                raise PluginError(400, "the filter names no field; set delete_all to delete all")
            deleted += await retriever.delete(scope, chosen)
        return deleted


def to_filter(where: DocumentMetadataFilter | None) -> Filter:
    """The API's filter as the engine's."""
    from powerstrip.retrieval import Filter

    if where is None:
        return Filter()
    return Filter(
        external_ids=(where.document_id,) if where.document_id else (),
        source=where.source,
        source_id=where.source_id,
        author=where.author,
        start_date=parse_date(where.start_date, "start_date"),
        end_date=parse_date(where.end_date, "end_date"),
    )


def _passage(hit: Hit) -> DocumentChunkWithScore:
    document = hit.document
    source = document.source if document.source in ("email", "file", "chat") else None
    return DocumentChunkWithScore(
        id=str(hit.chunk_id),
        text=hit.text,
        score=round(hit.score, 6),
        metadata=DocumentChunkMetadata(
            document_id=document.external_id,
            source=source,
            source_id=document.source_id,
            url=document.url,
            author=document.author,
            created_at=document.created_at.isoformat() if document.created_at else None,
        ),
    )
