"""`Replays`: `Idempotency-Key`, so a retried create never makes a second object.

The first request with a key reserves it (one row, in one transaction: a second request racing
it finds the row); its answer is kept when it ends, and a later request with the same key and
the same body gets that answer again, byte for byte, streamed ones included. The same key with
another body is refused. Keys are the user's own (two users may use one key) and are kept a day.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.errors import RegistryError
from powerstrip.host.users import UserInfo
from powerstrip.store import ApiReplay, transaction, utcnow

__all__ = ["Replay", "Replays"]

_KEPT = timedelta(days=1)
_MAX_KEPT_BYTES = 4_000_000


@dataclass(frozen=True, slots=True)
class Replay:
    """The kept answer of an earlier request with the same key."""

    status: int
    media_type: str
    body: bytes


class Replays:
    """Reserve, keep and replay answers by idempotency key."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @staticmethod
    def ref(key: str, route: str) -> str:
        return hashlib.sha256(f"{route}\n{key}".encode()).hexdigest()

    async def reserve(self, user: UserInfo, ref: str, body: bytes) -> Replay | None:
        """None: this request is the first with the key and must be answered (then `keep`).

        A Replay: the answer to give again. RegistryError (409) while the first is still being
        answered, or when the key came with another body.
        """
        digest = hashlib.sha256(body).hexdigest()
        # Looked for and reserved in one write transaction: SQLite's writers queue, so two
        # requests racing with one key see each other; on PostgreSQL the primary key refuses
        # the second insert (a 503 the client retries into a replay).
        async with transaction(self.sessions) as session:
            await session.execute(delete(ApiReplay).where(ApiReplay.created_at < utcnow() - _KEPT))
            row = (
                await session.execute(
                    select(ApiReplay).where(
                        ApiReplay.user_id == user.id, ApiReplay.retry_ref == ref
                    )
                )
            ).scalar_one_or_none()
            if row is None:
                session.add(ApiReplay(user_id=user.id, retry_ref=ref, body_sha256=digest))
                return None
        if row.body_sha256 != digest:
            raise RegistryError(
                "this Idempotency-Key was used with another request body",
                where="Idempotency-Key header",
                fix="use a new key for a new request",
            )
        if row.status == 0 or row.body is None:
            raise RegistryError(
                "a request with this Idempotency-Key is still being answered",
                where="Idempotency-Key header",
                fix="retry once the first request has finished",
            )
        return Replay(row.status, row.media_type, row.body)

    async def keep(
        self, user: UserInfo, ref: str, status: int, media_type: str, body: bytes
    ) -> None:
        """Keep the answer for replays; an answer too large to keep, or a server error, frees
        the key instead, so a retry is answered afresh."""
        async with transaction(self.sessions) as session:
            row = (
                await session.execute(
                    select(ApiReplay).where(
                        ApiReplay.user_id == user.id, ApiReplay.retry_ref == ref
                    )
                )
            ).scalar_one_or_none()
            if row is None:
                return
            if status >= 500 or len(body) > _MAX_KEPT_BYTES:
                await session.delete(row)
                return
            row.status = status
            row.media_type = media_type[:100]
            row.body = body

    async def release(self, user: UserInfo, ref: str) -> None:
        """Free a key whose request ended without an answer."""
        async with transaction(self.sessions) as session:
            await session.execute(
                delete(ApiReplay).where(ApiReplay.user_id == user.id, ApiReplay.retry_ref == ref)
            )
