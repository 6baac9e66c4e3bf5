"""Edit and regenerate: a rewind replaces the turns after one of the user's messages.

The removed messages and their ratings go; the plugin calls they made stay in the call log (they
were made); a question still waiting for approval is withdrawn. A rewind in one process is seen
by another's history cache.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from powerstrip.host import Host, ensure_user
from powerstrip.testing import CallTool, Reply
from tests.server.conftest import Hosted

pytestmark = pytest.mark.anyio

_HOST = "plugin.example.com"


async def _turn(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await api.post(path, json=body | {"stream": False})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def _messages(api: httpx.AsyncClient, chat: str) -> list[tuple[str, str | None]]:
    view = (await api.get(f"/api/conversations/{chat}")).json()
    return [(m["role"], m.get("content")) for m in view["messages"]]


async def _chat_with_todo(hosted: Hosted, api: httpx.AsyncClient) -> tuple[str, str]:
    """A conversation with todo enabled, and its `list_todos` function name."""
    plugin_id = await hosted.add_plugin(api, _HOST)
    assert (await api.post(f"/api/plugins/{plugin_id}/install")).status_code == 200
    ops = (await api.get(f"/api/plugins/{plugin_id}/operations")).json()["operations"]
    [list_todos] = [o["function_name"] for o in ops if o["operation_id"] == "list_todos"]
    chat = (await api.post("/api/conversations", json={"plugin_ids": [plugin_id]})).json()
    return chat["id"], list_todos


async def test_regenerate_replaces_the_answer_and_its_rating_but_keeps_the_call_logged(
    hosted: Hosted,
) -> None:
    async with await hosted.user("ada") as ada:
        chat, list_todos = await _chat_with_todo(hosted, ada)
        path = f"/api/conversations/{chat}"
        hosted.model.push(CallTool(list_todos, {"username": "ada"}, id="first"), Reply("One."))
        paused = await _turn(ada, f"{path}/messages", {"content": "what is on my list?"})
        assert paused["paused"] is True
        done = await _turn(ada, f"{path}/approvals", {"decisions": {"first": True}})
        assert done["text"] == "One."
        answer_seq = len(await _messages(ada, chat))
        rated = await ada.put(f"{path}/messages/{answer_seq}/feedback", json={"rating": "down"})
        assert rated.status_code == 200, rated.text
        [call] = (await ada.get(f"{path}/calls")).json()["calls"]

        hosted.model.push(Reply("Two."))
        again = await _turn(ada, f"{path}/regenerate", {})
        assert again["text"] == "Two."
        assert await _messages(ada, chat) == [
            ("user", "what is on my list?"),
            ("assistant", "Two."),
        ]
        # The model was asked the question again, without the removed turn in front of it.
        asked = hosted.model.requests[-1]["messages"]
        assert [m["role"] for m in asked if m["role"] != "system"] == ["user"]
        # The call the removed turn made was made: it stays in the log.
        assert (await ada.get(f"{path}/calls")).json()["calls"] == [call]
        # The rating was of the removed answer; the new answer at that seq has none.
        assert (await ada.get(f"{path}/feedback")).json()["feedback"] == []


async def test_edit_replaces_the_message_and_every_turn_after_it(hosted: Hosted) -> None:
    async with await hosted.user("ada") as ada:
        chat, _ = await _chat_with_todo(hosted, ada)
        path = f"/api/conversations/{chat}"
        hosted.model.push(Reply("A1."), Reply("A2."))
        await _turn(ada, f"{path}/messages", {"content": "first"})
        await _turn(ada, f"{path}/messages", {"content": "second"})
        title = (await ada.get(path)).json()["title"]

        hosted.model.push(Reply("A3."))
        edited = await _turn(ada, f"{path}/messages", {"content": "first, better", "replaces": 1})
        assert edited["text"] == "A3."
        assert await _messages(ada, chat) == [("user", "first, better"), ("assistant", "A3.")]
        assert (await ada.get(path)).json()["title"] == title

        # The rewind alone, as an API client may want it: the text comes back to edit.
        rewound = await ada.post(f"{path}/rewind", json={})
        assert rewound.status_code == 200, rewound.text
        assert rewound.json() == {"seq": 1, "content": "first, better", "removed": 2}
        assert await _messages(ada, chat) == []


async def test_a_rewind_to_an_answer_a_missing_message_or_someone_elses_changes_nothing(
    hosted: Hosted,
) -> None:
    async with await hosted.user("ada") as ada, await hosted.user("bob") as bob:
        chat, _ = await _chat_with_todo(hosted, ada)
        path = f"/api/conversations/{chat}"
        hosted.model.push(Reply("Hello."))
        await _turn(ada, f"{path}/messages", {"content": "hi"})
        before = await _messages(ada, chat)
        asked = len(hosted.model.requests)

        answer = await ada.post(f"{path}/rewind", json={"seq": 2})
        assert answer.status_code == 422, answer.text
        assert "not one of yours" in answer.json()["error"]["message"]
        edit = {"content": "x", "replaces": 2, "stream": False}
        assert (await ada.post(f"{path}/messages", json=edit)).status_code == 422
        assert (await ada.post(f"{path}/rewind", json={"seq": 9})).status_code == 404
        assert (await ada.post(f"{path}/rewind", json={"seq": 0})).status_code == 422
        # Another user's conversation does not exist for them: the same 404 as a wrong id.
        for api_path, body in (
            (f"{path}/rewind", {"seq": 1}),
            (f"{path}/regenerate", {"stream": False}),
            (f"{path}/messages", {"content": "x", "replaces": 1, "stream": False}),
        ):
            refused = await bob.post(api_path, json=body)
            assert refused.status_code == 404, (api_path, refused.text)
        assert await _messages(ada, chat) == before
        assert len(hosted.model.requests) == asked  # no turn ran

        empty = (await ada.post("/api/conversations", json={})).json()["id"]
        nothing = await ada.post(f"/api/conversations/{empty}/regenerate", json={})
        assert nothing.status_code == 404
        assert "no message of yours" in nothing.json()["error"]["message"]


async def test_regenerating_a_turn_waiting_for_approval_withdraws_the_question(
    hosted: Hosted,
) -> None:
    async with await hosted.user("ada") as ada:
        chat, list_todos = await _chat_with_todo(hosted, ada)
        path = f"/api/conversations/{chat}"
        hosted.model.push(CallTool(list_todos, {"username": "ada"}, id="waiting"))
        paused = await _turn(ada, f"{path}/messages", {"content": "list them"})
        assert paused["paused"] is True
        assert [p["call_id"] for p in (await ada.get(path)).json()["pending_approvals"]] == [
            "waiting"
        ]

        hosted.model.push(Reply("Without the list, then."))
        again = await _turn(ada, f"{path}/regenerate", {})
        assert again["text"] == "Without the list, then."
        assert (await ada.get(path)).json()["pending_approvals"] == []
        late = await ada.post(f"{path}/approvals", json={"decisions": {"waiting": True}})
        assert "nothing is waiting" in late.text
        # The withdrawn call was never made.
        assert (await ada.get(f"{path}/calls")).json()["calls"] == []
        assert hosted.recorders[_HOST].api_calls() == []


async def test_a_rewind_in_one_process_is_seen_by_another_processs_history_cache(
    hosted: Hosted,
) -> None:
    async with await hosted.user("ada") as ada:
        chat, _ = await _chat_with_todo(hosted, ada)
        path = f"/api/conversations/{chat}"
        hosted.model.push(Reply("A1."), Reply("A2."))
        await _turn(ada, f"{path}/messages", {"content": "q1"})
        await _turn(ada, f"{path}/messages", {"content": "q2"})
        other = await Host.start(hosted.settings)  # another process on the same database
        try:
            user = await ensure_user(other.sessions, "ada")

            async def seen() -> list[tuple[str, str | None]]:
                view = await other.chats.get(user, chat)
                return [(m.role, m.content) for m in view.messages]

            assert len(await seen()) == 4  # now cached there
            hosted.model.push(Reply("B1."))
            await _turn(ada, f"{path}/messages", {"content": "q1 again", "replaces": 1})
            # Shorter than what the other process holds.
            assert await seen() == [("user", "q1 again"), ("assistant", "B1.")]
            hosted.model.push(Reply("B2."))
            await _turn(ada, f"{path}/messages", {"content": "q2 again"})
            assert len(await seen()) == 4
            hosted.model.push(Reply("C2."))
            await _turn(ada, f"{path}/regenerate", {})
            # As long as what it holds, the same seqs written again: still not stale.
            assert await seen() == [
                ("user", "q1 again"),
                ("assistant", "B1."),
                ("user", "q2 again"),
                ("assistant", "C2."),
            ]
        finally:
            await other.aclose()
