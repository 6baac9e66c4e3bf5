"""A chat through the offline router adds a note to the retrieval plugin and finds it again."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import pytest

from powerstrip.examples import EXAMPLES, issue_user_key
from powerstrip.net import GuardedClient, RetryPolicy
from powerstrip.openapi import convert, load_spec
from powerstrip.runtime import ChatMessage, ToolCall
from powerstrip.runtime.conversation import ActivePlugin, AuthMaterial, Conversation
from powerstrip.runtime.events import ApprovalNeeded, CallFinished, Event, TurnDone
from powerstrip.runtime.executor import CallOutcome, Executor
from powerstrip.runtime.offline import OfflineRouter
from powerstrip.testing import TestCA, loopback_policy
from tests.conftest import ServeApp
from tests.examples.conftest import make_config

pytestmark = [pytest.mark.anyio, pytest.mark.network]

HOST = "plugin.example.com"


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


@dataclass(frozen=True)
class UserKey:
    key: str

    async def current(self) -> AuthMaterial:
        return AuthMaterial({"Authorization": f"Bearer {self.key}"}, (self.key,))

    async def refresh(self) -> AuthMaterial | None:
        return None


async def _say(conversation: Conversation, text: str) -> list[Event]:
    """Send a message and approve every call it leads to."""
    events = [event async for event in conversation.send(text)]
    while isinstance(events[-1], TurnDone) and events[-1].paused:
        approvals = {e.approval_id: True for e in events if isinstance(e, ApprovalNeeded)}
        events = [event async for event in conversation.resume(approvals)]
    return events


@pytest.fixture
async def conversation(
    serve_app: ServeApp, test_ca: TestCA, ca_bundle: Path, tmp_path: Path
) -> AsyncIterator[Conversation]:
    config = make_config(tmp_path)
    server = serve_app(EXAMPLES["retrieval"].build(config))
    async with httpx.AsyncClient(verify=test_ca.client_context()) as http:
        spec = (await http.get(f"https://127.0.0.1:{server.port}/openapi.yaml")).text
    tools = convert(load_spec(spec), namespace="retrieval")
    key = issue_user_key(config, "ada", example="retrieval")
    async with GuardedClient(loopback_policy(server, [HOST], ca_bundle=ca_bundle)) as client:
        yield Conversation(
            conversation_id="retrieval-1",
            model=OfflineRouter(today=lambda: date(2025, 6, 12)),
            executor=Executor(client, retry=RetryPolicy(max_attempts=1)),
            plugins=[
                ActivePlugin(
                    plugin_id="retrieval",
                    toolset=tools,
                    description_for_model="Search the user's documents and notes.",
                    base_url=f"https://{HOST}",
                    credentials=UserKey(key),
                    ephemeral_user_id="eph-ada",
                )
            ],
            history=[],
            recorder=Recorder(),
            grants=NoGrants(),
        )


def _calls(events: list[Event]) -> list[CallFinished]:
    return [e for e in events if isinstance(e, CallFinished)]


def _reply(events: list[Event]) -> str:
    done = events[-1]
    assert isinstance(done, TurnDone)
    return done.text


async def test_a_note_added_in_a_chat_is_found_again(conversation: Conversation) -> None:
    added = await _say(
        conversation, "Add a note: my passport expires on 4 May 2031, renew it in March."
    )
    assert [c.outcome for c in _calls(added)] == ["ok"], _reply(added)
    first_line = _reply(added).splitlines()[0]
    assert first_line.startswith("Called retrieval__add_note with "), first_line
    arguments = json.loads(first_line.removeprefix("Called retrieval__add_note with ")[:-1])
    assert "passport expires on 4 May 2031" in arguments["text"]

    await _say(conversation, "Add a note: the plumber comes on Friday at nine.")
    found = await _say(conversation, "Search my notes: when does my passport expire?")
    assert [c.outcome for c in _calls(found)] == ["ok"]
    text = _reply(found)
    assert text.startswith("Called retrieval__search with "), text
    assert "4 May 2031" in text
