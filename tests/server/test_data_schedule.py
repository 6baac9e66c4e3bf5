"""The server runs the retention job itself: at start and on its schedule."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import anyio
import pytest

from powerstrip.host import ensure_user
from powerstrip.store import Conversation as ConversationRow
from powerstrip.store import create_engine, session_factory, transaction, utcnow
from tests.server.local_host import local_host

pytestmark = pytest.mark.anyio


async def test_the_server_purges_old_history_off_conversations_on_its_schedule(
    tmp_path: Path,
) -> None:
    async with local_host(tmp_path, retention_interval_seconds=0.2) as host:
        engine = create_engine(host.settings.database_url)
        sessions = session_factory(engine)
        try:
            ada = await ensure_user(sessions, "ada")
            old = utcnow() - timedelta(days=31)
            async with transaction(sessions) as session:
                rows = [
                    ConversationRow(user_id=ada.id, history_enabled=False, created_at=old),
                    ConversationRow(user_id=ada.id, history_enabled=True, created_at=old),
                    ConversationRow(user_id=ada.id, history_enabled=False),
                ]
                session.add_all(rows)
            expired, kept, young = (row.id for row in rows)
            api = await host.user("ada")
            async with api:
                # Waiting for the job's next run, not timing it: the deadline only ends a hang.
                with anyio.fail_after(30):
                    for _ in range(600):
                        if (await api.get(f"/api/conversations/{expired}")).status_code == 404:
                            break
                        await anyio.sleep(0.05)
                for conversation_id in (kept, young):
                    answer = await api.get(f"/api/conversations/{conversation_id}")
                    assert answer.status_code == 200
        finally:
            await engine.dispose()
