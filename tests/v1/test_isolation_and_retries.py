"""Another user's objects are 404 everywhere; a create retried with `Idempotency-Key` is made once;
and Powerstrip can be the model backend of another Powerstrip."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from powerstrip.testing import Reply, ScriptedModelServer
from tests.v1.conftest import V1, serve_v1


def test_another_user_s_token_gets_404_on_every_object(v1: V1) -> None:
    ada = v1.client("ada")
    eve = v1.client("eve")
    file = ada.files.create(file=("secret.txt", b"the vault code is 1234"), purpose="assistants")
    store = ada.vector_stores.create(name="ada's", file_ids=[file.id])
    batch = ada.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=[file.id])
    conversation = ada.conversations.create(items=[{"role": "user", "content": "mine"}])
    [item] = ada.conversations.items.list(conversation.id)
    v1.model.push(Reply("Hi Ada."))
    response = ada.responses.create(model="scripted-model", input="Hello")
    attempts: list[Callable[[], Any]] = [
        lambda: eve.files.retrieve(file.id),
        lambda: eve.files.content(file.id),
        lambda: eve.files.delete(file.id),
        lambda: eve.vector_stores.retrieve(store.id),
        lambda: eve.vector_stores.update(store.id, name="mine now"),
        lambda: eve.vector_stores.delete(store.id),
        lambda: eve.vector_stores.search(store.id, query="vault code"),
        lambda: eve.vector_stores.files.list(store.id),
        lambda: eve.vector_stores.files.retrieve(file.id, vector_store_id=store.id),
        lambda: eve.vector_stores.files.delete(file.id, vector_store_id=store.id),
        lambda: eve.vector_stores.files.create(vector_store_id=store.id, file_id=file.id),
        lambda: eve.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id),
        lambda: eve.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id),
        lambda: eve.conversations.retrieve(conversation.id),
        lambda: eve.conversations.update(conversation.id, metadata={"x": "y"}),
        lambda: eve.conversations.delete(conversation.id),
        lambda: eve.conversations.items.list(conversation.id),
        lambda: eve.conversations.items.retrieve(item.id, conversation_id=conversation.id),
        lambda: eve.conversations.items.create(
            conversation.id, items=[{"type": "message", "role": "user", "content": "x"}]
        ),
        lambda: eve.responses.retrieve(response.id),
        lambda: eve.responses.input_items.list(response.id),
        lambda: eve.responses.cancel(response.id),
        lambda: eve.responses.delete(response.id),
        lambda: eve.responses.create(
            model="scripted-model", previous_response_id=response.id, input="and?"
        ),
        lambda: eve.responses.create(
            model="scripted-model", conversation=conversation.id, input="and?"
        ),
        lambda: eve.responses.create(
            model="scripted-model",
            input="and?",
            tools=[{"type": "file_search", "vector_store_ids": [store.id]}],
        ),
        # Eve's own store cannot take Ada's file.
        lambda: eve.vector_stores.create(file_ids=[file.id]),
    ]
    for number, attempt in enumerate(attempts):
        try:
            attempt()
        except openai.NotFoundError:
            continue
        pytest.fail(f"attempt {number} was answered, not refused as not found")
    assert file.id not in [f.id for f in eve.files.list()]
    assert store.id not in [s.id for s in eve.vector_stores.list()]
    # Nothing of Ada's changed.
    assert ada.vector_stores.retrieve(store.id).name == "ada's"
    assert ada.files.content(file.id).read() == b"the vault code is 1234"


def test_a_retried_create_with_an_idempotency_key_is_made_once(v1: V1) -> None:
    client = v1.client("ada")
    key = {"Idempotency-Key": "retry-1"}
    first = client.conversations.create(metadata={"n": "1"}, extra_headers=key)
    again = client.conversations.create(metadata={"n": "1"}, extra_headers=key)
    assert again.id == first.id
    with pytest.raises(openai.ConflictError):
        client.conversations.create(metadata={"n": "2"}, extra_headers=key)
    # A streamed answer is replayed as it was, and the model was asked once.
    v1.model.push(Reply("Only once."))
    asked = len(v1.model.requests)
    stream_key = {"Idempotency-Key": "retry-stream"}
    chunks = [
        list(
            client.chat.completions.create(
                model="scripted-model",
                messages=[{"role": "user", "content": "Once?"}],
                stream=True,
                extra_headers=stream_key,
            )
        )
        for _ in range(2)
    ]
    texts = ["".join(c.choices[0].delta.content or "" for c in run if c.choices) for run in chunks]
    assert texts == ["Only once.", "Only once."]
    assert len(v1.model.requests) == asked + 1
    # Keys are each user's own.
    other = v1.client("eve").conversations.create(metadata={"n": "1"}, extra_headers=key)
    assert other.id != first.id


def test_powerstrip_is_the_model_backend_of_powerstrip(v1: V1, tmp_path: Path) -> None:
    """Our openai_compat backend meets our own /v1: host A's model is host B's /v1."""
    backend_token = v1.token("backend")
    with ScriptedModelServer() as front_model:  # never asked: A's model is B
        front = serve_v1(
            tmp_path,
            front_model,
            model_base_url=v1.base_url,
            model_api_key=backend_token,
            model_name="scripted-model",
        )
        with front:
            token = _token(front)
            client = v1.client("front", api_key=token, base_url=f"{front.url}/v1")
            v1.model.push(Reply("Answered by B's model."))
            stream = client.chat.completions.create(
                model="scripted-model",
                messages=[{"role": "user", "content": "Who answers?"}],
                stream=True,
            )
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
            assert text == "Answered by B's model."
            v1.model.push(Reply("Through responses too."))
            response = client.responses.create(model="scripted-model", input="And responses?")
            assert response.output_text == "Through responses too."
            client.close()
    # B's scripted model got A's request through B's /v1, with the user's words.
    assert v1.model.requests[-1]["messages"][-1]["content"] == "And responses?"
    assert front_model.requests == []


def _token(server: Any) -> str:
    import asyncio

    from tests.v1.conftest import make_token

    return asyncio.run(make_token(server.settings, "front"))


def test_schema_is_served(v1: V1) -> None:
    # The first request builds the schema: seconds on a loaded machine.
    schema = httpx.get(f"{v1.base_url}/openapi.json", timeout=60).json()
    assert "/chat/completions" in schema["paths"]


async def _scoped_token(v1: V1, username: str, scopes: tuple[str, ...]) -> str:
    from powerstrip.host import ensure_user, issue_token
    from powerstrip.store import create_engine, session_factory
    from tests import secret_watch

    engine = create_engine(v1.settings.database_url)
    try:
        sessions = session_factory(engine)
        user = await ensure_user(sessions, username)
        token = await issue_token(sessions, user.id, "scoped", scopes=scopes)
    finally:
        await engine.dispose()
    secret_watch.watch(token)
    return token


def test_a_token_reaches_only_what_its_scopes_allow(v1: V1) -> None:
    import asyncio

    chat_only = v1.client("scoped", api_key=asyncio.run(_scoped_token(v1, "scoped", ("chat",))))
    files_only = v1.client("scoped", api_key=asyncio.run(_scoped_token(v1, "scoped", ("files",))))
    with pytest.raises(openai.PermissionDeniedError) as refused:
        chat_only.files.create(file=("a.txt", b"x"), purpose="assistants")
    assert "files" in refused.value.message
    with pytest.raises(openai.PermissionDeniedError):
        chat_only.vector_stores.list()
    with pytest.raises(openai.PermissionDeniedError):
        files_only.chat.completions.create(
            model="scripted-model", messages=[{"role": "user", "content": "hi"}]
        )
    with pytest.raises(openai.PermissionDeniedError):
        files_only.responses.create(model="scripted-model", input="hi")
    assert files_only.files.create(file=("a.txt", b"x"), purpose="assistants").bytes == 1
    v1.model.push(Reply("Chat is allowed."))
    answer = chat_only.chat.completions.create(
        model="scripted-model", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == "Chat is allowed."


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the client deprecates Assistants
def test_another_user_s_assistants_threads_and_runs_are_404(v1: V1) -> None:
    ada = v1.client("ada")
    eve = v1.client("eve")
    assistant = ada.beta.assistants.create(model="scripted-model")
    thread = ada.beta.threads.create(messages=[{"role": "user", "content": "private"}])
    [message] = ada.beta.threads.messages.list(thread.id).data
    v1.model.push(Reply("Hi Ada."))
    run = ada.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    [step] = ada.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    beta = eve.beta
    attempts: list[Callable[[], Any]] = [
        lambda: beta.assistants.retrieve(assistant.id),
        lambda: beta.assistants.update(assistant.id, name="mine"),
        lambda: beta.assistants.delete(assistant.id),
        lambda: beta.threads.retrieve(thread.id),
        lambda: beta.threads.update(thread.id, metadata={"a": "b"}),
        lambda: beta.threads.delete(thread.id),
        lambda: beta.threads.messages.list(thread.id),
        lambda: beta.threads.messages.create(thread.id, role="user", content="x"),
        lambda: beta.threads.messages.retrieve(message.id, thread_id=thread.id),
        lambda: beta.threads.messages.delete(message.id, thread_id=thread.id),
        lambda: beta.threads.runs.list(thread.id),
        lambda: beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id),
        lambda: beta.threads.runs.retrieve(run.id, thread_id=thread.id),
        lambda: beta.threads.runs.cancel(run.id, thread_id=thread.id),
        lambda: beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": "x", "output": "y"}]
        ),
        lambda: beta.threads.runs.steps.list(run.id, thread_id=thread.id),
        lambda: beta.threads.runs.steps.retrieve(step.id, thread_id=thread.id, run_id=run.id),
        # A thread is a conversation of its owner's only.
        lambda: eve.conversations.retrieve(thread.id),
    ]
    for number, attempt in enumerate(attempts):
        try:
            attempt()
        except openai.NotFoundError:
            continue
        pytest.fail(f"attempt {number} was answered, not refused as not found")
    assert ada.beta.threads.retrieve(thread.id).id == thread.id
