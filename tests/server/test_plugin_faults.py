"""A plugin that hangs, resets its connections or answers garbage: each call ends with a clear
outcome in its event and its call row, the model reads what happened, and the conversation's
next turn works."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from powerstrip.testing import CallTool, Reply, TestCA
from tests.server.conftest import Hosted
from tests.server.raw_site import NAME, RawSite

pytestmark = pytest.mark.anyio


@pytest.fixture
def raw_site(test_ca: TestCA) -> Iterator[RawSite]:
    site = RawSite(test_ca.server_context(NAME))
    site.start()
    yield site
    site.stop()


@pytest.fixture
def extra_sites(raw_site: RawSite) -> dict[str, Any]:
    return {NAME: raw_site}  # the hosted fixture reads only `.port`


async def _turn(api: httpx.AsyncClient, chat_id: str, text: str) -> dict[str, Any]:
    answer = await api.post(
        f"/api/conversations/{chat_id}/messages", json={"content": text, "stream": False}
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.mark.parametrize(
    ("kind", "outcome", "says"),
    [
        ("hang", "timeout", "no complete answer within"),
        ("reset", "network_error", ""),
        ("truncated", "network_error", ""),
        ("not-json", "ok", "this is not json"),
        ("html", "ok", "Oops"),
    ],
)
async def test_a_misbehaving_plugin_ends_the_call_clearly_and_the_next_turn_works(
    hosted: Hosted, raw_site: RawSite, kind: str, outcome: str, says: str
) -> None:
    async with await hosted.user("ada") as api:
        added = await api.post("/api/plugins", json={"url": f"https://{NAME}"})
        assert added.status_code == 201, added.text
        plugin_id = added.json()["id"]
        assert (await api.post(f"/api/plugins/{plugin_id}/install")).status_code == 200
        chat = await api.post("/api/conversations", json={"plugin_ids": [plugin_id]})
        chat_id = chat.json()["id"]
        hosted.model.push(CallTool("raw__thing", {"kind": kind}), Reply("Told you."))
        body = await _turn(api, chat_id, f"try {kind}")
        [finished] = [e for e in body["events"] if e["type"] == "call_finished"]
        assert finished["outcome"] == outcome, finished
        assert body["text"] == "Told you."
        assert not [e for e in body["events"] if e["type"] == "error"]  # the turn itself is fine
        [call] = (await api.get(f"/api/conversations/{chat_id}/calls")).json()["calls"]
        assert call["outcome"] == outcome
        if outcome != "ok":
            assert call["error"], call
            assert finished["error"]
        # What the model read says what happened.
        told = hosted.model.requests[-1]["messages"][-1]
        assert told["role"] == "tool"
        assert says.lower() in told["content"].lower()
        # A GET may be retried after a broken connection: the call row counts every attempt.
        assert call["attempts"] == raw_site.hits[kind]
        hosted.model.push(Reply("Still here."))
        assert (await _turn(api, chat_id, "and now?"))["text"] == "Still here."
        view = (await api.get(f"/api/conversations/{chat_id}")).json()
        assert view["pending_approvals"] == []
    async with await hosted.user("root", admin=True) as admin:
        scraped = (await admin.get("/metrics")).text
    series = f'powerstrip_plugin_calls_total{{outcome="{outcome}",plugin="{plugin_id}"}}'
    assert series in scraped
