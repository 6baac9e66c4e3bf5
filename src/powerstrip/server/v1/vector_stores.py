"""`/v1/vector_stores`: stores, their files and file batches, and search, over host.documents."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from powerstrip.server.deps import CurrentHost
from powerstrip.server.v1.access import CurrentCaller
from powerstrip.server.v1.wire import Paging

__all__ = ["router"]

router = APIRouter(tags=["vector_stores"])

JSONObject = dict[str, Any]  # Any: JSON
_Id = Annotated[str, Field(min_length=1, max_length=64)]


class ExpiresAfter(BaseModel):
    """OpenAI's expiry policy of a store: kept and shown, never applied (stores never expire)."""

    anchor: Literal["last_active_at"]
    days: int = Field(ge=1, le=365)


class NewStore(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str | None = Field(default=None, max_length=256)
    file_ids: list[_Id] = Field(default_factory=list, max_length=500)
    metadata: dict[str, str] | None = None
    expires_after: ExpiresAfter | None = None
    chunking_strategy: JSONObject | None = None
    description: str | None = Field(default=None, max_length=512)


class StoreChanges(BaseModel):
    name: str | None = Field(default=None, max_length=256)
    metadata: dict[str, str] | None = None
    expires_after: ExpiresAfter | None = None


class NewStoreFile(BaseModel):
    file_id: _Id
    attributes: JSONObject | None = None
    chunking_strategy: JSONObject | None = None


class FileAttributes(BaseModel):
    attributes: JSONObject


class NewBatch(BaseModel):
    file_ids: list[_Id] = Field(default_factory=list, max_length=500)
    files: list[JSONObject] = Field(default_factory=list, max_length=500)
    attributes: JSONObject | None = None
    chunking_strategy: JSONObject | None = None


class Search(BaseModel):
    model_config = ConfigDict(extra="allow")

    query: str | list[str]
    max_num_results: int = Field(default=10, ge=1, le=50)
    filters: JSONObject | None = None
    ranking_options: JSONObject | None = None
    rewrite_query: bool = False


@router.post("/vector_stores", summary="Create a vector store")
async def create_store(body: NewStore, host: CurrentHost, caller: CurrentCaller) -> Any:
    return await host.openai.vector_stores.create(
        caller.user,
        name=body.name,
        file_ids=body.file_ids,
        metadata=body.metadata,
        expires_after=body.expires_after.model_dump() if body.expires_after else None,
        chunking_strategy=body.chunking_strategy,
    )


@router.get("/vector_stores", summary="List vector stores")
async def list_stores(host: CurrentHost, caller: CurrentCaller, paging: Paging) -> Any:
    return (await host.openai.vector_stores.page(caller.user, paging)).as_json()


@router.get("/vector_stores/{store_id}", summary="Retrieve a vector store")
async def get_store(store_id: str, host: CurrentHost, caller: CurrentCaller) -> Any:
    return await host.openai.vector_stores.get(caller.user, store_id)


@router.post("/vector_stores/{store_id}", summary="Modify a vector store")
async def modify_store(
    store_id: str, body: StoreChanges, host: CurrentHost, caller: CurrentCaller
) -> Any:
    changes = body.model_dump(exclude_unset=True)
    return await host.openai.vector_stores.modify(caller.user, store_id, changes)


@router.delete("/vector_stores/{store_id}", summary="Delete a vector store")
async def delete_store(store_id: str, host: CurrentHost, caller: CurrentCaller) -> Any:
    return await host.openai.vector_stores.delete(caller.user, store_id)


@router.post("/vector_stores/{store_id}/search", summary="Search a vector store")
async def search_store(
    store_id: str, body: Search, host: CurrentHost, caller: CurrentCaller
) -> Any:
    query = body.query if isinstance(body.query, str) else " ".join(body.query)
    threshold = float((body.ranking_options or {}).get("score_threshold") or 0.0)
    hits = await host.openai.vector_stores.search(
        caller.user,
        [store_id],
        query,
        max_num_results=body.max_num_results,
        filters=body.filters,
        score_threshold=threshold,
    )
    return {
        "object": "vector_store.search_results.page",
        "search_query": [query],
        "data": [
            {key: value for key, value in hit.items() if key != "vector_store_id"} for hit in hits
        ],
        "has_more": False,
        "next_page": None,
    }


@router.post("/vector_stores/{store_id}/files", summary="Add a file to a vector store")
async def add_file(
    store_id: str, body: NewStoreFile, host: CurrentHost, caller: CurrentCaller
) -> Any:
    return await host.openai.vector_stores.add_file(
        caller.user,
        store_id,
        body.file_id,
        attributes=body.attributes,
        chunking_strategy=body.chunking_strategy,
    )


@router.get("/vector_stores/{store_id}/files", summary="List a vector store's files")
async def list_files(
    store_id: str,
    host: CurrentHost,
    caller: CurrentCaller,
    paging: Paging,
    filter: Annotated[
        Literal["in_progress", "completed", "failed", "cancelled"] | None, Query()
    ] = None,
) -> Any:
    page = await host.openai.vector_stores.file_page(caller.user, store_id, paging, status=filter)
    return page.as_json()


@router.get("/vector_stores/{store_id}/files/{file_id}", summary="Retrieve a vector store file")
async def get_file(store_id: str, file_id: str, host: CurrentHost, caller: CurrentCaller) -> Any:
    return await host.openai.vector_stores.file(caller.user, store_id, file_id)


@router.post("/vector_stores/{store_id}/files/{file_id}", summary="Update a file's attributes")
async def update_file(
    store_id: str, file_id: str, body: FileAttributes, host: CurrentHost, caller: CurrentCaller
) -> Any:
    return await host.openai.vector_stores.update_file(
        caller.user, store_id, file_id, body.attributes
    )


@router.get(
    "/vector_stores/{store_id}/files/{file_id}/content", summary="Retrieve a file's parsed text"
)
async def file_content(
    store_id: str, file_id: str, host: CurrentHost, caller: CurrentCaller
) -> Any:
    return await host.openai.vector_stores.file_content(caller.user, store_id, file_id)


@router.delete("/vector_stores/{store_id}/files/{file_id}", summary="Remove a vector store file")
async def remove_file(store_id: str, file_id: str, host: CurrentHost, caller: CurrentCaller) -> Any:
    return await host.openai.vector_stores.remove_file(caller.user, store_id, file_id)


@router.post("/vector_stores/{store_id}/file_batches", summary="Create a file batch")
async def create_batch(
    store_id: str, body: NewBatch, host: CurrentHost, caller: CurrentCaller
) -> Any:
    return await host.openai.vector_stores.create_batch(
        caller.user,
        store_id,
        body.file_ids,
        files=body.files,
        attributes=body.attributes,
        chunking_strategy=body.chunking_strategy,
    )


@router.get("/vector_stores/{store_id}/file_batches/{batch_id}", summary="Retrieve a file batch")
async def get_batch(store_id: str, batch_id: str, host: CurrentHost, caller: CurrentCaller) -> Any:
    return await host.openai.vector_stores.batch(caller.user, store_id, batch_id)


@router.post(
    "/vector_stores/{store_id}/file_batches/{batch_id}/cancel", summary="Cancel a file batch"
)
async def cancel_batch(
    store_id: str, batch_id: str, host: CurrentHost, caller: CurrentCaller
) -> Any:
    return await host.openai.vector_stores.cancel_batch(caller.user, store_id, batch_id)


@router.get(
    "/vector_stores/{store_id}/file_batches/{batch_id}/files", summary="List a batch's files"
)
async def batch_files(
    store_id: str,
    batch_id: str,
    host: CurrentHost,
    caller: CurrentCaller,
    paging: Paging,
    filter: Annotated[
        Literal["in_progress", "completed", "failed", "cancelled"] | None, Query()
    ] = None,
) -> Any:
    await host.openai.vector_stores.batch(caller.user, store_id, batch_id)
    page = await host.openai.vector_stores.file_page(
        caller.user, store_id, paging, status=filter, batch_id=batch_id
    )
    return page.as_json()
