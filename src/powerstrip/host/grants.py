""" "Always allow" grants (spec §5): per user and plugin, listed, revocable and expiring.

Only operations a plugin declared `x-openai-isConsequential: false` may be granted; the
conversation service checks that before it adds one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, bindparam, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.errors import NotFoundError
from powerstrip.store import Grant, Plugin, transaction, upsert, utcnow

__all__ = [
    "GrantInfo",
    "StoreGrants",
    "add_grant",
    "list_grants",
    "put_grant",
    "revoke_grant",
]


@dataclass(frozen=True, slots=True)
class GrantInfo:
    """One "always allow", as the user's grant list shows it."""

    id: int
    plugin_id: int
    plugin_name: str
    operation_id: str
    created_at: datetime
    expires_at: datetime | None


def _unexpired() -> ColumnElement[bool]:
    """The grants still in force: no expiry, or one still ahead."""
    return or_(Grant.expires_at.is_(None), Grant.expires_at > utcnow())


# The grants of a user for some plugins, still in force: read once when a turn starts.
_GRANTED = select(Grant.plugin_id, Grant.operation_id).where(
    Grant.user_id == bindparam("user_id"),
    Grant.plugin_id.in_(bindparam("plugin_ids", expanding=True)),
    or_(Grant.expires_at.is_(None), Grant.expires_at > bindparam("now")),
)


class StoreGrants:
    """The runtime's `GrantChecker` for one user.

    `load` reads the user's grants for a turn's plugins once, in a read the turn makes
    anyway; a turn then asks about each call without a query of its own. Without it, each
    question is a query.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], user_id: int) -> None:
        self.sessions = sessions
        self.user_id = user_id
        self._held: set[tuple[int, str]] | None = None

    def load(self, connection: Connection, plugin_ids: Sequence[int]) -> None:
        """Hold the user's grants in force for these plugins, read on `connection` (in the
        turn's read job, `store.read_job`)."""
        rows = connection.execute(
            _GRANTED,
            {"user_id": self.user_id, "plugin_ids": list(plugin_ids), "now": utcnow()},
        )
        self._held = {(plugin_id, operation_id) for plugin_id, operation_id in rows}

    def note(self, plugin_id: int, operation_id: str) -> None:
        """A grant just written (the user's "always allow" in this turn)."""
        if self._held is not None:
            self._held.add((plugin_id, operation_id))

    async def allowed(self, plugin_id: str, operation_id: str) -> bool:
        if self._held is not None:
            return (int(plugin_id), operation_id) in self._held
        async with self.sessions() as session:
            found = await session.scalar(
                select(Grant.id).where(
                    Grant.user_id == self.user_id,
                    Grant.plugin_id == int(plugin_id),
                    Grant.operation_id == operation_id,
                    _unexpired(),
                )
            )
        return found is not None


async def add_grant(
    sessions: async_sessionmaker[AsyncSession],
    user_id: int,
    plugin_id: int,
    operation_id: str,
    ttl_days: int,
) -> None:
    """Grant (or renew) "always allow" for one operation; `ttl_days=0` lasts until revoked."""
    async with transaction(sessions) as session:
        await put_grant(session, user_id, plugin_id, operation_id, ttl_days)


async def put_grant(
    session: AsyncSession, user_id: int, plugin_id: int, operation_id: str, ttl_days: int
) -> None:
    """Grant (or renew) "always allow" within the caller's transaction.

    An upsert: two conversations of one user may "always allow" the same operation at the same
    moment, and the grant that already exists is success, renewed, never a refused write.
    """
    now = utcnow()
    await upsert(
        session,
        Grant,
        {
            "user_id": user_id,
            "plugin_id": plugin_id,
            "operation_id": operation_id,
            "created_at": now,
            "expires_at": now + timedelta(days=ttl_days) if ttl_days else None,
        },
        key=("user_id", "plugin_id", "operation_id"),
        update=("created_at", "expires_at"),
    )


async def list_grants(sessions: async_sessionmaker[AsyncSession], user_id: int) -> list[GrantInfo]:
    """The user's grants that have not expired, newest first."""
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Grant, Plugin.name_for_model)
                .join(Plugin, Plugin.id == Grant.plugin_id)
                .where(
                    Grant.user_id == user_id,
                    _unexpired(),
                )
                .order_by(Grant.created_at.desc())
            )
        ).all()
    return [
        GrantInfo(g.id, g.plugin_id, name, g.operation_id, g.created_at, g.expires_at)
        for g, name in rows
    ]


async def revoke_grant(
    sessions: async_sessionmaker[AsyncSession], user_id: int, grant_id: int
) -> None:
    """Revoke one of the user's grants; another user's grant is "not found"."""
    async with transaction(sessions) as session:
        result = await session.execute(
            delete(Grant).where(Grant.id == grant_id, Grant.user_id == user_id)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise NotFoundError(
                f"no grant with id {grant_id}",
                where="grants",
                fix="list your grants to see their ids",
            )
