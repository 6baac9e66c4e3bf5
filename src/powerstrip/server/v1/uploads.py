"""`/v1/uploads`: a large file sent in parts, then completed into a `/v1/files` file."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from powerstrip.server.deps import CurrentHost
from powerstrip.server.v1.access import CurrentCaller

__all__ = ["PARTS_PATH", "router"]

router = APIRouter(tags=["uploads"])

# The path a part is sent to, below /v1: its body may be as big as a whole file.
PARTS_PATH = "/uploads/{upload_id}/parts"


class NewUpload(BaseModel):
    model_config = ConfigDict(extra="allow")

    filename: str = Field(min_length=1, max_length=255)
    purpose: str = Field(max_length=32)
    bytes: int = Field(ge=1)
    mime_type: str = Field(min_length=1, max_length=255)
    # Any: OpenAI's file expiry policy ({"anchor": "created_at", "seconds": n}); kept as given.
    expires_after: dict[str, Any] | None = None


class Completion(BaseModel):
    part_ids: list[Annotated[str, Field(max_length=64)]] = Field(min_length=1, max_length=10_000)
    md5: str | None = Field(default=None, max_length=64)


@router.post("/uploads", summary="Create an upload")
async def create_upload(body: NewUpload, host: CurrentHost, caller: CurrentCaller) -> Any:
    return await host.openai.uploads.create(
        caller.user,
        filename=body.filename,
        purpose=body.purpose,
        size=body.bytes,
        mime_type=body.mime_type,
    )


@router.post(PARTS_PATH, summary="Add a part to an upload")
async def add_part(
    upload_id: str,
    host: CurrentHost,
    caller: CurrentCaller,
    data: Annotated[UploadFile, File()],
) -> Any:
    content = await data.read(host.openai.files.max_bytes + 1)
    return await host.openai.uploads.add_part(caller.user, upload_id, content)


@router.post("/uploads/{upload_id}/complete", summary="Complete an upload into a file")
async def complete_upload(
    upload_id: str, body: Completion, host: CurrentHost, caller: CurrentCaller
) -> Any:
    return await host.openai.uploads.complete(caller.user, upload_id, body.part_ids, body.md5)


@router.post("/uploads/{upload_id}/cancel", summary="Cancel an upload")
async def cancel_upload(upload_id: str, host: CurrentHost, caller: CurrentCaller) -> Any:
    return await host.openai.uploads.cancel(caller.user, upload_id)
