"""The chat: the conversation list, a conversation, its transcript, call details, feedback.

Turns themselves stream from the REST API (`POST /api/conversations/ID/messages` and
`.../approvals`), which the page's script calls with the session cookie and its form token:
one implementation of a turn for every client.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import JSONResponse, RedirectResponse, Response

from powerstrip.errors import NotFoundError
from powerstrip.host import ChatSummary, Host, StoreEntry, UserInfo
from powerstrip.web.render import page
from powerstrip.web.route import WebRoute
from powerstrip.web.security import CheckedForm, CurrentVisitor, WebHost, WebUser
from powerstrip.web.transcript import build_transcript, pretty_json

__all__ = ["router", "sidebar"]

router = APIRouter(route_class=WebRoute)


async def sidebar(host: Host, user: UserInfo, q: str = "") -> list[ChatSummary]:
    chats = await host.chats.list_chats(user, with_plugins=False)
    if q:
        needle = q.casefold()
        chats = [chat for chat in chats if needle in chat.title.casefold()]
    return chats


async def _installed(host: Host, user: UserInfo) -> list[StoreEntry]:
    return await host.plugins.store(user, installed_only=True)


@router.get("/")
async def home(host: WebHost, visitor: CurrentVisitor, user: WebUser, q: str = "") -> Response:
    return page(
        host,
        visitor,
        "chat.html",
        chats=await sidebar(host, user, q),
        q=q,
        chat=None,
        installed=await _installed(host, user),
        turns=[],
        approvals=[],
        enabled=[],
        limit=host.settings.max_plugins_per_conversation,
    )


@router.post("/c")
async def create(host: WebHost, user: WebUser, form: CheckedForm) -> Response:
    """A new conversation with the chosen plugins (the page's script sends the first message)."""
    ids = tuple(int(v) for k, v in form.items() if k.startswith("plugin-") and v.isdigit())
    chat = await host.chats.create(user, plugin_ids=ids)
    return RedirectResponse(f"/c/{chat.id}", status_code=303)


async def _transcript_context(host: Host, user: UserInfo, conversation_id: str) -> dict[str, Any]:
    # Every page and every turn's end reads this: the conversation, its history and its call log
    # in one session, then the plugins' names and the ratings.
    view = await host.chats.get(user, conversation_id, with_calls=True)
    entries = {e.plugin.id: e for e in await host.plugins.store(user, include_banned=True)}
    enabled = [entries[pid] for pid in view.summary.plugin_ids if pid in entries]
    names = {e.plugin.name_for_model: e.name_for_human for e in entries.values()}
    turns, approvals = build_transcript(
        view,
        list(view.calls),
        {f.message_seq: f for f in await host.feedback.list_feedback(user, conversation_id)},
        names,
    )
    return {"chat": view.summary, "turns": turns, "approvals": approvals, "enabled": enabled}


@router.get("/c/{conversation_id}")
async def conversation(
    conversation_id: str, host: WebHost, visitor: CurrentVisitor, user: WebUser, q: str = ""
) -> Response:
    context = await _transcript_context(host, user, conversation_id)
    return page(
        host,
        visitor,
        "chat.html",
        chats=await sidebar(host, user, q),
        q=q,
        installed=[],  # the plugin picker is on the new-chat page only
        limit=host.settings.max_plugins_per_conversation,
        **context,
    )


@router.get("/c/{conversation_id}/transcript")
async def transcript(
    conversation_id: str, host: WebHost, visitor: CurrentVisitor, user: WebUser
) -> Response:
    """The transcript alone, rendered and sanitised, for the page to swap in after a turn."""
    context = await _transcript_context(host, user, conversation_id)
    return page(host, visitor, "transcript.html", **context)


@router.get("/c/{conversation_id}/calls/{call_id}")
async def call_details(
    conversation_id: str, call_id: str, host: WebHost, visitor: CurrentVisitor, user: WebUser
) -> Response:
    """One call's redacted request and response, attempts and timing."""
    for record in await host.chats.calls(user, conversation_id):
        if record["id"] == call_id:
            request = record["request"]
            return page(
                host,
                visitor,
                "call.html",
                call=record,
                conversation_id=conversation_id,
                request_json=pretty_json(_json(request)),
                response_json=pretty_json(record["response_excerpt"] or ""),
            )
    raise NotFoundError(
        f"no call {call_id} in conversation {conversation_id}",
        where="calls",
        fix="open the call from its card in the conversation",
    )


def _json(value: object) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


@router.post("/c/{conversation_id}/feedback")
async def feedback(
    conversation_id: str, host: WebHost, user: WebUser, form: CheckedForm
) -> Response:
    seq = form.get("seq", "")
    if not seq.isdigit():
        raise NotFoundError("no such answer", where="feedback", fix="rate an answer on the page")
    saved = await host.feedback.give(
        user, conversation_id, int(seq), form.get("rating", ""), form.get("note", "")
    )
    return JSONResponse({"seq": saved.message_seq, "rating": saved.rating, "note": saved.comment})


@router.post("/c/{conversation_id}/rename")
async def rename(conversation_id: str, host: WebHost, user: WebUser, form: CheckedForm) -> Response:
    await host.chats.rename(user, conversation_id, form.get("title", "").strip())
    return RedirectResponse(f"/c/{conversation_id}", status_code=303)


@router.post("/c/{conversation_id}/delete")
async def delete(conversation_id: str, host: WebHost, user: WebUser, form: CheckedForm) -> Response:
    await host.chats.delete(user, conversation_id)
    return RedirectResponse("/", status_code=303)


@router.post("/c/{conversation_id}/plugins")
async def set_plugins(
    conversation_id: str, host: WebHost, user: WebUser, form: CheckedForm
) -> Response:
    """Turn plugins on or off for a conversation (at most the limit; refused beyond it)."""
    wanted = {int(v) for k, v in form.items() if k.startswith("plugin-") and v.isdigit()}
    summary = (await host.chats.get(user, conversation_id)).summary
    for plugin_id in set(summary.plugin_ids) - wanted:
        await host.chats.disable(user, conversation_id, plugin_id)
    for plugin_id in sorted(wanted - set(summary.plugin_ids)):
        await host.chats.enable(user, conversation_id, plugin_id)
    return RedirectResponse(f"/c/{conversation_id}", status_code=303)
