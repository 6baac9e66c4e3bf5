"""`powerstrip data`: purge, export, delete and the history switch, on the CLI's own store."""

from __future__ import annotations

import json
import stat
import zipfile
from datetime import timedelta

from sqlalchemy import update

from powerstrip.host import ARCHIVE_FILES
from powerstrip.store import Conversation as ConversationRow
from powerstrip.store import transaction, utcnow
from tests.cli.conftest import Cli, run_async


async def _conversations(cli: Cli, *, age_days: int = 0) -> list[str]:
    """Two conversations of ada, started `age_days` ago: history on, then history off."""
    host = await cli.host()
    try:
        ada = await host.users.find("ada")
        await host.data.update(ada, history_enabled=True)
        listed = await host.chats.create(ada, title="listed")
        await host.data.update(ada, history_enabled=False)
        hidden = await host.chats.create(ada, title="hidden")
        async with transaction(host.sessions) as session:
            await session.execute(
                update(ConversationRow)
                .where(ConversationRow.id.in_([listed.id, hidden.id]))
                .values(created_at=utcnow() - timedelta(days=age_days))
            )
        return [listed.id, hidden.id]
    finally:
        await host.aclose()


def test_the_history_switch_hides_new_conversations_from_chat_list(cli: Cli) -> None:
    cli("users", "add", "ada")
    assert "Chat history of ada is on" in cli("data", "history", "ada").stdout
    listed, hidden = run_async(_conversations(cli))
    assert (
        "is off; history-off conversations are kept 30 days" in cli("data", "history", "ada").stdout
    )
    shown = cli("chat", "--list", "--user", "ada").stdout
    assert listed in shown
    assert hidden not in shown
    assert "is on" in cli("data", "history", "ada", "on").stdout


def test_purge_deletes_old_history_off_conversations_once(cli: Cli) -> None:
    cli("users", "add", "ada")
    listed, _hidden = run_async(_conversations(cli, age_days=31))
    first = json.loads(cli("data", "purge", "--json").stdout)
    assert (first["conversations"], first["batches"]) == (1, 1)
    second = json.loads(cli("data", "purge", "--json").stdout)
    assert second["conversations"] == 0
    assert "Purged 0 conversations" in cli("data", "purge").stdout
    assert listed in cli("chat", "--list", "--user", "ada").stdout


def test_export_writes_a_private_zip_of_the_expected_files(cli: Cli) -> None:
    cli("users", "add", "ada")
    run_async(_conversations(cli))
    target = cli.data_dir / "ada.zip"
    result = cli("data", "export", "ada", "--output", str(target))
    assert "Wrote" in result.stdout
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with zipfile.ZipFile(target) as archive:
        assert archive.namelist() == list(ARCHIVE_FILES)
        titles = [c["title"] for c in json.loads(archive.read("conversations.json"))]
    assert sorted(titles) == ["hidden", "listed"]  # history-off ones are the user's data too
    link = cli("data", "export", "ada", "--link").stdout.strip()
    assert link.startswith("https://host.example.org/data/exports/")
    assert "token=" in link


def test_delete_asks_for_the_user_name_again(cli: Cli) -> None:
    cli("users", "add", "ada")
    listed, hidden = run_async(_conversations(cli))
    refused = cli("data", "delete", "ada", "--account", input="ad\n", code=1)
    assert "nothing was deleted" in refused.stderr
    assert "ada" in cli("users", "add", "ada").stdout  # still there
    assert cli("data", "delete", "ada", code=2).stderr.startswith("error: say what to delete")
    one = cli("data", "delete", "ada", "--conversation", listed, "--confirm", "ada")
    assert f"Deleted conversation {listed}" in one.stdout
    every = cli("data", "delete", "ada", "--all-conversations", input="ada\n")
    assert "1 conversations" in every.stdout
    gone = cli("data", "delete", "ada", "--account", "--confirm", "ada")
    assert "1 users" in gone.stdout
    assert "no user named 'ada'" in cli("users", "token", "ada", code=1).stderr
    assert hidden not in gone.stdout
