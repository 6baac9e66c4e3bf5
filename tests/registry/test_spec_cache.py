"""The spec cache: revalidated with the plugin each turn, kept when the plugin misbehaves."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from powerstrip.errors import RegistryError
from powerstrip.examples import EXAMPLES
from powerstrip.store import Plugin
from tests.registry.conftest import World
from tests.server.conftest import Recorder

pytestmark = pytest.mark.anyio

HOST = "plugin.example.com"


def _recorded(world: World, app: object) -> Recorder:
    recorder = Recorder(app)  # type: ignore[arg-type]
    world.servers.apps[HOST].app = recorder
    return recorder


async def test_an_unchanged_spec_costs_a_304_and_a_changed_one_is_stored(world: World) -> None:
    plugin = await world.registry.add_plugin(f"https://{HOST}")
    recorder = _recorded(world, world.servers.apps[HOST].app)
    first = await world.registry.tools(plugin.id)
    assert first.fresh
    [request] = recorder.received
    assert request.path == "/openapi.yaml"
    assert request.headers["if-none-match"].startswith('"')
    names = {tool.operation_id for tool in first.toolset.tools}
    assert names == {"add_todo", "list_todos", "delete_todo"}

    # The developer redeploys with other operations: the next turn sees them, and the store.
    _recorded(world, EXAMPLES["sports"].build(world.config()))
    second = await world.registry.tools(plugin.id)
    assert second.fresh
    assert {tool.operation_id for tool in second.toolset.tools} != names
    async with world.sessions() as session:
        stored = (await session.execute(select(Plugin).where(Plugin.id == plugin.id))).scalar_one()
    assert stored.spec_etag is not None
    assert "players" in (stored.spec_body or "")


@pytest.mark.parametrize(
    "broken",
    [
        Response("<html>maintenance</html>", media_type="text/html"),
        Response("oops", status_code=503),
    ],
    ids=["html-instead-of-a-spec", "server-error"],
)
async def test_a_broken_deploy_keeps_the_stored_tools(world: World, broken: Response) -> None:
    plugin = await world.registry.add_plugin(f"https://{HOST}")
    before = await world.registry.tools(plugin.id)

    async def spec(_: object) -> Response:
        return broken

    world.servers.apps[HOST].app = Starlette(routes=[Route("/openapi.yaml", spec)])
    after = await world.registry.tools(plugin.id)
    assert not after.fresh
    assert [t.function_name for t in after.toolset.tools] == [
        t.function_name for t in before.toolset.tools
    ]


async def test_revalidation_can_be_skipped(world: World) -> None:
    plugin = await world.registry.add_plugin(f"https://{HOST}")
    recorder = _recorded(world, world.servers.apps[HOST].app)
    cached = await world.registry.tools(plugin.id, revalidate=False)
    assert not cached.fresh
    assert recorder.received == []


async def test_a_banned_plugin_offers_no_tools_and_is_not_fetched(world: World) -> None:
    plugin = await world.registry.add_plugin(f"https://{HOST}")
    await world.registry.ban(plugin.id)
    recorder = _recorded(world, world.servers.apps[HOST].app)
    with pytest.raises(RegistryError, match="banned"):
        await world.registry.tools(plugin.id)
    assert recorder.received == []


async def test_refresh_still_reports_operations_the_spec_cache_picked_up(world: World) -> None:
    plugin = await world.registry.add_plugin(f"https://{HOST}")
    _recorded(world, EXAMPLES["sports"].build(world.config()))
    assert (await world.registry.tools(plugin.id)).fresh  # a turn stores the redeployed spec
    diff = await world.registry.refresh_plugin(plugin.id)
    assert "GET /players" in diff.operations_added
    assert "POST /todos/{username}" in diff.operations_removed
    again = await world.registry.refresh_plugin(plugin.id)
    assert (again.operations_added, again.operations_removed) == ((), ())
