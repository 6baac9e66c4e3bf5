"""Data exports (spec §9): a zip of everything the host keeps about a user, behind a link.

`start(user)` records an export and gives back its download link, once: the link's secret is
random, only its SHA-256 is stored, it downloads the zip one time (`claim`) and expires after
`POWERSTRIP_EXPORT_LINK_TTL_HOURS`. A small export is built while the caller waits; a larger
one (more than `POWERSTRIP_EXPORT_INLINE_ROWS` messages and calls) by the `exports.build`
background job (docs/jobs.md), its status readable meanwhile. With SMTP configured and an
e-mail address set, the link is mailed once the zip is ready, as the platform did. The zip is
kept in the store, so any process sharing it serves the link; it is dropped when the link is
used, and the retention job deletes expired exports.

The link's secret is derived from the export's id with a key of the host secret's (HMAC), so
the job carries only the export's id: no secret, sealed or not, sits in a queue, and a vault key
rotation (which re-seals the host secret, keeping its value) leaves every queued export able
to mail its link. The job is idempotent: a run finding the export built already builds nothing,
and mails only a link not mailed yet.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import anyio
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.auth import Vault
from powerstrip.errors import NotFoundError, PowerstripError, VaultError
from powerstrip.host.clock import Clock, system_clock
from powerstrip.host.export_archive import collect_export, count_export_rows, pack_archive
from powerstrip.host.mailer import Mailer
from powerstrip.host.users import UserInfo
from powerstrip.jobs import JobPayload, Jobs, is_transient
from powerstrip.logs import remember_secret
from powerstrip.settings import Settings
from powerstrip.store import Export, User, transaction

__all__ = ["ExportDownload", "ExportInfo", "ExportTicket", "Exports"]

logger = logging.getLogger(__name__)

BUILD_JOB = "exports.build"


def _link_context(export_id: str) -> str:
    # Only for jobs queued by an earlier version, whose payload carried the link sealed.
    return f"export:{export_id}:link"


def _invalid_link() -> NotFoundError:
    # One answer for every case: a link's holder learns nothing about someone else's export.
    return NotFoundError(
        "this download link is not valid: it was used already, has expired, or never existed",
        where="export link",
        fix="start a new export from your data settings",
    )


@dataclass(frozen=True, slots=True)
class ExportInfo:
    """An export as its owner sees it (never with its link)."""

    id: str
    status: str  # building, ready, used, failed
    created_at: datetime
    expires_at: datetime
    size_bytes: int
    mailed_to: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class ExportTicket:
    """A started export with its download link: the only time the link is shown."""

    info: ExportInfo
    download_url: str


@dataclass(frozen=True, slots=True)
class ExportDownload:
    """The zip a link downloaded, and the name to save it under."""

    filename: str
    archive: bytes


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _info(row: Export) -> ExportInfo:
    return ExportInfo(
        row.id,
        row.status,
        row.created_at,
        row.expires_at,
        row.size_bytes,
        row.mailed_to,
        row.error,
    )


class Exports:
    """Builds exports and serves their one-time links; one per process."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        jobs: Jobs,
        vault: Vault,
        link_key: bytes,
        mailer: Mailer | None = None,
        clock: Clock = system_clock,
    ) -> None:
        """`link_key` derives each export's link secret from its id (`Host`: of the host secret)."""
        self.sessions = sessions
        self.settings = settings
        self.jobs = jobs
        self.vault = vault
        self._link_key = link_key
        self.mailer = mailer or Mailer(settings)
        self.clock = clock
        jobs.register(BUILD_JOB, self._build_job)

    async def archive(self, user: UserInfo) -> bytes:
        """The zip of the user's data now, with no link (the CLI writes it to a file)."""
        return await self._pack(user.id, self.clock())

    async def start(
        self, user: UserInfo, *, mode: Literal["auto", "inline", "background"] = "auto"
    ) -> ExportTicket:
        """Record an export and build it: now when small (or `inline`), else in the background."""
        now = self.clock()
        export_id = str(uuid.uuid4())
        secret = self._link_secret(export_id)
        async with transaction(self.sessions) as session:
            row = Export(
                id=export_id,
                user_id=user.id,
                link_hash=_digest(secret),
                status="building",
                created_at=now,
                expires_at=now + timedelta(hours=self.settings.export_link_ttl_hours),
            )
            session.add(row)
            rows = await count_export_rows(session, user.id)
        url = self.download_url(export_id, secret)
        background = mode == "background" or (
            mode == "auto" and rows > self.settings.export_inline_rows
        )
        logger.info(
            "exports.start user=%s export=%s rows=%d background=%s",
            user.id,
            export_id,
            rows,
            background,
        )
        if background:
            # The id is all the job needs: the worker derives the link again (`_link_secret`).
            await self.jobs.enqueue(BUILD_JOB, export_id, {"export": export_id})
        else:
            await self._build(user.id, export_id, url)
        return ExportTicket(await self.get(user, export_id), url)

    def download_url(self, export_id: str, secret: str) -> str:
        return f"{self.settings.public_url.rstrip('/')}/data/exports/{export_id}?token={secret}"

    async def get(self, user: UserInfo, export_id: str) -> ExportInfo:
        async with self.sessions() as session:
            row = await session.get(Export, export_id)
            if row is None or row.user_id != user.id:
                raise NotFoundError(
                    f"no export {export_id}",
                    where="exports",
                    fix="list your exports to see their ids",
                )
            return _info(row)

    async def list_exports(self, user: UserInfo) -> list[ExportInfo]:
        """The user's exports that have not expired, newest first."""
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(Export)
                    .where(Export.user_id == user.id, Export.expires_at > self.clock())
                    .order_by(Export.created_at.desc())
                )
            ).scalars()
            return [_info(row) for row in rows]

    async def peek(self, export_id: str, secret: str) -> ExportInfo:
        """What a link leads to, without using it (the page before the download)."""
        async with self.sessions() as session:
            row = await session.get(Export, export_id)
            if not self._usable(row, secret, statuses=("building", "ready")):
                raise _invalid_link()
            assert row is not None
            return _info(row)

    async def claim(self, export_id: str, secret: str) -> ExportDownload:
        """The zip, once: the first claim of a valid link wins, every later one is refused."""
        now = self.clock()
        async with transaction(self.sessions) as session:
            row = await session.get(Export, export_id)
            if not self._usable(row, secret, statuses=("ready",)):
                raise _invalid_link()
            assert row is not None
            archive = row.archive or b""
            username = await session.scalar(select(User.username).where(User.id == row.user_id))
            # Conditional on "ready": of two claims at once, one changes the row, one nothing.
            result = await session.execute(
                update(Export)
                .where(Export.id == export_id, Export.status == "ready")
                .values(status="used", used_at=now, archive=None)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                raise _invalid_link()
            created = row.created_at
        logger.info("exports.downloaded export=%s bytes=%d", export_id, len(archive))
        name = f"powerstrip-export-{username or 'user'}-{created:%Y-%m-%d}.zip"
        return ExportDownload(name, archive)

    async def drain(self) -> None:
        """Wait for the background jobs this process enqueued (exports among them) to finish.

        For tests and one-shot commands, never a shutdown (which hands running jobs back to
        the queue, `Jobs.stop`). On Redis it waits for arq's result, whichever worker runs the
        job, so some worker must run: this process started as one, or `powerstrip worker`."""
        await self.jobs.drain()

    # -- building blocks ---------------------------------------------------------------------

    def _link_secret(self, export_id: str) -> str:
        """The secret of the export's link: the same in every process sharing the host secret."""
        digest = hmac.new(self._link_key, export_id.encode(), hashlib.sha256).digest()
        secret = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        remember_secret(secret)  # masked in any log record of this process
        return secret

    def _queued_secret(self, payload: JobPayload, export_id: str) -> str | None:
        """The link secret for a job's payload; None when an older job's sealed link won't open."""
        sealed = payload.get("link")
        if sealed is None:
            return self._link_secret(export_id)
        try:
            secret = self.vault.open(str(sealed), context=_link_context(export_id))
        except VaultError as exc:
            # Sealed with a key dropped since: the zip is built all the same, and the page that
            # started the export showed the link; only the mail cannot be sent.
            logger.warning("exports.link_unreadable export=%s error=%s", export_id, exc.message)
            return None
        remember_secret(secret)
        return secret

    def _usable(self, row: Export | None, secret: str, *, statuses: tuple[str, ...]) -> bool:
        return (
            row is not None
            and hmac.compare_digest(row.link_hash, _digest(secret))
            and row.status in statuses
            and row.expires_at > self.clock()
        )

    async def _pack(self, user_id: int, exported_at: datetime) -> bytes:
        async with self.sessions() as session:
            data = await collect_export(session, user_id, exported_at)
        if not data:
            raise NotFoundError(f"no user {user_id}", where="users", fix="the account was deleted")
        # Compressing a large history is CPU work: off the event loop.
        return await anyio.to_thread.run_sync(pack_archive, data, exported_at)

    async def _build_job(self, payload: JobPayload) -> None:
        """The `exports.build` job: build the export unless built already, then mail its link."""
        export_id = str(payload["export"])
        async with self.sessions() as session:
            row = await session.get(Export, export_id)
            if row is None:
                return  # deleted with its user, or purged on expiry: nothing to build
            user_id, status, mailed, error = row.user_id, row.status, row.mailed_to, row.error
        secret = self._queued_secret(payload, export_id)
        url = None if secret is None else self.download_url(export_id, secret)
        if status == "building":
            await self._build(user_id, export_id, url)
        elif status == "ready" and mailed is None and error is None and url is not None:
            await self._mail(user_id, export_id, url)  # built, but stopped before mailing

    async def _build(self, user_id: int, export_id: str, url: str | None) -> None:
        """Build the zip, then mail `url` (None: nothing to mail)."""
        try:
            archive = await self._pack(user_id, self.clock())
        except PowerstripError as exc:
            if is_transient(exc):
                raise  # the store is away: the job is tried again

            await self._finish(export_id, status="failed", error=exc.message)
            return
        except Exception:
            logger.exception("exports.crashed export=%s", export_id)
            await self._finish(export_id, status="failed", error="the export failed unexpectedly")
            return
        await self._finish(export_id, status="ready", archive=archive)
        if url is not None:
            await self._mail(user_id, export_id, url)

    async def _finish(
        self, export_id: str, *, status: str, archive: bytes | None = None, error: str | None = None
    ) -> None:
        async with transaction(self.sessions) as session:
            await session.execute(
                update(Export)
                .where(Export.id == export_id)
                .values(
                    status=status,
                    archive=archive,
                    size_bytes=len(archive or b""),
                    error=error,
                    finished_at=self.clock(),
                )
            )
        logger.info(
            "exports.built export=%s status=%s bytes=%d", export_id, status, len(archive or b"")
        )

    async def _mail(self, user_id: int, export_id: str, url: str) -> None:
        if not self.mailer.configured:
            return
        async with self.sessions() as session:
            address = await session.scalar(select(User.email).where(User.id == user_id))
        if not address:
            return
        hours = self.settings.export_link_ttl_hours
        body = (
            "Your Powerstrip data export is ready.\n\n"
            f"Download it here (the link works once, for {hours} hours):\n\n{url}\n\n"
            "If you did not ask for this export, sign in and change your API tokens.\n"
        )
        try:
            await self.mailer.send(address, "Your Powerstrip data export", body)
        except PowerstripError as exc:
            # The export is still there: the page that started it shows its link.
            async with transaction(self.sessions) as session:
                await session.execute(
                    update(Export).where(Export.id == export_id).values(error=exc.message)
                )
            return
        async with transaction(self.sessions) as session:
            await session.execute(
                update(Export).where(Export.id == export_id).values(mailed_to=address)
            )
