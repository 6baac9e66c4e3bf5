"""The OAuth refresh job renews tokens about to expire, once, so no turn waits for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from powerstrip.host.token_refresh import REFRESH_JOB, TokenRefresh
from powerstrip.jobs import Jobs
from powerstrip.store import Credential, Job
from tests.registry.conftest import World, make_settings

pytestmark = [pytest.mark.anyio, pytest.mark.network]


async def _expire_in(world: World, delta: timedelta) -> datetime:
    when = datetime.now(UTC) + delta
    async with world.sessions() as session:
        await session.execute(update(Credential).values(expires_at=when))
        await session.commit()
    return when


async def _secret(world: World) -> str:
    async with world.sessions() as session:
        return str((await session.execute(select(Credential.secret_sealed))).scalar_one())


async def test_a_token_about_to_expire_is_refreshed_once_by_the_job(world: World) -> None:
    plugin_id = await world.add_verified("example.com")
    alice = await world.add_user("alice")
    await world.registry.install(alice, plugin_id)
    await world.sign_in(alice, plugin_id, "alice")
    (first,) = (await world.registry.credentials_for(alice, plugin_id)).secrets
    settings = make_settings(world.data_dir, oauth_refresh_ahead_seconds=300)
    jobs = Jobs(settings, world.sessions)
    refresh = TokenRefresh(world.registry, jobs, settings)
    try:
        # Not due yet: an hour left.
        await _expire_in(world, timedelta(hours=1))
        assert await refresh.enqueue_due() == 0
        # Two minutes left: due. Looking twice (two workers) queues one refresh.
        await _expire_in(world, timedelta(minutes=2))
        sealed = await _secret(world)
        assert await refresh.enqueue_due() == 1
        assert await refresh.enqueue_due() == 0
        await jobs.drain()
        async with world.sessions() as session:
            [job] = (await session.execute(select(Job).where(Job.name == REFRESH_JOB))).scalars()
        assert (job.status, job.attempts) == ("done", 1)
        assert await _secret(world) != sealed
        material = await world.registry.credentials_for(alice, plugin_id)
        assert material.secrets != (first,)  # the turn got the renewed token without a wait
        answer = await world.call("example.com", "/todos", dict(material.headers))
        assert answer.status_code == 200, answer.text
        # Renewed: the new token is not due, nothing more is queued.
        assert await refresh.enqueue_due() == 0
    finally:
        await jobs.aclose()


async def test_a_refresh_job_for_a_token_renewed_meanwhile_changes_nothing(
    world: World,
) -> None:
    plugin_id = await world.add_verified("example.com")
    alice = await world.add_user("alice")
    await world.registry.install(alice, plugin_id)
    await world.sign_in(alice, plugin_id, "alice")
    await _expire_in(world, timedelta(minutes=2))
    [due] = await world.registry.expiring_tokens(datetime.now(UTC) + timedelta(minutes=5))
    # A turn (after a 401) renewed the token before the job ran.
    assert await world.registry.credential_source(alice, plugin_id).refresh() is not None
    sealed = await _secret(world)
    assert not await world.registry.refresh_ahead(due)
    assert await _secret(world) == sealed
