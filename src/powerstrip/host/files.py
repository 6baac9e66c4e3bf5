"""`Files`: the files a user uploads through `/v1/files`, their listing rows and their bytes.

A file is OpenAI's file object (`file-...`) plus its bytes, kept in the store (so every process
on one database serves them). Deleting one also takes it out of the user's vector stores, whose
search would otherwise cite a file that no longer exists.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.errors import InvalidInputError, NotFoundError
from powerstrip.host.api_objects import ApiObjects, Page, PageRequest, new_id, now
from powerstrip.host.users import UserInfo
from powerstrip.store import ApiFileContent, transaction

__all__ = ["FILE_PURPOSES", "Files"]

FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
_NAME_LIMIT = 255

JSON = dict[str, Any]  # Any: OpenAI's JSON


class Files:
    """Upload, list, read and delete a user's files."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], objects: ApiObjects, max_bytes: int
    ) -> None:
        self.sessions = sessions
        self.objects = objects
        self.max_bytes = max_bytes

    async def upload(self, user: UserInfo, filename: str, content: bytes, purpose: str) -> JSON:
        """Keep the file; its object says its size, name and purpose."""
        if purpose not in FILE_PURPOSES:
            raise InvalidInputError(
                f"purpose {purpose!r} is not one of {', '.join(FILE_PURPOSES)}",
                where="purpose",
                fix="use `assistants` or `user_data` for files to search",
            )
        if len(content) > self.max_bytes:
            raise InvalidInputError(
                f"the file is {len(content)} bytes, above the {self.max_bytes}-byte cap",
                where="file",
                fix="upload a smaller file (the admin sets POWERSTRIP_RETRIEVAL_MAX_FILE_BYTES)",
            )
        name = (filename or "upload").replace("\\", "/").rsplit("/", 1)[-1][:_NAME_LIMIT]
        data: JSON = {
            "id": new_id("file-"),
            "object": "file",
            "bytes": len(content),
            "created_at": now(),
            "filename": name or "upload",
            "purpose": purpose,
            "status": "processed",
            "status_details": None,
            "expires_at": None,
        }
        async with transaction(self.sessions) as session:
            session.add(ApiFileContent(file_id=data["id"], user_id=user.id, content=content))
        await self.objects.create(user, "file", data)
        return data

    async def page(self, user: UserInfo, request: PageRequest, purpose: str | None = None) -> Page:
        keep = None if purpose is None else (lambda data: data.get("purpose") == purpose)
        return await self.objects.page(user, "file", request, keep=keep)

    async def get(self, user: UserInfo, file_id: str) -> JSON:
        return await self.objects.get(user, "file", file_id)

    async def content(self, user: UserInfo, file_id: str) -> tuple[JSON, bytes]:
        """The file's object and its bytes."""
        data = await self.get(user, file_id)
        async with self.sessions() as session:
            content = (
                await session.execute(
                    select(ApiFileContent.content).where(
                        ApiFileContent.file_id == file_id, ApiFileContent.user_id == user.id
                    )
                )
            ).scalar_one_or_none()
        if content is None:
            raise NotFoundError(
                f"the content of {file_id} is gone", where="file", fix="upload the file again"
            )
        return data, content

    async def delete(self, user: UserInfo, file_id: str) -> JSON:
        await self.objects.delete(user, "file", file_id)
        async with transaction(self.sessions) as session:
            await session.execute(
                delete(ApiFileContent).where(
                    ApiFileContent.file_id == file_id, ApiFileContent.user_id == user.id
                )
            )
        return {"id": file_id, "object": "file", "deleted": True}
