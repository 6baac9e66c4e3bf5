"""`Assistants`: OpenAI's Assistants API for apps written for it, on the Responses engine.

One engine underneath both surfaces: a thread is a conversation (`thread_...`), its messages are
the conversation's message items, and a run is a response over the thread (one per leg: the
first, and one more after each `submit_tool_outputs`). A run moves
queued → in_progress → requires_action (the assistant's functions were called) → in_progress …
→ completed, or failed / cancelled / incomplete; `expired` never happens here (runs do not
expire). Its steps (message creation, tool calls) are kept with it. `file_search` searches the
vector stores of the thread's and the assistant's `tool_resources`.

A run polled rather than streamed runs each leg as the `assistants.run` background job
(docs/jobs.md), at most once: a leg found `in_progress` when its job starts (its worker stopped
mid-way) is marked failed, never run again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from powerstrip.errors import InvalidInputError, NotFoundError, RegistryError
from powerstrip.host.api_objects import ApiObjects, Page, PageRequest, new_id, now
from powerstrip.host.api_sampling import chat_response_format, chat_sampling
from powerstrip.host.responses import Conversations, ResponseRequest, Responses
from powerstrip.host.run_signals import cancel_run, cancellable
from powerstrip.host.users import UserInfo
from powerstrip.host.vector_stores import VectorStores
from powerstrip.jobs import JobPayload, Jobs

__all__ = ["Assistants", "RunEvent"]

logger = logging.getLogger(__name__)

JSON = dict[str, Any]  # Any: OpenAI's JSON
RunEvent = tuple[str, JSON]  # (the `thread.*` event name, its data)

_FINAL = ("completed", "failed", "cancelled", "incomplete", "expired")
RUN_JOB = "assistants.run"
_INTERRUPTED = {
    "code": "server_error",
    "message": "the worker running this run stopped before it finished; create a new run",
}


class Assistants:
    """Assistants, threads, messages, runs and run steps of a user."""

    def __init__(
        self,
        objects: ApiObjects,
        responses: Responses,
        conversations: Conversations,
        stores: VectorStores,
        jobs: Jobs,
        load_user: Callable[[int], Awaitable[UserInfo]],
    ) -> None:
        self.objects = objects
        self.responses = responses
        self.conversations = conversations
        self.stores = stores
        self.jobs = jobs
        self._load_user = load_user
        jobs.register(RUN_JOB, self._run_job)

    # -- assistants --------------------------------------------------------------------------

    async def create_assistant(self, user: UserInfo, fields: JSON) -> JSON:
        _check_tools(fields.get("tools") or [])
        chat_response_format(fields.get("response_format"))
        await self._check_resources(user, fields.get("tool_resources"))
        data: JSON = {
            "id": new_id("asst_"),
            "object": "assistant",
            "created_at": now(),
            "name": fields.get("name"),
            "description": fields.get("description"),
            "model": fields["model"],
            "instructions": fields.get("instructions"),
            "tools": fields.get("tools") or [],
            "tool_resources": fields.get("tool_resources") or {},
            "metadata": fields.get("metadata") or {},
            "temperature": fields.get("temperature"),
            "top_p": fields.get("top_p"),
            "response_format": fields.get("response_format") or "auto",
        }
        return await self.objects.create(user, "assistant", data)

    async def assistant(self, user: UserInfo, assistant_id: str) -> JSON:
        return await self.objects.get(user, "assistant", assistant_id)

    async def assistant_page(self, user: UserInfo, request: PageRequest) -> Page:
        return await self.objects.page(user, "assistant", request)

    async def modify_assistant(self, user: UserInfo, assistant_id: str, changes: JSON) -> JSON:
        if "tools" in changes:
            _check_tools(changes["tools"] or [])
        chat_response_format(changes.get("response_format"))
        await self._check_resources(user, changes.get("tool_resources"))
        return await self.objects.update(user, "assistant", assistant_id, changes)

    async def delete_assistant(self, user: UserInfo, assistant_id: str) -> JSON:
        await self.objects.delete(user, "assistant", assistant_id)
        return {"id": assistant_id, "object": "assistant.deleted", "deleted": True}

    # -- threads -----------------------------------------------------------------------------

    async def create_thread(
        self,
        user: UserInfo,
        *,
        messages: Sequence[JSON] = (),
        tool_resources: JSON | None = None,
        metadata: JSON | None = None,
    ) -> JSON:
        resources = await self._resources(user, tool_resources)
        conversation = await self.conversations.create(user, metadata=metadata, prefix="thread_")
        await self.objects.update(
            user, "conversation", conversation["id"], {"tool_resources": resources}
        )
        for message in messages:
            await self.create_message(user, conversation["id"], message)
        return await self.thread(user, conversation["id"])

    async def thread(self, user: UserInfo, thread_id: str) -> JSON:
        data = await self._thread_row(user, thread_id)
        return {
            "id": data["id"],
            "object": "thread",
            "created_at": data["created_at"],
            "metadata": data.get("metadata") or {},
            "tool_resources": data.get("tool_resources") or {},
        }

    async def modify_thread(self, user: UserInfo, thread_id: str, changes: JSON) -> JSON:
        await self._thread_row(user, thread_id)
        if "tool_resources" in changes:
            changes["tool_resources"] = await self._resources(user, changes["tool_resources"])
        await self.objects.update(user, "conversation", thread_id, changes)
        return await self.thread(user, thread_id)

    async def delete_thread(self, user: UserInfo, thread_id: str) -> JSON:
        await self._thread_row(user, thread_id)
        await self.objects.delete(user, "conversation", thread_id)
        return {"id": thread_id, "object": "thread.deleted", "deleted": True}

    # -- messages ----------------------------------------------------------------------------

    async def create_message(self, user: UserInfo, thread_id: str, fields: JSON) -> JSON:
        thread = await self._thread_row(user, thread_id)
        role = fields.get("role")
        if role not in ("user", "assistant"):
            raise InvalidInputError(
                f"a message's role must be user or assistant, not {role!r}",
                where="role",
                fix="send role user",
            )
        text = _message_text(fields.get("content"))
        attachments = fields.get("attachments") or []
        file_ids = [str(a.get("file_id")) for a in attachments if isinstance(a, dict)]
        if file_ids:
            await self._attach(user, thread, file_ids)
        item = {
            "id": new_id("msg_"),
            "type": "message",
            "role": role,
            "content": [{"type": "input_text" if role == "user" else "output_text", "text": text}],
            "status": "completed",
            "attachments": attachments,
            "metadata": fields.get("metadata") or {},
        }
        [added] = await self.conversations.add_items(user, thread_id, [item])
        return _message_view(added, thread_id)

    async def message(self, user: UserInfo, thread_id: str, message_id: str) -> JSON:
        await self._thread_row(user, thread_id)
        item = await self.conversations.item(user, thread_id, message_id)
        return _message_view(item, thread_id)

    async def message_page(
        self, user: UserInfo, thread_id: str, request: PageRequest, *, run_id: str | None = None
    ) -> Page:
        await self._thread_row(user, thread_id)

        def keep(item: JSON) -> bool:
            return item.get("type") == "message" and (
                run_id is None or item.get("run_id") == run_id
            )

        page = await self.objects.page(user, "item", request, parent_id=thread_id, keep=keep)
        return Page([_message_view(item, thread_id) for item in page.data], page.has_more)

    async def modify_message(
        self, user: UserInfo, thread_id: str, message_id: str, metadata: JSON
    ) -> JSON:
        await self.message(user, thread_id, message_id)
        item = await self.objects.update(user, "item", message_id, {"metadata": metadata})
        return _message_view(item, thread_id)

    async def delete_message(self, user: UserInfo, thread_id: str, message_id: str) -> JSON:
        await self.message(user, thread_id, message_id)
        await self.objects.delete(user, "item", message_id)
        return {"id": message_id, "object": "thread.message.deleted", "deleted": True}

    # -- runs --------------------------------------------------------------------------------

    async def create_run(self, user: UserInfo, thread_id: str, fields: JSON) -> JSON:
        """A queued run; `stream_run` or `start` then runs it."""
        await self._thread_row(user, thread_id)
        assistant = await self.assistant(user, str(fields.get("assistant_id")))
        tools = fields.get("tools")
        if tools is not None:
            _check_tools(tools)
        chat_response_format(fields.get("response_format"))
        for message in fields.get("additional_messages") or ():
            await self.create_message(user, thread_id, message)
        instructions = fields.get("instructions") or assistant.get("instructions") or ""
        if fields.get("additional_instructions"):
            instructions = f"{instructions}\n\n{fields['additional_instructions']}".strip()
        run: JSON = {
            "id": new_id("run_"),
            "object": "thread.run",
            "created_at": now(),
            "thread_id": thread_id,
            "assistant_id": assistant["id"],
            "status": "queued",
            "required_action": None,
            "last_error": None,
            "expires_at": None,
            "started_at": None,
            "cancelled_at": None,
            "failed_at": None,
            "completed_at": None,
            "incomplete_details": None,
            "model": fields.get("model") or assistant["model"],
            "instructions": instructions,
            "tools": tools if tools is not None else assistant.get("tools") or [],
            "metadata": fields.get("metadata") or {},
            "usage": None,
            "temperature": _either(fields, assistant, "temperature"),
            "top_p": _either(fields, assistant, "top_p"),
            "max_prompt_tokens": fields.get("max_prompt_tokens"),
            "max_completion_tokens": fields.get("max_completion_tokens"),
            "truncation_strategy": {"type": "auto", "last_messages": None},
            "response_format": _either(fields, assistant, "response_format") or "auto",
            "tool_choice": fields.get("tool_choice") or "auto",
            "parallel_tool_calls": fields.get("parallel_tool_calls", True),
            "_steps": [],
            "_response_ids": [],
        }
        await self.objects.create(user, "run", run, parent_id=thread_id)
        return _public(run)

    async def run(self, user: UserInfo, thread_id: str, run_id: str) -> JSON:
        return _public(await self._run_row(user, thread_id, run_id))

    async def run_page(self, user: UserInfo, thread_id: str, request: PageRequest) -> Page:
        await self._thread_row(user, thread_id)
        page = await self.objects.page(user, "run", request, parent_id=thread_id)
        return Page([_public(run) for run in page.data], page.has_more)

    async def modify_run(self, user: UserInfo, thread_id: str, run_id: str, metadata: JSON) -> JSON:
        await self._run_row(user, thread_id, run_id)
        return _public(await self.objects.update(user, "run", run_id, {"metadata": metadata}))

    async def steps(
        self, user: UserInfo, thread_id: str, run_id: str, request: PageRequest
    ) -> Page:
        steps = list((await self._run_row(user, thread_id, run_id))["_steps"])
        if request.order == "desc":
            steps.reverse()
        ids = [step["id"] for step in steps]
        if request.after in ids:
            steps = steps[ids.index(request.after) + 1 :]
        return Page(steps[: request.limit], len(steps) > request.limit)

    async def step(self, user: UserInfo, thread_id: str, run_id: str, step_id: str) -> JSON:
        for step in (await self._run_row(user, thread_id, run_id))["_steps"]:
            if step["id"] == step_id:
                return dict(step)
        raise NotFoundError(
            f"no run step {step_id!r}", where="run step", fix="list the run's steps"
        )

    def stream(self, user: UserInfo, run: JSON) -> AsyncIterator[RunEvent]:
        """Run a queued run here, streaming its `thread.*` events."""
        events = self._execute(user, run["id"], run["thread_id"], [], created=True)
        return cancellable(events, _run_key(run["id"]), signals=self.responses.signals)

    async def start(self, user: UserInfo, run: JSON) -> None:
        """Run a queued run in the background (clients poll it)."""
        await self._enqueue(user, run["id"], run["thread_id"], [])

    async def submit_tool_outputs(
        self, user: UserInfo, thread_id: str, run_id: str, outputs: Sequence[JSON]
    ) -> list[JSON]:
        """Check the outputs against the calls the run waits for; the input of its next leg."""
        run = await self._run_row(user, thread_id, run_id)
        action = run.get("required_action") or {}
        if run["status"] != "requires_action":
            raise RegistryError(
                f"run {run_id} is {run['status']}, not waiting for tool outputs",
                where="run",
                fix="submit tool outputs only while the run requires_action",
            )
        waiting = {
            call["id"] for call in action.get("submit_tool_outputs", {}).get("tool_calls", [])
        }
        given = {str(output.get("tool_call_id")) for output in outputs}
        if given != waiting:
            raise InvalidInputError(
                f"the run waits for outputs of {sorted(waiting)}, got {sorted(given)}",
                where="tool_outputs",
                fix="send one output for each tool call of required_action",
            )
        await self.objects.update(
            user, "run", run_id, {"status": "queued", "required_action": None}
        )
        return [
            {
                "type": "function_call_output",
                "call_id": str(output["tool_call_id"]),
                "output": str(output.get("output", "")),
            }
            for output in outputs
        ]

    def continue_stream(
        self, user: UserInfo, thread_id: str, run_id: str, outputs: list[JSON]
    ) -> AsyncIterator[RunEvent]:
        events = self._execute(user, run_id, thread_id, outputs, created=False)
        return cancellable(events, _run_key(run_id), signals=self.responses.signals)

    async def continue_background(
        self, user: UserInfo, thread_id: str, run_id: str, outputs: list[JSON]
    ) -> JSON:
        await self._enqueue(user, run_id, thread_id, outputs)
        return await self.run(user, thread_id, run_id)

    async def cancel(self, user: UserInfo, thread_id: str, run_id: str) -> JSON:
        run = await self._run_row(user, thread_id, run_id)
        if run["status"] in _FINAL:
            raise RegistryError(
                f"run {run_id} is already {run['status']}",
                where="run",
                fix="only a queued, in-progress or waiting run can be cancelled",
            )
        # Marked first: the job, stopping, tells a client's cancel from a worker stopping.
        await self.objects.update(
            user,
            "run",
            run_id,
            {"status": "cancelled", "cancelled_at": now(), "required_action": None},
        )
        await self.jobs.cancel(f"{RUN_JOB}:{_leg_key(run)}")
        # The queue's cancel reaches a running job at its next check; the signal reaches the
        # worker running it now.
        await cancel_run(self.responses.signals, _run_key(run_id))
        return await self.run(user, thread_id, run_id)

    # -- the engine --------------------------------------------------------------------------

    async def _enqueue(
        self, user: UserInfo, run_id: str, thread_id: str, inputs: list[JSON]
    ) -> None:
        run = await self._run_row(user, thread_id, run_id)
        payload: JobPayload = {
            "user": user.id,
            "scopes": sorted(user.scopes),
            "thread": thread_id,
            "run": run_id,
            "inputs": inputs,
        }
        await self.jobs.enqueue(RUN_JOB, _leg_key(run), payload)

    async def _run_job(self, payload: JobPayload) -> None:
        """The `assistants.run` job: run one queued leg of a run, once."""
        found = await self._load_user(int(payload["user"]))
        user = dataclasses.replace(found, scopes=frozenset(payload["scopes"]))
        thread_id, run_id = str(payload["thread"]), str(payload["run"])
        try:
            run = await self._run_row(user, thread_id, run_id)
        except NotFoundError:
            return  # deleted with its thread
        if run["status"] != "queued":
            if run["status"] == "in_progress":
                await self._interrupted(user, run_id)
            return  # cancelled or finished already
        try:
            events = self._execute(
                user, run_id, thread_id, list(payload["inputs"]), created=False, background=True
            )
            # A cancel from any worker reaches this one (`cancel`).
            async for _ in cancellable(events, _run_key(run_id), signals=self.responses.signals):
                pass
        except asyncio.CancelledError:
            # Cancelled by the client (`cancel` marked it so first), or its worker is stopping.
            now_run = await self.objects.find(user, "run", run_id)
            if now_run is not None and now_run["status"] != "cancelled":
                await self._interrupted(user, run_id)
            raise
        except Exception:
            logger.exception("assistants.run_failed run=%s", run_id)
            await self.objects.update(
                user,
                "run",
                run_id,
                {
                    "status": "failed",
                    "failed_at": now(),
                    "last_error": {"code": "server_error", "message": "the run failed"},
                },
            )

    async def _interrupted(self, user: UserInfo, run_id: str) -> None:
        logger.warning("assistants.interrupted run=%s", run_id)
        await self.objects.update(
            user,
            "run",
            run_id,
            {"status": "failed", "failed_at": now(), "last_error": _INTERRUPTED},
        )

    async def _execute(
        self,
        user: UserInfo,
        run_id: str,
        thread_id: str,
        inputs: list[JSON],
        *,
        created: bool,
        background: bool = False,
    ) -> AsyncIterator[RunEvent]:
        run = await self._run_row(user, thread_id, run_id)
        if created:
            yield "thread.run.created", _public(run)
            yield "thread.run.queued", _public(run)
        run = await self._save(
            user, run, status="in_progress", started_at=run["started_at"] or now()
        )
        yield "thread.run.in_progress", _public(run)
        thread = await self._thread_row(user, thread_id)
        assistant = await self.assistant(user, run["assistant_id"])
        request = ResponseRequest(
            model=run["model"],
            input=inputs,
            instructions=run["instructions"] or None,
            conversation=thread_id,
            tools=await self._tools(user, run["tools"], thread, assistant),
            temperature=run.get("temperature"),
            top_p=run.get("top_p"),
            max_output_tokens=run.get("max_completion_tokens"),
            sampling=chat_sampling(
                temperature=run.get("temperature"),
                top_p=run.get("top_p"),
                max_tokens=run.get("max_completion_tokens"),
                response_format=run.get("response_format"),
            ),
            item_tags={"run_id": run_id, "assistant_id": run["assistant_id"]},
        )
        leg = await self.responses.start(user, request)
        steps: list[JSON] = list(run["_steps"])
        calls: list[JSON] = []
        final: JSON = {}
        messages: dict[str, JSON] = {}
        try:
            async for event in leg.events():
                kind = event["type"]
                if kind == "response.output_item.added" and event["item"]["type"] == "message":
                    item = event["item"]
                    step = _step(run, "message_creation", {"message_id": item["id"]})
                    steps.append(step)
                    view = _message_view(
                        item
                        | {
                            "run_id": run_id,
                            "assistant_id": run["assistant_id"],
                            "created_at": now(),
                            "content": [],
                        },
                        thread_id,
                    ) | {"status": "in_progress"}
                    messages[item["id"]] = view
                    yield "thread.run.step.created", step
                    yield "thread.run.step.in_progress", step
                    yield "thread.message.created", view
                    yield "thread.message.in_progress", view
                elif kind == "response.output_text.delta":
                    yield (
                        "thread.message.delta",
                        {
                            "id": event["item_id"],
                            "object": "thread.message.delta",
                            "delta": {
                                "content": [
                                    {
                                        "index": 0,
                                        "type": "text",
                                        "text": {"value": event["delta"], "annotations": []},
                                    }
                                ]
                            },
                        },
                    )
                elif kind == "response.output_item.done":
                    item = event["item"]
                    if item["type"] == "message":
                        view = _message_view(
                            item
                            | {
                                "run_id": run_id,
                                "assistant_id": run["assistant_id"],
                                "created_at": messages[item["id"]]["created_at"],
                            },
                            thread_id,
                        )
                        finished = _finish(steps, "message_id", item["id"])
                        yield "thread.message.completed", view
                        if finished is not None:
                            yield "thread.run.step.completed", finished
                    elif item["type"] == "file_search_call":
                        step = _step(
                            run,
                            "tool_calls",
                            None,
                            [
                                {
                                    "id": item["id"],
                                    "type": "file_search",
                                    "file_search": {
                                        "ranking_options": {
                                            "ranker": "auto",
                                            "score_threshold": 0.0,
                                        },
                                        "results": [
                                            {
                                                "file_id": r["file_id"],
                                                "file_name": r["filename"],
                                                "score": r["score"],
                                                "content": [{"type": "text", "text": r["text"]}],
                                            }
                                            for r in item.get("results") or []
                                        ],
                                    },
                                }
                            ],
                        )
                        step.update(status="completed", completed_at=now())
                        steps.append(step)
                        yield "thread.run.step.created", step
                        yield "thread.run.step.completed", step
                    elif item["type"] == "function_call":
                        calls.append(item)
                elif kind in ("response.completed", "response.failed", "response.incomplete"):
                    final = event["response"]
        except asyncio.CancelledError:
            if background:  # its job says why it stopped
                await self._save(user, run, _steps=steps)
            else:
                await self._save(user, run, status="cancelled", cancelled_at=now(), _steps=steps)
            raise
        run["_response_ids"] = [*run["_response_ids"], final.get("id")]
        usage = final.get("usage") or {}
        fields: JSON = {
            "_steps": steps,
            "_response_ids": run["_response_ids"],
            "usage": {
                "prompt_tokens": usage.get("input_tokens", 0),
                "completion_tokens": usage.get("output_tokens", 0),
                "total_tokens": usage.get("total_tokens", 0),
            },
        }
        if (await self._run_row(user, thread_id, run_id))["status"] == "cancelled":
            fields["status"] = "cancelled"
        elif final.get("status") == "failed":
            error = final.get("error") or {}
            fields |= {
                "status": "failed",
                "failed_at": now(),
                "last_error": {"code": "server_error", "message": error.get("message", "failed")},
            }
        elif calls:
            tool_calls = [
                {
                    "id": call["call_id"],
                    "type": "function",
                    "function": {"name": call["name"], "arguments": call["arguments"]},
                }
                for call in calls
            ]
            step = _step(run, "tool_calls", None, tool_calls)
            steps.append(step)
            yield "thread.run.step.created", step
            fields |= {
                "status": "requires_action",
                "required_action": {
                    "type": "submit_tool_outputs",
                    "submit_tool_outputs": {"tool_calls": tool_calls},
                },
            }
        elif final.get("status") == "completed":
            for step in steps:
                if step["type"] == "tool_calls" and step["status"] == "in_progress":
                    step.update(status="completed", completed_at=now())
            fields |= {"status": "completed", "completed_at": now()}
        else:
            fields |= {
                "status": "incomplete",
                "incomplete_details": {"reason": "max_prompt_tokens"},
            }
        run = await self._save(user, run, **fields)
        name = "requires_action" if run["status"] == "requires_action" else run["status"]
        yield f"thread.run.{name}", _public(run)

    async def _save(self, user: UserInfo, run: JSON, **changes: Any) -> JSON:
        return await self.objects.update(user, "run", run["id"], changes)

    async def _tools(
        self, user: UserInfo, tools: Sequence[JSON], thread: JSON, assistant: JSON
    ) -> list[JSON]:
        converted: list[JSON] = []
        for tool in tools:
            kind = tool.get("type")
            if kind == "function":
                function = tool.get("function") or {}
                converted.append(
                    {
                        "type": "function",
                        "name": function.get("name"),
                        "description": function.get("description") or "",
                        "parameters": function.get("parameters")
                        or {"type": "object", "properties": {}},
                    }
                )
            elif kind == "file_search":
                stores = [
                    *_store_ids(thread.get("tool_resources")),
                    *_store_ids(assistant.get("tool_resources")),
                ]
                if stores:
                    options = tool.get("file_search") or {}
                    converted.append(
                        {
                            "type": "file_search",
                            "vector_store_ids": list(dict.fromkeys(stores)),
                            "max_num_results": options.get("max_num_results") or 10,
                        }
                    )
        return converted

    async def _thread_row(self, user: UserInfo, thread_id: str) -> JSON:
        data = await self.objects.get(user, "conversation", thread_id, what="thread")
        if not str(data["id"]).startswith("thread_"):
            raise NotFoundError(
                f"no thread with id {thread_id!r}", where="thread", fix="list your threads"
            )
        return data

    async def _run_row(self, user: UserInfo, thread_id: str, run_id: str) -> JSON:
        await self._thread_row(user, thread_id)
        if await self.objects.parent_of(user, "run", run_id) != thread_id:
            raise NotFoundError(f"no run {run_id!r} in this thread", where="run", fix="list runs")
        return await self.objects.get(user, "run", run_id)

    async def _check_resources(self, user: UserInfo, resources: Any) -> None:
        for store_id in _store_ids(resources):
            await self.stores.get(user, store_id)

    async def _resources(self, user: UserInfo, resources: Any) -> JSON:
        """Tool resources with their vector stores checked (and made, from `vector_stores`)."""
        if not isinstance(resources, dict):
            return {}
        search = resources.get("file_search") or {}
        ids = list(search.get("vector_store_ids") or [])
        for helper in search.get("vector_stores") or []:
            made = await self.stores.create(user, file_ids=helper.get("file_ids") or [])
            ids.append(made["id"])
        for store_id in ids:
            await self.stores.get(user, store_id)
        return {"file_search": {"vector_store_ids": ids}} if ids else {}

    async def _attach(self, user: UserInfo, thread: JSON, file_ids: list[str]) -> None:
        """Attachments go into the thread's own vector store, as OpenAI does."""
        resources = thread.get("tool_resources") or {}
        ids = _store_ids(resources)
        if ids:
            for file_id in file_ids:
                await self.stores.add_file(user, ids[0], file_id)
            return
        made = await self.stores.create(user, name=f"{thread['id']} files", file_ids=file_ids)
        await self.objects.update(
            user,
            "conversation",
            thread["id"],
            {"tool_resources": {"file_search": {"vector_store_ids": [made["id"]]}}},
        )


def _check_tools(tools: Any) -> None:  # Any: unvalidated JSON
    if not isinstance(tools, list):
        raise InvalidInputError("tools must be a list", where="tools", fix="send a list")
    for position, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind not in ("function", "file_search"):
            raise InvalidInputError(
                f"tools[{position}] of type {kind!r} is not supported here",
                where=f"tools[{position}].type",
                fix="use function or file_search tools (no code_interpreter on this host)",
            )


def _store_ids(resources: Any) -> list[str]:  # Any: unvalidated JSON
    if not isinstance(resources, dict):
        return []
    search = resources.get("file_search") or {}
    return [str(store_id) for store_id in search.get("vector_store_ids") or []]


def _message_text(content: Any) -> str:  # Any: unvalidated JSON
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                texts.append(str(part.get("text", "")))
            else:
                raise InvalidInputError(
                    "message content parts must be text here",
                    where="content",
                    fix="send text parts (no images on this host)",
                )
        return "".join(texts)
    raise InvalidInputError("a message needs content", where="content", fix="send text")


def _message_view(item: JSON, thread_id: str) -> JSON:
    """A conversation's message item as an Assistants `thread.message`."""
    content = []
    for part in item.get("content") or []:
        text = str(part.get("text", ""))
        content.append(
            {
                "type": "text",
                "text": {
                    "value": text,
                    "annotations": [_annotation(a, text) for a in part.get("annotations") or []],
                },
            }
        )
    created = item.get("created_at") or now()
    return {
        "id": item["id"],
        "object": "thread.message",
        "created_at": created,
        "thread_id": thread_id,
        "role": item.get("role", "assistant"),
        "content": content,
        "assistant_id": item.get("assistant_id"),
        "run_id": item.get("run_id"),
        "attachments": item.get("attachments") or [],
        "metadata": item.get("metadata") or {},
        "status": "completed",
        "incomplete_details": None,
        "completed_at": created,
        "incomplete_at": None,
    }


def _annotation(annotation: JSON, text: str) -> JSON:
    """A Responses file citation as the Assistants API writes one: the marker's span and the
    quoted passage."""
    end = int(annotation.get("index", len(text)))
    start = text.rfind("[", 0, end)
    start = start if start >= 0 else end
    return {
        "type": "file_citation",
        "text": text[start:end],
        "start_index": start,
        "end_index": end,
        "file_citation": {
            "file_id": annotation.get("file_id"),
            "quote": annotation.get("quote", ""),
        },
    }


def _step(run: JSON, kind: str, message: JSON | None, tool_calls: list[JSON] | None = None) -> JSON:
    details: JSON = (
        {"type": "message_creation", "message_creation": message}
        if kind == "message_creation"
        else {"type": "tool_calls", "tool_calls": tool_calls or []}
    )
    return {
        "id": new_id("step_"),
        "object": "thread.run.step",
        "created_at": now(),
        "run_id": run["id"],
        "assistant_id": run["assistant_id"],
        "thread_id": run["thread_id"],
        "type": kind,
        "status": "in_progress",
        "step_details": details,
        "last_error": None,
        "expired_at": None,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "metadata": {},
        "usage": None,
    }


def _finish(steps: list[JSON], key: str, value: str) -> JSON | None:
    for step in steps:
        details = step["step_details"].get("message_creation") or {}
        if details.get(key) == value:
            step.update(status="completed", completed_at=now())
            return step
    return None


def _public(run: JSON) -> JSON:
    return {key: value for key, value in run.items() if not key.startswith("_")}


def _run_key(run_id: str) -> str:
    """The cancel channel of an assistants run."""
    return f"run:{run_id}"


def _either(fields: JSON, assistant: JSON, key: str) -> Any:  # Any: a JSON value
    """The run's own value, else its assistant's (0 and "" are values, not "unset")."""
    value = fields.get(key)
    return assistant.get(key) if value is None else value


def _leg_key(run: JSON) -> str:
    """The job key of the run's current leg: one job per leg (each submit starts one)."""
    return f"{run['id']}.{len(run.get('_response_ids') or [])}"
