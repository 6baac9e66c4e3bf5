"""`/v1/files`: upload, list, retrieve, download and delete the caller's files."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response

from powerstrip.server.deps import CurrentHost
from powerstrip.server.v1.access import CurrentCaller
from powerstrip.server.v1.wire import Paging

__all__ = ["router"]

router = APIRouter(tags=["files"])


@router.post("/files", summary="Upload a file")
async def upload_file(
    host: CurrentHost,
    caller: CurrentCaller,
    file: Annotated[UploadFile, File()],
    purpose: Annotated[str, Form(max_length=32)],
) -> Any:
    content = await file.read(host.openai.files.max_bytes + 1)
    return await host.openai.files.upload(caller.user, file.filename or "", content, purpose)


@router.get("/files", summary="List files")
async def list_files(
    host: CurrentHost,
    caller: CurrentCaller,
    paging: Paging,
    purpose: Annotated[str | None, Query(max_length=32)] = None,
) -> Any:
    page = await host.openai.files.page(caller.user, paging, purpose)
    return page.as_json()


@router.get("/files/{file_id}", summary="Retrieve a file")
async def retrieve_file(file_id: str, host: CurrentHost, caller: CurrentCaller) -> Any:
    return await host.openai.files.get(caller.user, file_id)


@router.get("/files/{file_id}/content", summary="Retrieve a file's content")
async def file_content(file_id: str, host: CurrentHost, caller: CurrentCaller) -> Response:
    data, content = await host.openai.files.content(caller.user, file_id)
    name = str(data["filename"]).replace('"', "")
    return Response(
        content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.delete("/files/{file_id}", summary="Delete a file")
async def delete_file(file_id: str, host: CurrentHost, caller: CurrentCaller) -> Any:
    return await host.openai.files.delete(caller.user, file_id)
