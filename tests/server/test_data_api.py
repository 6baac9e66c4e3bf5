"""Spec §9 over the REST API, on loopback with the example plugins and a scripted model.

History off hides new conversations at once; an export downloads once, holds exactly the
expected files, opens in Chromium showing the conversation (its text escaped, no script run)
and carries no secret the test created; deleting the account leaves no row and no byte of the
user in any table, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import anyio
import httpx
import pytest

from powerstrip.examples import issue_user_key
from powerstrip.host import ARCHIVE_FILES, hash_token
from powerstrip.store import create_engine
from powerstrip.testing import CallTool, Reply
from tests import secret_watch
from tests.chromium import open_page
from tests.data_scan import rows_of_user
from tests.registry.conftest import PUBLIC_URL
from tests.server.conftest import Hosted

pytestmark = pytest.mark.anyio

MARKER = "zebra-marmalade-7731"
# Text a page must show as text: run, it would set window.__pwned.
INJECTED = f'<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> {MARKER} & co'


async def test_history_off_hides_new_conversations_from_the_list_only(hosted: Hosted) -> None:
    async with await hosted.user("ada") as ada, await hosted.user("bob") as bob:
        assert (await ada.get("/api/settings")).json() == {
            "history_enabled": True,
            "email": None,
            "retention_days": 30,
        }
        listed_chat = (await ada.post("/api/conversations", json={})).json()
        assert listed_chat["history_enabled"] is True
        changed = await ada.patch("/api/settings", json={"history_enabled": False})
        assert changed.json()["history_enabled"] is False
        hidden = (await ada.post("/api/conversations", json={"title": "secretive"})).json()
        assert hidden["history_enabled"] is False
        listed = (await ada.get("/api/conversations")).json()["conversations"]
        assert [c["id"] for c in listed] == [listed_chat["id"]]
        own = await ada.get(f"/api/conversations/{hidden['id']}")
        assert own.status_code == 200
        assert own.json()["history_enabled"] is False
        assert (await bob.get(f"/api/conversations/{hidden['id']}")).status_code == 404

        refused = await ada.post("/api/data/conversations/delete", json={"confirm": "bob"})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["where"] == "confirm"
        assert (await ada.get(f"/api/conversations/{hidden['id']}")).status_code == 200
        deleted = await ada.post("/api/data/conversations/delete", json={"confirm": "ada"})
        assert deleted.json()["deleted"]["conversations"] == 2
        assert (await ada.get(f"/api/conversations/{hidden['id']}")).status_code == 404
        bad_mail = await ada.patch("/api/settings", json={"email": "not-an-address"})
        assert bad_mail.status_code == 422


def _local(hosted: Hosted, url: str) -> str:
    assert url.startswith(f"{PUBLIC_URL}/data/exports/")
    return hosted.server.url + url.removeprefix(PUBLIC_URL)


async def test_export_downloads_once_holds_no_secret_and_account_deletion_leaves_nothing(
    hosted: Hosted, tmp_path: Path, chromium_endpoint: str
) -> None:
    async with (
        await hosted.user("admin", admin=True) as admin,
        await hosted.user("dev") as developer,
    ):
        user_plugin = await hosted.add_plugin(admin, "www.example.com")
        await admin.post(f"/api/plugins/{user_plugin}/verified", json={"value": True})
        oauth_plugin = await hosted.add_registered(developer, admin, "example.com")
    key = issue_user_key(hosted.configs["www.example.com"], "alice")
    secret_watch.watch(key)
    alice = await hosted.user("alice")
    bob = await hosted.user("bob")
    alice_token = alice.headers["authorization"].removeprefix("Bearer ")
    alice_id = (await alice.get("/api/me")).json()["id"]
    assert (
        await alice.post(f"/api/plugins/{user_plugin}/install", json={"user_key": key})
    ).status_code == 200
    installed = await alice.post(f"/api/plugins/{oauth_plugin}/install")
    signed_in = await hosted.browser_sign_in(installed.json()["sign_in_url"], "alice")
    assert signed_in.status_code == 200, signed_in.text

    chat = (await alice.post("/api/conversations", json={"plugin_ids": [user_plugin]})).json()
    hosted.model.push(CallTool("todo_user__add_todo", {"todo": MARKER}, id="add-1"))
    hosted.model.push(Reply(f"Added {MARKER}."))
    await alice.post(
        f"/api/conversations/{chat['id']}/messages", json={"content": INJECTED, "stream": False}
    )
    done = await alice.post(
        f"/api/conversations/{chat['id']}/approvals",
        json={"decisions": {"add-1": True}, "stream": False},
    )
    assert done.json()["text"] == f"Added {MARKER}.", done.text
    oauth_chat = (
        await alice.post("/api/conversations", json={"plugin_ids": [oauth_plugin]})
    ).json()
    hosted.model.push(CallTool("todo_oauth__list_todos", {}, id="list-1"), Reply("Listed."))
    await alice.post(
        f"/api/conversations/{oauth_chat['id']}/messages", json={"content": "list", "stream": False}
    )
    await alice.post(
        f"/api/conversations/{oauth_chat['id']}/approvals",
        json={"decisions": {"list-1": True}, "always_allow": ["list-1"], "stream": False},
    )
    messages = (await alice.get(f"/api/conversations/{chat['id']}")).json()["messages"]
    answer_seq = len(messages)  # seq counts from 1: the last message, the answer
    rated = await alice.put(
        f"/api/conversations/{chat['id']}/messages/{answer_seq}/feedback",
        json={"rating": "down", "comment": f"wrong {MARKER}"},
    )
    assert rated.status_code == 200, rated.text
    not_an_answer = await alice.put(
        f"/api/conversations/{chat['id']}/messages/1/feedback", json={"rating": "up"}
    )
    assert not_an_answer.status_code == 404
    bob_chat = (await bob.post("/api/conversations", json={"title": "bob's"})).json()

    # -- the export: a one-time link, a page before the download -----------------------------
    started = await alice.post("/api/data/exports")
    assert started.status_code == 201, started.text
    ticket = started.json()
    assert ticket["status"] == "ready"
    url = _local(hosted, ticket["download_url"])
    secret = httpx.URL(url).params["token"]
    assert (await bob.get(f"/api/data/exports/{ticket['id']}")).status_code == 404
    async with httpx.AsyncClient(verify=hosted.tls) as browser:
        page = await browser.get(url)  # a link preview: shows, uses nothing
        assert page.status_code == 200
        assert "Download" in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
        wrong = await browser.post(url.split("?")[0], data={"token": secret[:-2] + "xx"})
        assert wrong.status_code == 404
        download = await browser.post(url.split("?")[0], data={"token": secret})
        assert download.status_code == 200, download.text
        assert download.headers["content-type"] == "application/zip"
        assert "powerstrip-export-alice-" in download.headers["content-disposition"]
        again = await browser.post(url.split("?")[0], data={"token": secret})
        assert again.status_code == 404
        assert "used already" in again.text
    status = (await alice.get(f"/api/data/exports/{ticket['id']}")).json()
    assert (status["status"], status["size_bytes"]) == ("used", len(download.content))

    raw = download.content
    archive = zipfile.ZipFile(io.BytesIO(raw))
    assert archive.namelist() == list(ARCHIVE_FILES)
    members = {name: archive.read(name).decode() for name in archive.namelist()}
    everything = raw.decode("latin-1") + "\n".join(members.values())
    assert secret_watch.leaks_in_text(everything) == []
    assert alice_token not in everything
    assert hash_token(alice_token) not in everything
    account = json.loads(members["account.json"])
    assert account["user"]["username"] == "alice"
    assert [t["name"] for t in account["api_tokens"]] == ["test"]
    conversations = json.loads(members["conversations.json"])
    assert [c["id"] for c in conversations] == [chat["id"], oauth_chat["id"]]
    assert conversations[0]["messages"][0]["content"] == INJECTED
    assert conversations[0]["approvals"][0]["status"] == "approved"
    plugins = {p["plugin_id"]: p for p in json.loads(members["plugins.json"])}
    assert plugins[user_plugin]["credential"]["kind"] == "user_key"
    assert plugins[oauth_plugin]["credential"]["kind"] == "oauth"
    [grant] = json.loads(members["grants.json"])
    assert grant["operation_id"] == "list_todos"
    [feedback] = json.loads(members["feedback.json"])
    assert (feedback["rating"], feedback["message_seq"]) == ("down", answer_seq)
    calls = json.loads(members["calls.json"])
    assert [c["function_name"] for c in calls] == ["todo_user__add_todo", "todo_oauth__list_todos"]
    assert all(c["outcome"] == "ok" for c in calls)
    assert bob_chat["id"] not in everything

    page_file = tmp_path / "conversations.html"
    page_file.write_text(members["conversations.html"], encoding="utf-8")
    seen = await anyio.to_thread.run_sync(open_page, chromium_endpoint, page_file.as_uri())
    assert seen.title.startswith("Conversations of alice")
    assert f"{MARKER} & co" in seen.text
    assert "<script>window.__pwned=2</script>" in seen.text  # shown as text, not run
    assert f"Added {MARKER}." in seen.text
    assert not seen.script_ran

    # -- deleting the account ---------------------------------------------------------------
    sqlite = hosted.settings.database_url.startswith("sqlite")
    if sqlite:
        await _checkpoint(hosted)
        assert MARKER.encode() in _file_bytes(hosted)  # what the deletion must scrub
    refused = await alice.post("/api/data/account/delete", json={"confirm": "Alice"})
    assert refused.status_code == 422
    assert (await alice.get("/api/me")).status_code == 200
    gone = await alice.post("/api/data/account/delete", json={"confirm": "alice"})
    assert gone.status_code == 200, gone.text
    counts = gone.json()["deleted"]
    assert (counts["users"], counts["api_tokens"], counts["credentials"]) == (1, 1, 2)
    assert (counts["conversations"], counts["installs"], counts["grants"]) == (2, 2, 1)
    assert (await alice.get("/api/me")).status_code == 401  # its tokens are revoked
    assert (await bob.get(f"/api/conversations/{bob_chat['id']}")).status_code == 200
    await alice.aclose()
    await bob.aclose()

    engine = create_engine(hosted.settings.database_url)
    try:
        needles = ("alice", MARKER, key, alice_token, hash_token(alice_token))
        assert await rows_of_user(engine, alice_id, needles) == []
        assert await rows_of_user(engine, -1, ("bob's",)) != []  # the scan does find rows
    finally:
        await engine.dispose()
    if sqlite:
        # Not in the file either: deleted rows are zeroed, the write-ahead log emptied.
        assert MARKER.encode() not in _file_bytes(hosted)


async def _checkpoint(hosted: Hosted) -> None:
    engine = create_engine(hosted.settings.database_url)
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await engine.dispose()


def _file_bytes(hosted: Hosted) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(hosted.db_path.parent.glob("powerstrip.db*")))
