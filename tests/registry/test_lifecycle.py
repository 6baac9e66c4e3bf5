"""Refresh with its diff and re-consent, uninstall, the per-conversation cap, lenient mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from powerstrip.errors import ManifestError, NotFoundError, RegistryError
from powerstrip.examples import issue_user_key
from powerstrip.registry import Registry
from powerstrip.store import ConversationPlugin, Credential, Install, OAuthState, Plugin
from tests.registry.conftest import World, make_settings

pytestmark = [pytest.mark.anyio, pytest.mark.network]

SPEC = """openapi: 3.0.1
info: {title: Tiny, version: v1}
servers: [{url: "https://plugin.example.com"}]
paths:
  /ping:
    get:
      operationId: ping
      summary: Answer pong.
      responses: {"200": {description: pong}}
"""


def tiny_plugin(**manifest_changes: Any) -> Starlette:
    """A hand-written plugin, to serve manifests the SDK would refuse to produce."""
    manifest = {
        "schema_version": "v1",
        "name_for_human": "Tiny",
        "name_for_model": "tiny",
        "description_for_human": "A tiny plugin.",
        "description_for_model": "Answers pong.",
        "auth": {"type": "none"},
        "api": {"type": "openapi", "url": "https://plugin.example.com/openapi.yaml"},
        "logo_url": "https://plugin.example.com/logo.png",
        "contact_email": "support@example.com",
        "legal_info_url": "https://plugin.example.com/legal",
    } | manifest_changes

    async def manifest_route(request: Request) -> Response:
        return JSONResponse(manifest)

    async def spec_route(request: Request) -> Response:
        return Response(SPEC, media_type="application/yaml", headers={"etag": '"v1"'})

    return Starlette(
        routes=[
            Route("/.well-known/ai-plugin.json", manifest_route),
            Route("/openapi.yaml", spec_route),
        ]
    )


async def test_length_errors_are_refused_unless_lenient_mode(world: World, tmp_path: Path) -> None:
    world.servers.apps["plugin.example.com"].app = tiny_plugin(name_for_human="A" * 35)
    with pytest.raises(ManifestError) as refused:
        await world.registry.add_plugin("https://plugin.example.com")
    assert "PS102" in str(refused.value)
    assert "POWERSTRIP_LENIENT_INSTALL" in str(refused.value)
    assert await world.count(Plugin) == 0
    lenient = Registry(
        world.sessions, world.vault, world.client, make_settings(tmp_path, lenient_install=True)
    )
    plugin = await lenient.add_plugin("https://plugin.example.com")
    assert plugin.lenient
    async with world.sessions() as session:
        row = await session.get(Plugin, plugin.id)
    assert row is not None
    assert row.spec_etag == '"v1"'
    assert row.spec_body == SPEC


async def test_other_errors_are_refused_even_in_lenient_mode(world: World, tmp_path: Path) -> None:
    world.servers.apps["plugin.example.com"].app = tiny_plugin(
        name_for_human="A" * 35, contact_email="someone@elsewhere.org"
    )
    lenient = Registry(
        world.sessions, world.vault, world.client, make_settings(tmp_path, lenient_install=True)
    )
    with pytest.raises(ManifestError) as refused:
        await lenient.add_plugin("https://plugin.example.com")
    assert "PS201" in str(refused.value)
    assert "PS102" in str(refused.value)
    assert "POWERSTRIP_LENIENT_INSTALL" not in str(refused.value)
    assert await world.count(Plugin) == 0


async def test_a_refresh_reports_changed_fields_and_operations(world: World) -> None:
    world.servers.apps["plugin.example.com"].app = tiny_plugin()
    plugin = await world.registry.add_plugin("https://plugin.example.com")
    alice = await world.add_user("alice")
    await world.registry.install(alice, plugin.id)
    unchanged = await world.registry.refresh_plugin(plugin.id)
    assert not unchanged.changed
    world.serve("plugin.example.com", "todo-none")
    diff = await world.registry.refresh_plugin(plugin.id)
    assert {"name_for_model", "description_for_model"} <= set(diff.changed_fields)
    assert "GET /todos/{username}" in diff.operations_added
    assert diff.operations_removed == ("GET /ping",)
    assert not diff.auth_changed
    assert not diff.api_host_changed
    assert diff.reconsent_required == 0
    assert await world.count(Install, Install.needs_reconsent.is_(True)) == 0


async def test_an_auth_change_requires_reconsent_and_drops_credentials(world: World) -> None:
    plugin = (await world.registry.add_plugin("https://www.example.com")).id
    alice = await world.add_user("alice")
    conversation = await world.add_conversation(alice)
    key = issue_user_key(world.configs["www.example.com"], "alice")
    await world.registry.install(alice, plugin, user_key=key)
    await world.registry.enable(conversation, plugin)
    # The developer redeploys with OAuth instead of a user key.
    world.serve("www.example.com", "todo-oauth")
    diff = await world.registry.refresh_plugin(plugin)
    assert diff.auth_changed
    assert "auth" in diff.changed_fields
    assert diff.reconsent_required == 1
    assert await world.count(Credential) == 0
    with pytest.raises(RegistryError, match="install it again"):
        await world.registry.credentials_for(alice, plugin)
    await world.registry.disable(conversation, plugin)
    with pytest.raises(RegistryError, match="install it again"):
        await world.registry.enable(conversation, plugin)


async def test_publishing_the_verification_token_needs_no_reconsent(world: World) -> None:
    plugin_id = await world.add_verified("api.example.com")
    alice = await world.add_user("alice")
    await world.registry.install(alice, plugin_id)
    world.serve("api.example.com", verification_tokens={"powerstrip": "a-new-token"})
    diff = await world.registry.refresh_plugin(plugin_id)
    assert not diff.auth_changed
    assert diff.reconsent_required == 0
    assert "auth" in diff.changed_fields


async def test_uninstall_deletes_the_users_credentials_and_enablements(world: World) -> None:
    user_plugin = (await world.registry.add_plugin("https://www.example.com")).id
    oauth_plugin = await world.add_verified("example.com")
    alice = await world.add_user("alice")
    bob = await world.add_user("bob")
    conversation = await world.add_conversation(alice)
    await world.registry.install(alice, user_plugin, user_key="alice-key")
    await world.registry.install(bob, user_plugin, user_key="bob-key")
    await world.registry.install(alice, oauth_plugin)
    await world.sign_in(alice, oauth_plugin, "alice")
    await world.registry.begin_oauth(alice, oauth_plugin, "pending")
    await world.registry.enable(conversation, user_plugin)
    await world.registry.enable(conversation, oauth_plugin)
    await world.registry.uninstall(alice, user_plugin)
    assert await world.count(Credential, Credential.user_id == alice) == 1
    assert await world.count(Credential, Credential.user_id == bob) == 1
    assert await world.count(ConversationPlugin) == 1
    await world.registry.uninstall(alice, oauth_plugin)
    assert await world.count(Credential, Credential.user_id == alice) == 0
    assert await world.count(OAuthState) == 0
    assert await world.count(Install, Install.user_id == alice) == 0
    assert await world.count(ConversationPlugin) == 0
    with pytest.raises(RegistryError, match="not installed"):
        await world.registry.uninstall(alice, oauth_plugin)
    material = await world.registry.credentials_for(bob, user_plugin)
    assert material.secrets == ("bob-key",)


async def test_a_conversation_enables_at_most_three_installed_plugins(world: World) -> None:
    alice = await world.add_user("alice")
    conversation = await world.add_conversation(alice)
    none_plugin = (await world.registry.add_plugin("https://plugin.example.com")).id
    user_plugin = (await world.registry.add_plugin("https://www.example.com")).id
    service_plugin = await world.add_verified("api.example.com")
    oauth_plugin = await world.add_verified("example.com")
    with pytest.raises(RegistryError, match="not installed"):
        await world.registry.enable(conversation, none_plugin)
    await world.registry.install(alice, none_plugin)
    await world.registry.install(alice, user_plugin, user_key="k")
    await world.registry.install(alice, service_plugin)
    await world.registry.install(alice, oauth_plugin)
    for plugin in (none_plugin, user_plugin, service_plugin):
        await world.registry.enable(conversation, plugin)
    await world.registry.enable(conversation, none_plugin)  # already enabled: no change
    with pytest.raises(RegistryError, match="at most 3 plugins"):
        await world.registry.enable(conversation, oauth_plugin)
    assert await world.count(ConversationPlugin) == 3
    await world.registry.disable(conversation, user_plugin)
    await world.registry.enable(conversation, oauth_plugin)
    assert await world.count(ConversationPlugin) == 3


async def test_enabling_a_plugin_whose_namespace_is_taken_is_refused_naming_both(
    world: World,
) -> None:
    alice = await world.add_user("alice")
    conversation = await world.add_conversation(alice)
    genuine = (await world.registry.add_plugin("https://plugin.example.com")).id
    # Another host serves a plugin with the same name_for_model, "todo": an impostor would get
    # the genuine plugin's calls (and its GETs skip approval).
    world.serve("www.example.com", "todo-none")
    impostor = (await world.registry.add_plugin("https://www.example.com")).id
    await world.registry.install(alice, genuine)
    await world.registry.install(alice, impostor)
    await world.registry.enable(conversation, genuine)
    with pytest.raises(RegistryError) as refused:
        await world.registry.enable(conversation, impostor)
    message = str(refused.value)
    assert f"plugin {impostor}" in message
    assert f"plugin {genuine}" in message
    assert "'todo'" in message
    assert await world.count(ConversationPlugin) == 1


async def test_enabling_in_a_missing_conversation_is_not_found(world: World) -> None:
    plugin = (await world.registry.add_plugin("https://plugin.example.com")).id
    alice = await world.add_user("alice")
    await world.registry.install(alice, plugin)
    # The same kind of error as a missing conversation anywhere else: a 404 at every edge.
    with pytest.raises(NotFoundError, match="no conversation never-made"):
        await world.registry.enable("never-made", plugin)
