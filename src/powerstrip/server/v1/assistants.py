"""The Assistants API (`/v1/assistants`, `/v1/threads`, messages, runs, run steps) for apps
written for it, over `host.openai.assistants` (a thread is a conversation, a run a response)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from powerstrip.host import UserInfo
from powerstrip.host.assistants import Assistants, RunEvent
from powerstrip.server.deps import CurrentHost
from powerstrip.server.v1.access import CurrentCaller
from powerstrip.server.v1.wire import Paging, event_stream, sse

__all__ = ["router"]

router = APIRouter(tags=["assistants"])

JSONObject = dict[str, Any]  # Any: JSON


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class NewAssistant(_Open):
    model: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=512)
    instructions: str | None = Field(default=None, max_length=256_000)
    tools: list[JSONObject] = Field(default_factory=list, max_length=128)
    tool_resources: JSONObject | None = None
    metadata: dict[str, str] | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    response_format: Any = None


class AssistantChanges(_Open):
    model: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=512)
    instructions: str | None = Field(default=None, max_length=256_000)
    tools: list[JSONObject] | None = Field(default=None, max_length=128)
    tool_resources: JSONObject | None = None
    metadata: dict[str, str] | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    response_format: Any = None


class NewMessage(_Open):
    role: str = Field(max_length=16)
    content: str | list[JSONObject]
    attachments: list[JSONObject] | None = None
    metadata: dict[str, str] | None = None


class NewThread(_Open):
    messages: list[NewMessage] = Field(default_factory=list, max_length=100)
    tool_resources: JSONObject | None = None
    metadata: dict[str, str] | None = None


class ThreadChanges(_Open):
    tool_resources: JSONObject | None = None
    metadata: dict[str, str] | None = None


class Metadata(_Open):
    metadata: dict[str, str] = Field(default_factory=dict)


class NewRun(_Open):
    assistant_id: str = Field(min_length=1, max_length=64)
    model: str | None = Field(default=None, max_length=200)
    instructions: str | None = None
    additional_instructions: str | None = None
    additional_messages: list[NewMessage] | None = Field(default=None, max_length=100)
    tools: list[JSONObject] | None = Field(default=None, max_length=128)
    metadata: dict[str, str] | None = None
    stream: bool = False
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    max_prompt_tokens: int | None = Field(default=None, ge=1)
    response_format: Any = None


class NewThreadAndRun(NewRun):
    thread: NewThread | None = None


class ToolOutputs(_Open):
    tool_outputs: list[JSONObject] = Field(min_length=1, max_length=128)
    stream: bool = False


async def _events(events: AsyncIterator[RunEvent]) -> AsyncIterator[str]:
    async for name, data in events:
        yield sse(data, name)
    yield "event: done\ndata: [DONE]\n\n"


async def _run(assistants: Assistants, user: UserInfo, thread_id: str, body: NewRun) -> Any:
    fields = body.model_dump(exclude_unset=True)
    if body.additional_messages is not None:
        fields["additional_messages"] = [m.model_dump() for m in body.additional_messages]
    run = await assistants.create_run(user, thread_id, fields)
    if body.stream:
        return event_stream(_events(assistants.stream(user, run)))
    await assistants.start(user, run)
    return run


# -- assistants ---------------------------------------------------------------------------------


@router.post("/assistants", summary="Create an assistant")
async def create_assistant(body: NewAssistant, host: CurrentHost, caller: CurrentCaller) -> Any:
    fields = body.model_dump(exclude_unset=True) | {"model": body.model}
    return await host.openai.assistants.create_assistant(caller.user, fields)


@router.get("/assistants", summary="List assistants")
async def list_assistants(host: CurrentHost, caller: CurrentCaller, paging: Paging) -> Any:
    return (await host.openai.assistants.assistant_page(caller.user, paging)).as_json()


@router.get("/assistants/{assistant_id}", summary="Retrieve an assistant")
async def get_assistant(assistant_id: str, host: CurrentHost, caller: CurrentCaller) -> Any:
    return await host.openai.assistants.assistant(caller.user, assistant_id)


@router.post("/assistants/{assistant_id}", summary="Modify an assistant")
async def modify_assistant(
    assistant_id: str, body: AssistantChanges, host: CurrentHost, caller: CurrentCaller
) -> Any:
    changes = body.model_dump(exclude_unset=True)
    return await host.openai.assistants.modify_assistant(caller.user, assistant_id, changes)


@router.delete("/assistants/{assistant_id}", summary="Delete an assistant")
async def delete_assistant(assistant_id: str, host: CurrentHost, caller: CurrentCaller) -> Any:
    return await host.openai.assistants.delete_assistant(caller.user, assistant_id)


# -- threads ------------------------------------------------------------------------------------


@router.post("/threads", summary="Create a thread")
async def create_thread(body: NewThread, host: CurrentHost, caller: CurrentCaller) -> Any:
    return await host.openai.assistants.create_thread(
        caller.user,
        messages=[m.model_dump() for m in body.messages],
        tool_resources=body.tool_resources,
        metadata=body.metadata,
    )


@router.post("/threads/runs", summary="Create a thread and run it")
async def create_thread_and_run(
    body: NewThreadAndRun, host: CurrentHost, caller: CurrentCaller
) -> Any:
    assistants = host.openai.assistants
    thread = body.thread or NewThread()
    made = await assistants.create_thread(
        caller.user,
        messages=[m.model_dump() for m in thread.messages],
        tool_resources=thread.tool_resources,
        metadata=thread.metadata,
    )
    run = NewRun.model_validate(body.model_dump(exclude={"thread"}, exclude_unset=True))
    return await _run(assistants, caller.user, made["id"], run)


@router.get("/threads/{thread_id}", summary="Retrieve a thread")
async def get_thread(thread_id: str, host: CurrentHost, caller: CurrentCaller) -> Any:
    return await host.openai.assistants.thread(caller.user, thread_id)


@router.post("/threads/{thread_id}", summary="Modify a thread")
async def modify_thread(
    thread_id: str, body: ThreadChanges, host: CurrentHost, caller: CurrentCaller
) -> Any:
    changes = body.model_dump(exclude_unset=True)
    return await host.openai.assistants.modify_thread(caller.user, thread_id, changes)


@router.delete("/threads/{thread_id}", summary="Delete a thread")
async def delete_thread(thread_id: str, host: CurrentHost, caller: CurrentCaller) -> Any:
    return await host.openai.assistants.delete_thread(caller.user, thread_id)


# -- messages -----------------------------------------------------------------------------------


@router.post("/threads/{thread_id}/messages", summary="Create a message")
async def create_message(
    thread_id: str, body: NewMessage, host: CurrentHost, caller: CurrentCaller
) -> Any:
    return await host.openai.assistants.create_message(caller.user, thread_id, body.model_dump())


@router.get("/threads/{thread_id}/messages", summary="List a thread's messages")
async def list_messages(
    thread_id: str,
    host: CurrentHost,
    caller: CurrentCaller,
    paging: Paging,
    run_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    page = await host.openai.assistants.message_page(caller.user, thread_id, paging, run_id=run_id)
    return page.as_json()


@router.get("/threads/{thread_id}/messages/{message_id}", summary="Retrieve a message")
async def get_message(
    thread_id: str, message_id: str, host: CurrentHost, caller: CurrentCaller
) -> Any:
    return await host.openai.assistants.message(caller.user, thread_id, message_id)


@router.post("/threads/{thread_id}/messages/{message_id}", summary="Modify a message")
async def modify_message(
    thread_id: str, message_id: str, body: Metadata, host: CurrentHost, caller: CurrentCaller
) -> Any:
    return await host.openai.assistants.modify_message(
        caller.user, thread_id, message_id, body.metadata
    )


@router.delete("/threads/{thread_id}/messages/{message_id}", summary="Delete a message")
async def delete_message(
    thread_id: str, message_id: str, host: CurrentHost, caller: CurrentCaller
) -> Any:
    return await host.openai.assistants.delete_message(caller.user, thread_id, message_id)


# -- runs ---------------------------------------------------------------------------------------


@router.post("/threads/{thread_id}/runs", summary="Create a run")
async def create_run(thread_id: str, body: NewRun, host: CurrentHost, caller: CurrentCaller) -> Any:
    return await _run(host.openai.assistants, caller.user, thread_id, body)


@router.get("/threads/{thread_id}/runs", summary="List a thread's runs")
async def list_runs(
    thread_id: str, host: CurrentHost, caller: CurrentCaller, paging: Paging
) -> Any:
    return (await host.openai.assistants.run_page(caller.user, thread_id, paging)).as_json()


@router.get("/threads/{thread_id}/runs/{run_id}", summary="Retrieve a run")
async def get_run(thread_id: str, run_id: str, host: CurrentHost, caller: CurrentCaller) -> Any:
    return await host.openai.assistants.run(caller.user, thread_id, run_id)


@router.post("/threads/{thread_id}/runs/{run_id}", summary="Modify a run")
async def modify_run(
    thread_id: str, run_id: str, body: Metadata, host: CurrentHost, caller: CurrentCaller
) -> Any:
    return await host.openai.assistants.modify_run(caller.user, thread_id, run_id, body.metadata)


@router.post("/threads/{thread_id}/runs/{run_id}/cancel", summary="Cancel a run")
async def cancel_run(thread_id: str, run_id: str, host: CurrentHost, caller: CurrentCaller) -> Any:
    return await host.openai.assistants.cancel(caller.user, thread_id, run_id)


@router.post(
    "/threads/{thread_id}/runs/{run_id}/submit_tool_outputs", summary="Submit tool outputs"
)
async def submit_tool_outputs(
    thread_id: str, run_id: str, body: ToolOutputs, host: CurrentHost, caller: CurrentCaller
) -> Any:
    assistants = host.openai.assistants
    inputs = await assistants.submit_tool_outputs(caller.user, thread_id, run_id, body.tool_outputs)
    if body.stream:
        return event_stream(
            _events(assistants.continue_stream(caller.user, thread_id, run_id, inputs))
        )
    return await assistants.continue_background(caller.user, thread_id, run_id, inputs)


@router.get("/threads/{thread_id}/runs/{run_id}/steps", summary="List a run's steps")
async def list_steps(
    thread_id: str, run_id: str, host: CurrentHost, caller: CurrentCaller, paging: Paging
) -> Any:
    page = await host.openai.assistants.steps(caller.user, thread_id, run_id, paging)
    return page.as_json()


@router.get("/threads/{thread_id}/runs/{run_id}/steps/{step_id}", summary="Retrieve a run step")
async def get_step(
    thread_id: str, run_id: str, step_id: str, host: CurrentHost, caller: CurrentCaller
) -> Any:
    return await host.openai.assistants.step(caller.user, thread_id, run_id, step_id)
