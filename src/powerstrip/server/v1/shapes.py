"""What each `/v1` route answers, in OpenAI's own types, for the schema at `/v1/openapi.json`.

The routes return OpenAI's JSON as the engines build it; their answers are documented with the
models of the `openai` package (the types the official client reads them into), so a schema
tester can check every answer against what a client expects. `document_answers` adds them to
the app's OpenAPI document when it is first built; lists are OpenAI's page
(`{"object": "list", "data": [...], "first_id", "last_id", "has_more"}`) of the item type.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from openai.types import (
    FileDeleted,
    FileObject,
    Model,
    Upload,
    VectorStore,
    VectorStoreDeleted,
    VectorStoreSearchResponse,
)
from openai.types.audio import Transcription
from openai.types.beta import Assistant, AssistantDeleted, Thread, ThreadDeleted
from openai.types.beta.threads import Message, MessageDeleted, Run
from openai.types.beta.threads.runs import RunStep
from openai.types.chat import ChatCompletion
from openai.types.conversations import (
    Conversation,
    ConversationDeletedResource,
    ConversationItem,
)
from openai.types.responses import Response, ResponseItem
from openai.types.uploads import UploadPart
from openai.types.vector_stores import (
    FileContentResponse,
    VectorStoreFile,
    VectorStoreFileBatch,
    VectorStoreFileDeleted,
)
from pydantic import BaseModel, create_model

__all__ = ["ANSWERS", "PageOf", "document_answers"]

JSON = dict[str, Any]  # Any: JSON Schema


class PageOf:
    """A list of OpenAI's shape; `object` names the page kind when it is not `list`, and an
    unpaged list (the models) has no `has_more`."""

    def __init__(self, item: Any, kind: str = "list", *, paged: bool = True) -> None:
        self.item = item  # Any: an openai type
        self.kind = kind
        self.paged = paged


# (method, path below /v1) → the type of its 200 answer (a JSON one; streams are events).
# Any: openai's models and unions of them.
ANSWERS: dict[tuple[str, str], Any] = {
    ("get", "/models"): PageOf(Model, paged=False),
    ("get", "/models/{model}"): Model,
    ("post", "/chat/completions"): ChatCompletion,
    ("post", "/responses"): Response,
    ("get", "/responses/{response_id}"): Response,
    ("post", "/responses/{response_id}/cancel"): Response,
    ("get", "/responses/{response_id}/input_items"): PageOf(ResponseItem),
    ("post", "/conversations"): Conversation,
    ("get", "/conversations/{conversation_id}"): Conversation,
    ("post", "/conversations/{conversation_id}"): Conversation,
    ("delete", "/conversations/{conversation_id}"): ConversationDeletedResource,
    ("post", "/conversations/{conversation_id}/items"): PageOf(ConversationItem),
    ("get", "/conversations/{conversation_id}/items"): PageOf(ConversationItem),
    ("get", "/conversations/{conversation_id}/items/{item_id}"): ConversationItem,
    ("delete", "/conversations/{conversation_id}/items/{item_id}"): Conversation,
    ("post", "/files"): FileObject,
    ("get", "/files"): PageOf(FileObject),
    ("get", "/files/{file_id}"): FileObject,
    ("delete", "/files/{file_id}"): FileDeleted,
    ("post", "/uploads"): Upload,
    ("post", "/uploads/{upload_id}/parts"): UploadPart,
    ("post", "/uploads/{upload_id}/complete"): Upload,
    ("post", "/uploads/{upload_id}/cancel"): Upload,
    ("post", "/vector_stores"): VectorStore,
    ("get", "/vector_stores"): PageOf(VectorStore),
    ("get", "/vector_stores/{store_id}"): VectorStore,
    ("post", "/vector_stores/{store_id}"): VectorStore,
    ("delete", "/vector_stores/{store_id}"): VectorStoreDeleted,
    ("post", "/vector_stores/{store_id}/search"): PageOf(
        VectorStoreSearchResponse, "vector_store.search_results.page"
    ),
    ("post", "/vector_stores/{store_id}/files"): VectorStoreFile,
    ("get", "/vector_stores/{store_id}/files"): PageOf(VectorStoreFile),
    ("get", "/vector_stores/{store_id}/files/{file_id}"): VectorStoreFile,
    ("post", "/vector_stores/{store_id}/files/{file_id}"): VectorStoreFile,
    ("delete", "/vector_stores/{store_id}/files/{file_id}"): VectorStoreFileDeleted,
    ("get", "/vector_stores/{store_id}/files/{file_id}/content"): PageOf(
        FileContentResponse, "vector_store.file_content.page"
    ),
    ("post", "/vector_stores/{store_id}/file_batches"): VectorStoreFileBatch,
    ("get", "/vector_stores/{store_id}/file_batches/{batch_id}"): VectorStoreFileBatch,
    ("post", "/vector_stores/{store_id}/file_batches/{batch_id}/cancel"): VectorStoreFileBatch,
    ("get", "/vector_stores/{store_id}/file_batches/{batch_id}/files"): PageOf(VectorStoreFile),
    ("post", "/assistants"): Assistant,
    ("get", "/assistants"): PageOf(Assistant),
    ("get", "/assistants/{assistant_id}"): Assistant,
    ("post", "/assistants/{assistant_id}"): Assistant,
    ("delete", "/assistants/{assistant_id}"): AssistantDeleted,
    ("post", "/threads"): Thread,
    ("post", "/threads/runs"): Run,
    ("get", "/threads/{thread_id}"): Thread,
    ("post", "/threads/{thread_id}"): Thread,
    ("delete", "/threads/{thread_id}"): ThreadDeleted,
    ("post", "/threads/{thread_id}/messages"): Message,
    ("get", "/threads/{thread_id}/messages"): PageOf(Message),
    ("get", "/threads/{thread_id}/messages/{message_id}"): Message,
    ("post", "/threads/{thread_id}/messages/{message_id}"): Message,
    ("delete", "/threads/{thread_id}/messages/{message_id}"): MessageDeleted,
    ("post", "/threads/{thread_id}/runs"): Run,
    ("get", "/threads/{thread_id}/runs"): PageOf(Run),
    ("get", "/threads/{thread_id}/runs/{run_id}"): Run,
    ("post", "/threads/{thread_id}/runs/{run_id}"): Run,
    ("post", "/threads/{thread_id}/runs/{run_id}/cancel"): Run,
    ("post", "/threads/{thread_id}/runs/{run_id}/submit_tool_outputs"): Run,
    ("get", "/threads/{thread_id}/runs/{run_id}/steps"): PageOf(RunStep),
    ("get", "/threads/{thread_id}/runs/{run_id}/steps/{step_id}"): RunStep,
    ("post", "/audio/transcriptions"): Transcription,
}

_REF = "#/components/schemas/{model}"


def _schemas() -> tuple[dict[tuple[str, str], JSON], JSON]:
    """Each answer's schema and the definitions they refer to, made in one pass so that two
    types of the same name (openai has several `Content`s) get distinct definitions."""
    keys = list(ANSWERS)
    fields: dict[str, Any] = {}  # Any: pydantic field definitions
    for number, key in enumerate(keys):
        shape = ANSWERS[key]
        fields[f"a{number}"] = (shape.item if isinstance(shape, PageOf) else shape, ...)
    answers: type[BaseModel] = create_model("V1Answers", **fields)
    everything: JSON = answers.model_json_schema(ref_template=_REF, mode="serialization")
    definitions: JSON = everything.get("$defs", {})
    found: dict[tuple[str, str], JSON] = {}
    for number, key in enumerate(keys):
        schema: JSON = everything["properties"][f"a{number}"]
        schema.pop("title", None)
        shape = ANSWERS[key]
        if isinstance(shape, PageOf):
            schema = {
                "type": "object",
                "required": ["object", "data", *(["has_more"] if shape.paged else [])],
                "properties": {
                    "object": {"const": shape.kind},
                    "data": {"type": "array", "items": schema},
                    "has_more": {"type": "boolean"},
                },
            }
        found[key] = schema
    return found, definitions


def document_answers(app: FastAPI) -> None:
    """Make the app's OpenAPI document describe each route's answer with OpenAI's type."""
    plain = app.openapi

    def openapi() -> JSON:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = plain()
        answers, definitions = _schemas()
        spec.setdefault("components", {}).setdefault("schemas", {}).update(definitions)
        for (method, path), schema in answers.items():
            operation = spec["paths"].get(path, {}).get(method)
            if operation is None:
                continue
            answer = operation.setdefault("responses", {}).setdefault(
                "200", {"description": "Successful Response"}
            )
            answer.setdefault("content", {})["application/json"] = {"schema": schema}
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
