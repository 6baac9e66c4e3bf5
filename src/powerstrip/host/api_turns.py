"""Turns an API caller drives: the messages come with the request, the plugins run on the host.

`/v1/chat/completions` and the Responses and Assistants engines all end up here: the caller
brings the history (or the engine rebuilt it from stored items), its own function tools, and
which of the user's installed plugins to offer. The runtime's `Conversation` loop runs the turn
with the host's whole security model for the plugins (credentials, the guarded client,
approvals, grants, the call ledger); the caller's own functions end the turn for it to run.

A turn that offers plugins lives in a conversation of the store, like a chat's turn: its calls,
approvals and messages are recorded there, and a call awaiting approval can be approved from the
REST API (`/api/conversations/ID/approvals`) like any other. A turn without plugins needs no
record and writes nothing: its history is the request's.

    turn = await turns.open(user, messages, client_tools=tools, plugins=PluginChoice())
    async for event in turn.run():
        ...
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select

from powerstrip.errors import InvalidInputError, PowerstripError
from powerstrip.host.grants import StoreGrants
from powerstrip.host.recorder import StoreRecorder, message_to_row
from powerstrip.runtime import (
    ActivePlugin,
    CallOutcome,
    ChatMessage,
    Conversation,
    ErrorEvent,
    Event,
    SamplingOptions,
    ToolCall,
    ToolSpec,
    TurnDone,
)
from powerstrip.store import Conversation as ConversationRow
from powerstrip.store import Message, transaction

if TYPE_CHECKING:
    from powerstrip.host.chats import Chats
    from powerstrip.host.plugins import Plugins
    from powerstrip.host.users import UserInfo

__all__ = ["ApiTurn", "ApiTurns", "PluginChoice"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PluginChoice:
    """Which of the user's installed plugins a turn offers: all, or these (ids or names)."""

    named: tuple[str, ...] | None = None  # None: every installed plugin, up to the cap
    enabled: bool = True  # False: none at all


class _NoRecord:
    """A turn without plugins keeps its history in the request alone."""

    async def add_message(self, message: ChatMessage) -> None:
        return None

    async def record_call(self, plugin_id: str, outcome: CallOutcome, answer: ChatMessage) -> None:
        return None  # no plugin, no call: never reached

    async def approval_requested(self, plugin_id: str, call: ToolCall) -> None:
        return None


class _NoGrants:
    async def allowed(self, plugin_id: str, operation_id: str) -> bool:
        return False


class ApiTurn:
    """One API turn: run it, answer the client's calls, run it again."""

    def __init__(
        self,
        chats: Chats,
        user: UserInfo,
        conversation: Conversation,
        conversation_id: str | None,
        plugin_ids: tuple[int, ...],
        skipped: tuple[int, ...],
    ) -> None:
        self._chats = chats
        self._user = user
        self.conversation = conversation
        # The store conversation holding the turn's record; None when no plugin was offered.
        self.conversation_id = conversation_id
        self.plugin_ids = plugin_ids
        # Installed plugins left out because a turn may offer only so many.
        self.skipped = skipped

    def run(self) -> AsyncIterator[Event]:
        """The turn's events; every failure ends it with an error event, never an exception."""
        if self.conversation_id is not None:
            return self._chats.guarded(self.conversation.run(), self.conversation_id, self._user)
        return _guarded(self.conversation.run())

    async def answer(self, outputs: Mapping[str, str]) -> None:
        """The outputs of client calls (call id → text), before the next `run()`."""
        await self.conversation.answer(outputs)

    def approval_link(self) -> str | None:
        """Where the user approves or declines the calls this turn waits for."""
        if self.conversation_id is None:
            return None
        base = self._chats.settings.public_url.rstrip("/")
        return f"{base}/api/conversations/{self.conversation_id}/approvals"


async def _guarded(events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    try:
        async for event in events:
            yield event
    except PowerstripError as exc:
        logger.warning("api_turns.failed error=%s", exc.message)
        yield ErrorEvent(str(exc))
        yield TurnDone("")
    except Exception:
        logger.exception("api_turns.crashed")
        yield ErrorEvent("the turn failed unexpectedly; the server log has the details")
        yield TurnDone("")


class ApiTurns:
    """Opens API turns over the chats service's model, executor and plugins."""

    def __init__(self, chats: Chats, plugins: Plugins) -> None:
        self._chats = chats
        self._plugins = plugins

    async def open(
        self,
        user: UserInfo,
        messages: Sequence[ChatMessage],
        *,
        client_tools: Sequence[ToolSpec] = (),
        plugins: PluginChoice = PluginChoice(),
        title: str = "",
        sampling: SamplingOptions | None = None,
    ) -> ApiTurn:
        """A turn over `messages` (the system prompt included, if the caller has one);
        `sampling` goes to the model with each of its completions."""
        chosen, skipped = await self._choose(user, plugins)
        if not chosen:
            conversation = self._conversation(
                user, list(messages), client_tools, None, [], sampling
            )
            return ApiTurn(self._chats, user, conversation, None, (), skipped)
        summary = await self._chats.create(
            user, title=title or "API turn", plugin_ids=tuple(chosen), sampling=sampling
        )
        await self._seed(summary.id, messages)
        active = [
            plugin
            for plugin in [await self._chats.active(user, pid, summary.id) for pid in chosen]
            if plugin is not None
        ]
        conversation = self._conversation(
            user, list(messages), client_tools, summary.id, active, sampling
        )
        return ApiTurn(self._chats, user, conversation, summary.id, tuple(chosen), skipped)

    def _conversation(
        self,
        user: UserInfo,
        history: list[ChatMessage],
        client_tools: Sequence[ToolSpec],
        conversation_id: str | None,
        plugins: list[ActivePlugin],
        sampling: SamplingOptions | None,
    ) -> Conversation:
        chats = self._chats
        return Conversation(
            conversation_id=conversation_id or "api",
            model=chats.model,
            executor=chats.executor,
            plugins=plugins,
            history=history,
            recorder=_NoRecord()
            if conversation_id is None
            else StoreRecorder(chats.sessions, conversation_id, user.id),
            grants=_NoGrants() if conversation_id is None else StoreGrants(chats.sessions, user.id),
            subdivision=user.subdivision,
            max_steps=chats.settings.max_steps,
            client_tools=client_tools,
            host_prompt=False,
            sampling=sampling,
        )

    def resume(
        self,
        user: UserInfo,
        conversation_id: str,
        decisions: Mapping[str, bool],
        *,
        sampling: SamplingOptions | None = None,
        client_tools: Sequence[ToolSpec] = (),
    ) -> AsyncIterator[Event]:
        """Continue a turn that waited for approvals, with the user's decisions; `sampling`
        and `client_tools` (the resuming request's) go to the model with the rest of the turn."""
        return self._chats.resume(
            user, conversation_id, decisions, sampling=sampling, client_tools=client_tools
        )

    async def _choose(
        self, user: UserInfo, plugins: PluginChoice
    ) -> tuple[list[int], tuple[int, ...]]:
        if not plugins.enabled:
            return [], ()
        installed = await self._plugins.store(user, installed_only=True)
        if plugins.named is None:
            limit = self._chats.settings.max_plugins_per_conversation
            ids = [entry.plugin.id for entry in installed]
            return ids[:limit], tuple(ids[limit:])
        chosen: list[int] = []
        for name in plugins.named:
            found = [
                entry.plugin.id
                for entry in installed
                if name in (str(entry.plugin.id), entry.plugin.name_for_model)
            ]
            if not found:
                raise InvalidInputError(
                    f"no installed plugin {name!r}",
                    where="powerstrip.plugins",
                    fix="name plugins you installed, by id or name_for_model",
                )
            if found[0] not in chosen:
                chosen.append(found[0])
        return chosen, ()

    async def _seed(self, conversation_id: str, messages: Sequence[ChatMessage]) -> None:
        """The caller's messages as the conversation's first ones, in one write."""
        async with transaction(self._chats.sessions) as session:
            start = (
                await session.execute(
                    select(func.coalesce(func.max(Message.seq), 0)).where(
                        Message.conversation_id == conversation_id
                    )
                )
            ).scalar_one()
            rows = [
                message_to_row(conversation_id, start + offset, message)
                for offset, message in enumerate(messages, 1)
            ]
            if rows:
                await session.execute(
                    insert(Message),
                    [
                        {
                            "conversation_id": row.conversation_id,
                            "seq": row.seq,
                            "role": row.role,
                            "content": row.content,
                            "tool_calls": row.tool_calls,
                            "tool_call_id": row.tool_call_id,
                        }
                        for row in rows
                    ],
                )
            row = await session.get(ConversationRow, conversation_id)
            if row is not None and not row.title:
                row.title = "API turn"
