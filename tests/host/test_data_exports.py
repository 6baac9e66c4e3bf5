"""Exports on a real store: the link is mailed through a real SMTP server on loopback, works
once, and stops working when it expires (a clock the test moves on, no sleeping)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import anyio
import pytest
from sqlalchemy import select

from powerstrip.errors import NotFoundError
from powerstrip.host import Host
from powerstrip.settings import Settings
from powerstrip.store import Export, Message, transaction, utcnow
from tests.redis_servers import redis_only, redis_url
from tests.server.conftest import vault_key
from tests.smtp_inbox import SmtpInbox

pytestmark = pytest.mark.anyio


class MovableClock:
    def __init__(self) -> None:
        self.ahead = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.ahead


@pytest.fixture
def inbox() -> Iterator[tuple[SmtpInbox, int]]:
    with SmtpInbox() as handler:
        yield handler, handler.port


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def host(
    tmp_path: Path, inbox: tuple[SmtpInbox, int], clock: MovableClock
) -> AsyncIterator[Host]:
    settings = Settings(
        data_dir=tmp_path,
        vault_keys=vault_key(),
        public_url="https://powerstrip.example.org",
        smtp_host="127.0.0.1",
        smtp_port=inbox[1],
        smtp_security="none",
        smtp_from="powerstrip@example.org",
        export_inline_rows=1,  # more than one message: built in the background
    )
    started = await Host.start(settings, clock=clock)
    try:
        yield started
    finally:
        await started.aclose()


async def _chat(host: Host, username: str, messages: int) -> None:
    user = await host.users.ensure(username)
    chat = await host.chats.create(user, title="groceries")
    async with transaction(host.sessions) as session:
        for seq in range(1, messages + 1):
            session.add(Message(conversation_id=chat.id, seq=seq, role="user", content="milk"))


async def test_a_large_export_is_built_in_the_background_and_its_link_mailed(
    host: Host, inbox: tuple[SmtpInbox, int]
) -> None:
    await _chat(host, "ada", messages=3)
    ada = await host.users.ensure("ada")
    await host.data.update(ada, email="ada@example.com")
    ticket = await host.exports.start(ada)
    assert ticket.info.status == "building"  # the answer did not wait for the zip
    assert await anyio.to_thread.run_sync(inbox[0].arrived.wait, 30)
    [(recipients, mail)] = inbox[0].mails
    assert recipients == ["ada@example.com"]
    assert mail["From"] == "powerstrip@example.org"
    assert mail["Subject"] == "Your Powerstrip data export"
    body = mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
    [link] = re.findall(r"https://\S+", body)
    assert link == ticket.download_url
    assert "works once" in body
    await host.exports.drain()
    info = await host.exports.get(ada, ticket.info.id)
    assert (info.status, info.mailed_to) == ("ready", "ada@example.com")

    secret = link.split("token=", 1)[1]
    export_id = link.split("/data/exports/", 1)[1].split("?", 1)[0]
    assert (await host.exports.peek(export_id, secret)).status == "ready"
    download = await host.exports.claim(export_id, secret)
    assert download.archive.startswith(b"PK")
    with pytest.raises(NotFoundError, match="used already"):
        await host.exports.claim(export_id, secret)
    async with host.sessions() as session:  # the zip is not kept once downloaded
        assert await session.scalar(select(Export.archive).where(Export.id == export_id)) is None


async def test_an_export_link_expires_and_the_retention_job_deletes_it(
    host: Host, clock: MovableClock, inbox: tuple[SmtpInbox, int]
) -> None:
    await _chat(host, "bob", messages=1)
    bob = await host.users.ensure("bob")  # no e-mail: nothing is mailed
    ticket = await host.exports.start(bob)
    assert ticket.info.status == "ready"  # small: built while the caller waited
    secret = ticket.download_url.split("token=", 1)[1]
    clock.ahead = timedelta(hours=24, seconds=1)
    with pytest.raises(NotFoundError):
        await host.exports.peek(ticket.info.id, secret)
    with pytest.raises(NotFoundError):
        await host.exports.claim(ticket.info.id, secret)
    assert await host.exports.list_exports(bob) == []
    assert (await host.retention.purge()).counts["exports"] == 1
    assert inbox[0].mails == []


@pytest.mark.parametrize("redis", redis_only())
async def test_drain_waits_for_an_export_a_queue_worker_builds(
    tmp_path: Path, inbox: tuple[SmtpInbox, int], redis: str
) -> None:
    """On Redis the export is arq's job, run by whichever worker takes it (here this process,
    started as one): `drain` returns once it has its result, the zip built and mailed."""
    settings = Settings(
        data_dir=tmp_path,
        vault_keys=vault_key(),
        public_url="https://powerstrip.example.org",
        smtp_host="127.0.0.1",
        smtp_port=inbox[1],
        smtp_security="none",
        smtp_from="powerstrip@example.org",
        export_inline_rows=1,
        redis_url=redis_url(),
        jobs_queue_name=f"t-{uuid.uuid4().hex[:12]}",
    )
    host = await Host.start(settings)
    try:
        assert host.jobs.backend == "arq"
        await host.jobs.start()
        await _chat(host, "ada", messages=3)
        ada = await host.users.ensure("ada")
        await host.data.update(ada, email="ada@example.com")
        ticket = await host.exports.start(ada)
        assert ticket.info.status == "building"
        with anyio.fail_after(60):  # ends a hang; measures nothing
            await host.exports.drain()
        info = await host.exports.get(ada, ticket.info.id)
        # Built and mailed by the time drain returned, not merely taken by the worker.
        assert (info.status, info.mailed_to) == ("ready", "ada@example.com")
        assert len(inbox[0].mails) == 1
    finally:
        await host.aclose()
