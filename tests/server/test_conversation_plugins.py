"""How many plugins a conversation may enable, asked through the REST API."""

from __future__ import annotations

import pytest

from powerstrip.examples import issue_user_key
from tests.server.conftest import Hosted

pytestmark = pytest.mark.anyio


async def test_asking_for_a_fourth_plugin_names_no_conversation(hosted: Hosted) -> None:
    key = issue_user_key(hosted.configs["www.example.com"], "admin")
    async with await hosted.user("admin", admin=True) as admin:
        ids = []
        for host in ("plugin.example.com", "api.example.com", "example.com", "www.example.com"):
            plugin_id = await hosted.add_registered(admin, admin, host)
            body = {"user_key": key} if host == "www.example.com" else None
            answer = await admin.post(f"/api/plugins/{plugin_id}/install", json=body)
            assert answer.status_code == 200, answer.text
            ids.append(plugin_id)
        answer = await admin.post("/api/conversations", json={"plugin_ids": ids})
        assert answer.status_code == 409, answer.text
        error = answer.json()["error"]
        assert "at most 3 plugins" in error["message"]
        assert "conversation" not in error["where"], "no conversation was made to name"
        assert (await admin.get("/api/conversations")).json()["conversations"] == []
        answer = await admin.post("/api/conversations", json={"plugin_ids": ids[:3]})
        assert answer.status_code == 201, answer.text
