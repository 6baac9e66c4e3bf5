"""What a data export holds (spec §9), read from the store and packed into one zip.

`ARCHIVE_FILES` names every file of the archive. Nothing secret goes in: credentials appear
as their kind, scope and expiry only (never the sealed values), API tokens by name and dates
(never their digest), and the call log exactly as the user's own debug view shows it (its
requests were redacted when they were recorded). The HTML page escapes every text it shows and
forbids scripts, so a message or a plugin's answer cannot run anything when it is opened.
"""

from __future__ import annotations

import html
import io
import json
import zipfile
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from powerstrip.aliases import JSONValue
from powerstrip.host.chats import call_record
from powerstrip.store import (
    ApiToken,
    Approval,
    Call,
    Chunk,
    ConversationPlugin,
    Credential,
    Document,
    Feedback,
    Grant,
    Install,
    McpClient,
    McpConnection,
    Message,
    Plugin,
    Registration,
    User,
)
from powerstrip.store import Conversation as ConversationRow

__all__ = ["ARCHIVE_FILES", "collect_export", "count_export_rows", "pack_archive"]


ARCHIVE_FILES = (
    "README.txt",
    "account.json",
    "conversations.json",
    "conversations.html",
    "plugins.json",
    "grants.json",
    "feedback.json",
    "calls.json",
    "documents.json",
)

_README = """\
Your Powerstrip data, exported {exported_at}.

account.json         your account, settings, API token names and the apps you connected
                     over MCP (never the tokens)
conversations.json   every conversation with its messages and approvals
conversations.html   the same conversations as one page to read in a browser
plugins.json         the plugins you installed and what you consented to (never your keys)
grants.json          your "always allow" grants
feedback.json        the thumbs up and down you gave answers
calls.json           every plugin call, redacted as the call log shows it
documents.json       the documents you added for search, with their text
"""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def count_export_rows(session: AsyncSession, user_id: int) -> int:
    """The messages and calls an export of the user would hold: how big it is."""
    messages = await session.scalar(
        select(func.count())
        .select_from(Message)
        .join(ConversationRow, Message.conversation_id == ConversationRow.id)
        .where(ConversationRow.user_id == user_id)
    )
    calls = await session.scalar(
        select(func.count()).select_from(Call).where(Call.user_id == user_id)
    )
    return int(messages or 0) + int(calls or 0)


async def collect_export(
    session: AsyncSession, user_id: int, exported_at: datetime
) -> dict[str, JSONValue]:
    """Everything the store keeps about the user, as JSON values keyed by file name."""
    user = await session.get(User, user_id)
    if user is None:
        return {}
    account = {
        "exported_at": exported_at.isoformat(),
        "user": {
            "id": user.id,
            "username": user.username,
            "display_name": user.display_name,
            "is_admin": user.is_admin,
            "subdivision": user.subdivision,
            "created_at": _iso(user.created_at),
        },
        "settings": {"history_enabled": user.history_enabled, "email": user.email},
        "api_tokens": [
            {
                "name": t.name,
                "scopes": t.scopes.split(),
                "created_at": _iso(t.created_at),
                "last_used_at": _iso(t.last_used_at),
            }
            for t in await _rows(session, select(ApiToken).where(ApiToken.user_id == user_id))
        ],
        "mcp_clients": await _mcp_clients(session, user_id),
        "registered_plugins": [
            {
                "plugin_id": r.plugin_id,
                "has_service_key": r.service_key_sealed is not None,
                "oauth_client_id": r.oauth_client_id,
                "has_oauth_client_secret": r.oauth_client_secret_sealed is not None,
                "token_verified_at": _iso(r.token_verified_at),
                "created_at": _iso(r.created_at),
            }
            for r in await _rows(
                session, select(Registration).where(Registration.developer_id == user_id)
            )
        ],
    }
    conversations = await _conversations(session, user_id)
    return {
        "account.json": account,
        "conversations.json": conversations,
        "plugins.json": await _plugins(session, user_id),
        "grants.json": [
            {
                "plugin_id": g.plugin_id,
                "operation_id": g.operation_id,
                "created_at": _iso(g.created_at),
                "expires_at": _iso(g.expires_at),
            }
            for g in await _rows(
                session, select(Grant).where(Grant.user_id == user_id).order_by(Grant.id)
            )
        ],
        "feedback.json": [
            {
                "conversation_id": f.conversation_id,
                "message_seq": f.message_seq,
                "rating": f.rating,
                "comment": f.comment,
                "created_at": _iso(f.created_at),
                "updated_at": _iso(f.updated_at),
            }
            for f in await _rows(
                session, select(Feedback).where(Feedback.user_id == user_id).order_by(Feedback.id)
            )
        ],
        "calls.json": [
            {"conversation_id": c.conversation_id} | call_record(c)
            for c in await _rows(
                session,
                select(Call).where(Call.user_id == user_id).order_by(Call.started_at, Call.id),
            )
        ],
        "documents.json": await _documents(session, user_id),
    }


async def _rows(session: AsyncSession, statement: Any) -> list[Any]:  # Any: ORM rows
    return list((await session.execute(statement)).scalars())


async def _conversations(session: AsyncSession, user_id: int) -> list[JSONValue]:
    rows = await _rows(
        session,
        select(ConversationRow)
        .where(ConversationRow.user_id == user_id)
        .order_by(ConversationRow.created_at, ConversationRow.id),
    )
    ids = [row.id for row in rows]
    messages: dict[str, list[JSONValue]] = defaultdict(list)
    approvals: dict[str, list[JSONValue]] = defaultdict(list)
    plugins: dict[str, list[int]] = defaultdict(list)
    if ids:
        # Columns, not ORM objects: a long history is most of an export, and building an
        # object per message costs more than reading it.
        found = await session.execute(
            select(
                Message.conversation_id,
                Message.seq,
                Message.role,
                Message.content,
                Message.tool_calls,
                Message.tool_call_id,
                Message.created_at,
            )
            .where(Message.conversation_id.in_(ids))
            .order_by(Message.conversation_id, Message.seq)
        )
        for conversation_id, seq, role, content, tool_calls, tool_call_id, created in found:
            messages[conversation_id].append(
                {
                    "seq": seq,
                    "role": role,
                    "content": content,
                    "tool_calls": tool_calls,
                    "tool_call_id": tool_call_id,
                    "created_at": _iso(created),
                }
            )
        for a in await _rows(
            session,
            select(Approval).where(Approval.conversation_id.in_(ids)).order_by(Approval.id),
        ):
            approvals[a.conversation_id].append(
                {
                    "tool_call_id": a.tool_call_id,
                    "function_name": a.function_name,
                    "arguments": a.arguments,
                    "status": a.status,
                    "created_at": _iso(a.created_at),
                    "decided_at": _iso(a.decided_at),
                }
            )
        enabled = await session.execute(
            select(ConversationPlugin.conversation_id, ConversationPlugin.plugin_id).where(
                ConversationPlugin.conversation_id.in_(ids)
            )
        )
        for conversation_id, plugin_id in enabled.all():
            plugins[conversation_id].append(plugin_id)
    return [
        {
            "id": row.id,
            "title": row.title,
            "history_enabled": row.history_enabled,
            "created_at": _iso(row.created_at),
            "updated_at": _iso(row.updated_at),
            "plugin_ids": sorted(plugins[row.id]),
            "messages": messages[row.id],
            "approvals": approvals[row.id],
        }
        for row in rows
    ]


async def _mcp_clients(session: AsyncSession, user_id: int) -> list[JSONValue]:
    """The apps the user let in over MCP and what each may do; their tokens are only digests
    in the store, and not even those leave it."""
    found = await session.execute(
        select(McpConnection, McpClient)
        .join(McpClient, McpClient.id == McpConnection.client_id)
        .where(McpConnection.user_id == user_id)
        .order_by(McpConnection.id)
    )
    return [
        {
            "client_id": client.id,
            "client_name": client.name,
            "redirect_uris": list(client.redirect_uris),
            "scopes": sorted(set(connection.scopes.split())),
            "connected_at": _iso(connection.created_at),
            "last_used_at": _iso(connection.last_used_at),
        }
        for connection, client in found.all()
    ]


async def _plugins(session: AsyncSession, user_id: int) -> list[JSONValue]:
    credentials = {
        c.plugin_id: c
        for c in await _rows(session, select(Credential).where(Credential.user_id == user_id))
    }
    result = await session.execute(
        select(Install, Plugin)
        .join(Plugin, Install.plugin_id == Plugin.id)
        .where(Install.user_id == user_id)
        .order_by(Install.id)
    )
    entries = []
    for install, plugin in result.all():
        credential = credentials.get(plugin.id)
        manifest = plugin.manifest if isinstance(plugin.manifest, dict) else {}
        entries.append(
            {
                "plugin_id": plugin.id,
                "name_for_model": plugin.name_for_model,
                "name_for_human": manifest.get("name_for_human", ""),
                "manifest_url": plugin.manifest_url,
                "api_base_url": plugin.api_base_url,
                "auth_type": plugin.auth_type,
                "installed_at": _iso(install.created_at),
                "consented_auth_type": (install.consented_auth or {}).get("type"),
                "consented_api_host": install.consented_api_host,
                "needs_reconsent": install.needs_reconsent,
                # What kind of credential is kept, never the credential itself.
                "credential": None
                if credential is None
                else {
                    "kind": credential.kind,
                    "token_type": credential.token_type,
                    "scope": credential.scope,
                    "expires_at": _iso(credential.expires_at),
                    "has_refresh_token": credential.refresh_sealed is not None,
                    "updated_at": _iso(credential.updated_at),
                },
            }
        )
    return entries


async def _documents(session: AsyncSession, user_id: int) -> list[JSONValue]:
    documents = await _rows(
        session, select(Document).where(Document.user_id == user_id).order_by(Document.id)
    )
    chunks: dict[int, list[str]] = defaultdict(list)
    if documents:
        rows = await session.execute(
            select(Chunk.document_id, Chunk.text)
            .where(Chunk.user_id == user_id)
            .order_by(Chunk.document_id, Chunk.position)
        )
        for document_id, chunk_text in rows.all():
            chunks[document_id].append(chunk_text)
    return [
        {
            "collection": d.collection,
            "external_id": d.external_id,
            "kind": d.kind,
            "title": d.title,
            "source": d.source,
            "url": d.url,
            "author": d.author,
            "created_at": _iso(d.created_at),
            "added_at": _iso(d.added_at),
            "byte_count": d.byte_count,
            "chunks": chunks[d.id],
        }
        for d in documents
    ]


# -- packing ---------------------------------------------------------------------------------


def pack_archive(data: dict[str, JSONValue], exported_at: datetime) -> bytes:
    """The zip of an export: `ARCHIVE_FILES`, in that order (CPU work: run it in a thread)."""
    buffer = io.BytesIO()
    stamp = exported_at.timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in ARCHIVE_FILES:
            if name == "README.txt":
                body = _README.format(exported_at=exported_at.isoformat()).encode()
            elif name == "conversations.html":
                body = render_html(data).encode("utf-8", "replace")
            else:
                # A lone surrogate (stored as sent) comes out as its JSON escape, \\udXXX.
                body = _json_text(data[name]).encode("utf-8", "backslashreplace")
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            archive.writestr(info, body)
    return buffer.getvalue()


def _json_text(value: JSONValue) -> str:
    """JSON a person can read: a list one item per line (the C encoder, which `indent` would
    replace by the pure-Python one, ten times slower), anything else indented."""
    if isinstance(value, list):
        if not value:
            return "[]\n"
        items = ",\n".join(json.dumps(item, ensure_ascii=False) for item in value)
        return f"[\n{items}\n]\n"
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.5rem;border-bottom:1px solid #ddd}
.meta{color:#666;font-size:.9rem}.msg{margin:.75rem 0;padding:.5rem .75rem;border-radius:6px}
.user{background:#eef4ff}.assistant{background:#f4f4f4}.tool{background:#fff8e6;font-size:.9rem}
.role{font-weight:600;font-size:.85rem;color:#555}.text{white-space:pre-wrap;overflow-wrap:anywhere}
code{font-size:.85rem;white-space:pre-wrap;overflow-wrap:anywhere}
"""
_ROLES = {"user": "You", "assistant": "Assistant", "tool": "Plugin", "system": "System"}


def _when(iso: str | None) -> str:
    """An ISO timestamp as a person reads it: 2026-12-01 10:00 UTC."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def render_html(data: dict[str, JSONValue]) -> str:
    """One readable page of every conversation; all text escaped, no script may run."""
    account = data["account.json"]
    username = account["user"]["username"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # Nothing is loaded and nothing runs: the page is the user's text, and nothing else.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Conversations of {_e(username)} — Powerstrip export</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Conversations of {_e(username)}</h1>",
        f'<p class="meta">Exported {_e(_when(account["exported_at"]))} from Powerstrip.</p>',
    ]
    conversations = data["conversations.json"]
    if not conversations:
        parts.append("<p>No conversations.</p>")
    for conversation in conversations:
        title = conversation["title"] or "Untitled conversation"
        note = "" if conversation["history_enabled"] else " · started with chat history off"
        parts.append(f'<section id="c-{_e(conversation["id"])}"><h2>{_e(title)}</h2>')
        started = _when(conversation["created_at"])
        parts.append(f'<p class="meta">Started {_e(started)}{_e(note)}</p>')
        for message in conversation["messages"]:
            role = message["role"]
            parts.append(
                f'<div class="msg {_e(role)}"><div class="role">{_e(_ROLES.get(role, role))}</div>'
            )
            if message["content"]:
                parts.append(f'<div class="text">{_e(message["content"])}</div>')
            for call in message["tool_calls"] or ():
                parts.append(
                    f"<div>Called <code>{_e(call.get('name'))}</code> with "
                    f"<code>{_e(call.get('arguments'))}</code></div>"
                )
            parts.append("</div>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)
