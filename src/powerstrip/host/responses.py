"""`Responses`: OpenAI's Responses API over the runtime, with conversations and file search.

A response rebuilds its history (its `previous_response_id` chain, or its `conversation`'s
items), runs one API turn (`host.api_turns`) with the request's tools, and streams the Responses
API's events as it goes; the same events, collected, make the response object a plain create
answers. Its tools:

- `function`: the client's own functions; a call ends the response with `function_call` items.
- `file_search`: the model calls a `file_search` function the host runs over the named vector
  stores (`host.vector_stores`), then reads numbered passages and cites them; the answer's
  `[n]` markers become `file_citation` annotations naming the file and quoting the passage.
- `mcp`: the user's installed Powerstrip plugins as server-side tools (`server_label` names one
  plugin by id or name, or `powerstrip` for all installed). Their calls are `mcp_call` items;
  a call that needs the user's approval is an `mcp_approval_request` item, answered with an
  `mcp_approval_response` input item on the next response.

Background responses are the `responses.background` job (docs/jobs.md): whichever worker takes
it runs the response and keeps it as it progresses. The job runs a response at most once: one
found `in_progress` (its worker stopped mid-way) is marked failed, never run again, so no plugin
call of it is made twice. A background response's events are kept too (`host.run_signals`), so
any worker can stream them again (`follow`), and a cancel from any worker reaches the one
running it at once. A stored response (`store`, the default) can be retrieved, listed for its
input items, and deleted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from powerstrip.coordination import EventLogs, Signals
from powerstrip.errors import InvalidInputError, NotFoundError
from powerstrip.host.api_objects import ApiObjects, Page, PageRequest, new_id, now
from powerstrip.host.api_sampling import text_format
from powerstrip.host.api_turns import ApiTurn, ApiTurns, PluginChoice
from powerstrip.host.response_items import (
    FILE_SEARCH_TOOL,
    citations,
    normalize_input,
    search_output,
    to_messages,
)
from powerstrip.host.run_signals import cancel_run, shared_run
from powerstrip.host.users import UserInfo
from powerstrip.host.vector_stores import VectorStores
from powerstrip.jobs import JobPayload, Jobs
from powerstrip.runtime import (
    ApprovalNeeded,
    CallFinished,
    CallStarted,
    ChatMessage,
    ClientCalls,
    ErrorEvent,
    SamplingOptions,
    TextDelta,
    ToolSpec,
    TurnDone,
)

__all__ = ["Conversations", "ResponseRequest", "Responses"]

logger = logging.getLogger(__name__)

JSON = dict[str, Any]  # Any: OpenAI's JSON

_FILE_SEARCH_SPEC = ToolSpec(
    FILE_SEARCH_TOOL,
    "Search the user's files for passages that answer a question.",
    {
        "type": "object",
        "properties": {"query": {"type": "string", "description": "What to look for."}},
        "required": ["query"],
    },
)
_PRIVATE = "_"  # keys of a stored response the API never shows
BACKGROUND_JOB = "responses.background"
_INTERRUPTED = {
    "code": "server_error",
    "message": "the worker running this response stopped before it finished; create it again",
}


@dataclass(frozen=True)
class ResponseRequest:
    """What `POST /v1/responses` asked for."""

    model: str
    input: Any  # Any: a string or a list of items
    instructions: str | None = None
    previous_response_id: str | None = None
    conversation: str | None = None
    tools: Sequence[JSON] = ()
    store: bool = True
    background: bool = False
    metadata: JSON = field(default_factory=dict)
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    tool_choice: Any = "auto"
    parallel_tool_calls: bool = True
    text: JSON | None = None
    user: str | None = None
    # Added to each item this response adds to its conversation (an Assistants run's ids).
    item_tags: JSON = field(default_factory=dict)
    # What the model receives; None: read from temperature, top_p, max_output_tokens, text.
    sampling: SamplingOptions | None = None

    def sampling_options(self) -> SamplingOptions:
        """The request's sampling options (a bad `text.format` is an InvalidInputError)."""
        if self.sampling is not None:
            return self.sampling
        return SamplingOptions(
            temperature=self.temperature,
            top_p=self.top_p,
            max_tokens=self.max_output_tokens,
            response_format=text_format(self.text),
        )


class Conversations:
    """OpenAI's conversations: a user's list of items that responses read and add to."""

    def __init__(self, objects: ApiObjects) -> None:
        self.objects = objects

    async def create(
        self,
        user: UserInfo,
        *,
        items: Any = None,
        metadata: JSON | None = None,
        prefix: str = "conv_",
    ) -> JSON:
        data: JSON = {
            "id": new_id(prefix),
            "object": "conversation",
            "created_at": now(),
            "metadata": metadata or {},
        }
        await self.objects.create(user, "conversation", data)
        if items:
            await self.add_items(user, data["id"], normalize_input(items))
        return data

    async def get(self, user: UserInfo, conversation_id: str) -> JSON:
        return await self.objects.get(user, "conversation", conversation_id)

    async def update(self, user: UserInfo, conversation_id: str, changes: JSON) -> JSON:
        return await self.objects.update(user, "conversation", conversation_id, changes)

    async def delete(self, user: UserInfo, conversation_id: str) -> JSON:
        await self.objects.delete(user, "conversation", conversation_id)
        return {"id": conversation_id, "object": "conversation.deleted", "deleted": True}

    async def add_items(
        self, user: UserInfo, conversation_id: str, items: Sequence[JSON]
    ) -> list[JSON]:
        await self.get(user, conversation_id)
        added = []
        for item in items:
            stored = dict(item)
            stored.setdefault("id", new_id("item_"))
            stored.setdefault("created_at", now())
            await self.objects.create(user, "item", stored, parent_id=conversation_id)
            added.append(stored)
        return added

    async def items(self, user: UserInfo, conversation_id: str) -> list[JSON]:
        await self.get(user, conversation_id)
        return await self.objects.all(user, "item", parent_id=conversation_id)

    async def item_page(self, user: UserInfo, conversation_id: str, request: PageRequest) -> Page:
        await self.get(user, conversation_id)
        return await self.objects.page(user, "item", request, parent_id=conversation_id)

    async def item(self, user: UserInfo, conversation_id: str, item_id: str) -> JSON:
        await self.get(user, conversation_id)
        if await self.objects.parent_of(user, "item", item_id) != conversation_id:
            raise_missing_item(item_id)
        return await self.objects.get(user, "item", item_id)

    async def delete_item(self, user: UserInfo, conversation_id: str, item_id: str) -> JSON:
        await self.item(user, conversation_id, item_id)
        await self.objects.delete(user, "item", item_id)
        return await self.get(user, conversation_id)


def raise_missing_item(item_id: str) -> None:
    raise NotFoundError(
        f"no item with id {item_id!r} in this conversation",
        where="item",
        fix="list the conversation's items to see their ids",
    )


class Responses:
    """Create, stream, keep, cancel and delete a user's responses."""

    def __init__(
        self,
        objects: ApiObjects,
        turns: ApiTurns,
        stores: VectorStores,
        conversations: Conversations,
        jobs: Jobs,
        load_user: Callable[[int], Awaitable[UserInfo]],
        *,
        logs: EventLogs,
        signals: Signals,
    ) -> None:
        self.objects = objects
        self.turns = turns
        self.stores = stores
        self.conversations = conversations
        self.logs = logs
        self.signals = signals
        self.jobs = jobs
        self._load_user = load_user
        jobs.register(BACKGROUND_JOB, self._background_job)

    # -- create ------------------------------------------------------------------------------

    async def start(
        self, user: UserInfo, request: ResponseRequest, *, response: JSON | None = None
    ) -> _Run:
        """Check the request and prepare its run; errors here are the request's (4xx).

        `response` is the object a background job resumes (its id, as the client saw it).
        """
        if request.previous_response_id and request.conversation:
            raise InvalidInputError(
                "previous_response_id and conversation cannot be used together",
                where="previous_response_id",
                fix="continue either a response chain or a conversation",
            )
        items = normalize_input(request.input)
        sampling = request.sampling_options()
        history: list[JSON] = []
        ledger: str | None = None
        if request.previous_response_id:
            history, ledger = await self._chain(user, request.previous_response_id)
        elif request.conversation:
            history = await self.conversations.items(user, request.conversation)
        tools = _Tools.of(request.tools)
        for store_id in tools.vector_store_ids:
            await self.stores.get(user, store_id)
        made = _public(response) if response is not None else self._object(request, tools)
        return _Run(self, user, request, made, history, items, tools, ledger, sampling)

    async def background(self, run: _Run) -> JSON:
        """Queue the run as a job; the response is `queued`, then kept as it progresses."""
        run.response["status"] = "queued"
        await self._keep(run, request=True)
        payload: JobPayload = {
            "user": run.user.id,
            "scopes": sorted(run.user.scopes),
            "response": run.response["id"],
        }
        await self.jobs.enqueue(BACKGROUND_JOB, run.response["id"], payload)
        return _public(run.response)

    async def _background_job(self, payload: JobPayload) -> None:
        """The `responses.background` job: run a queued response, once."""
        found = await self._load_user(int(payload["user"]))
        user = dataclasses.replace(found, scopes=frozenset(payload["scopes"]))
        response_id = str(payload["response"])
        stored = await self.objects.find(user, "response", response_id)
        if stored is None or stored["status"] != "queued":
            if stored is not None and stored["status"] == "in_progress":
                # Its worker stopped mid-way: running it again could repeat its plugin calls.
                logger.warning("responses.interrupted id=%s", response_id)
                await self.objects.update(
                    user, "response", response_id, {"status": "failed", "error": _INTERRUPTED}
                )
            return  # deleted, cancelled or finished already
        request = ResponseRequest(**stored["_request"])
        try:
            run = await self.start(user, request, response=stored)
        except (InvalidInputError, NotFoundError) as exc:
            # Checked when it was queued; since then, a vector store or response went away.
            await self.objects.update(
                user,
                "response",
                response_id,
                {"status": "failed", "error": {"code": "invalid_request", "message": exc.message}},
            )
            return
        try:
            await self._drain(run)
        except asyncio.CancelledError:
            # Cancelled by the client (`cancel` marked it so first), or its worker is stopping.
            now = await self.objects.find(user, "response", response_id)
            if now is not None and now["status"] != "cancelled":
                logger.warning("responses.interrupted id=%s", response_id)
                await self.objects.update(
                    user, "response", response_id, {"status": "failed", "error": _INTERRUPTED}
                )
            raise

    async def _drain(self, run: _Run) -> None:
        try:
            async for _ in run.events():
                pass
        except asyncio.CancelledError:
            raise
        except Exception:
            # No one is reading this run's stream: its failure goes into the kept response.
            logger.exception("responses.background_failed id=%s", run.response["id"])
            run.response["status"] = "failed"
            run.response["error"] = {"code": "server_error", "message": "the response failed"}
            await self._keep(run)

    async def follow(
        self, user: UserInfo, response_id: str, *, starting_after: int = -1
    ) -> AsyncIterator[JSON]:
        """A background response's events after `starting_after`, then each as it comes.

        Whichever worker runs it. Refused (before any event) unless the response is the user's
        and was made with `background: true`.
        """
        stored = await self.objects.get(user, "response", response_id)
        if not stored.get("background"):
            raise InvalidInputError(
                "only a background response can be streamed again",
                where="stream",
                fix="create the response with background: true, or retrieve it without stream",
            )
        return self._follow(user, response_id, starting_after)

    async def _follow(self, user: UserInfo, response_id: str, after: int) -> AsyncIterator[JSON]:
        ended = False
        async for event in self.logs.follow(_log_key(response_id), after=after):
            if event is not None:
                yield event
                continue
            # Quiet for a while: a response that ended (its log expired, or its worker could
            # not keep it) ends the stream after one more quiet spell for late events.
            if ended:
                return
            stored = await self.objects.get(user, "response", response_id)
            ended = stored["status"] not in ("queued", "in_progress")

    # -- stored responses --------------------------------------------------------------------

    async def get(self, user: UserInfo, response_id: str) -> JSON:
        return _public(await self.objects.get(user, "response", response_id))

    async def input_items(self, user: UserInfo, response_id: str, request: PageRequest) -> Page:
        stored = await self.objects.get(user, "response", response_id)
        items = list(stored.get("_input", []))
        if request.order == "desc":
            items.reverse()
        ids = [item["id"] for item in items]
        for cursor in (request.after, request.before):
            if cursor is not None and cursor not in ids:
                raise InvalidInputError(
                    f"no item {cursor} in this response's input", where="after", fix="page again"
                )
        if request.after is not None:
            items = items[ids.index(request.after) + 1 :]
        if request.before is not None:
            items = items[: [item["id"] for item in items].index(request.before)]
        return Page(items[: request.limit], len(items) > request.limit)

    async def cancel(self, user: UserInfo, response_id: str) -> JSON:
        stored = await self.objects.get(user, "response", response_id)
        if not stored.get("background"):
            raise InvalidInputError(
                "only a background response can be cancelled",
                where="response",
                fix="create the response with background: true to be able to cancel it",
            )
        if stored["status"] in ("queued", "in_progress"):
            # Marked first: the job, stopping, tells a client's cancel from a worker stopping.
            await self.objects.update(user, "response", response_id, {"status": "cancelled"})
            await self.jobs.cancel(f"{BACKGROUND_JOB}:{response_id}")
            # The job queue's cancel reaches a running job at its next check; the signal
            # reaches the worker running it now.
            await cancel_run(self.signals, _log_key(response_id))
        return await self.get(user, response_id)

    async def delete(self, user: UserInfo, response_id: str) -> JSON:
        stored = await self.objects.get(user, "response", response_id)
        await self.objects.delete(user, "response", response_id)
        if stored.get("background"):
            await self.jobs.cancel(f"{BACKGROUND_JOB}:{response_id}")
            await cancel_run(self.signals, _log_key(response_id))  # it may be running now
        return {"id": response_id, "object": "response.deleted", "deleted": True}

    # -- building blocks ---------------------------------------------------------------------

    async def _chain(self, user: UserInfo, response_id: str) -> tuple[list[JSON], str | None]:
        """The items of a response chain, oldest first, and its ledger conversation."""
        chain: list[JSON] = []
        ledger: str | None = None
        current: str | None = response_id
        seen: set[str] = set()
        while current and current not in seen:
            seen.add(current)
            stored = await self.objects.get(user, "response", current, what="response")
            ledger = ledger or stored.get("_ledger")
            chain.append(stored)
            current = stored.get("previous_response_id")
        items: list[JSON] = []
        for stored in reversed(chain):
            items.extend(stored.get("_input", []))
            items.extend(stored.get("output", []))
        return items, ledger

    def _object(self, request: ResponseRequest, tools: _Tools) -> JSON:
        return {
            "id": new_id("resp_"),
            "object": "response",
            "created_at": now(),
            "status": "in_progress",
            "background": request.background,
            "error": None,
            "incomplete_details": None,
            "instructions": request.instructions,
            "max_output_tokens": request.max_output_tokens,
            "model": request.model,
            "output": [],
            "parallel_tool_calls": request.parallel_tool_calls,
            "previous_response_id": request.previous_response_id,
            "conversation": {"id": request.conversation} if request.conversation else None,
            "reasoning": {"effort": None, "summary": None},
            "store": request.store,
            "temperature": request.temperature if request.temperature is not None else 1.0,
            "text": request.text or {"format": {"type": "text"}},
            "tool_choice": request.tool_choice,
            "tools": list(request.tools),
            "top_p": request.top_p if request.top_p is not None else 1.0,
            "truncation": "disabled",
            "usage": None,
            "user": request.user,
            "metadata": request.metadata,
        }

    async def _keep(self, run: _Run, *, request: bool = False) -> None:
        if not run.request.store and not run.request.background:
            return
        data = run.response | {"_input": run.items, "_ledger": run.ledger}
        if request:  # what the background job rebuilds the run from
            data["_request"] = dataclasses.asdict(run.request)
        if await self.objects.find(run.user, "response", data["id"]) is None:
            await self.objects.create(run.user, "response", data)
        else:
            await self.objects.update(run.user, "response", data["id"], data)


@dataclass
class _Tools:
    functions: list[ToolSpec]
    vector_store_ids: list[str]
    max_results: int
    filters: Any
    plugins: PluginChoice
    mcp_label: str

    @classmethod
    def of(cls, tools: Sequence[JSON]) -> _Tools:
        functions: list[ToolSpec] = []
        stores: list[str] = []
        max_results = 10
        filters: Any = None
        named: list[str] = []
        everything = False
        label = "powerstrip"
        for position, tool in enumerate(tools):
            kind = tool.get("type")
            if kind == "function":
                name = tool.get("name")
                if not isinstance(name, str) or not name:
                    raise InvalidInputError(
                        f"tools[{position}] needs a name", where=f"tools[{position}]", fix=_TOOL_FIX
                    )
                parameters = tool.get("parameters") or {"type": "object", "properties": {}}
                functions.append(ToolSpec(name, str(tool.get("description") or ""), parameters))
            elif kind == "file_search":
                ids = tool.get("vector_store_ids")
                if not isinstance(ids, list) or not ids:
                    raise InvalidInputError(
                        "a file_search tool needs vector_store_ids",
                        where=f"tools[{position}].vector_store_ids",
                        fix="name the vector stores to search",
                    )
                stores.extend(str(store_id) for store_id in ids)
                max_results = int(tool.get("max_num_results") or 10)
                filters = tool.get("filters")
            elif kind == "mcp":
                label = str(tool.get("server_label") or "powerstrip")
                if label == "powerstrip":
                    everything = True
                else:
                    named.append(label)
            else:
                raise InvalidInputError(
                    f"tool type {kind!r} is not supported",
                    where=f"tools[{position}].type",
                    fix=_TOOL_FIX,
                )
        if stores:
            functions.append(_FILE_SEARCH_SPEC)
        if everything:
            plugins = PluginChoice()
        elif named:
            plugins = PluginChoice(tuple(named))
        else:
            plugins = PluginChoice(enabled=False)
        return cls(functions, stores, max_results, filters, plugins, label)


_TOOL_FIX = (
    "use tools of type function, file_search (with vector_store_ids) or mcp "
    '(server_label "powerstrip" or a plugin\'s name) for your installed plugins'
)


class _Run:
    """One response being made: its events as they happen, its object at the end."""

    def __init__(
        self,
        engine: Responses,
        user: UserInfo,
        request: ResponseRequest,
        response: JSON,
        history: list[JSON],
        items: list[JSON],
        tools: _Tools,
        ledger: str | None,
        sampling: SamplingOptions,
    ) -> None:
        self.engine = engine
        self.sampling = sampling
        self.user = user
        self.request = request
        self.response = response
        self.history = history
        self.items = items
        self.tools = tools
        self.ledger = ledger
        self._sequence = 0
        self._results: list[JSON] = []
        self._usage: JSON | None = None

    def _event(self, kind: str, **fields: Any) -> JSON:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event

    def _messages(self) -> list[ChatMessage]:
        messages = []
        if self.request.instructions:
            messages.append(ChatMessage("system", self.request.instructions))
        return [*messages, *to_messages([*self.history, *self.items])]

    def events(self) -> AsyncIterator[JSON]:
        """The Responses API's stream events, ending with completed, incomplete or failed.

        A background response's are also kept, for any worker to stream again, and a cancel
        signal from any worker cancels it.
        """
        if not self.request.background:
            return self._events()
        engine = self.engine
        key = _log_key(self.response["id"])
        return shared_run(self._events(), key, logs=engine.logs, signals=engine.signals)

    async def _events(self) -> AsyncIterator[JSON]:
        response = self.response
        response["status"] = "in_progress"
        if self.request.background:
            await self.engine._keep(self)  # a poller sees it start
        yield self._event("response.created", response=_public(response))
        yield self._event("response.in_progress", response=_public(response))
        decisions = {
            str(item.get("approval_request_id")): bool(item.get("approve"))
            for item in self.items
            if item.get("type") == "mcp_approval_response"
        }
        try:
            async for event in self._turns(decisions):
                yield event
        except asyncio.CancelledError:
            if not self.request.background:  # a background job says why it stopped
                response["status"] = "cancelled"
                await self.engine._keep(self)
            raise
        usage = self._usage
        response["usage"] = usage
        if response["status"] == "in_progress":
            response["status"] = "completed"
        await self.engine._keep(self)
        if response["conversation"]:
            await self.engine.conversations.add_items(
                self.user,
                response["conversation"]["id"],
                [*self.items, *(item | self.request.item_tags for item in response["output"])],
            )
        final = {"completed": "response.completed", "failed": "response.failed"}.get(
            response["status"], "response.incomplete"
        )
        yield self._event(final, response=_public(response))

    async def _turns(self, decisions: dict[str, bool]) -> AsyncIterator[JSON]:
        if decisions and self.ledger:
            turn_events = self.engine.turns.resume(
                self.user,
                self.ledger,
                decisions,
                sampling=self.sampling,
                client_tools=self.tools.functions,
            )
            turn: ApiTurn | None = None
        else:
            turn = await self.engine.turns.open(
                self.user,
                self._messages(),
                client_tools=self.tools.functions,
                plugins=self.tools.plugins,
                title=f"Response {self.response['id']}",
                sampling=self.sampling,
            )
            if turn.conversation_id is not None:
                self.ledger = turn.conversation_id
            turn_events = turn.run()
        for _ in range(8):
            searches: dict[str, str] = {}
            async for event in self._translate(turn_events, turn, searches):
                yield event
            if not searches or turn is None or self.response["status"] != "in_progress":
                break
            await turn.answer(searches)
            turn_events = turn.run()
        if turn is not None:
            conversation = turn.conversation
            self._usage = {
                "input_tokens": conversation.prompt_tokens,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": conversation.completion_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": conversation.prompt_tokens + conversation.completion_tokens,
            }

    async def _translate(
        self, turn_events: AsyncIterator[Any], turn: ApiTurn | None, searches: dict[str, str]
    ) -> AsyncIterator[JSON]:
        output: list[JSON] = self.response["output"]
        message: JSON | None = None
        text_parts: list[str] = []
        async for event in turn_events:
            if isinstance(event, TextDelta):
                if message is None:
                    message = {
                        "id": new_id("msg_"),
                        "type": "message",
                        "role": "assistant",
                        "status": "in_progress",
                        "content": [],
                    }
                    output.append(message)
                    index = len(output) - 1
                    yield self._event(
                        "response.output_item.added", output_index=index, item=dict(message)
                    )
                    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                    yield self._event(
                        "response.content_part.added",
                        item_id=message["id"],
                        output_index=index,
                        content_index=0,
                        part=part,
                    )
                text_parts.append(event.text)
                yield self._event(
                    "response.output_text.delta",
                    item_id=message["id"],
                    output_index=output.index(message),
                    content_index=0,
                    delta=event.text,
                    logprobs=[],
                )
            elif isinstance(event, CallStarted):
                async for item_event in self._close_message(message, text_parts):
                    yield item_event
                message, text_parts = None, []
                item = {
                    "id": event.call_id,
                    "type": "mcp_call",
                    "server_label": self.tools.mcp_label,
                    "name": event.function_name,
                    "arguments": event.arguments,
                    "output": None,
                    "error": None,
                    "status": "in_progress",
                }
                output.append(item)
                index = len(output) - 1
                yield self._event("response.output_item.added", output_index=index, item=dict(item))
                yield self._event(
                    "response.mcp_call.in_progress", item_id=item["id"], output_index=index
                )
            elif isinstance(event, CallFinished):
                found = [
                    o for o in output if o.get("id") == event.call_id and o["type"] == "mcp_call"
                ]
                if not found:
                    continue
                item = found[0]
                if item is None:
                    continue
                answer = _tool_answer(turn, event.call_id)
                ok = event.outcome == "ok"
                item.update(
                    output=answer,
                    error=None if ok else (event.error or event.outcome),
                    status="completed" if ok else "failed",
                )
                index = output.index(item)
                yield self._event(
                    "response.mcp_call.completed" if ok else "response.mcp_call.failed",
                    item_id=item["id"],
                    output_index=index,
                )
                yield self._event("response.output_item.done", output_index=index, item=dict(item))
            elif isinstance(event, ApprovalNeeded):
                item = {
                    "id": event.approval_id,
                    "type": "mcp_approval_request",
                    "server_label": self.tools.mcp_label,
                    "name": event.function_name,
                    "arguments": event.arguments,
                }
                output.append(item)
                index = len(output) - 1
                yield self._event("response.output_item.added", output_index=index, item=dict(item))
                yield self._event("response.output_item.done", output_index=index, item=dict(item))
            elif isinstance(event, ClientCalls):
                async for item_event in self._close_message(message, text_parts):
                    yield item_event
                message, text_parts = None, []
                for call in event.calls:
                    if call.name == FILE_SEARCH_TOOL and self.tools.vector_store_ids:
                        async for item_event in self._search(call.id, call.arguments, searches):
                            yield item_event
                    else:
                        async for item_event in self._function_call(
                            call.id, call.name, call.arguments
                        ):
                            yield item_event
            elif isinstance(event, ErrorEvent):
                self.response["status"] = "failed"
                self.response["error"] = {"code": "server_error", "message": event.message}
            elif isinstance(event, TurnDone):
                async for item_event in self._close_message(message, text_parts):
                    yield item_event
                message, text_parts = None, []

    async def _close_message(self, message: JSON | None, parts: list[str]) -> AsyncIterator[JSON]:
        if message is None:
            return
        output = self.response["output"]
        index = output.index(message)
        text = "".join(parts)
        annotations = citations(text, self._results) if self._results else []
        for number, annotation in enumerate(annotations):
            yield self._event(
                "response.output_text.annotation.added",
                item_id=message["id"],
                output_index=index,
                content_index=0,
                annotation_index=number,
                annotation=annotation,
            )
        part = {"type": "output_text", "text": text, "annotations": annotations, "logprobs": []}
        yield self._event(
            "response.output_text.done",
            item_id=message["id"],
            output_index=index,
            content_index=0,
            text=text,
            logprobs=[],
        )
        yield self._event(
            "response.content_part.done",
            item_id=message["id"],
            output_index=index,
            content_index=0,
            part=part,
        )
        message.update(status="completed", content=[part])
        yield self._event("response.output_item.done", output_index=index, item=dict(message))

    async def _function_call(self, call_id: str, name: str, arguments: str) -> AsyncIterator[JSON]:
        output = self.response["output"]
        item = {
            "id": new_id("fc_"),
            "type": "function_call",
            "call_id": call_id,
            "name": name,
            "arguments": "",
            "status": "in_progress",
        }
        output.append(item)
        index = len(output) - 1
        yield self._event("response.output_item.added", output_index=index, item=dict(item))
        yield self._event(
            "response.function_call_arguments.delta",
            item_id=item["id"],
            output_index=index,
            delta=arguments,
        )
        yield self._event(
            "response.function_call_arguments.done",
            item_id=item["id"],
            output_index=index,
            arguments=arguments,
            name=name,
        )
        item.update(arguments=arguments, status="completed")
        yield self._event("response.output_item.done", output_index=index, item=dict(item))

    async def _search(
        self, call_id: str, arguments: str, searches: dict[str, str]
    ) -> AsyncIterator[JSON]:
        output = self.response["output"]
        try:
            query = str(json.loads(arguments).get("query", ""))
        except (ValueError, AttributeError):
            query = arguments
        item: JSON = {
            "id": call_id,
            "type": "file_search_call",
            "status": "in_progress",
            "queries": [query],
            "results": None,
        }
        output.append(item)
        index = len(output) - 1
        yield self._event("response.output_item.added", output_index=index, item=dict(item))
        yield self._event(
            "response.file_search_call.in_progress", item_id=call_id, output_index=index
        )
        yield self._event(
            "response.file_search_call.searching", item_id=call_id, output_index=index
        )
        try:
            hits = await self.engine.stores.search(
                self.user,
                self.tools.vector_store_ids,
                query or " ",
                max_num_results=self.tools.max_results,
                filters=self.tools.filters,
            )
        except InvalidInputError as exc:
            hits = []
            logger.info("responses.search_refused error=%s", exc.message)
        results = [
            {
                "file_id": hit["file_id"],
                "filename": hit["filename"],
                "score": hit["score"],
                "text": hit["content"][0]["text"],
                "attributes": hit["attributes"],
            }
            for hit in hits
        ]
        first = len(self._results)
        self._results.extend(results)
        # Passages are numbered across every search of the response, as citations count them.
        searches[call_id] = search_output(results, start=first + 1)
        item.update(status="completed", results=results)
        yield self._event(
            "response.file_search_call.completed", item_id=call_id, output_index=index
        )
        yield self._event("response.output_item.done", output_index=index, item=dict(item))


def _tool_answer(turn: ApiTurn | None, call_id: str) -> str | None:
    if turn is None:
        return None
    for message in reversed(turn.conversation.history):
        if message.role == "tool" and message.tool_call_id == call_id:
            return message.content
    return None


def _public(response: JSON) -> JSON:
    return {key: value for key, value in response.items() if not key.startswith(_PRIVATE)}


def _log_key(response_id: str) -> str:
    """The event log (and cancel channel) of a background response."""
    return f"response:{response_id}"
