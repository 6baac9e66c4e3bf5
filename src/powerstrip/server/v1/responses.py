"""`/v1/responses` and `/v1/conversations`: the Responses API over `host.openai.responses`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from powerstrip.host import ResponseRequest
from powerstrip.server.deps import CurrentHost
from powerstrip.server.v1.access import CurrentCaller
from powerstrip.server.v1.wire import Paging, event_stream, sse

__all__ = ["router"]

router = APIRouter(tags=["responses"])

JSONObject = dict[str, Any]  # Any: JSON


class NewResponse(BaseModel):
    """OpenAI's request; fields this host does not use are accepted and listed in the docs."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=200)
    input: str | list[JSONObject] = Field(default="")
    instructions: str | None = None
    previous_response_id: str | None = Field(default=None, max_length=64)
    conversation: str | JSONObject | None = None
    tools: list[JSONObject] = Field(default_factory=list, max_length=128)
    store: bool = True
    background: bool = False
    stream: bool = False
    metadata: dict[str, str] | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_output_tokens: int | None = Field(default=None, ge=1)
    tool_choice: Any = "auto"
    parallel_tool_calls: bool = True
    text: JSONObject | None = None
    user: str | None = None


class NewConversation(BaseModel):
    items: list[JSONObject] | None = Field(default=None, max_length=20)
    metadata: dict[str, str] | None = None


class ConversationChanges(BaseModel):
    metadata: dict[str, str]


class NewItems(BaseModel):
    items: list[JSONObject] = Field(min_length=1, max_length=20)


def _request(body: NewResponse) -> ResponseRequest:
    conversation = body.conversation
    if isinstance(conversation, dict):
        conversation = str(conversation.get("id", ""))
    return ResponseRequest(
        model=body.model,
        input=body.input,
        instructions=body.instructions,
        previous_response_id=body.previous_response_id,
        conversation=conversation or None,
        tools=body.tools,
        store=body.store,
        background=body.background,
        metadata=body.metadata or {},
        temperature=body.temperature,
        top_p=body.top_p,
        max_output_tokens=body.max_output_tokens,
        tool_choice=body.tool_choice,
        parallel_tool_calls=body.parallel_tool_calls,
        text=body.text,
        user=body.user,
    )


@router.post("/responses", summary="Create a model response")
async def create_response(body: NewResponse, host: CurrentHost, caller: CurrentCaller) -> Any:
    responses = host.openai.responses
    run = await responses.start(caller.user, _request(body))
    if body.background and not body.stream:
        return await responses.background(run)
    if body.stream:

        async def stream() -> AsyncIterator[str]:
            async for event in run.events():
                yield sse(event, event["type"])

        return event_stream(stream())
    final: JSONObject = {}
    async for event in run.events():
        final = event
    return JSONResponse(final.get("response", {}))


@router.get("/responses/{response_id}", summary="Retrieve a model response")
async def get_response(
    response_id: str,
    host: CurrentHost,
    caller: CurrentCaller,
    stream: bool = False,
    starting_after: Annotated[int, Query(ge=-1)] = -1,
) -> Any:
    """The response; with `stream=true`, a background response's events (after the
    `sequence_number` `starting_after`), as they come, from whichever worker runs it."""
    responses = host.openai.responses
    if not stream:
        return await responses.get(caller.user, response_id)
    # Checked before the stream starts: another user's or a foreground response is a 4xx.
    events = await responses.follow(caller.user, response_id, starting_after=starting_after)

    async def replay() -> AsyncIterator[str]:
        async for event in events:
            yield sse(event, event["type"])

    return event_stream(replay())


@router.delete("/responses/{response_id}", summary="Delete a model response")
async def delete_response(response_id: str, host: CurrentHost, caller: CurrentCaller) -> Any:
    return await host.openai.responses.delete(caller.user, response_id)


@router.post("/responses/{response_id}/cancel", summary="Cancel a background response")
async def cancel_response(response_id: str, host: CurrentHost, caller: CurrentCaller) -> Any:
    return await host.openai.responses.cancel(caller.user, response_id)


@router.get("/responses/{response_id}/input_items", summary="List a response's input items")
async def input_items(
    response_id: str, host: CurrentHost, caller: CurrentCaller, paging: Paging
) -> Any:
    page = await host.openai.responses.input_items(caller.user, response_id, paging)
    return page.as_json()


@router.post("/conversations", summary="Create a conversation")
async def create_conversation(
    body: NewConversation, host: CurrentHost, caller: CurrentCaller
) -> Any:
    return await host.openai.conversations.create(
        caller.user, items=body.items, metadata=body.metadata
    )


@router.get("/conversations/{conversation_id}", summary="Retrieve a conversation")
async def get_conversation(conversation_id: str, host: CurrentHost, caller: CurrentCaller) -> Any:
    return await host.openai.conversations.get(caller.user, conversation_id)


@router.post("/conversations/{conversation_id}", summary="Update a conversation")
async def update_conversation(
    conversation_id: str, body: ConversationChanges, host: CurrentHost, caller: CurrentCaller
) -> Any:
    return await host.openai.conversations.update(
        caller.user, conversation_id, {"metadata": body.metadata}
    )


@router.delete("/conversations/{conversation_id}", summary="Delete a conversation")
async def delete_conversation(
    conversation_id: str, host: CurrentHost, caller: CurrentCaller
) -> Any:
    return await host.openai.conversations.delete(caller.user, conversation_id)


@router.post("/conversations/{conversation_id}/items", summary="Add items to a conversation")
async def add_items(
    conversation_id: str, body: NewItems, host: CurrentHost, caller: CurrentCaller
) -> Any:
    from powerstrip.host.response_items import normalize_input

    added = await host.openai.conversations.add_items(
        caller.user, conversation_id, normalize_input(body.items)
    )
    return {
        "object": "list",
        "data": added,
        "first_id": added[0]["id"] if added else None,
        "last_id": added[-1]["id"] if added else None,
        "has_more": False,
    }


@router.get("/conversations/{conversation_id}/items", summary="List a conversation's items")
async def list_items(
    conversation_id: str, host: CurrentHost, caller: CurrentCaller, paging: Paging
) -> Any:
    page = await host.openai.conversations.item_page(caller.user, conversation_id, paging)
    return page.as_json()


@router.get(
    "/conversations/{conversation_id}/items/{item_id}", summary="Retrieve a conversation item"
)
async def get_item(
    conversation_id: str, item_id: str, host: CurrentHost, caller: CurrentCaller
) -> Any:
    return await host.openai.conversations.item(caller.user, conversation_id, item_id)


@router.delete(
    "/conversations/{conversation_id}/items/{item_id}", summary="Delete a conversation item"
)
async def delete_item(
    conversation_id: str, item_id: str, host: CurrentHost, caller: CurrentCaller
) -> Any:
    return await host.openai.conversations.delete_item(caller.user, conversation_id, item_id)
