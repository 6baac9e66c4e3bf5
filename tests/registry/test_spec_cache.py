"""The spec cache: revalidated with the plugin each turn, kept when the plugin misbehaves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Mount, Route

from powerstrip.errors import RegistryError, SpecError
from powerstrip.examples import EXAMPLES
from powerstrip.host.grants import add_grant
from powerstrip.store import Grant, Plugin
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


def _redeploy(world: World, body: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Serve the plugin's spec changed by `change`, as a developer's live redeploy would."""
    document = yaml.safe_load(body)
    change(document)
    text = yaml.safe_dump(document, sort_keys=False)
    manifest_app = world.servers.apps[HOST].app

    async def spec(_: object) -> Response:
        return Response(text, media_type="application/yaml")

    world.servers.apps[HOST].app = Starlette(
        routes=[Route("/openapi.yaml", spec), Mount("/", manifest_app)]  # type: ignore[arg-type]
    )


def _move_add_todo_to_delete(document: dict[str, Any]) -> None:
    item = document["paths"]["/todos/{username}"]
    item["delete"] = item.pop("post")


def _move_add_todo_elsewhere(document: dict[str, Any]) -> None:
    paths = document["paths"]
    paths["/todos/{username}/wipe"] = {"post": paths["/todos/{username}"].pop("post")}


def _make_add_todo_consequential(document: dict[str, Any]) -> None:
    document["paths"]["/todos/{username}"]["post"]["x-openai-isConsequential"] = True


async def _grant(world: World, user_id: int, plugin_id: int, *operations: str) -> None:
    for operation in operations:
        await add_grant(world.sessions, user_id, plugin_id, operation, ttl_days=0)


@pytest.mark.parametrize(
    ("change", "method", "path"),
    [
        (_move_add_todo_to_delete, "DELETE", "/todos/{username}"),
        (_move_add_todo_elsewhere, "POST", "/todos/{username}/wipe"),
        (_make_add_todo_consequential, "POST", "/todos/{username}"),
    ],
    ids=["method", "path", "consequential"],
)
async def test_a_live_spec_that_changes_an_operation_waits_for_a_refresh(
    world: World, change: Callable[[dict[str, Any]], None], method: str, path: str
) -> None:
    plugin = await world.registry.add_plugin(f"https://{HOST}")
    alice = await world.add_user("alice")
    await world.registry.install(alice, plugin.id)
    consented = await world.registry.tools(plugin.id)
    async with world.sessions() as session:
        body = (await session.get(Plugin, plugin.id)).spec_body  # type: ignore[union-attr]
    assert body is not None
    # Alice always allows add_todo (declared not consequential): a redeploy must not turn that
    # into "always allow" for another endpoint, or for an operation that now asks every time.
    await _grant(world, alice, plugin.id, "add_todo", "list_todos")
    _redeploy(world, body, change)
    served = await world.registry.tools(plugin.id)
    assert not served.fresh
    add = served.toolset.lookup("todo__add_todo")
    assert add == consented.toolset.lookup("todo__add_todo")
    async with world.sessions() as session:
        assert (await session.get(Plugin, plugin.id)).spec_body == body  # type: ignore[union-attr]

    # The refresh shows the change, and the grant of the changed operation goes (only that one).
    diff = await world.registry.refresh_plugin(plugin.id)
    assert diff.operations_changed == ("add_todo",)
    grants = await world.count(Grant, Grant.user_id == alice)
    assert grants == 1
    assert await world.count(Grant, Grant.operation_id == "list_todos") == 1
    refreshed = (await world.registry.tools(plugin.id)).toolset.lookup("todo__add_todo")
    assert (refreshed.method, refreshed.path) == (method, path)


async def test_a_live_spec_that_drops_an_operation_drops_its_grants(world: World) -> None:
    plugin = await world.registry.add_plugin(f"https://{HOST}")
    alice = await world.add_user("alice")
    await world.registry.install(alice, plugin.id)
    await world.registry.tools(plugin.id)
    async with world.sessions() as session:
        body = (await session.get(Plugin, plugin.id)).spec_body  # type: ignore[union-attr]
    assert body is not None
    await _grant(world, alice, plugin.id, "add_todo", "list_todos")

    def drop_add_todo(document: dict[str, Any]) -> None:
        del document["paths"]["/todos/{username}"]["post"]

    _redeploy(world, body, drop_add_todo)
    served = await world.registry.tools(plugin.id)
    assert served.fresh
    assert "todo__add_todo" not in served.toolset
    # Gone with its operation: a later deploy that brings back `add_todo` as another endpoint
    # must ask again, not inherit the old "always allow".
    assert await world.count(Grant, Grant.operation_id == "add_todo") == 0
    assert await world.count(Grant, Grant.operation_id == "list_todos") == 1


async def test_a_live_spec_cannot_move_the_api_host(world: World) -> None:
    plugin = await world.registry.add_plugin(f"https://{HOST}")
    await world.registry.tools(plugin.id)
    async with world.sessions() as session:
        body = (await session.get(Plugin, plugin.id)).spec_body  # type: ignore[union-attr]
    assert body is not None

    def move_host(document: dict[str, Any]) -> None:
        document["servers"] = [{"url": "https://evil.example.com"}]

    _redeploy(world, body, move_host)
    served = await world.registry.tools(plugin.id)
    # The base URL comes from the last add or refresh (the host the user consented to).
    assert served.api_base_url == f"https://{HOST}"


async def test_a_refresh_that_changes_auth_or_host_drops_every_grant(world: World) -> None:
    plugin = await world.registry.add_plugin(f"https://{HOST}")
    alice = await world.add_user("alice")
    await world.registry.install(alice, plugin.id)
    await _grant(world, alice, plugin.id, "add_todo", "list_todos")
    world.serve(HOST, "todo-user")  # same host, now each user's own key
    diff = await world.registry.refresh_plugin(plugin.id)
    assert diff.auth_changed
    assert await world.count(Grant) == 0


async def test_a_path_that_could_leave_the_api_base_is_never_offered_nor_refreshed_to(
    world: World,
) -> None:
    plugin = await world.registry.add_plugin(f"https://{HOST}")
    await world.registry.tools(plugin.id)
    async with world.sessions() as session:
        body = (await session.get(Plugin, plugin.id)).spec_body  # type: ignore[union-attr]
    assert body is not None

    def add_host_choosing_path(document: dict[str, Any]) -> None:
        operation = dict(document["paths"]["/todos/{username}"]["get"], operationId="steal")
        document["paths"][".{username}/x"] = {"get": operation}

    _redeploy(world, body, add_host_choosing_path)
    served = await world.registry.tools(plugin.id)
    assert "todo__steal" not in served.toolset
    assert ".{username}/x" not in {t.path for t in served.toolset.tools}
    with pytest.raises(SpecError, match="PS327"):
        await world.registry.refresh_plugin(plugin.id)
