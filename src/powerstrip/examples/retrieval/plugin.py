"""The retrieval plugin: search over each user's own documents, built with the SDK.

The API is the public chatgpt-retrieval-plugin's: `POST /upsert`, `POST /upsert-file`
(multipart, like the original kept out of the model's spec), `POST /query` (several queries,
each with its `top_k` and filter) and `DELETE /delete` (by ids, by filter, or all), behind
`user_http` bearer auth as the original's manifest declares. Unlike the original's one shared
token, each user has a key of their own, and the key decides the collection: one per user.
Two flat operations, `add_note` and `search`, take one sentence each, which a model (or the
offline router) fills without building nested arrays.
"""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Annotated

from fastapi import APIRouter, FastAPI, Request
from fastapi import Query as QueryParam
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from powerstrip.examples.config import ExampleConfig
from powerstrip.examples.retrieval.models import (
    AddedNote,
    DeleteRequest,
    DeleteResponse,
    DocumentMetadata,
    NewNote,
    QueryRequest,
    QueryResponse,
    QueryResult,
    SearchResults,
    UpsertRequest,
    UpsertResponse,
)
from powerstrip.examples.retrieval.service import RetrievalService
from powerstrip.examples.todo.user_keys import UserKeys
from powerstrip.sdk import CallContext, Plugin, PluginError, UserAuth

__all__ = ["build_retrieval", "issue_retrieval_key"]

KEY_PREFIX = "retrieval_"
_FOR_MODEL = (
    "Searches the user's own documents (files, emails, notes) to find answers to questions and "
    "retrieve relevant information. Use it whenever the user asks something that might be "
    "found in their personal information. search finds passages for one question; query asks "
    "several questions at once with filters; add_note remembers something the user says; "
    "upsert stores whole documents with metadata; delete removes documents."
)
# Room for the multipart framing and the metadata field around the file itself.
_UPLOAD_OVERHEAD = 64 * 1024


def _keys(config: ExampleConfig) -> UserKeys:
    return UserKeys(config.database("retrieval-keys"), prefix=KEY_PREFIX)


def issue_retrieval_key(config: ExampleConfig, user_id: str) -> str:
    """Issue a new `retrieval` key for `user_id` (shown once: only its digest is stored)."""
    return _keys(config).issue(user_id)


def _owner(ctx: CallContext) -> str:
    # user_http always names a user; refuse rather than fall back to a shared collection.
    if not ctx.user_id:
        raise PluginError(401, "this operation needs a user key")
    return ctx.user_id


def build_retrieval(config: ExampleConfig) -> FastAPI:
    """`retrieval`: each user's documents, found by meaning and by words."""
    auth = UserAuth(validate=_keys(config).user_for)
    service = RetrievalService(config, config.retrieval_embedder)
    plugin = Plugin(
        name_for_model="retrieval",
        name_for_human="Retrieval",
        description_for_model=_FOR_MODEL,
        description_for_human="Search through your documents and notes.",
        contact_email=config.contact_email,
        auth=auth,
        rate_limit=config.rate_limit,
        host_origins=config.host_origins,
    )
    _add_operations(plugin, service)
    plugin.include_router(_upload_router(service, auth))
    return plugin.app()


def _add_operations(plugin: Plugin, service: RetrievalService) -> None:
    @plugin.post("/upsert", consequential=False)
    async def upsert(body: UpsertRequest, ctx: CallContext) -> UpsertResponse:
        """Store documents in the user's collection; a document with the same id is replaced.

        Each document is cut into passages of about 200 words and indexed for search by
        meaning and by words. The answer gives each document's id, in the order sent.
        """
        user = _owner(ctx)
        ids = [
            await service.upsert_text(user, document.text, document.id, document.metadata)
            for document in body.documents
        ]
        return UpsertResponse(ids=ids)

    @plugin.post("/query", consequential=False)
    async def query(body: QueryRequest, ctx: CallContext) -> QueryResponse:
        """Search the user's documents with several queries at once, each with its own filter.

        Each query returns its `top_k` best passages, best first; a filter (document id,
        source, author, date range) picks the documents searched before they are ranked.
        """
        asked = [(q.query, q.top_k, q.filter) for q in body.queries]
        found = await service.query(_owner(ctx), asked)
        return QueryResponse(
            results=[
                QueryResult(query=q.query, results=hits)
                for q, hits in zip(body.queries, found, strict=True)
            ]
        )

    @plugin.delete("/delete", consequential=True)
    async def delete(body: DeleteRequest, ctx: CallContext) -> DeleteResponse:
        """Delete documents from the user's collection: by ids, by filter, or all of them.

        Deleted text is gone from search at once and from the database file.
        """
        if not body.ids and body.filter is None and not body.delete_all:
            raise PluginError(400, "give ids, a filter, or delete_all: true")
        await service.delete(
            _owner(ctx), ids=body.ids, where=body.filter, everything=bool(body.delete_all)
        )
        return DeleteResponse(success=True)

    @plugin.post("/notes", consequential=False)
    async def add_note(body: NewNote, ctx: CallContext) -> AddedNote:
        """Remember a note the user tells you, to find it again later with search."""
        meta = DocumentMetadata(source="chat")
        return AddedNote(id=await service.upsert_text(_owner(ctx), body.text, None, meta))

    @plugin.get("/search", consequential=False)
    async def search(
        ctx: CallContext,
        query: Annotated[
            str,
            QueryParam(
                min_length=1,
                max_length=2000,
                description="The question or words to look for in the user's notes and documents.",
            ),
        ],
        top_k: Annotated[
            int, QueryParam(ge=1, le=20, description="How many passages to return.")
        ] = 3,
    ) -> SearchResults:
        """Find the passages of the user's notes and documents that answer a question."""
        [hits] = await service.query(_owner(ctx), [(query, top_k, None)])
        return SearchResults(results=hits)


def _upload_router(service: RetrievalService, auth: UserAuth) -> APIRouter:
    router = APIRouter()

    @router.post("/upsert-file")
    async def upsert_file(request: Request) -> UpsertResponse:
        """Store an uploaded file (multipart `file`, optional JSON `metadata` field)."""
        # The key is checked before the body is read: no stranger's upload is parsed.
        user = await auth.authenticate(request)
        if user is None:
            raise PluginError(401, "this operation needs a user key")
        cap = service.max_file_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap + _UPLOAD_OVERHEAD:
            raise PluginError(413, f"the upload is above the {cap}-byte cap")
        async with request.form(max_files=1, max_fields=4) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise PluginError(422, "send the file as the multipart field `file`")
            data = await upload.read(cap + 1)
            filename = PurePath(upload.filename).name  # a client's path is not ours
            metadata = form.get("metadata")
        if len(data) > cap:
            raise PluginError(413, f"the file {filename} is above the {cap}-byte cap")
        meta = None
        if isinstance(metadata, str) and metadata.strip():
            try:
                meta = DocumentMetadata.model_validate(json.loads(metadata))
            except (ValueError, ValidationError):
                raise PluginError(
                    422, "the metadata field must be a JSON object of DocumentMetadata"
                ) from None
        added = await service.upsert_file(user, data, filename, meta)
        return UpsertResponse(ids=[added.external_id])

    return router
