"""The Assistants API for old apps, through the official `openai` client's `beta` namespace:
a thread, a streamed run with file search, requires_action and submit_tool_outputs, cancel."""

from __future__ import annotations

import json
import time
from pathlib import Path

import openai
import pytest

from powerstrip.testing import CallTool, Delay, Reply
from tests.retrieval.files import write_pdf
from tests.v1.conftest import V1

# The client marks the whole Assistants API deprecated (OpenAI shut it down): serving apps that
# still use it is the point here.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def _settle(client: openai.OpenAI, thread_id: str, run_id: str, *statuses: str) -> str:
    for _ in range(200):
        run = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        if run.status in statuses:
            return str(run.status)
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} stayed {run.status}")


def test_a_streamed_run_searches_the_thread_s_files_and_cites_them(v1: V1, tmp_path: Path) -> None:
    client = v1.client("ada")
    pdf = write_pdf(tmp_path / "tides.pdf", ["High tide on the first of May was at 06:12."])
    with pdf.open("rb") as handle:
        paper = client.files.create(file=handle, purpose="assistants")
    store = client.vector_stores.create(file_ids=[paper.id])
    assistant = client.beta.assistants.create(
        model="scripted-model",
        name="Tides",
        instructions="Answer from the files.",
        tools=[{"type": "file_search"}],
    )
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "When was high tide on May 1st?"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    v1.model.push(CallTool("file_search", {"query": "high tide May"}), Reply("At 06:12 [1]."))
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        events = [event.event for event in stream]
        run = stream.get_final_run()
    assert events[:3] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]
    assert "thread.message.delta" in events
    assert events[-1] == "thread.run.completed"
    assert run.status == "completed"
    assert v1.model.requests[-2]["messages"][0] == {
        "role": "system",
        "content": "Answer from the files.",
    }
    messages = client.beta.threads.messages.list(thread.id, order="asc")
    question, answer = messages.data
    assert question.role == "user"
    assert answer.role == "assistant"
    assert answer.run_id == run.id
    text = answer.content[0].text  # type: ignore[union-attr]
    assert text.value == "At 06:12 [1]."
    [citation] = text.annotations
    assert citation.type == "file_citation"
    assert citation.file_citation.file_id == paper.id  # type: ignore[union-attr]
    assert citation.text == "[1]"  # type: ignore[union-attr]
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc")
    assert [step.type for step in steps] == ["tool_calls", "message_creation"]
    assert (
        client.beta.threads.runs.steps.retrieve(
            steps.data[0].id, thread_id=thread.id, run_id=run.id
        ).id
        == steps.data[0].id
    )


def test_a_run_requires_action_then_takes_tool_outputs(v1: V1) -> None:
    client = v1.client("ada")
    assistant = client.beta.assistants.create(model="scripted-model", tools=[WEATHER])  # type: ignore[list-item]
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread.id, role="user", content="Weather in Lima?")
    v1.model.push(CallTool("get_weather", {"city": "Lima"}, id="call_a1"))
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action"
    [call] = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    assert (call.id, call.function.name) == ("call_a1", "get_weather")
    assert json.loads(call.function.arguments) == {"city": "Lima"}
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": "other", "output": "x"}]
        )
    v1.model.push(Reply("Foggy in Lima."))
    done = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": "call_a1", "output": "fog"}],
    )
    assert done.status == "completed"
    assert v1.model.requests[-1]["messages"][-1] == {
        "role": "tool",
        "content": "fog",
        "tool_call_id": "call_a1",
    }
    [latest] = client.beta.threads.messages.list(thread.id, limit=1).data
    assert latest.content[0].text.value == "Foggy in Lima."  # type: ignore[union-attr]
    with pytest.raises(openai.ConflictError):
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": "call_a1", "output": "x"}]
        )


def test_a_run_can_be_cancelled_and_objects_are_managed(v1: V1) -> None:
    client = v1.client("ada")
    assistant = client.beta.assistants.create(model="scripted-model", name="Slow")
    assert client.beta.assistants.update(assistant.id, name="Slower").name == "Slower"
    assert assistant.id in [a.id for a in client.beta.assistants.list()]
    v1.model.push(Delay(30, Reply("too late")))
    run = client.beta.threads.create_and_run(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "Take your time"}]},
    )
    _settle(client, run.thread_id, run.id, "in_progress")
    assert client.beta.threads.runs.cancel(run.id, thread_id=run.thread_id).status == "cancelled"
    assert _settle(client, run.thread_id, run.id, "cancelled") == "cancelled"
    assert [r.id for r in client.beta.threads.runs.list(run.thread_id)] == [run.id]
    thread = client.beta.threads.update(run.thread_id, metadata={"k": "v"})
    assert thread.metadata == {"k": "v"}
    [message] = client.beta.threads.messages.list(run.thread_id)
    assert client.beta.threads.messages.delete(message.id, thread_id=run.thread_id).deleted
    assert client.beta.threads.delete(run.thread_id).deleted
    assert client.beta.assistants.delete(assistant.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.retrieve(run.thread_id)
    with pytest.raises(openai.BadRequestError):
        client.beta.assistants.create(model="m", tools=[{"type": "code_interpreter"}])
