""" "Always allow" grants end with the install they were given under (spec §5, §6)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from powerstrip.testing import CallTool, Reply
from tests.server.conftest import Hosted

pytestmark = pytest.mark.anyio

_HOST = "plugin.example.com"


async def _post(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await api.post(path, json=body | {"stream": False})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def test_uninstall_removes_the_users_grants_so_a_reinstall_asks_again(
    hosted: Hosted,
) -> None:
    async with await hosted.user("ada") as ada, await hosted.user("bob") as bob:
        plugin_id = await hosted.add_plugin(ada, _HOST)
        for api in (ada, bob):
            assert (await api.post(f"/api/plugins/{plugin_id}/install")).status_code == 200
        ops = (await ada.get(f"/api/plugins/{plugin_id}/operations")).json()["operations"]
        [list_todos] = [o["function_name"] for o in ops if o["operation_id"] == "list_todos"]

        async def always_allow(api: httpx.AsyncClient, call_id: str) -> None:
            chat = (await api.post("/api/conversations", json={"plugin_ids": [plugin_id]})).json()
            hosted.model.push(CallTool(list_todos, {"username": "x"}, id=call_id), Reply("Done."))
            path = f"/api/conversations/{chat['id']}"
            paused = await _post(api, f"{path}/messages", {"content": "list"})
            assert paused["paused"] is True
            body = {"decisions": {call_id: True}, "always_allow": [call_id]}
            assert (await _post(api, f"{path}/approvals", body))["text"] == "Done."

        await always_allow(ada, "ada-1")
        await always_allow(bob, "bob-1")
        assert len((await ada.get("/api/grants")).json()["grants"]) == 1

        uninstalled = await ada.delete(f"/api/plugins/{plugin_id}/install")
        assert uninstalled.status_code == 204, uninstalled.text
        assert (await ada.get("/api/grants")).json()["grants"] == []
        # Only the uninstalling user's grants go.
        assert len((await bob.get("/api/grants")).json()["grants"]) == 1

        assert (await ada.post(f"/api/plugins/{plugin_id}/install")).status_code == 200
        chat = (await ada.post("/api/conversations", json={"plugin_ids": [plugin_id]})).json()
        hosted.model.push(CallTool(list_todos, {"username": "x"}, id="ada-2"), Reply("unused"))
        again = await _post(ada, f"/api/conversations/{chat['id']}/messages", {"content": "list"})
        assert again["paused"] is True, again
        assert [e["approval_id"] for e in again["events"] if e["type"] == "approval_needed"] == [
            "ada-2"
        ]
