"""OAuth sign-in through the todo-oauth example's real provider, and token refresh."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from powerstrip.errors import OAuthError, RegistryError
from powerstrip.store import Credential, OAuthState
from tests.registry.conftest import PUBLIC_URL, World

pytestmark = [pytest.mark.anyio, pytest.mark.network]


async def _stored_credential(world: World) -> Credential:
    async with world.sessions() as session:
        return (await session.execute(select(Credential))).scalar_one()


async def test_a_user_signs_in_and_calls_with_their_access_token(world: World) -> None:
    plugin_id = await world.add_verified("example.com")
    alice = await world.add_user("alice")
    with pytest.raises(RegistryError, match="not installed"):
        await world.registry.begin_oauth(alice, plugin_id, "s1")
    await world.registry.install(alice, plugin_id)
    with pytest.raises(RegistryError, match="no credentials"):
        await world.registry.credentials_for(alice, plugin_id)
    url = await world.registry.begin_oauth(alice, plugin_id, "s1")
    assert url.startswith("https://example.com/oauth/authorize?")
    assert f"redirect_uri={PUBLIC_URL.replace(':', '%3A').replace('/', '%2F')}" in url
    code, state = await world.browser_sign_in(url, "alice")
    assert await world.registry.finish_oauth(plugin_id, "s1", code, state) == alice
    material = await world.registry.credentials_for(alice, plugin_id)
    (token,) = material.secrets
    assert dict(material.headers) == {"Authorization": f"Bearer {token}"}
    answer = await world.call("example.com", "/todos", dict(material.headers))
    assert answer.status_code == 200, answer.text


async def test_a_state_is_single_use_session_bound_and_expiring(world: World) -> None:
    plugin_id = await world.add_verified("example.com")
    alice = await world.add_user("alice")
    await world.registry.install(alice, plugin_id)
    url = await world.registry.begin_oauth(alice, plugin_id, "alice-session")
    code, state = await world.browser_sign_in(url, "alice")
    refusals = [
        ("mallory-session", state, "not valid"),
        ("alice-session", state + "x", "not valid"),
    ]
    for session_id, bad_state, message in refusals:
        with pytest.raises(OAuthError, match=message):
            await world.registry.finish_oauth(plugin_id, session_id, code, bad_state)
    with pytest.raises(OAuthError, match="not valid"):
        await world.registry.finish_oauth(plugin_id + 1, "alice-session", code, state)
    # None of the refusals wrote anything: the state is still unused, no credential exists.
    async with world.sessions() as session:
        row = (await session.execute(select(OAuthState))).scalar_one()
    assert row.used_at is None
    assert await world.count(Credential) == 0
    await world.registry.finish_oauth(plugin_id, "alice-session", code, state)
    with pytest.raises(OAuthError, match="already used"):
        await world.registry.finish_oauth(plugin_id, "alice-session", code, state)
    # An expired state is refused, and writes nothing.
    url = await world.registry.begin_oauth(alice, plugin_id, "alice-session")
    code, state = await world.browser_sign_in(url, "alice")
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with world.sessions() as session:
        await session.execute(update(OAuthState).values(expires_at=past))
        await session.commit()
    before = await _stored_credential(world)
    with pytest.raises(OAuthError, match="expired"):
        await world.registry.finish_oauth(plugin_id, "alice-session", code, state)
    assert (await _stored_credential(world)).secret_sealed == before.secret_sealed


async def test_the_state_and_verifier_are_not_stored_in_the_clear(world: World) -> None:
    plugin_id = await world.add_verified("example.com")
    alice = await world.add_user("alice")
    await world.registry.install(alice, plugin_id)
    url = await world.registry.begin_oauth(alice, plugin_id, "s")
    state = url.split("state=", 1)[1].split("&", 1)[0]
    async with world.sessions() as session:
        row = (await session.execute(select(OAuthState))).scalar_one()
    assert row.state_hash != state
    assert row.code_verifier_sealed.startswith("v1.")


async def test_an_expired_access_token_is_refreshed_before_use(world: World) -> None:
    plugin_id = await world.add_verified("example.com")
    alice = await world.add_user("alice")
    await world.registry.install(alice, plugin_id)
    await world.sign_in(alice, plugin_id, "alice")
    (first,) = (await world.registry.credentials_for(alice, plugin_id)).secrets
    await _expire_access_tokens(world)
    material = await world.registry.credentials_for(alice, plugin_id)
    (second,) = material.secrets
    assert second != first
    answer = await world.call("example.com", "/todos", dict(material.headers))
    assert answer.status_code == 200, answer.text


async def test_a_refresh_after_a_401_renews_once_for_concurrent_callers(world: World) -> None:
    plugin_id = await world.add_verified("example.com")
    alice = await world.add_user("alice")
    await world.registry.install(alice, plugin_id)
    await world.sign_in(alice, plugin_id, "alice")
    source = world.registry.credential_source(alice, plugin_id)
    (first,) = (await source.current()).secrets
    renewed = await source.refresh()
    assert renewed is not None
    assert renewed.secrets != (first,)
    assert (await source.current()).secrets == renewed.secrets
    # The provider rotates refresh tokens; a spent one makes refresh say "sign in again".
    async with world.sessions() as session:
        credential = (await session.execute(select(Credential))).scalar_one()
        stale_refresh = credential.refresh_sealed
    await source.refresh()
    async with world.sessions() as session:
        await session.execute(update(Credential).values(refresh_sealed=stale_refresh))
        await session.commit()
    assert await source.refresh() is None


async def test_concurrent_turns_refresh_an_expired_token_once(world: World) -> None:
    # Each turn has its own credential source; the provider rotates refresh tokens, so two
    # turns that both spent the same one would leave one of them "sign in again".
    plugin_id = await world.add_verified("example.com")
    alice = await world.add_user("alice")
    await world.registry.install(alice, plugin_id)
    await world.sign_in(alice, plugin_id, "alice")
    (first,) = (await world.registry.credentials_for(alice, plugin_id)).secrets
    await _expire_access_tokens(world)
    sources = [world.registry.credential_source(alice, plugin_id) for _ in range(4)]
    answers = await asyncio.gather(*(s.current() for s in sources), return_exceptions=True)
    assert not [a for a in answers if isinstance(a, BaseException)], answers
    secrets = {a.secrets for a in answers if not isinstance(a, BaseException)}
    assert len(secrets) == 1
    assert secrets != {(first,)}


async def _expire_access_tokens(world: World) -> None:
    """Make every stored access token a minute past its expiry."""
    async with world.sessions() as session:
        await session.execute(
            update(Credential).values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        await session.commit()
