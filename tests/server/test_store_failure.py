"""A write the store refuses mid-turn ends that turn with a clear error, and nothing more.

The refusal is real: a trigger in the test database refuses inserts into one table (on SQLite
and PostgreSQL alike), as a full disk or a broken constraint would. The turn that hits it ends
with an error event, closes what it left open, and the conversation's next message works; no
approval is left pending that no one can answer.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from powerstrip.store import create_engine
from powerstrip.testing import CallTool, Reply
from tests.server.conftest import Hosted

pytestmark = pytest.mark.anyio

_HOST = "plugin.example.com"


async def _sql(hosted: Hosted, *statements: str) -> None:
    engine = create_engine(hosted.settings.database_url)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _refuse_inserts(hosted: Hosted, table: str, when: str | None) -> None:
    """From now on the database refuses inserts into `table` (rows matching `when`)."""
    if hosted.settings.database_url.startswith("sqlite"):
        condition = f"WHEN {when} " if when else ""
        await _sql(
            hosted,
            f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} {condition}"
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        )
        return
    condition = f"WHEN ({when}) " if when else ""
    await _sql(
        hosted,
        "CREATE FUNCTION refuse_write() RETURNS trigger AS $$ BEGIN "
        "RAISE EXCEPTION 'refused by the test' USING ERRCODE = 'check_violation'; "
        "END $$ LANGUAGE plpgsql",
        f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} FOR EACH ROW {condition}"
        "EXECUTE FUNCTION refuse_write()",
    )


async def _accept_inserts(hosted: Hosted, table: str) -> None:
    if hosted.settings.database_url.startswith("sqlite"):
        await _sql(hosted, f"DROP TRIGGER refuse_{table}")
    else:
        await _sql(hosted, f"DROP TRIGGER refuse_{table} ON {table}", "DROP FUNCTION refuse_write")


async def _post(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await api.post(path, json=body | {"stream": False})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


@pytest.mark.parametrize(
    ("table", "when", "made"),
    [
        # The approval request is refused: the turn fails before asking the user.
        ("approvals", None, 0),
        # The call is made, but its row is refused.
        ("calls", None, 1),
        # The call's answer is refused, and so is the failed turn's own closing: the next
        # message closes the call before it starts.
        ("messages", "NEW.role = 'tool'", 1),
    ],
)
async def test_a_refused_write_mid_turn_leaves_the_conversation_usable(
    hosted: Hosted, table: str, when: str | None, made: int
) -> None:
    async with await hosted.user("ada") as api:
        plugin_id = await hosted.add_plugin(api, _HOST)
        assert (await api.post(f"/api/plugins/{plugin_id}/install")).status_code == 200
        ops = (await api.get(f"/api/plugins/{plugin_id}/operations")).json()["operations"]
        [list_todos] = [o["function_name"] for o in ops if o["operation_id"] == "list_todos"]
        chat = (await api.post("/api/conversations", json={"plugin_ids": [plugin_id]})).json()
        path = f"/api/conversations/{chat['id']}"
        hosted.model.push(
            CallTool(list_todos, {"username": "ada"}, id="list-1"), Reply("Still here.")
        )
        await _refuse_inserts(hosted, table, when)
        first = await _post(api, f"{path}/messages", {"content": "what is on my list?"})
        if first["paused"]:
            first = await _post(api, f"{path}/approvals", {"decisions": {"list-1": True}})
        errors = [e["message"] for e in first["events"] if e["type"] == "error"]
        assert len(errors) == 1, first
        assert "the database refused the write" in errors[0], errors
        assert first["events"][-1] == {"type": "turn_done", "text": "", "paused": False}
        await _accept_inserts(hosted, table)

        after = await _post(api, f"{path}/messages", {"content": "are you there?"})
        assert after["text"] == "Still here.", after
        assert [e for e in after["events"] if e["type"] == "error"] == []
        view = (await api.get(path)).json()
        assert view["pending_approvals"] == []
        [answer] = [m for m in view["messages"] if m.get("tool_call_id") == "list-1"]
        assert "may or may not have been made" in answer["content"]

    assert len(hosted.recorders[_HOST].api_calls()) == made
