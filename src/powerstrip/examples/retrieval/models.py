"""The retrieval plugin's request and response bodies: the public chatgpt-retrieval-plugin's.

Field names and shapes follow that plugin's `models/api.py` and `models/models.py`, so a client
written for it (a script calling `/upsert`, `/query`, `/delete`) works here unchanged. Two small
bodies (`NewNote`, `SearchResults`) serve the flat `add_note` and `search` operations, which a
model (or the offline router) can fill from one sentence.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = [
    "AddedNote",
    "DeleteRequest",
    "DeleteResponse",
    "Document",
    "DocumentChunkMetadata",
    "DocumentChunkWithScore",
    "DocumentMetadata",
    "DocumentMetadataFilter",
    "NewNote",
    "Query",
    "QueryRequest",
    "QueryResponse",
    "QueryResult",
    "SearchResults",
    "Source",
    "UpsertRequest",
    "UpsertResponse",
]

Source = Literal["email", "file", "chat"]
_DATE = (
    "A date or date and time in ISO 8601 (2024-03-01, 2024-03-01T09:30:00Z), or seconds since "
    "1970 (Unix time)."
)


class DocumentMetadata(BaseModel):
    """What is known about a document besides its text."""

    source: Source | None = Field(default=None, description="Where the document comes from.")
    source_id: str | None = Field(
        default=None, max_length=255, description="The document's id in its source."
    )
    url: str | None = Field(default=None, max_length=2000, description="Where the original is.")
    created_at: str | None = Field(default=None, description=f"When it was written. {_DATE}")
    author: str | None = Field(default=None, max_length=255, description="Who wrote it.")


class Document(BaseModel):
    """A document to store: its text, an optional id (replacing a document of that id)."""

    id: str | None = Field(
        default=None,
        min_length=1,
        max_length=1024,
        description="The document's id; a new one is made when absent. The same id replaces.",
    )
    text: str = Field(min_length=1, description="The document's text.")
    metadata: DocumentMetadata | None = None


class UpsertRequest(BaseModel):
    """Documents to add or replace."""

    documents: list[Document] = Field(min_length=1, max_length=100)


class UpsertResponse(BaseModel):
    """The ids of the documents stored, in the order given."""

    ids: list[str]


class DocumentMetadataFilter(BaseModel):
    """Metadata every result must have; fields left out do not filter."""

    document_id: str | None = Field(default=None, description="Only this document's passages.")
    source: Source | None = None
    source_id: str | None = None
    author: str | None = None
    start_date: str | None = Field(default=None, description=f"Written on or after. {_DATE}")
    end_date: str | None = Field(default=None, description=f"Written on or before. {_DATE}")


class Query(BaseModel):
    """One search: what to look for, how many passages, and a filter."""

    query: str = Field(min_length=1, max_length=2000, description="What to look for.")
    filter: DocumentMetadataFilter | None = None
    top_k: int = Field(default=3, ge=1, le=100, description="How many passages to return.")


class QueryRequest(BaseModel):
    """Several searches, answered at once."""

    queries: list[Query] = Field(min_length=1, max_length=20)


class DocumentChunkMetadata(DocumentMetadata):
    """A passage's document metadata, and the document's id."""

    document_id: str = Field(description="The id of the document the passage comes from.")


class DocumentChunkWithScore(BaseModel):
    """A passage found, best first; a higher score is a better match."""

    id: str = Field(description="The passage's id.")
    text: str
    metadata: DocumentChunkMetadata
    score: float


class QueryResult(BaseModel):
    """The passages found for one query."""

    query: str
    results: list[DocumentChunkWithScore]


class QueryResponse(BaseModel):
    """One result per query, in the order asked."""

    results: list[QueryResult]


class DeleteRequest(BaseModel):
    """What to delete: documents by id, the documents a filter matches, or everything."""

    ids: list[str] | None = Field(default=None, description="The ids of documents to delete.")
    filter: DocumentMetadataFilter | None = None
    delete_all: bool | None = Field(default=False, description="Delete every document.")


class DeleteResponse(BaseModel):
    """Whether the deletion ran (true even when nothing matched)."""

    success: bool


class NewNote(BaseModel):
    """A note the user wants remembered."""

    text: str = Field(min_length=1, max_length=20_000, description="The note, as the user said it.")


class AddedNote(BaseModel):
    """The note stored, and its document id."""

    id: str = Field(description="The note's document id; delete takes it.")


class SearchResults(BaseModel):
    """The passages found, best first."""

    results: list[DocumentChunkWithScore]
