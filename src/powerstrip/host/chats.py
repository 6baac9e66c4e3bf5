"""Conversations as a user has them: create, list, read, delete, and run turns with plugins.

This is what both the REST API and `powerstrip chat` call: a turn loads the history and the
enabled plugins from the store (each plugin's tools from the spec cache, revalidated), runs the
runtime's `Conversation` loop, and records everything through `StoreRecorder` as it happens.

Every method takes the acting user and refuses (as "not found") a conversation that is not
theirs, so no route can forget the ownership check.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from weakref import WeakValueDictionary

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.errors import NotFoundError, PowerstripError, RegistryError
from powerstrip.host.grants import StoreGrants, add_grant
from powerstrip.host.recorder import StoreRecorder, message_from_row
from powerstrip.host.users import UserInfo
from powerstrip.registry import Registry
from powerstrip.runtime import (
    ActivePlugin,
    ChatMessage,
    Conversation,
    ErrorEvent,
    Event,
    Executor,
    Model,
    TurnDone,
)
from powerstrip.runtime.headers import ephemeral_user_id
from powerstrip.settings import Settings
from powerstrip.store import (
    Approval,
    Call,
    ConversationPlugin,
    Message,
    transaction,
    utcnow,
)
from powerstrip.store import Conversation as ConversationRow

__all__ = ["ChatSummary", "ChatView", "Chats", "PendingApproval"]

logger = logging.getLogger(__name__)

_TITLE_LIMIT = 300


@dataclass(frozen=True, slots=True)
class ChatSummary:
    """One conversation in the user's list."""

    id: str
    title: str
    created_at: datetime
    updated_at: datetime
    plugin_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PendingApproval:
    """A call waiting for the user's decision."""

    call_id: str
    function_name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ChatView:
    """A conversation with its messages, and the calls awaiting approval if it is paused."""

    summary: ChatSummary
    messages: tuple[ChatMessage, ...]
    pending: tuple[PendingApproval, ...]


class Chats:
    """Runs users' conversations; one per process, shared by every request."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        registry: Registry,
        executor: Executor,
        model: Model,
        settings: Settings,
        ephemeral_secret: bytes,
    ) -> None:
        self.sessions = sessions
        self.registry = registry
        self.executor = executor
        self.model = model
        self.settings = settings
        self._ephemeral_secret = ephemeral_secret
        # One turn at a time per conversation in this process: two interleaved turns would
        # write one history in two orders.
        self._locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()

    # -- the list ----------------------------------------------------------------------------

    async def create(
        self, user: UserInfo, *, title: str = "", plugin_ids: tuple[int, ...] = ()
    ) -> ChatSummary:
        """Start a conversation with these plugins enabled; nothing is kept if one is refused."""
        async with transaction(self.sessions) as session:
            row = ConversationRow(user_id=user.id, title=title[:_TITLE_LIMIT])
            session.add(row)
            await session.flush()
            conversation_id = row.id
        try:
            for plugin_id in plugin_ids:
                await self.registry.enable(conversation_id, plugin_id)
        except PowerstripError:
            async with transaction(self.sessions) as session:
                await session.execute(
                    delete(ConversationRow).where(ConversationRow.id == conversation_id)
                )
            raise
        return await self._summary(user, conversation_id)

    async def list_chats(self, user: UserInfo) -> list[ChatSummary]:
        """The user's conversations, most recently active first."""
        async with self.sessions() as session:
            rows = (
                (
                    await session.execute(
                        select(ConversationRow)
                        .where(
                            ConversationRow.user_id == user.id,
                            ConversationRow.deleted_at.is_(None),
                        )
                        .order_by(ConversationRow.updated_at.desc())
                    )
                )
                .scalars()
                .all()
            )
            enabled = await self._enabled(session, [row.id for row in rows])
        return [_summary(row, enabled.get(row.id, ())) for row in rows]

    async def get(self, user: UserInfo, conversation_id: str) -> ChatView:
        """A conversation with its messages."""
        summary = await self._summary(user, conversation_id)
        history = await self._history(conversation_id)
        answered = {m.tool_call_id for m in history if m.role == "tool"}
        pending: tuple[PendingApproval, ...] = ()
        for message in reversed(history):
            if message.role == "assistant" and message.tool_calls:
                pending = tuple(
                    PendingApproval(call.id, call.name, call.arguments)
                    for call in message.tool_calls
                    if call.id not in answered
                )
                break
            if message.role in ("user", "assistant"):
                break
        return ChatView(summary, tuple(history), pending)

    async def rename(self, user: UserInfo, conversation_id: str, title: str) -> ChatSummary:
        async with transaction(self.sessions) as session:
            row = await self._owned(session, user, conversation_id)
            row.title = title[:_TITLE_LIMIT]
        return await self._summary(user, conversation_id)

    async def delete(self, user: UserInfo, conversation_id: str) -> None:
        """Delete a conversation with its messages, calls and approvals (spec §9)."""
        async with transaction(self.sessions) as session:
            row = await self._owned(session, user, conversation_id)
            await session.delete(row)
        logger.info("chats.delete user=%s conversation=%s", user.id, conversation_id)

    async def enable(self, user: UserInfo, conversation_id: str, plugin_id: int) -> ChatSummary:
        await self._summary(user, conversation_id)
        await self.registry.enable(conversation_id, plugin_id)
        return await self._summary(user, conversation_id)

    async def disable(self, user: UserInfo, conversation_id: str, plugin_id: int) -> ChatSummary:
        await self._summary(user, conversation_id)
        await self.registry.disable(conversation_id, plugin_id)
        return await self._summary(user, conversation_id)

    async def calls(self, user: UserInfo, conversation_id: str) -> list[dict[str, Any]]:
        """The call log of a conversation (redacted at write time), oldest first."""
        await self._summary(user, conversation_id)
        async with self.sessions() as session:
            rows = (
                (
                    await session.execute(
                        select(Call)
                        .where(Call.conversation_id == conversation_id)
                        .order_by(Call.started_at)
                    )
                )
                .scalars()
                .all()
            )
        return [call_record(row) for row in rows]

    # -- turns -------------------------------------------------------------------------------

    def send(self, user: UserInfo, conversation_id: str, text: str) -> AsyncIterator[Event]:
        """Run a turn for the user's message, streaming its events.

        Every failure after the stream started, even before the model is asked, comes out as
        an error event: a streamed HTTP answer has already said 200.
        """
        return _guarded(self._send(user, conversation_id, text), conversation_id)

    def resume(
        self,
        user: UserInfo,
        conversation_id: str,
        decisions: Mapping[str, bool],
        *,
        always_allow: frozenset[str] = frozenset(),
    ) -> AsyncIterator[Event]:
        """Continue a paused turn with the user's decisions (call id → approve?).

        `always_allow` names approved calls whose operation the user allows from now on; only
        operations declared `x-openai-isConsequential: false` may be (spec §5).
        """
        return _guarded(
            self._resume(user, conversation_id, decisions, always_allow), conversation_id
        )

    async def _send(self, user: UserInfo, conversation_id: str, text: str) -> AsyncIterator[Event]:
        async with self._lock(conversation_id):
            conversation = await self._conversation(user, conversation_id)
            if not any(m.role == "user" for m in conversation.history):
                await self._default_title(conversation_id, text)
            async for event in conversation.send(text):
                yield event

    async def _resume(
        self,
        user: UserInfo,
        conversation_id: str,
        decisions: Mapping[str, bool],
        always_allow: frozenset[str],
    ) -> AsyncIterator[Event]:
        async with self._lock(conversation_id):
            conversation = await self._conversation(user, conversation_id)
            pending = {call.id: call for call in conversation.pending_calls()}
            # Grants only with a complete answer: a refused resume must leave nothing behind.
            if pending and all(call_id in decisions for call_id in pending):
                for call_id in always_allow:
                    call = pending.get(call_id)
                    if call is not None and decisions[call_id]:
                        await self._grant(user, conversation, call.name)
            await self._record_decisions(conversation_id, decisions)
            async for event in conversation.resume(decisions):
                yield event

    # -- building blocks ---------------------------------------------------------------------

    def _lock(self, conversation_id: str) -> asyncio.Lock:
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[conversation_id] = lock
        return lock

    async def _conversation(self, user: UserInfo, conversation_id: str) -> Conversation:
        summary = await self._summary(user, conversation_id)
        # Each plugin's spec is revalidated with the plugin: concurrently, so a turn waits for
        # the slowest plugin, not the sum of them.
        plugins = await asyncio.gather(
            *(self._active(user, pid, conversation_id) for pid in summary.plugin_ids)
        )
        return Conversation(
            conversation_id=conversation_id,
            model=self.model,
            executor=self.executor,
            plugins=[plugin for plugin in plugins if plugin is not None],
            history=await self._history(conversation_id),
            recorder=StoreRecorder(self.sessions, conversation_id, user.id),
            grants=StoreGrants(self.sessions, user.id),
            subdivision=user.subdivision,
            max_steps=self.settings.max_steps,
        )

    async def _active(
        self, user: UserInfo, plugin_id: int, conversation_id: str
    ) -> ActivePlugin | None:
        try:
            cached = await self.registry.tools(plugin_id)
        except PowerstripError as exc:
            # A plugin whose spec cannot be had this turn is left out, not the whole turn.
            logger.warning(
                "chats.plugin_unavailable conversation=%s plugin=%s error=%s",
                conversation_id,
                plugin_id,
                exc.message,
            )
            return None
        return ActivePlugin(
            plugin_id=str(plugin_id),
            toolset=cached.toolset,
            description_for_model=cached.description_for_model,
            base_url=cached.api_base_url,
            credentials=self.registry.credential_source(user.id, plugin_id),
            ephemeral_user_id=ephemeral_user_id(
                self._ephemeral_secret, str(user.id), str(plugin_id)
            ),
        )

    async def _grant(self, user: UserInfo, conversation: Conversation, function_name: str) -> None:
        for plugin in conversation.plugins:
            if function_name in plugin.toolset:
                tool = plugin.toolset.lookup(function_name)
                if tool.consequential_declared is not False:
                    raise RegistryError(
                        f"{function_name} is consequential: it cannot be always allowed",
                        where=f"plugin {plugin.plugin_id}",
                        fix="approve this call without always_allow",
                    )
                await add_grant(
                    self.sessions,
                    user.id,
                    int(plugin.plugin_id),
                    tool.operation_id,
                    self.settings.grant_ttl_days,
                )
                return

    async def _record_decisions(self, conversation_id: str, decisions: Mapping[str, bool]) -> None:
        async with transaction(self.sessions) as session:
            rows = (
                (
                    await session.execute(
                        select(Approval).where(
                            Approval.conversation_id == conversation_id,
                            Approval.status == "pending",
                        )
                    )
                )
                .scalars()
                .all()
            )
            for row in rows:
                if row.tool_call_id in decisions:
                    row.status = "approved" if decisions[row.tool_call_id] else "declined"
                    row.decided_at = utcnow()

    async def _default_title(self, conversation_id: str, text: str) -> None:
        async with transaction(self.sessions) as session:
            row = await session.get(ConversationRow, conversation_id)
            if row is not None and not row.title:
                row.title = " ".join(text.split())[:80]

    async def _history(self, conversation_id: str) -> list[ChatMessage]:
        async with self.sessions() as session:
            rows = (
                (
                    await session.execute(
                        select(Message)
                        .where(Message.conversation_id == conversation_id)
                        .order_by(Message.seq)
                    )
                )
                .scalars()
                .all()
            )
        return [message_from_row(row) for row in rows]

    async def _owned(
        self, session: AsyncSession, user: UserInfo, conversation_id: str
    ) -> ConversationRow:
        row = await session.get(ConversationRow, conversation_id)
        if row is None or row.user_id != user.id or row.deleted_at is not None:
            raise NotFoundError(
                f"no conversation {conversation_id}",
                where="conversations",
                fix="list your conversations to see their ids",
            )
        return row

    async def _summary(self, user: UserInfo, conversation_id: str) -> ChatSummary:
        async with self.sessions() as session:
            row = await self._owned(session, user, conversation_id)
            enabled = await self._enabled(session, [conversation_id])
        return _summary(row, enabled.get(conversation_id, ()))

    @staticmethod
    async def _enabled(
        session: AsyncSession, conversation_ids: list[str]
    ) -> dict[str, tuple[int, ...]]:
        if not conversation_ids:
            return {}
        rows = (
            await session.execute(
                select(ConversationPlugin.conversation_id, ConversationPlugin.plugin_id)
                .where(ConversationPlugin.conversation_id.in_(conversation_ids))
                .order_by(ConversationPlugin.enabled_at, ConversationPlugin.plugin_id)
            )
        ).all()
        enabled: dict[str, list[int]] = {}
        for conversation_id, plugin_id in rows:
            enabled.setdefault(conversation_id, []).append(plugin_id)
        return {key: tuple(value) for key, value in enabled.items()}


def _summary(row: ConversationRow, plugin_ids: tuple[int, ...]) -> ChatSummary:
    return ChatSummary(row.id, row.title, row.created_at, row.updated_at, plugin_ids)


async def _guarded(events: AsyncIterator[Event], conversation_id: str) -> AsyncIterator[Event]:
    """The loop's events; a store or registry failure mid-turn ends the turn with an event."""
    try:
        async for event in events:
            yield event
    except PowerstripError as exc:
        logger.warning("chats.turn_failed conversation=%s error=%s", conversation_id, exc.message)
        yield ErrorEvent(str(exc))
        yield TurnDone("")


def call_record(row: Call) -> dict[str, Any]:  # Any: JSON values
    """A call row as the debug view shows it (everything in it was redacted when written)."""
    return {
        "id": row.id,
        "plugin_id": row.plugin_id,
        "function_name": row.function_name,
        "operation_id": row.operation_id,
        "method": row.method,
        "url": row.url,
        "request": row.request,
        "status_code": row.status_code,
        "outcome": row.outcome,
        "error": row.error,
        "request_bytes": row.request_bytes,
        "response_bytes": row.response_bytes,
        "response_excerpt": row.response_excerpt,
        "truncated": row.truncated,
        "attempts": row.attempts,
        "duration_ms": row.duration_ms,
        "started_at": row.started_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
    }
