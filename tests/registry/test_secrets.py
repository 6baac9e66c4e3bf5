"""Credentials stay with their user, sealed at rest, and a tampered seal never opens."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select, update

from powerstrip.errors import RegistryError, VaultError
from powerstrip.examples import issue_user_key
from powerstrip.registry.context import credential_context
from powerstrip.store import Credential
from tests.registry.conftest import CLIENT_SECRET, SERVICE_KEY, World

pytestmark = [pytest.mark.anyio, pytest.mark.network]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_credentials_never_return_another_users_secret(world: World, seed: int) -> None:
    rng = random.Random(seed)
    user_plugin = (await world.registry.add_plugin("https://www.example.com")).id
    service_plugin = await world.add_verified("api.example.com")
    oauth_plugin = await world.add_verified("example.com")
    users = [await world.add_user(f"user{n}") for n in range(6)]
    keys: dict[int, str] = {}
    service_users: set[int] = set()
    config = world.configs["www.example.com"]
    for user in users:
        if rng.random() < 0.8:
            keys[user] = issue_user_key(config, f"u{user}")
            await world.registry.install(user, user_plugin, user_key=keys[user])
        if rng.random() < 0.5:
            await world.registry.install(user, service_plugin)
            service_users.add(user)
    # Two users sign in at the provider as two different people (its demo users).
    signed_in = dict(zip(rng.sample(users, 2), ["alice", "bob"], strict=True))
    for user, username in signed_in.items():
        await world.registry.install(user, oauth_plugin)
        await world.sign_in(user, oauth_plugin, username)
    installed = {(user, user_plugin) for user in keys} | {(u, oauth_plugin) for u in signed_in}
    returned: dict[tuple[int, int], str] = {}
    for user in rng.sample(users, len(users)):
        for plugin in (user_plugin, oauth_plugin):
            if (user, plugin) not in installed:
                with pytest.raises(RegistryError, match="not installed"):
                    await world.registry.credentials_for(user, plugin)
                continue
            material = await world.registry.credentials_for(user, plugin)
            (returned[user, plugin],) = material.secrets
            assert dict(material.headers) == {"Authorization": f"Bearer {material.secrets[0]}"}
    for (user, plugin), secret in returned.items():
        if plugin == user_plugin:
            assert secret == keys[user]
        others = {value for (u, p), value in returned.items() if p == plugin and u != user}
        assert secret not in others
    # Each OAuth token is its own user's at the provider: what one adds, only they list.
    for user, username in signed_in.items():
        auth = {"Authorization": f"Bearer {returned[user, oauth_plugin]}"}
        added = await world.client.request(
            "POST", "https://example.com/todos", headers=auth, json={"todo": f"for {username}"}
        )
        assert added.status_code == 200, added.text
    for user, username in signed_in.items():
        auth = {"Authorization": f"Bearer {returned[user, oauth_plugin]}"}
        listed = (await world.call("example.com", "/todos", auth)).text
        assert f"for {username}" in listed
        assert all(
            f"for {other}" not in listed for other in signed_in.values() if other != username
        )
    # The service key is the one secret every installer of that plugin shares.
    for user in service_users:
        material = await world.registry.credentials_for(user, service_plugin)
        assert material.secrets == (SERVICE_KEY,)


async def test_no_plaintext_secret_reaches_the_database_file(world: World) -> None:
    user_plugin = (await world.registry.add_plugin("https://www.example.com")).id
    service_plugin = await world.add_verified("api.example.com")
    oauth_plugin = await world.add_verified("example.com")
    alice = await world.add_user("alice")
    key = issue_user_key(world.configs["www.example.com"], "alice")
    await world.registry.install(alice, user_plugin, user_key=key)
    await world.registry.install(alice, service_plugin)
    await world.registry.install(alice, oauth_plugin)
    await world.sign_in(alice, oauth_plugin, "alice")
    await world.registry.credential_source(alice, oauth_plugin).refresh()
    (access,) = (await world.registry.credentials_for(alice, oauth_plugin)).secrets
    async with world.sessions() as session:
        credential = (
            await session.execute(select(Credential).where(Credential.plugin_id == oauth_plugin))
        ).scalar_one()
    assert credential.refresh_sealed is not None
    refresh = world.vault.open(
        credential.refresh_sealed, context=credential_context(alice, oauth_plugin, "refresh")
    )
    secrets = {
        "service key": SERVICE_KEY,
        "user key": key,
        "client secret": CLIENT_SECRET,
        "access token": access,
        "refresh token": refresh,
    }
    files = [world.db_path, world.db_path.with_name(world.db_path.name + "-wal")]
    stored = b"".join(path.read_bytes() for path in files if path.exists())
    assert len(stored) > 0
    for what, value in secrets.items():
        assert value.encode() not in stored, f"the {what} is in the database in the clear"


async def test_a_tampered_sealed_column_raises_instead_of_returning_garbage(world: World) -> None:
    plugin = (await world.registry.add_plugin("https://www.example.com")).id
    alice = await world.add_user("alice")
    bob = await world.add_user("bob")
    await world.registry.install(alice, plugin, user_key="alice-key")
    await world.registry.install(bob, plugin, user_key="bob-key")
    async with world.sessions() as session:
        rows = (await session.execute(select(Credential).order_by(Credential.user_id))).scalars()
        alice_sealed, bob_sealed = [row.secret_sealed for row in rows]
    flipped = alice_sealed[:-2] + ("A" if alice_sealed[-2] != "A" else "B") + alice_sealed[-1]
    # A flipped byte, and a valid seal copied from another user's row: neither opens.
    for tampered in (flipped, bob_sealed):
        async with world.sessions() as session:
            await session.execute(
                update(Credential).where(Credential.user_id == alice).values(secret_sealed=tampered)
            )
            await session.commit()
        with pytest.raises(VaultError):
            await world.registry.credentials_for(alice, plugin)
