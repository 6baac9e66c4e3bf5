"""`/api/conversations`: a user's conversations, their turns (SSE) and their call log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from powerstrip.host import ChatSummary, ChatView
from powerstrip.server.deps import CurrentHost, CurrentUser
from powerstrip.server.input_types import PluginId, RowId, Text
from powerstrip.server.sse import events_response

__all__ = ["router"]

router = APIRouter(prefix="/conversations", tags=["conversations"])

# Any below: JSON values (messages in OpenAI's shape, call records).

_MESSAGE_LIMIT = 32_000

# A turn answers as Server-Sent Events, or as one JSON object with `"stream": false`.
_TURN: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The turn's events.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}, "application/json": {}},
    }
}


class NewConversation(BaseModel):
    title: Text = Field(default="", max_length=300)
    plugin_ids: list[RowId] = Field(default_factory=list, description="Plugins to enable (≤ 3).")


class Rename(BaseModel):
    title: Text = Field(max_length=300)


# A message's seq is its place in the conversation's `messages`, counting from 1.
_SEQ = "The seq (place in `messages`, from 1) of one of your messages."


class UserMessage(BaseModel):
    content: Text = Field(min_length=1, max_length=_MESSAGE_LIMIT)
    stream: bool = Field(default=True, description="SSE when true, one JSON answer when false.")
    replaces: RowId | None = Field(
        default=None,
        description=f"Edit: {_SEQ} It and everything after it are removed first, then this "
        "message is sent in its place.",
    )


class Rewind(BaseModel):
    seq: RowId | None = Field(default=None, description=f"{_SEQ} Unset: your latest message.")


class Regenerate(BaseModel):
    stream: bool = Field(default=True, description="SSE when true, one JSON answer when false.")


class Rewound(BaseModel):
    seq: int = Field(description="The seq of your message the rewind started at.")
    content: str = Field(description="That message's text (to send again, or edit).")
    removed: int = Field(description="How many messages were removed, that one included.")


class Decisions(BaseModel):
    decisions: dict[Text, bool] = Field(description="Each pending call id: approve (true) or not.")
    always_allow: list[Text] = Field(
        default_factory=list,
        description='Approved call ids whose operation to "always allow" from now on.',
    )
    stream: bool = True


class Conversation(BaseModel):
    id: str
    title: str
    created_at: datetime
    updated_at: datetime
    plugin_ids: list[int]
    history_enabled: bool = Field(
        description="False: started with chat history off, so never listed (docs/data.md)."
    )


class ConversationList(BaseModel):
    conversations: list[Conversation]


class Pending(BaseModel):
    call_id: str
    function_name: str
    arguments: str
    can_always_allow: bool = Field(description='Whether "always allow" may be answered.')


class ConversationView(Conversation):
    messages: list[dict[str, Any]] = Field(description="In the OpenAI chat-messages shape.")
    pending_approvals: list[Pending]


class CallList(BaseModel):
    calls: list[dict[str, Any]] = Field(description="Redacted call records, oldest first.")


def _summary(chat: ChatSummary) -> Conversation:
    return Conversation(
        id=chat.id,
        title=chat.title,
        created_at=chat.created_at,
        updated_at=chat.updated_at,
        plugin_ids=list(chat.plugin_ids),
        history_enabled=chat.history_enabled,
    )


def _view(view: ChatView) -> ConversationView:
    return ConversationView(
        **_summary(view.summary).model_dump(),
        messages=[message.as_openai() for message in view.messages],
        pending_approvals=[
            Pending(
                call_id=p.call_id,
                function_name=p.function_name,
                arguments=p.arguments,
                can_always_allow=p.can_always_allow,
            )
            for p in view.pending
        ],
    )


@router.get("")
async def list_conversations(host: CurrentHost, user: CurrentUser) -> ConversationList:
    """Your conversations, newest first."""
    return ConversationList(conversations=[_summary(c) for c in await host.chats.list_chats(user)])


@router.post("", status_code=201)
async def create(body: NewConversation, host: CurrentHost, user: CurrentUser) -> Conversation:
    """Start a conversation with up to 3 installed plugins enabled."""
    chat = await host.chats.create(user, title=body.title, plugin_ids=tuple(body.plugin_ids))
    return _summary(chat)


@router.get("/{conversation_id}")
async def get(conversation_id: str, host: CurrentHost, user: CurrentUser) -> ConversationView:
    """A conversation with its messages and the calls it waits on."""
    return _view(await host.chats.get(user, conversation_id))


@router.patch("/{conversation_id}")
async def rename(
    conversation_id: str, body: Rename, host: CurrentHost, user: CurrentUser
) -> Conversation:
    """Rename a conversation."""
    return _summary(await host.chats.rename(user, conversation_id, body.title))


@router.delete("/{conversation_id}", status_code=204)
async def delete(conversation_id: str, host: CurrentHost, user: CurrentUser) -> Response:
    await host.chats.delete(user, conversation_id)
    return Response(status_code=204)


@router.put("/{conversation_id}/plugins/{plugin_id}")
async def enable(
    conversation_id: str, plugin_id: PluginId, host: CurrentHost, user: CurrentUser
) -> Conversation:
    return _summary(await host.chats.enable(user, conversation_id, plugin_id))


@router.delete("/{conversation_id}/plugins/{plugin_id}")
async def disable(
    conversation_id: str, plugin_id: PluginId, host: CurrentHost, user: CurrentUser
) -> Conversation:
    return _summary(await host.chats.disable(user, conversation_id, plugin_id))


@router.post("/{conversation_id}/messages", responses=_TURN)
async def send(
    conversation_id: str, body: UserMessage, host: CurrentHost, user: CurrentUser
) -> Response:
    """Send a message and run the turn: events as SSE (or JSON with `"stream": false`).

    With `replaces`, an edit: your earlier message and all after it go first (see `/rewind`).
    """
    # Ownership (and an edit's rewind) come before the stream starts, so a wrong id or seq is
    # an HTTP error, not an event.
    await host.chats.check_owner(user, conversation_id)
    if body.replaces is not None:
        await host.chats.rewind(user, conversation_id, body.replaces)
    return await events_response(
        host.chats.send(user, conversation_id, body.content), stream=body.stream
    )


@router.post("/{conversation_id}/rewind")
async def rewind(
    conversation_id: str, body: Rewind, host: CurrentHost, user: CurrentUser
) -> Rewound:
    """Remove one of your messages and everything after it (ratings of removed answers too).

    Plugin calls the removed turns made stay in the call log (`/calls`): they were made.
    """
    done = await host.chats.rewind(user, conversation_id, body.seq)
    return Rewound(seq=done.seq, content=done.content, removed=done.removed)


@router.post("/{conversation_id}/regenerate", responses=_TURN)
async def regenerate(
    conversation_id: str, body: Regenerate, host: CurrentHost, user: CurrentUser
) -> Response:
    """Answer your latest message again: what followed it is removed, and the turn runs anew."""
    done = await host.chats.rewind(user, conversation_id)
    return await events_response(
        host.chats.send(user, conversation_id, done.content), stream=body.stream
    )


@router.post("/{conversation_id}/approvals", responses=_TURN)
async def decide(
    conversation_id: str, body: Decisions, host: CurrentHost, user: CurrentUser
) -> Response:
    """Approve or decline the calls a paused turn waits for, and continue it."""
    await host.chats.check_owner(user, conversation_id)
    events = host.chats.resume(
        user, conversation_id, body.decisions, always_allow=frozenset(body.always_allow)
    )
    return await events_response(events, stream=body.stream)


@router.get("/{conversation_id}/calls")
async def calls(conversation_id: str, host: CurrentHost, user: CurrentUser) -> CallList:
    """The conversation's plugin calls, redacted: the debug view."""
    return CallList(calls=await host.chats.calls(user, conversation_id))
