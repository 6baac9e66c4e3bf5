"""`ToolCalls`: one user's installed plugins as tools, called one at a time outside a chat.

What an MCP client (`powerstrip mcp serve`, the server's `/mcp`) sees and calls. Each operation
of each plugin the user installed is a tool, with hints derived from the operation; a call goes
the way a chat's call goes: the user's own credentials (renewed once after a 401), the executor
(argument validation, the guarded client, the size cap, retries), and the call ledger (a row
with no conversation). A consequential operation needs the user's allowance
(a grant of the operation, `allow`), or the edge's confirmation from the user (MCP elicitation),
and each user's MCP calls are limited per minute across every process.

    tools = await host.tool_calls.tools(user)
    result = await host.tool_calls.call(user, "todo__addTodo", {"username": "ada", "todo": "x"})
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.errors import NotFoundError, PowerstripError
from powerstrip.host.grants import StoreGrants, add_grant
from powerstrip.host.recorder import record_call_outside_chat
from powerstrip.host.users import UserInfo
from powerstrip.mcp_client import McpTarget
from powerstrip.openapi import FunctionNamer, Tool
from powerstrip.registry import Registry, StoreEntry
from powerstrip.runtime import AuthMaterial, CallOutcome, CallRequest, Executor
from powerstrip.runtime.headers import call_headers, ephemeral_user_id
from powerstrip.settings import Settings
from powerstrip.store import Call, utcnow

__all__ = ["ToolCallResult", "ToolCalls", "ToolHints", "UserTool", "hints_for"]

logger = logging.getLogger(__name__)

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# The conversation id the §6 headers carry for calls outside a chat: the same for every such
# call of a user and plugin (the ephemeral user id already tells users apart).
_NO_CONVERSATION = "mcp"


@dataclass(frozen=True, slots=True)
class ToolHints:
    """MCP's tool annotations, as the operation's method and consequential flag imply."""

    read_only: bool
    destructive: bool
    idempotent: bool
    open_world: bool


def hints_for(tool: Tool) -> ToolHints:
    """The hints of an operation: a plain GET reads; a consequential one may destroy.

    `x-openai-isConsequential: true` (or a non-GET without a declaration, which the platform
    treats as consequential) is never read-only and is destructive; DELETE always is. Every
    plugin is a third party's API: the world is open.
    """
    method = tool.method.upper()
    read_only = method in _READ_METHODS and not tool.consequential
    destructive = not read_only and (tool.consequential or method == "DELETE")
    return ToolHints(
        read_only=read_only,
        destructive=destructive,
        idempotent=method in _IDEMPOTENT_METHODS,
        open_world=True,
    )


def needs_allowance(tool: Tool) -> bool:
    """Whether an MCP call of this operation needs the user's allowance or yes: a consequential one.

    A chat also asks about operations declared `x-openai-isConsequential: false` (with "always
    allow" on offer); an MCP client asks its user itself from the hints, so only what the
    platform calls consequential is held back here.
    """
    return tool.consequential


@dataclass(frozen=True, slots=True)
class UserTool:
    """One operation of an installed plugin, as an MCP client lists it."""

    name: str
    title: str
    description: str
    input_schema: dict[str, Any]  # Any: JSON Schema
    hints: ToolHints
    plugin_id: int
    plugin_name: str
    operation_id: str
    method: str
    path: str
    needs_allowance: bool


@dataclass(frozen=True, slots=True)
class ToolCallResult:
    """What a call gave: the text for the client, and whether it is an error."""

    text: str
    is_error: bool
    outcome: str
    # Set when the call was refused for want of the user's allowance (the edge may ask).
    needs_allowance: bool = False
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class _Found:
    entry: StoreEntry
    tool: Tool
    base_url: str
    origin: str
    description_for_model: str
    mcp: McpTarget | None


class ToolCalls:
    """Lists and calls the acting user's plugin operations; one per process."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        registry: Registry,
        executor: Executor,
        settings: Settings,
        ephemeral_secret: bytes,
    ) -> None:
        self.sessions = sessions
        self.registry = registry
        self.executor = executor
        self.settings = settings
        self._ephemeral_secret = ephemeral_secret

    async def tools(self, user: UserInfo) -> list[UserTool]:
        """Every operation of the user's installed plugins (but those awaiting re-consent)."""
        found = await self._all(user)
        return [_user_tool(item) for item in found]

    async def call(
        self,
        user: UserInfo,
        name: str,
        arguments: Mapping[str, Any],  # Any: JSON values
        *,
        confirmed: bool = False,
    ) -> ToolCallResult:
        """Call one tool for the user; the plugin's and the model's faults come back as results.

        `confirmed` says the user was just asked about this very call (MCP elicitation) and said
        yes; without it, a consequential operation needs the user's allowance.
        NotFoundError when the user has no such tool.
        """
        found = await self._find(user, name)
        tool = found.tool
        plugin_id = found.entry.plugin.id
        if needs_allowance(tool) and not confirmed:
            granted = await StoreGrants(self.sessions, user.id).allowed(
                str(plugin_id), tool.operation_id
            )
            if not granted:
                return ToolCallResult(
                    text=_allowance_message(found),
                    is_error=True,
                    outcome="declined",
                    needs_allowance=True,
                )
        wait = await self._over_limit(user)
        if wait is not None:
            return ToolCallResult(
                text=(
                    f"The call to {name} was not made: more than "
                    f"{self.settings.mcp_calls_per_minute} calls in a minute; try again in "
                    f"{wait} seconds."
                ),
                is_error=True,
                outcome="refused",
            )
        outcome = await self._execute(user, found, json.dumps(dict(arguments)))
        await record_call_outside_chat(self.sessions, user.id, plugin_id, outcome)
        logger.info(
            "tool_calls.call user=%s plugin=%s function=%s outcome=%s",
            user.id,
            plugin_id,
            name,
            outcome.outcome,
        )
        return ToolCallResult(
            text=outcome.model_text,
            is_error=not outcome.ok,
            outcome=outcome.outcome,
            call_id=outcome.call_id,
        )

    async def allow(self, user: UserInfo, name: str) -> UserTool:
        """Let the user's MCP clients call this tool without asking (a grant of its operation).

        In chats, a grant lets only operations declared `x-openai-isConsequential: false` run
        unasked (spec §5): a consequential one is still put to the user there.
        """
        found = await self._find(user, name)
        await add_grant(
            self.sessions,
            user.id,
            found.entry.plugin.id,
            found.tool.operation_id,
            self.settings.grant_ttl_days,
        )
        logger.info(
            "tool_calls.allow user=%s plugin=%s operation=%s",
            user.id,
            found.entry.plugin.id,
            found.tool.operation_id,
        )
        return _user_tool(found)

    # -- building blocks ---------------------------------------------------------------------

    async def _all(self, user: UserInfo, *, function_name: str | None = None) -> list[_Found]:
        entries = [
            entry
            for entry in await self.registry.list_plugins(user.id, installed_only=True)
            if not entry.needs_reconsent
        ]
        if function_name is not None:
            # A call names its plugin in the name's prefix: only that plugin's tools are
            # revalidated (every plugin's, when no namespace matches, as for a shortened name).
            prefix = function_name.split("__", 1)[0]
            named = [
                e for e in entries if FunctionNamer(e.plugin.name_for_model).namespace == prefix
            ]
            entries = named or entries
        loaded = await asyncio.gather(*(self._tools_of(user, entry) for entry in entries))
        found: list[_Found] = []
        seen: set[str] = set()
        for items in loaded:
            for item in items:
                # Two plugins with one namespace: the first keeps the names, as in a chat.
                if item.tool.function_name not in seen:
                    seen.add(item.tool.function_name)
                    found.append(item)
        return found

    async def _tools_of(self, user: UserInfo, entry: StoreEntry) -> list[_Found]:
        try:
            # An MCP server with per-user credentials lists with this user's, for them only.
            cached = await self.registry.tools(entry.plugin.id, user_id=user.id)
        except PowerstripError as exc:
            logger.warning(
                "tool_calls.plugin_unavailable plugin=%s error=%s", entry.plugin.id, exc.message
            )
            return []
        return [
            _Found(
                entry=entry,
                tool=tool,
                base_url=cached.api_base_url,
                origin=cached.manifest_url,
                description_for_model=cached.description_for_model,
                mcp=cached.mcp,
            )
            for tool in cached.toolset.tools
        ]

    async def _find(self, user: UserInfo, name: str) -> _Found:
        for item in await self._all(user, function_name=name):
            if item.tool.function_name == name:
                return item
        raise NotFoundError(
            f"no tool named {name!r} among your installed plugins",
            where="tools",
            fix="list the tools to see their names, or install the plugin first",
        )

    async def _over_limit(self, user: UserInfo) -> int | None:
        """Seconds to wait when the user made the minute's calls already, else None."""
        since = utcnow() - timedelta(minutes=1)
        async with self.sessions() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(Call.started_at)).where(
                        Call.user_id == user.id,
                        Call.conversation_id.is_(None),
                        Call.started_at > since,
                    )
                )
            ).one()
        if count < self.settings.mcp_calls_per_minute or oldest is None:
            return None
        return max(1, round((oldest - since).total_seconds()))

    async def _execute(self, user: UserInfo, found: _Found, arguments: str) -> CallOutcome:
        plugin_id = found.entry.plugin.id
        credentials = self.registry.credential_source(user.id, plugin_id)
        try:
            material = await credentials.current()
        except PowerstripError as exc:
            return self.executor.not_made(found.tool, f"the plugin cannot be called: {exc}")
        outcome = await self.executor.execute(
            found.tool, arguments, self._request(user, found, material)
        )
        if outcome.status_code == 401:
            try:
                renewed = await credentials.refresh()
            except PowerstripError:
                renewed = None
            if renewed is not None:
                outcome = await self.executor.execute(
                    found.tool, arguments, self._request(user, found, renewed)
                )
        return outcome

    def _request(self, user: UserInfo, found: _Found, material: AuthMaterial) -> CallRequest:
        plugin_id = str(found.entry.plugin.id)
        return CallRequest(
            base_url=found.base_url,
            origin=found.origin,
            mcp=found.mcp,
            auth_headers=material.headers,
            context_headers=call_headers(
                conversation_id=_NO_CONVERSATION,
                ephemeral_id=ephemeral_user_id(self._ephemeral_secret, str(user.id), plugin_id),
                subdivision=user.subdivision,
            ),
            secrets=material.secrets,
        )


def _user_tool(found: _Found) -> UserTool:
    tool = found.tool
    entry = found.entry
    plugin_name = entry.plugin.name_for_model
    description = tool.description or tool.summary or f"{tool.method} {tool.path}"
    return UserTool(
        name=tool.function_name,
        title=f"{entry.name_for_human or plugin_name}: {tool.summary or tool.operation_id}",
        description=description,
        input_schema=tool.parameters,
        hints=hints_for(tool),
        plugin_id=entry.plugin.id,
        plugin_name=entry.plugin.name_for_model,
        operation_id=tool.operation_id,
        method=tool.method,
        path=tool.path,
        needs_allowance=needs_allowance(tool),
    )


def _allowance_message(found: _Found) -> str:
    tool = found.tool
    plugin = found.entry.plugin
    return (
        f"The call to {tool.function_name} was not made: {tool.method} {tool.path} of plugin "
        f"{plugin.name_for_model} (id {plugin.id}) changes things, and you have not allowed it "
        "for MCP clients. Allow it with `powerstrip mcp allow "
        f"{tool.function_name}` (or POST /api/mcp/allowed with "
        f'{{"tool": "{tool.function_name}"}}), then call it again; see or revoke allowances '
        "at /api/grants."
    )
