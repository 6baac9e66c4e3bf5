"""A checked API token's owner is kept for a moment; revocations and deletions end it.

`TokenOwners` alone with a clock the test moves on, then `Users` on a real SQLite store, two of
them sharing it as two workers do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.host import Host, UserInfo, Users
from powerstrip.host.token_cache import TokenOwners
from powerstrip.settings import Settings
from powerstrip.store import create_engine, session_factory, upgrade
from tests.server.conftest import vault_key

pytestmark = pytest.mark.anyio

ADA = UserInfo(1, "ada", False, None)
BOB = UserInfo(2, "bob", False, None)


class Clock:
    """Monotonic seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_owner_is_kept_until_its_seconds_are_over() -> None:
    clock = Clock()
    owners = TokenOwners(1.0, clock=clock)
    owners.put("digest-a", ADA, owners.generation)
    clock.now += 0.99
    assert owners.get("digest-a") == ADA
    clock.now += 0.01
    assert owners.get("digest-a") is None
    assert owners.get("digest-b") is None


def test_clear_forgets_everyone_and_refuses_answers_read_before_it() -> None:
    owners = TokenOwners(60.0, clock=Clock())
    owners.put("digest-a", ADA, owners.generation)
    before = owners.generation
    owners.clear()
    assert owners.get("digest-a") is None
    # An answer the store gave before the clear may be of the token just revoked.
    owners.put("digest-b", BOB, before)
    assert owners.get("digest-b") is None
    owners.put("digest-b", BOB, owners.generation)
    assert owners.get("digest-b") == BOB


def test_zero_seconds_keeps_nothing_and_a_full_map_drops_its_oldest() -> None:
    off = TokenOwners(0, clock=Clock())
    off.put("digest-a", ADA, off.generation)
    assert off.get("digest-a") is None
    small = TokenOwners(60.0, max_entries=2, clock=Clock())
    for digest, owner in (("first", ADA), ("second", BOB), ("third", ADA)):
        small.put(digest, owner, small.generation)
    assert [small.get(d) for d in ("first", "second", "third")] == [None, BOB, ADA]


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'powerstrip.db'}"
    await upgrade(url)
    engine = create_engine(url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


async def test_a_token_revoked_through_the_same_worker_stops_at_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    users = Users(sessions, token_cache_seconds=60, clock=Clock())
    ada = await users.ensure("ada")
    one = await users.issue_token(ada, name="one")
    other = await users.issue_token(ada, name="other")
    assert (await users.authenticate(one.token)) == (await users.authenticate(one.token))
    assert await users.authenticate(other.token) is not None
    await users.revoke_token(ada, one.id)
    assert await users.authenticate(one.token) is None
    assert await users.authenticate(other.token) is not None
    await users.revoke_all(ada)
    assert await users.authenticate(other.token) is None


async def test_a_token_revoked_through_another_worker_stops_when_the_entry_ends(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    here = Users(sessions, token_cache_seconds=1, clock=clock)
    there = Users(sessions, token_cache_seconds=1, clock=clock)
    ada = await here.ensure("ada")
    issued = await here.issue_token(ada, scopes=["chat"])
    owner = await here.authenticate(issued.token)
    assert owner is not None
    assert owner.scopes == frozenset({"chat"})
    await there.revoke_token(ada, issued.id)
    assert await there.authenticate(issued.token) is None
    assert await here.authenticate(issued.token) == owner  # within its second
    clock.now += 1
    assert await here.authenticate(issued.token) is None
    # Without the cache, the store is asked every time: the revocation is seen at once.
    uncached = Users(sessions, token_cache_seconds=0, clock=clock)
    second = await uncached.issue_token(ada)
    assert await uncached.authenticate(second.token) is not None
    await there.revoke_all(ada)
    assert await uncached.authenticate(second.token) is None


async def test_an_unknown_token_is_never_kept(sessions: async_sessionmaker[AsyncSession]) -> None:
    users = Users(sessions, token_cache_seconds=60, clock=Clock())
    assert await users.authenticate("pst_not-a-token") is None
    assert await users.authenticate("not even the prefix") is None


async def test_deleting_the_account_stops_its_tokens_at_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, vault_keys=vault_key())
    host = await Host.start(settings)
    try:
        ada = await host.users.ensure("ada")
        issued = await host.users.issue_token(ada)
        assert await host.users.authenticate(issued.token) is not None
        await host.data.delete_account(ada, confirm="ada")
        assert await host.users.authenticate(issued.token) is None
    finally:
        await host.aclose()
