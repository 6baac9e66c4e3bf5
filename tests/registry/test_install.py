"""Adding and installing each example plugin, with the rules that gate installs."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from powerstrip.errors import RegistryError
from powerstrip.examples import issue_user_key
from powerstrip.store import Credential, Install, Plugin, Registration
from tests.registry.conftest import SERVICE_KEY, World

pytestmark = [pytest.mark.anyio, pytest.mark.network]


async def test_a_none_plugin_installs_and_sends_no_credentials(world: World) -> None:
    plugin = await world.registry.add_plugin("https://plugin.example.com")
    assert (plugin.auth_type, plugin.verified, plugin.lenient) == ("none", False, False)
    assert plugin.api_base_url == "https://plugin.example.com"
    alice = await world.add_user("alice")
    await world.registry.install(alice, plugin.id)
    material = await world.registry.credentials_for(alice, plugin.id)
    assert dict(material.headers) == {}
    async with world.sessions() as session:
        row = (await session.execute(select(Plugin))).scalar_one()
        install = (await session.execute(select(Install))).scalar_one()
    assert row.spec_body is not None
    assert "openapi" in row.spec_body
    assert row.manifest["name_for_model"] == "todo"
    assert install.consented_auth == {"type": "none"}
    assert install.consented_api_host == "plugin.example.com"


async def test_adding_the_same_plugin_twice_is_refused(world: World) -> None:
    await world.registry.add_plugin("https://plugin.example.com")
    with pytest.raises(RegistryError, match="already added"):
        await world.registry.add_plugin("plugin.example.com")
    assert await world.count(Plugin) == 1


async def test_a_service_plugin_installs_only_after_its_token_is_verified(world: World) -> None:
    plugin = await world.registry.add_plugin("https://api.example.com")
    alice = await world.add_user("alice")
    with pytest.raises(RegistryError, match="not registered"):
        await world.registry.install(alice, plugin.id)
    developer = await world.add_user("developer")
    token = await world.registry.register(plugin.id, developer, service_key=SERVICE_KEY)
    with pytest.raises(RegistryError, match="verification token"):
        await world.registry.install(alice, plugin.id)
    # The manifest does not carry the token yet: the error says where to put it.
    with pytest.raises(RegistryError) as missing:
        await world.registry.verify_token(plugin.id)
    assert "verification_tokens" in str(missing.value)
    assert token in str(missing.value)
    world.serve("api.example.com", verification_tokens={"powerstrip": "someone-elses"})
    with pytest.raises(RegistryError, match="different token"):
        await world.registry.verify_token(plugin.id)
    world.serve("api.example.com", verification_tokens={"powerstrip": token})
    await world.registry.verify_token(plugin.id)
    await world.registry.install(alice, plugin.id)
    material = await world.registry.credentials_for(alice, plugin.id)
    assert dict(material.headers) == {"Authorization": f"Bearer {SERVICE_KEY}"}
    assert material.secrets == (SERVICE_KEY,)
    answer = await world.call("api.example.com", "/todos/alice", dict(material.headers))
    assert answer.status_code == 200, answer.text


async def test_the_openai_key_is_read_too(world: World) -> None:
    plugin = await world.registry.add_plugin("https://api.example.com")
    developer = await world.add_user("developer")
    token = await world.registry.register(plugin.id, developer, service_key=SERVICE_KEY)
    world.serve("api.example.com", verification_tokens={"openai": token})
    await world.registry.verify_token(plugin.id)
    async with world.sessions() as session:
        registration = (await session.execute(select(Registration))).scalar_one()
    assert registration.token_verified_at is not None


async def test_only_the_plugins_developer_may_register_it_again(world: World) -> None:
    plugin = await world.registry.add_plugin("https://api.example.com")
    developer = await world.add_user("developer")
    mallory = await world.add_user("mallory")
    # Registering first proves nothing: until a token is published, anyone may take over...
    await world.registry.register(plugin.id, mallory, service_key="mallorys-key")
    token = await world.registry.register(plugin.id, developer, service_key=SERVICE_KEY)
    world.serve("api.example.com", verification_tokens={"powerstrip": token})
    await world.registry.verify_token(plugin.id)
    # ...and once the developer has published it, nobody else may.
    with pytest.raises(RegistryError, match="another developer"):
        await world.registry.register(plugin.id, mallory, service_key="mallorys-key")
    # Rotating the service key keeps the verification: no window opens for a takeover.
    again = await world.registry.register(plugin.id, developer, service_key="rotated-key-0001")
    assert again == token
    with pytest.raises(RegistryError, match="another developer"):
        await world.registry.register(plugin.id, mallory, service_key="mallorys-key")
    user = await world.add_user("ada")
    await world.registry.install(user, plugin.id)
    material = await world.registry.credentials_for(user, plugin.id)
    assert material.headers["Authorization"] == "Bearer rotated-key-0001"
    with pytest.raises(RegistryError, match="needs its service key"):
        await world.registry.register(plugin.id, developer)


async def test_a_user_http_plugin_needs_the_users_key_and_sends_it(world: World) -> None:
    plugin = await world.registry.add_plugin("https://www.example.com")
    alice = await world.add_user("alice")
    with pytest.raises(RegistryError, match="needs your own key"):
        await world.registry.install(alice, plugin.id)
    assert await world.count(Install) == 0
    key = issue_user_key(world.configs["www.example.com"], "alice")
    await world.registry.install(alice, plugin.id, user_key=key)
    material = await world.registry.credentials_for(alice, plugin.id)
    assert dict(material.headers) == {"Authorization": f"Bearer {key}"}
    answer = await world.call("www.example.com", "/todos", dict(material.headers))
    assert answer.status_code == 200, answer.text
    # A 401 cannot be fixed by refreshing a pasted key.
    assert await world.registry.credential_source(alice, plugin.id).refresh() is None


async def test_a_banned_plugin_cannot_be_installed_or_called(world: World) -> None:
    plugin = await world.registry.add_plugin("https://plugin.example.com")
    alice = await world.add_user("alice")
    bob = await world.add_user("bob")
    await world.registry.install(alice, plugin.id)
    await world.registry.ban(plugin.id)
    with pytest.raises(RegistryError, match="banned"):
        await world.registry.install(bob, plugin.id)
    with pytest.raises(RegistryError, match="banned"):
        await world.registry.credentials_for(alice, plugin.id)
    await world.registry.ban(plugin.id, banned=False)
    await world.registry.install(bob, plugin.id)


async def test_the_sixteenth_user_of_an_unverified_plugin_is_refused(world: World) -> None:
    plugin = await world.registry.add_plugin("https://plugin.example.com")
    users = [await world.add_user(f"user{n}") for n in range(16)]
    for user in users[:15]:
        await world.registry.install(user, plugin.id)
    await world.registry.install(users[0], plugin.id)  # re-consent of an install is no new user
    with pytest.raises(RegistryError) as refused:
        await world.registry.install(users[15], plugin.id)
    assert "'todo' is unverified and already installed by 15 users; an admin can verify it" in str(
        refused.value
    )
    assert await world.count(Install) == 15
    assert await world.count(Install, Install.user_id == users[15]) == 0
    await world.registry.set_verified(plugin.id, True)
    await world.registry.install(users[15], plugin.id)
    assert await world.count(Install) == 16


async def test_a_refused_user_key_install_writes_no_credential(world: World) -> None:
    plugin = await world.registry.add_plugin("https://www.example.com")
    users = [await world.add_user(f"user{n}") for n in range(16)]
    for user in users[:15]:
        await world.registry.install(user, plugin.id, user_key=f"key-{user}")
    with pytest.raises(RegistryError, match="unverified"):
        await world.registry.install(users[15], plugin.id, user_key="key-refused")
    assert await world.count(Credential) == 15
    assert await world.count(Credential, Credential.user_id == users[15]) == 0
