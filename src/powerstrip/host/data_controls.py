"""A user's control of their data (spec §9): the history switch, and deleting what is kept.

- The **history switch** (on by default) decides how a conversation starts: one started while
  it is off is marked so for good (`conversations.history_enabled`), left out of every list,
  reachable by its id for its owner while it lives, and deleted by the retention job
  (`host/retention.py`) once it is older than `POWERSTRIP_RETENTION_DAYS`.
- **Deleting** all conversations or the whole account needs a confirmation: `confirm` must be
  the user's own name, so a stray request or a mistyped command deletes nothing. Deleting the
  account removes every row of the user (API tokens, installs, sealed credentials and OAuth
  tokens, grants, documents, exports, feedback, conversations) in one transaction; plugins the
  user registered as a developer stay, no longer linked to them.

Every method takes the acting user: nobody reaches another user's settings or data here.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.errors import InvalidInputError, NotFoundError
from powerstrip.host.data_rows import delete_conversation_rows
from powerstrip.host.users import UserInfo
from powerstrip.store import (
    ApiToken,
    Call,
    Chunk,
    Credential,
    Document,
    Export,
    Feedback,
    Grant,
    Install,
    OAuthState,
    Registration,
    User,
    transaction,
)
from powerstrip.store import Conversation as ConversationRow

__all__ = ["DataControls", "DataSettings", "DeletionReport"]

logger = logging.getLogger(__name__)

_EMAIL = re.compile(r"^[^@\s<>,;\"]{1,64}@[^@\s<>,;\"]{1,253}$")
_EMAIL_LIMIT = 320


@dataclass(frozen=True, slots=True)
class DataSettings:
    """What a user chose about their data, and what the host keeps."""

    history_enabled: bool
    email: str | None
    retention_days: int


@dataclass(frozen=True, slots=True)
class DeletionReport:
    """How many rows a deletion removed, per table (never what they held)."""

    counts: dict[str, int]


class DataControls:
    """The history switch and the deletions; one per process."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        retention_days: int,
        on_deleted: Callable[[Iterable[str]], None] | None = None,
        on_account_deleted: Callable[[], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.retention_days = retention_days
        self._on_deleted = on_deleted
        # The account's API tokens went with it: cached owners of tokens must go too.
        self._on_account_deleted = on_account_deleted

    async def settings(self, user: UserInfo) -> DataSettings:
        async with self.sessions() as session:
            row = await _user_row(session, user)
            return self._settings(row)

    async def update(
        self,
        user: UserInfo,
        *,
        history_enabled: bool | None = None,
        email: str | None = None,
        clear_email: bool = False,
    ) -> DataSettings:
        """Flip the history switch and set (or clear) the e-mail export links go to.

        The switch applies to conversations started from now on; one started before keeps
        the mark it started with.
        """
        address = None if email is None else _valid_email(email)
        async with transaction(self.sessions) as session:
            row = await _user_row(session, user)
            if history_enabled is not None:
                row.history_enabled = history_enabled
            if address is not None:
                row.email = address
            elif clear_email:
                row.email = None
            settings = self._settings(row)
        logger.info(
            "data.settings user=%s history_enabled=%s email_set=%s",
            user.id,
            settings.history_enabled,
            settings.email is not None,
        )
        return settings

    async def delete_conversations(self, user: UserInfo, *, confirm: str) -> DeletionReport:
        """Delete every conversation of the user, listed or not, with all their rows."""
        _confirmed(user, confirm, "delete all your conversations")
        async with transaction(self.sessions) as session:
            ids = await _conversation_ids(session, user.id)
            counts = await delete_conversation_rows(session, ids)
        self._forget(ids)
        logger.info("data.deleted_conversations user=%s %s", user.id, _describe(counts))
        return DeletionReport(dict(counts))

    async def delete_account(self, user: UserInfo, *, confirm: str) -> DeletionReport:
        """Delete the account and every row that belongs to it; its API tokens stop working."""
        _confirmed(user, confirm, "delete your account")
        async with transaction(self.sessions) as session:
            await _user_row(session, user)
            ids = await _conversation_ids(session, user.id)
            counts = await delete_conversation_rows(session, ids)
            # Chunks before documents, credentials and OAuth states before installs: every
            # table is named, so nothing is left to a cascade SQLite might not apply.
            for model in (
                ApiToken,
                Call,
                Feedback,
                Export,
                Chunk,
                Document,
                Grant,
                OAuthState,
                Credential,
                Install,
            ):
                result = await session.execute(delete(model).where(model.user_id == user.id))
                counts[model.__tablename__] += result.rowcount  # type: ignore[attr-defined]
            # A plugin the user registered as its developer outlives the account, unlinked.
            await session.execute(
                update(Registration)
                .where(Registration.developer_id == user.id)
                .values(developer_id=None)
            )
            await session.execute(delete(User).where(User.id == user.id))
            counts["users"] += 1
        if self._on_account_deleted is not None:
            self._on_account_deleted()
        await self._scrub_free_pages()
        self._forget(ids)
        logger.info("data.deleted_account user=%s %s", user.id, _describe(counts))
        return DeletionReport(dict(counts))

    # -- building blocks ---------------------------------------------------------------------

    def _settings(self, row: User) -> DataSettings:
        return DataSettings(row.history_enabled, row.email, self.retention_days)

    def _forget(self, conversation_ids: Iterable[str]) -> None:
        if self._on_deleted is not None:
            self._on_deleted(conversation_ids)

    async def _scrub_free_pages(self) -> None:
        """On SQLite, move the deleted pages out of the write-ahead log into the file.

        `secure_delete` (set on every connection, store/engine.py) zeroes what a delete frees;
        the checkpoint writes those zeroed pages back and empties the log, so the deleted
        account's text is in neither file. A reader still open elsewhere may hold the log:
        then the next checkpoint does it.
        """
        async with self.sessions() as session:
            if session.get_bind().dialect.name != "sqlite":
                return
            await session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


async def _user_row(session: AsyncSession, user: UserInfo) -> User:
    row = await session.get(User, user.id)
    if row is None:
        raise NotFoundError(
            f"no user {user.username!r}", where="users", fix="the account was deleted"
        )
    return row


async def _conversation_ids(session: AsyncSession, user_id: int) -> list[str]:
    return list(
        (
            await session.execute(
                select(ConversationRow.id).where(ConversationRow.user_id == user_id)
            )
        ).scalars()
    )


def _confirmed(user: UserInfo, confirm: str, action: str) -> None:
    if confirm != user.username:
        raise InvalidInputError(
            f"to {action}, confirm with your user name; nothing was deleted",
            where="confirm",
            fix=f"send confirm equal to your user name, {user.username!r}",
        )


def _valid_email(value: str) -> str:
    address = value.strip()
    if len(address) > _EMAIL_LIMIT or not _EMAIL.fullmatch(address):
        raise InvalidInputError(
            "this is not an e-mail address",
            where="email",
            fix="give one address like ada@example.com, or clear it",
        )
    return address


def _describe(counts: Counter[str]) -> str:
    return " ".join(f"{name}={count}" for name, count in sorted(counts.items()))
