"""`Uploads`: OpenAI's Uploads API, a file sent in parts and put together into one `/v1/files` file.

    upload = await uploads.create(user, filename="big.pdf", purpose="assistants", size=n,
                                  mime_type="application/pdf")
    part = await uploads.add_part(user, upload["id"], first_bytes)
    done = await uploads.complete(user, upload["id"], [part["id"], ...])  # done["file"]

An upload is `pending` until completed (its parts, in the order the caller lists them, become
a file of `host.files`, with the upload's name and purpose), cancelled, or expired (an hour
after it was made, as OpenAI's). A part's bytes wait in the store under the part's id and go
when the upload ends, whichever way. The whole file is capped like any file
(`POWERSTRIP_RETRIEVAL_MAX_FILE_BYTES`), and the caller says its size up front.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.errors import InvalidInputError
from powerstrip.host.api_objects import ApiObjects, new_id, now
from powerstrip.host.files import FILE_PURPOSES, Files
from powerstrip.host.users import UserInfo
from powerstrip.store import ApiFileContent, transaction

__all__ = ["UPLOAD_LIFETIME_SECONDS", "Uploads"]

JSON = dict[str, Any]  # Any: OpenAI's JSON

UPLOAD_LIFETIME_SECONDS = 3600
_MAX_PARTS = 10_000


class Uploads:
    """Create, fill, complete and cancel a user's uploads."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], objects: ApiObjects, files: Files
    ) -> None:
        self.sessions = sessions
        self.objects = objects
        self.files = files

    async def create(
        self,
        user: UserInfo,
        *,
        filename: str,
        purpose: str,
        size: int,
        mime_type: str,
    ) -> JSON:
        """A `pending` upload of a file of `size` bytes."""
        if purpose not in FILE_PURPOSES:
            raise InvalidInputError(
                f"purpose {purpose!r} is not one of {', '.join(FILE_PURPOSES)}",
                where="purpose",
                fix="use `assistants` or `user_data` for files to search",
            )
        if not 0 < size <= self.files.max_bytes:
            raise InvalidInputError(
                f"an upload of {size} bytes is not from 1 to the {self.files.max_bytes}-byte cap",
                where="bytes",
                fix="upload a smaller file (the admin sets POWERSTRIP_RETRIEVAL_MAX_FILE_BYTES)",
            )
        await self._purge_expired(user)
        created = now()
        data: JSON = {
            "id": new_id("upload_"),
            "object": "upload",
            "bytes": size,
            "created_at": created,
            "expires_at": created + UPLOAD_LIFETIME_SECONDS,
            "filename": filename,
            "purpose": purpose,
            "status": "pending",
            "file": None,
            "_mime_type": mime_type,
        }
        return _public(await self.objects.create(user, "upload", data))

    async def add_part(self, user: UserInfo, upload_id: str, content: bytes) -> JSON:
        """Keep one part's bytes; it counts once `complete` lists it."""
        upload = await self._pending(user, upload_id)
        if not content:
            raise InvalidInputError(
                "the part is empty", where="data", fix="send some of the file's bytes"
            )
        parts = await self.objects.all(user, "upload_part", parent_id=upload_id)
        received = sum(int(part["_bytes"]) for part in parts)
        if len(parts) >= _MAX_PARTS or received + len(content) > int(upload["bytes"]):
            raise InvalidInputError(
                f"this part would bring the upload to {received + len(content)} bytes, "
                f"more than the {upload['bytes']} it was created for",
                where="data",
                fix="send only the file's bytes, or create an upload of the right size",
            )
        part: JSON = {
            "id": new_id("part_"),
            "object": "upload.part",
            "created_at": now(),
            "upload_id": upload_id,
            "_bytes": len(content),
        }
        async with transaction(self.sessions) as session:
            session.add(ApiFileContent(file_id=part["id"], user_id=user.id, content=content))
        await self.objects.create(user, "upload_part", part, parent_id=upload_id)
        return _public(part)

    async def complete(
        self, user: UserInfo, upload_id: str, part_ids: Sequence[str], md5: str | None = None
    ) -> JSON:
        """Put the listed parts together, in that order, into a file: the upload's `file`."""
        upload = await self._pending(user, upload_id)
        parts = {
            part["id"]: part
            for part in await self.objects.all(user, "upload_part", parent_id=upload_id)
        }
        unknown = [part_id for part_id in part_ids if part_id not in parts]
        if unknown or len(set(part_ids)) != len(part_ids):
            raise InvalidInputError(
                f"part_ids must name this upload's parts, each once; not {unknown or part_ids}",
                where="part_ids",
                fix="list the ids the parts were given when you added them, in order",
            )
        total = sum(int(parts[part_id]["_bytes"]) for part_id in part_ids)
        if total != int(upload["bytes"]):
            raise InvalidInputError(
                f"the listed parts hold {total} bytes, not the {upload['bytes']} of the upload",
                where="part_ids",
                fix="list every part of the file, or create an upload of the right size",
            )
        content = await self._content(user, part_ids)
        if md5 is not None and hashlib.md5(content, usedforsecurity=False).hexdigest() != md5:
            raise InvalidInputError(
                "the parts' bytes do not match the md5 checksum given",
                where="md5",
                fix="send the parts again, or check the checksum",
            )
        file = await self.files.upload(
            user, str(upload["filename"]), content, str(upload["purpose"])
        )
        await self._drop_parts(user, upload_id)
        done = await self.objects.update(
            user, "upload", upload_id, {"status": "completed", "file": file}
        )
        return _public(done)

    async def cancel(self, user: UserInfo, upload_id: str) -> JSON:
        """Cancel a pending upload; its parts are deleted."""
        await self._pending(user, upload_id)
        await self._drop_parts(user, upload_id)
        return _public(
            await self.objects.update(user, "upload", upload_id, {"status": "cancelled"})
        )

    # -- building blocks ---------------------------------------------------------------------

    async def _pending(self, user: UserInfo, upload_id: str) -> JSON:
        upload = await self.objects.get(user, "upload", upload_id)
        if upload["status"] == "pending" and now() >= int(upload["expires_at"]):
            await self._drop_parts(user, upload_id)
            upload = await self.objects.update(user, "upload", upload_id, {"status": "expired"})
        if upload["status"] != "pending":
            raise InvalidInputError(
                f"upload {upload_id} is {upload['status']}, no longer pending",
                where="upload",
                fix="create a new upload",
            )
        return upload

    async def _content(self, user: UserInfo, part_ids: Sequence[str]) -> bytes:
        async with self.sessions() as session:
            rows = await session.execute(
                select(ApiFileContent.file_id, ApiFileContent.content).where(
                    ApiFileContent.user_id == user.id, ApiFileContent.file_id.in_(list(part_ids))
                )
            )
            found = {part_id: content for part_id, content in rows.all()}
        return b"".join(found[part_id] for part_id in part_ids)

    async def _drop_parts(self, user: UserInfo, upload_id: str) -> None:
        parts = await self.objects.all(user, "upload_part", parent_id=upload_id)
        async with transaction(self.sessions) as session:
            await session.execute(
                delete(ApiFileContent).where(
                    ApiFileContent.user_id == user.id,
                    ApiFileContent.file_id.in_([part["id"] for part in parts]),
                )
            )
        await self.objects.delete_children(user, "upload_part", upload_id)

    async def _purge_expired(self, user: UserInfo) -> None:
        """The parts of the user's uploads that expired unfinished, deleted."""
        for upload in await self.objects.all(user, "upload"):
            if upload["status"] == "pending" and now() >= int(upload["expires_at"]):
                await self._drop_parts(user, upload["id"])
                await self.objects.update(user, "upload", upload["id"], {"status": "expired"})


def _public(upload: JSON) -> JSON:
    return {key: value for key, value in upload.items() if not key.startswith("_")}
