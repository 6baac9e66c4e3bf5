"""`StoreRecorder`: the conversation loop's record keeper, writing to the store.

Each message, call and approval request is its own transaction, written as it happens: a turn
cut short (a crash, a closed stream) leaves the history as far as it got, and the loop recognises
a paused run from that history alone.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.host.metrics import observe_call
from powerstrip.runtime import CallOutcome, ChatMessage, Role, ToolCall
from powerstrip.store import (
    Approval,
    Call,
    Conversation,
    Message,
    transaction,
    utcnow,
    write_job,
)

__all__ = [
    "MESSAGE_COLUMNS",
    "StoreRecorder",
    "call_row",
    "call_values",
    "message_from_columns",
    "message_from_row",
    "message_to_row",
    "message_values",
    "record_call_outside_chat",
]


_ROLES: dict[str, Role] = {
    "system": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
}


def storable(text: str) -> str:
    """`text` without NUL characters, which PostgreSQL's text columns refuse.

    A plugin may answer with binary garbage, and the model reads it back as text; replacing NUL
    with U+FFFD keeps the record (and the conversation) writable on every backend.
    """
    return text.replace("\x00", "\ufffd")


def message_values(message: ChatMessage) -> dict[str, Any]:  # Any: column values
    """The column values a chat message is stored with (all but its conversation and seq)."""
    return {
        "role": message.role,
        "content": None if message.content is None else storable(message.content),
        "tool_calls": [
            {"id": call.id, "name": call.name, "arguments": storable(call.arguments)}
            for call in message.tool_calls
        ]
        or None,
        "tool_call_id": message.tool_call_id,
        "source_plugin": message.source_plugin,
    }


def message_to_row(conversation_id: str, seq: int, message: ChatMessage) -> Message:
    """The store row of a chat message."""
    return Message(conversation_id=conversation_id, seq=seq, **message_values(message))


def message_from_row(row: Message) -> ChatMessage:
    """The chat message a store row holds."""
    return message_from_columns(
        row.role, row.content, row.tool_calls, row.tool_call_id, row.source_plugin
    )


# The columns `message_from_columns` reads, in its order: selecting only these reads a history
# without building an ORM object per message, which long conversations pay for on every turn.
MESSAGE_COLUMNS = (
    Message.role,
    Message.content,
    Message.tool_calls,
    Message.tool_call_id,
    Message.source_plugin,
)


def message_from_columns(
    role: str,
    content: str | None,
    tool_calls: list[Any] | None,  # Any: JSON values
    tool_call_id: str | None,
    source_plugin: str | None = None,
) -> ChatMessage:
    """The chat message of a row's `MESSAGE_COLUMNS`."""
    calls = tuple(
        ToolCall(str(call["id"]), str(call["name"]), str(call["arguments"]))
        for call in tool_calls or ()
        if isinstance(call, dict)
    )
    return ChatMessage(
        _ROLES.get(role, "assistant"),
        content,
        tool_calls=calls,
        tool_call_id=tool_call_id,
        source_plugin=source_plugin,
    )


def _arguments(text: str) -> dict[str, Any]:  # Any: JSON values
    # The model wrote the arguments; they may not be JSON, or not an object: keep them as text.
    try:
        value = json.loads(text)
    except ValueError:
        return {"_text": text}
    return value if isinstance(value, dict) else {"_value": value}


# The turn path's statements, built once: building a statement, and working out its cache key,
# costs more than SQLite takes to run it, and a turn writes several messages.
_MESSAGES = Message.metadata.tables[Message.__tablename__]
_CONVERSATIONS = Conversation.metadata.tables[Conversation.__tablename__]
_NEXT_SEQ = (
    select(func.coalesce(func.max(_MESSAGES.c.seq), 0) + 1)
    .where(_MESSAGES.c.conversation_id == bindparam("of_conversation"))
    .scalar_subquery()
)
# The next seq is read in the INSERT itself: one round trip instead of two, and no window
# between reading the last seq and writing the next one.
_INSERT_MESSAGE = insert(_MESSAGES).values(seq=_NEXT_SEQ)
_TOUCH_CONVERSATION = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("of_conversation"))
    .values(updated_at=bindparam("updated_at"))
)


def _insert_message(conversation_id: str, message: ChatMessage, connection: Connection) -> None:
    """Append `message` to the conversation, in the caller's write job."""
    connection.execute(
        _INSERT_MESSAGE,
        {
            "conversation_id": conversation_id,
            "of_conversation": conversation_id,
            "created_at": utcnow(),
            **message_values(message),
        },
    )
    # The conversation's activity time moves at a turn's edges (the user's message, the
    # model's answer), which is what the list sorts by; the steps in between (a tool call,
    # its result) would only move it by milliseconds, at a statement each.
    if message.role == "user" or (message.role == "assistant" and not message.tool_calls):
        connection.execute(
            _TOUCH_CONVERSATION, {"of_conversation": conversation_id, "updated_at": utcnow()}
        )


class StoreRecorder:
    """Writes one conversation's messages, calls and approval requests."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], conversation_id: str, user_id: int
    ) -> None:
        self.sessions = sessions
        self.conversation_id = conversation_id
        self.user_id = user_id

    async def add_message(self, message: ChatMessage) -> None:
        """Append a message to the conversation, after the last one."""
        await write_job(self.sessions, partial(_insert_message, self.conversation_id, message))

    async def record_call(self, plugin_id: str, outcome: CallOutcome, answer: ChatMessage) -> None:
        """The call's row and the tool message answering it, in one transaction."""
        observe_call(plugin_id, outcome.outcome, outcome.duration_ms)  # made, even if not kept
        values = call_values(outcome, self.conversation_id, self.user_id, int(plugin_id))

        def write(connection: Connection) -> None:
            connection.execute(_INSERT_CALL, values)
            _insert_message(self.conversation_id, answer, connection)

        await write_job(self.sessions, write)

    async def approval_requested(self, plugin_id: str, call: ToolCall) -> None:
        async with transaction(self.sessions) as session:
            session.add(
                Approval(
                    conversation_id=self.conversation_id,
                    tool_call_id=call.id[:128],
                    function_name=call.name[:64],
                    arguments=_arguments(storable(call.arguments)),
                )
            )


_INSERT_CALL = insert(Call.metadata.tables[Call.__tablename__])


def call_values(
    outcome: CallOutcome, conversation_id: str | None, user_id: int, plugin_id: int
) -> dict[str, Any]:  # Any: column values
    """The column values of one call's ledger row (`conversation_id` None: for an MCP client)."""
    return {
        "id": outcome.call_id,
        "conversation_id": conversation_id,
        "user_id": user_id,
        "plugin_id": plugin_id,
        "function_name": outcome.function_name[:64],
        "operation_id": outcome.operation_id[:255],
        "method": outcome.method[:10],
        "url": storable(outcome.url),
        "request": json.loads(json.dumps(outcome.request).replace("\\u0000", "\\ufffd")),
        "status_code": outcome.status_code,
        "outcome": outcome.outcome,
        "error": None if outcome.error is None else storable(outcome.error),
        "request_bytes": outcome.request_bytes,
        "response_bytes": outcome.response_bytes,
        "response_excerpt": storable(outcome.response_excerpt),
        "truncated": outcome.truncated,
        "attempts": outcome.attempts,
        "duration_ms": outcome.duration_ms,
        "started_at": outcome.started_at,
        "finished_at": outcome.finished_at,
    }


def call_row(
    outcome: CallOutcome, conversation_id: str | None, user_id: int, plugin_id: int
) -> Call:
    """The ledger row of one call (`conversation_id` None: made for an MCP client)."""
    return Call(**call_values(outcome, conversation_id, user_id, plugin_id))


async def record_call_outside_chat(
    sessions: async_sessionmaker[AsyncSession], user_id: int, plugin_id: int, outcome: CallOutcome
) -> None:
    """Keep a call made for an MCP client in the ledger, with no conversation."""
    observe_call(plugin_id, outcome.outcome, outcome.duration_ms)
    async with transaction(sessions) as session:
        session.add(call_row(outcome, None, user_id, plugin_id))
