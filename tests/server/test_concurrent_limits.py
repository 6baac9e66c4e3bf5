"""The install cap and the per-conversation plugin limit hold under concurrent requests.

The requests that would break a limit arrive together, through the REST API of a real server,
on SQLite and PostgreSQL: exactly as many succeed as the limit allows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from powerstrip.testing import LoopbackServer, TestCA
from tests.server import many_sites
from tests.server.conftest import Hosted

pytestmark = pytest.mark.anyio

_TODO_HOST = "plugin.example.com"


@pytest.fixture
def sites_server(test_ca: TestCA) -> Iterator[LoopbackServer]:
    server = LoopbackServer(many_sites.app, ssl_context=test_ca.server_context(*many_sites.NAMES))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def extra_sites(sites_server: LoopbackServer) -> dict[str, LoopbackServer]:
    return dict.fromkeys(many_sites.NAMES, sites_server)


async def test_concurrent_installs_stop_at_the_unverified_cap(hosted: Hosted) -> None:
    cap = hosted.settings.unverified_install_cap
    users = [await hosted.user(f"user{n}") for n in range(cap + 5)]
    try:
        plugin_id = await hosted.add_plugin(users[0], _TODO_HOST)
        answers = await asyncio.gather(
            *(api.post(f"/api/plugins/{plugin_id}/install") for api in users)
        )
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200] * cap + [409] * 5, [a.text for a in answers]
        refused = [a.json()["error"]["message"] for a in answers if a.status_code == 409]
        assert all(f"already installed by {cap} users" in m for m in refused), refused
    finally:
        for api in users:
            await api.aclose()


async def test_concurrent_enables_stop_at_the_plugin_limit(hosted: Hosted) -> None:
    limit = hosted.settings.max_plugins_per_conversation
    async with await hosted.user("ada") as api:
        plugin_ids = []
        for name in many_sites.NAMES:
            plugin_ids.append(await hosted.add_plugin(api, name))
            assert (await api.post(f"/api/plugins/{plugin_ids[-1]}/install")).status_code == 200
        assert len(plugin_ids) > limit
        chat = await api.post("/api/conversations", json={})
        chat_id = chat.json()["id"]
        answers = await asyncio.gather(
            *(api.put(f"/api/conversations/{chat_id}/plugins/{pid}") for pid in plugin_ids)
        )
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200] * limit + [409] * (len(plugin_ids) - limit)
        enabled = (await api.get(f"/api/conversations/{chat_id}")).json()["plugin_ids"]
        assert len(enabled) == limit
