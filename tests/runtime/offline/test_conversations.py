"""The offline router in real conversations with the example plugins, over HTTPS on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import httpx
import pytest

from powerstrip.examples import EXAMPLES
from powerstrip.net import AllowList, GuardedClient, RetryPolicy
from powerstrip.openapi import ToolSet, convert, load_spec
from powerstrip.runtime import ChatMessage, ToolCall
from powerstrip.runtime.conversation import ActivePlugin, AuthMaterial, Conversation
from powerstrip.runtime.events import ApprovalNeeded, CallFinished, Event, TurnDone
from powerstrip.runtime.executor import CallOutcome, Executor
from powerstrip.runtime.offline import OfflineRouter
from powerstrip.testing import LoopbackServer, TestCA, loopback_policy
from tests.conftest import ServeApp
from tests.examples.conftest import make_config

pytestmark = [pytest.mark.anyio, pytest.mark.network]

TODO_HOST = "plugin.example.com"
SPORTS_HOST = "api.example.com"


@dataclass
class Recorder:
    messages: list[ChatMessage] = field(default_factory=list)
    calls: list[CallOutcome] = field(default_factory=list)

    async def add_message(self, message: ChatMessage) -> None:
        self.messages.append(message)

    async def record_call(self, plugin_id: str, outcome: CallOutcome, answer: ChatMessage) -> None:
        self.calls.append(outcome)
        self.messages.append(answer)

    async def approval_requested(self, plugin_id: str, call: ToolCall) -> None:
        pass


class NoGrants:
    async def allowed(self, plugin_id: str, operation_id: str) -> bool:
        return False


class NoCredentials:
    async def current(self) -> AuthMaterial:
        return AuthMaterial({})

    async def refresh(self) -> AuthMaterial | None:
        return None


@dataclass(frozen=True)
class Plugins:
    todo: LoopbackServer
    sports: LoopbackServer
    todo_tools: ToolSet
    sports_tools: ToolSet


def _tools(server: LoopbackServer, test_ca: TestCA, namespace: str) -> ToolSet:
    with httpx.Client(verify=test_ca.client_context()) as client:
        spec = client.get(f"https://127.0.0.1:{server.port}/openapi.yaml").text
    return convert(load_spec(spec), namespace=namespace)


@pytest.fixture(scope="module")
def plugins(
    serve_app: ServeApp, test_ca: TestCA, tmp_path_factory: pytest.TempPathFactory
) -> Plugins:
    config = make_config(tmp_path_factory.mktemp("examples"))
    todo = serve_app(EXAMPLES["todo-none"].build(config))
    sports = serve_app(EXAMPLES["sports"].build(config))
    return Plugins(
        todo, sports, _tools(todo, test_ca, "todo_none"), _tools(sports, test_ca, "sports")
    )


@dataclass
class Chat:
    conversation: Conversation
    recorder: Recorder

    async def ask(self, text: str) -> list[Event]:
        """Send a message; stop where a call waits for approval."""
        return [event async for event in self.conversation.send(text)]

    async def approve(self, events: list[Event]) -> list[Event]:
        approvals = {e.approval_id: True for e in events if isinstance(e, ApprovalNeeded)}
        assert approvals, "nothing waited for approval"
        return [event async for event in self.conversation.resume(approvals)]

    async def say(self, text: str) -> list[Event]:
        """Send a message and approve every call it leads to (the example asks for each)."""
        events = await self.ask(text)
        while isinstance(events[-1], TurnDone) and events[-1].paused:
            events = await self.approve(events)
        return events


def reply(events: list[Event]) -> str:
    done = events[-1]
    assert isinstance(done, TurnDone)
    return done.text


def calls(events: list[Event]) -> list[CallFinished]:
    return [e for e in events if isinstance(e, CallFinished)]


@pytest.fixture
async def chat(plugins: Plugins, ca_bundle: Path) -> AsyncIterator[Chat]:
    todo_policy = loopback_policy(plugins.todo, [TODO_HOST], ca_bundle=ca_bundle)
    sports_policy = loopback_policy(plugins.sports, [SPORTS_HOST], ca_bundle=ca_bundle)
    policy = replace(
        todo_policy,
        resolve=todo_policy.resolve + sports_policy.resolve,
        allow=AllowList.parse([TODO_HOST, SPORTS_HOST]),
    )
    async with GuardedClient(policy) as client:
        active = [
            ActivePlugin(
                plugin_id="todo",
                toolset=plugins.todo_tools,
                description_for_model="Todo lists by username.",
                base_url=f"https://{TODO_HOST}",
                credentials=NoCredentials(),
                ephemeral_user_id="eph-todo",
            ),
            ActivePlugin(
                plugin_id="sports",
                toolset=plugins.sports_tools,
                description_for_model="MLB statistics 2023-2025.",
                base_url=f"https://{SPORTS_HOST}",
                credentials=NoCredentials(),
                ephemeral_user_id="eph-sports",
            ),
        ]
        recorder = Recorder()
        conversation = Conversation(
            conversation_id="offline-1",
            model=OfflineRouter(today=lambda: date(2025, 6, 12)),
            executor=Executor(client, retry=RetryPolicy(max_attempts=1)),
            plugins=active,
            history=[],
            recorder=recorder,
            grants=NoGrants(),
        )
        yield Chat(conversation, recorder)


async def test_todos_are_added_listed_and_deleted_by_position(chat: Chat) -> None:
    added = await chat.say("Add 'buy milk' to carol's todo list")
    assert reply(added).startswith(
        'Called todo_none__add_todo with {"username": "carol", "todo": "buy milk"}.'
    )
    await chat.say("add a todo for carol: water the plants")

    listed = await chat.say("show carol's todos")
    text = reply(listed)
    assert text.startswith('Called todo_none__list_todos with {"username": "carol"}.')
    assert "| id | todo |" in text
    assert "buy milk" in text
    assert "water the plants" in text

    asked = await chat.ask("delete the second one")
    approval = next(e for e in asked if isinstance(e, ApprovalNeeded))
    second_id = json.loads(chat.recorder.calls[-1].model_text)["todos"][1]["id"]
    assert json.loads(approval.arguments) == {"username": "carol", "todo_id": second_id}
    deleted = await chat.approve(asked)
    assert calls(deleted)[0].outcome == "ok"
    assert "water the plants" in reply(deleted)

    remaining = reply(await chat.say("list carol's todos"))
    assert "buy milk" in remaining
    assert "water the plants" not in remaining


async def test_a_missing_argument_is_asked_for_then_used(chat: Chat) -> None:
    asked = await chat.ask("Add 'call the dentist' to my todo list")
    assert calls(asked) == []
    question = reply(asked)
    assert question.startswith("To call `todo_none__add_todo` I need `username`")
    assert '"todo": "call the dentist"' in question

    answered = await chat.ask("dave")
    approval = next(e for e in answered if isinstance(e, ApprovalNeeded))
    assert json.loads(approval.arguments) == {"username": "dave", "todo": "call the dentist"}
    done = await chat.approve(answered)
    assert reply(done).startswith('Called todo_none__add_todo with {"username": "dave"')


async def test_a_question_survives_a_restart_because_it_lives_in_the_history(
    chat: Chat,
) -> None:
    await chat.ask("Add 'renew passport' to my todo list")
    # A new router (another server process) continues from the history alone.
    chat.conversation.model = OfflineRouter()
    answered = await chat.ask("erin")
    approval = next(e for e in answered if isinstance(e, ApprovalNeeded))
    assert json.loads(approval.arguments)["username"] == "erin"


async def test_sports_filters_come_from_the_question(chat: Chat) -> None:
    events = await chat.say("Show me the AL teams in 2024")
    text = reply(events)
    assert calls(events)[0].outcome == "ok"
    first_line = text.splitlines()[0]
    assert first_line.startswith("Called sports__list_teams with")
    arguments = json.loads(first_line.removeprefix("Called sports__list_teams with ")[:-1])
    assert arguments == {"season": 2024, "league": "AL"}
    assert "| id | name |" in text
    assert "NYA" in text
    assert "LAN" not in text


async def test_postseason_series_of_a_season_render_as_a_table(chat: Chat) -> None:
    text = reply(await chat.say("Which postseason series were played in 2023?"))
    assert text.startswith('Called sports__list_series with {"season": 2023}.')
    assert "| --- |" in text
    assert "WS" in text


async def test_a_question_no_plugin_answers_is_declined_plainly(chat: Chat) -> None:
    events = await chat.say("What is the weather going to be in Paris tomorrow?")
    assert calls(events) == []
    text = reply(events)
    assert text.startswith("I did not call any plugin")
    # Briefly what the enabled plugins work with, not the whole list of operations.
    assert "players, teams" in text
    assert "(sports)" in text
    assert "list players" not in text
    assert len(text) < 250


async def test_a_plugin_error_reads_as_a_sentence(chat: Chat) -> None:
    text = reply(await chat.say("delete todo 999 from frank's list"))
    assert text.startswith(
        'Called todo_none__delete_todo with {"username": "frank", "todo_id": 999}.'
    )
    assert "The plugin refused the request (HTTP 404): there is no todo with id 999" in text


async def test_a_declined_call_is_reported_as_not_made(chat: Chat) -> None:
    asked = await chat.ask("delete todo 1 from frank's list")
    approvals = {e.approval_id: False for e in asked if isinstance(e, ApprovalNeeded)}
    assert approvals
    declined = [event async for event in chat.conversation.resume(approvals)]
    text = reply(declined)
    assert not text.startswith("Called"), text
    assert text.startswith("Did not call todo_none__delete_todo with {")
    assert "you declined it" in text
    assert calls(declined) == [] or all(c.outcome != "ok" for c in calls(declined))


async def test_two_writes_in_one_message_each_wait_for_approval(chat: Chat) -> None:
    asked = await chat.ask("Add 'buy milk' to erin's todo list and add 'call mom' to erin's list")
    waiting = [e for e in asked if isinstance(e, ApprovalNeeded)]
    assert sorted(json.loads(e.arguments)["todo"] for e in waiting) == ["buy milk", "call mom"]
    assert calls(asked) == []  # nothing ran before the approvals
    # One approved, one declined: only the approved one runs.
    decisions = {waiting[0].approval_id: True, waiting[1].approval_id: False}
    done = [event async for event in chat.conversation.resume(decisions)]
    ran = [c for c in calls(done) if c.outcome == "ok"]
    assert len(ran) == 1
    text = reply(done)
    assert "Called todo_none__add_todo with" in text
    assert "you declined it" in text
    listed = reply(await chat.say("show erin's todos"))
    approved = json.loads(waiting[0].arguments)["todo"]
    declined = json.loads(waiting[1].arguments)["todo"]
    assert approved in listed
    assert declined not in listed
