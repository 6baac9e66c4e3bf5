"""The OpenAI-compatible API's objects in the store, each owned by one user, paged as OpenAI pages.

Every read names the acting user: another user's object is "not found", exactly like one that
never existed, so no id leaks whose it is. Objects keep OpenAI's own JSON shape (`data`), and a
list walks one parent's children (a vector store's files, a conversation's items) in creation
order with OpenAI's cursor rules: `after`/`before` name an object of the list, `limit` is
1..100, `order` is `asc` or `desc`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.errors import InvalidInputError, NotFoundError
from powerstrip.host.users import UserInfo
from powerstrip.store import ApiObject, transaction

__all__ = ["ApiObjects", "Page", "PageRequest", "new_id", "now"]

# Any below: objects are OpenAI's JSON.
JSON = dict[str, Any]

_MAX_LIMIT = 100


def new_id(prefix: str) -> str:
    """An object id in OpenAI's style: `file-...`, `vs_...`, `resp_...`."""
    return f"{prefix}{secrets.token_hex(12)}"


def now() -> int:
    """OpenAI's timestamps: whole seconds since the epoch."""
    return int(time.time())


@dataclass(frozen=True, slots=True)
class PageRequest:
    """OpenAI's list parameters."""

    limit: int = 20
    order: Literal["asc", "desc"] = "desc"
    after: str | None = None
    before: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= _MAX_LIMIT:
            raise InvalidInputError(
                f"limit must be from 1 to {_MAX_LIMIT}, not {self.limit}",
                where="limit",
                fix=f"ask for at most {_MAX_LIMIT} objects a page",
            )


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: `{"object": "list", "data", "first_id", "last_id", "has_more"}`."""

    data: list[JSON]
    has_more: bool

    def as_json(self) -> JSON:
        return {
            "object": "list",
            "data": self.data,
            "first_id": self.data[0]["id"] if self.data else None,
            "last_id": self.data[-1]["id"] if self.data else None,
            "has_more": self.has_more,
        }


class ApiObjects:
    """Create, read, change, delete and page users' API objects."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def create(
        self,
        user: UserInfo,
        kind: str,
        data: JSON,
        *,
        parent_id: str | None = None,
        row_id: str | None = None,
    ) -> JSON:
        """Store `data` as the user's object of this kind, named by its `id` (or by `row_id`,
        for objects whose API id repeats under several parents: a file in two vector stores)."""
        async with transaction(self.sessions) as session:
            session.add(
                ApiObject(
                    id=row_id or data["id"],
                    user_id=user.id,
                    kind=kind,
                    parent_id=parent_id,
                    data=data,
                )
            )
        return data

    async def get(self, user: UserInfo, kind: str, object_id: str, *, what: str = "") -> JSON:
        """The user's object, or NotFoundError (also when it is someone else's)."""
        async with self.sessions() as session:
            row = await self._owned(session, user, kind, object_id, what)
            return dict(row.data)

    async def parent_of(self, user: UserInfo, kind: str, object_id: str) -> str | None:
        async with self.sessions() as session:
            row = await self._owned(session, user, kind, object_id, "")
            return row.parent_id

    async def find(self, user: UserInfo, kind: str, object_id: str) -> JSON | None:
        """The user's object, or None."""
        async with self.sessions() as session:
            row = await self._row(session, user, kind, object_id)
            return None if row is None else dict(row.data)

    async def update(self, user: UserInfo, kind: str, object_id: str, changes: JSON) -> JSON:
        """Merge `changes` into the object (top-level keys), in one transaction."""
        async with transaction(self.sessions) as session:
            row = await self._owned(session, user, kind, object_id, "")
            row.data = {**row.data, **changes}
            return dict(row.data)

    async def delete(self, user: UserInfo, kind: str, object_id: str) -> None:
        """Delete the object and the objects under it (its items, files, runs)."""
        async with transaction(self.sessions) as session:
            await self._owned(session, user, kind, object_id, "")
            await session.execute(
                delete(ApiObject).where(
                    ApiObject.user_id == user.id, ApiObject.parent_id == object_id
                )
            )
            await session.execute(
                delete(ApiObject).where(ApiObject.user_id == user.id, ApiObject.id == object_id)
            )

    async def delete_children(self, user: UserInfo, kind: str, parent_id: str) -> None:
        async with transaction(self.sessions) as session:
            await session.execute(
                delete(ApiObject).where(
                    ApiObject.user_id == user.id,
                    ApiObject.kind == kind,
                    ApiObject.parent_id == parent_id,
                )
            )

    async def page(
        self,
        user: UserInfo,
        kind: str,
        request: PageRequest,
        *,
        parent_id: str | None = None,
        keep: Any = None,  # Any: a predicate over JSON, applied before paging
        cursor_row: Any = None,  # Any: API id → row id, for objects named by `row_id`
    ) -> Page:
        """One page of the user's objects of `kind` (under `parent_id` when given)."""
        async with self.sessions() as session:
            query = select(ApiObject).where(ApiObject.user_id == user.id, ApiObject.kind == kind)
            if parent_id is not None:
                query = query.where(ApiObject.parent_id == parent_id)
            for cursor, newer in ((request.after, request.order == "asc"), (request.before, None)):
                if cursor is None:
                    continue
                anchor = await self._row(
                    session, user, kind, cursor if cursor_row is None else cursor_row(cursor)
                )
                if anchor is None:
                    raise NotFoundError(
                        f"no object {cursor} in this list",
                        where="after" if cursor == request.after else "before",
                        fix="pass an id from the list's previous page",
                    )
                if newer is None:  # `before`: the objects ahead of the cursor in this order
                    newer = request.order != "asc"
                query = query.where(
                    ApiObject.seq > anchor.seq if newer else ApiObject.seq < anchor.seq
                )
            query = query.order_by(
                ApiObject.seq.asc() if request.order == "asc" else ApiObject.seq.desc()
            )
            if keep is None:
                query = query.limit(request.limit + 1)
            rows: Sequence[ApiObject] = (await session.execute(query)).scalars().all()
        data = [dict(row.data) for row in rows if keep is None or keep(row.data)]
        return Page(data[: request.limit], len(data) > request.limit)

    async def all(self, user: UserInfo, kind: str, *, parent_id: str | None = None) -> list[JSON]:
        """Every object of `kind` under `parent_id`, oldest first."""
        async with self.sessions() as session:
            query = select(ApiObject.data).where(
                ApiObject.user_id == user.id, ApiObject.kind == kind
            )
            if parent_id is not None:
                query = query.where(ApiObject.parent_id == parent_id)
            rows = (await session.execute(query.order_by(ApiObject.seq))).scalars().all()
        return [dict(row) for row in rows]

    @staticmethod
    async def _row(
        session: AsyncSession, user: UserInfo, kind: str, object_id: str
    ) -> ApiObject | None:
        return (
            await session.execute(
                select(ApiObject).where(
                    ApiObject.id == object_id, ApiObject.user_id == user.id, ApiObject.kind == kind
                )
            )
        ).scalar_one_or_none()

    async def _owned(
        self, session: AsyncSession, user: UserInfo, kind: str, object_id: str, what: str
    ) -> ApiObject:
        row = await self._row(session, user, kind, object_id)
        if row is None:
            name = what or kind.replace("_", " ")
            raise NotFoundError(
                f"no {name} with id {object_id!r}",
                where=name,
                fix=f"list your {name}s to see their ids",
            )
        return row
