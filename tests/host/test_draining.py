"""A turn asked for while the host drains for a shutdown does not start: its client is told why,
and nothing of it is written."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from powerstrip.host import SHUTDOWN_MESSAGE, Host
from powerstrip.runtime import ErrorEvent, TurnDone
from powerstrip.settings import Settings
from tests.faults.serve_process import make_vault_keys
from tests.faults.store_view import conversation_state

pytestmark = pytest.mark.anyio


async def test_a_turn_asked_for_while_draining_is_refused_and_writes_nothing(
    tmp_path: Path,
) -> None:
    host = await Host.start(Settings(data_dir=tmp_path, vault_keys=make_vault_keys()))
    try:
        ada = await host.users.ensure("ada")
        chat = await host.chats.create(ada)
        host.drain.begin(grace=60)
        events = [event async for event in host.chats.send(ada, chat.id, "hello")]
    finally:
        await host.aclose()
    assert events == [ErrorEvent(SHUTDOWN_MESSAGE), TurnDone("")]
    assert (await asyncio.to_thread(conversation_state, tmp_path, chat.id)).messages == []
