"""Web app accounts: passwords (Argon2id), browser sessions, throttled sign-in, CSRF tokens.

A session cookie is 32 random bytes; the store keeps its SHA-256, so a copy of the database opens
no browser session. A form token is an HMAC of the session (or, before signing in, of a random
browser cookie) under a key derived from the host secret: a page of another site can neither
read nor guess it, so a forged form post is refused.

    user = await host.accounts.sign_up("ada", "correct horse battery")
    cookie = await host.accounts.sign_in("ada", "correct horse battery", client="203.0.113.7")
    user = await host.accounts.session_user(cookie)
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from datetime import timedelta

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.coordination import RateWindows
from powerstrip.coordination.memory import MemoryRateWindows
from powerstrip.errors import AccessError, InvalidInputError, SignInRequiredError
from powerstrip.host.users import UserInfo
from powerstrip.settings import Settings
from powerstrip.store import Password, User, WebSession, transaction, utcnow

__all__ = [
    "MAX_PASSWORD",
    "MIN_PASSWORD",
    "Accounts",
    "SignInThrottle",
    "TooManyAttemptsError",
]

logger = logging.getLogger(__name__)

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
_SESSION_BYTES = 32
# A session's last_seen_at is written at most this often: one write per page view would queue
# every request behind SQLite's single writer.
_TOUCH_STEP = timedelta(minutes=10)
# One hash to compare against when the user does not exist, so a wrong username takes as
# long as a wrong password and the timing does not tell which accounts exist.
_DUMMY_PASSWORD = "not a password of anyone's"  # noqa: S105 - a decoy, not a credential


class TooManyAttemptsError(AccessError):
    """Too many failed sign-ins for this account or from this address: wait, then try again."""


class SignInThrottle:
    """Failed sign-ins in a sliding window, per username and per client address.

    After `per_user` failures for one username, or `per_client` from one address, within
    `window` seconds, sign-in is refused until the oldest failure leaves the window, even with
    the right password: guessing is slowed to a few tries an hour. The failures are counted in
    `windows`: this process's memory, or Redis, where every worker counts them together (five
    guesses spread over four workers are still five).
    """

    def __init__(
        self,
        windows: RateWindows | None = None,
        *,
        per_user: int = 5,
        per_client: int = 20,
        window: float = 900.0,
    ) -> None:
        self.windows: RateWindows = windows or MemoryRateWindows()
        self.per_user = per_user
        self.per_client = per_client
        self.window = window

    async def check(self, username: str, client: str) -> None:
        """TooManyAttemptsError while the username or the address has failed too often."""
        for key, limit in (
            (f"sign-in:user:{username}", self.per_user),
            (f"sign-in:client:{client}", self.per_client),
        ):
            recent = await self.windows.recent(key, self.window)
            if recent.count >= limit:
                wait = int(recent.oldest_leaves_in) + 1
                raise TooManyAttemptsError(
                    "too many failed sign-ins; sign-in is paused for a while",
                    where="sign-in",
                    fix=f"wait {max(1, wait // 60)} minutes, then try again",
                )

    async def failed(self, username: str, client: str) -> None:
        """Count a failed sign-in against the username and the address."""
        for key in (f"sign-in:user:{username}", f"sign-in:client:{client}"):
            await self.windows.hit(key, self.window)

    async def succeeded(self, username: str) -> None:
        """Forget the username's failures (the address's stay: it may be guessing others)."""
        await self.windows.clear(f"sign-in:user:{username}")


def _session_id(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


class Accounts:
    """Local accounts for the web app; one per process."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        form_key: bytes,
        *,
        hasher: PasswordHasher | None = None,
        throttle: SignInThrottle | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self._form_key = form_key
        self.hasher = hasher or PasswordHasher()
        self.throttle = throttle or SignInThrottle()
        self._dummy_hash: str | None = None

    # -- accounts ----------------------------------------------------------------------------

    async def has_accounts(self) -> bool:
        """Whether any web account exists (with none, the first sign-up makes the admin)."""
        return await self._any_account()

    async def signups_open(self) -> bool:
        """Whether a new account may be made now: always for the first one."""
        return self.settings.allow_signups or not await self._any_account()

    async def sign_up(self, username: str, password: str) -> UserInfo:
        """A new account; the first one is an admin. Refused when sign-ups are closed."""
        username = _check_username(username)
        _check_password(password)
        digest = await self._hash(password)
        async with transaction(self.sessions) as session:
            first = not await self._any_account(session)
            if not first and not self.settings.allow_signups:
                raise AccessError(
                    "sign-ups are closed on this host",
                    where="sign-up",
                    fix="ask an admin for an account (POWERSTRIP_ALLOW_SIGNUPS is off)",
                )
            taken = (
                await session.execute(select(User.id).where(User.username == username))
            ).scalar_one_or_none()
            if taken is not None:
                raise InvalidInputError(
                    f"the username {username!r} is taken",
                    where="username",
                    fix="choose another username",
                )
            user = User(username=username, is_admin=first)
            session.add(user)
            await session.flush()
            session.add(Password(user_id=user.id, password_hash=digest))
            info = UserInfo(user.id, user.username, user.is_admin, user.subdivision)
        logger.info("accounts.sign_up user=%s admin=%s", info.id, info.is_admin)
        return info

    async def add_user(
        self, actor: UserInfo, username: str, password: str, *, admin: bool = False
    ) -> UserInfo:
        """An admin makes an account for someone (sign-ups may be closed)."""
        if not actor.is_admin:
            raise AccessError("only an admin may add users", where="users", fix="ask an admin")
        username = _check_username(username)
        _check_password(password)
        digest = await self._hash(password)
        async with transaction(self.sessions) as session:
            user = (
                await session.execute(select(User).where(User.username == username))
            ).scalar_one_or_none()
            if user is not None and await session.get(Password, user.id) is not None:
                raise InvalidInputError(
                    f"the username {username!r} is taken", where="username", fix="choose another"
                )
            if user is None:
                user = User(username=username, is_admin=admin)
                session.add(user)
                await session.flush()
            session.add(Password(user_id=user.id, password_hash=digest))
            return UserInfo(user.id, user.username, user.is_admin, user.subdivision)

    async def change_password(self, user: UserInfo, current: str, new: str) -> str:
        """Set a new password; every sign-in of the user ends, and a fresh one is returned."""
        _check_password(new)
        async with self.sessions() as session:
            row = await session.get(Password, user.id)
        if row is None or not await self._verify(row.password_hash, current):
            raise InvalidInputError(
                "the current password is not right", where="current password", fix="type it again"
            )
        digest = await self._hash(new)
        async with transaction(self.sessions) as session:
            await session.execute(
                update(Password)
                .where(Password.user_id == user.id)
                .values(password_hash=digest, changed_at=utcnow())
            )
            await session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        logger.info("accounts.password_changed user=%s", user.id)
        return await self._open_session(user.id)

    # -- sessions ----------------------------------------------------------------------------

    async def sign_in(self, username: str, password: str, *, client: str) -> str:
        """A new session cookie for the account; AccessError (the same for both) otherwise."""
        username = username.strip().lower()
        await self.throttle.check(username, client)
        async with self.sessions() as session:
            found = (
                await session.execute(
                    select(User.id, Password.password_hash)
                    .join(Password, Password.user_id == User.id)
                    .where(User.username == username)
                )
            ).one_or_none()
        if found is None:
            await self._verify(await self._dummy(), password)
            ok = False
        else:
            ok = await self._verify(found.password_hash, password)
        if not ok or found is None:
            await self.throttle.failed(username, client)
            logger.info("accounts.sign_in_failed client=%s", client)
            raise SignInRequiredError(
                "the username or the password is not right",
                where="sign-in",
                fix="check both and try again",
            )
        await self.throttle.succeeded(username)
        if self.hasher.check_needs_rehash(found.password_hash):
            digest = await self._hash(password)
            async with transaction(self.sessions) as session:
                await session.execute(
                    update(Password)
                    .where(Password.user_id == found.id)
                    .values(password_hash=digest)
                )
        return await self._open_session(found.id)

    async def session_user(self, cookie: str) -> UserInfo | None:
        """The user a session cookie belongs to, or None (unknown, or expired)."""
        if not cookie or len(cookie) > 128:
            return None
        sid = _session_id(cookie)
        now = utcnow()
        # One statement: every page and every call the page's scripts make asks this first.
        async with self.sessions() as session:
            found = (
                await session.execute(
                    select(
                        WebSession.expires_at,
                        WebSession.last_seen_at,
                        User.id,
                        User.username,
                        User.is_admin,
                        User.subdivision,
                    )
                    .join(User, User.id == WebSession.user_id)
                    .where(WebSession.id == sid)
                )
            ).first()
        if found is None or found.expires_at <= now:
            return None
        if now - found.last_seen_at > _TOUCH_STEP:
            async with transaction(self.sessions) as session:
                await session.execute(
                    update(WebSession)
                    .where(WebSession.id == sid)
                    .values(last_seen_at=now, expires_at=now + self._lifetime())
                )
        return UserInfo(found.id, found.username, found.is_admin, found.subdivision)

    async def sign_out(self, cookie: str) -> None:
        async with transaction(self.sessions) as session:
            await session.execute(delete(WebSession).where(WebSession.id == _session_id(cookie)))

    async def sign_out_everywhere(self, user: UserInfo) -> int:
        """End every browser session of the user; returns how many there were."""
        async with transaction(self.sessions) as session:
            result = await session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        logger.info("accounts.sign_out_everywhere user=%s sessions=%s", user.id, count)
        return count

    async def session_count(self, user: UserInfo) -> int:
        async with self.sessions() as session:
            return int(
                (
                    await session.execute(
                        select(func.count())
                        .select_from(WebSession)
                        .where(WebSession.user_id == user.id, WebSession.expires_at > utcnow())
                    )
                ).scalar_one()
            )

    # -- form tokens -------------------------------------------------------------------------

    def form_token(self, bound_to: str) -> str:
        """The CSRF token for a browser: bound to its session cookie (or pre-session cookie)."""
        return hmac.new(self._form_key, bound_to.encode(), hashlib.sha256).hexdigest()

    def check_form_token(self, bound_to: str, token: str) -> bool:
        if not bound_to or not token or not token.isascii():
            return False
        return hmac.compare_digest(self.form_token(bound_to), token)

    # -- building blocks ---------------------------------------------------------------------

    def _lifetime(self) -> timedelta:
        return timedelta(days=self.settings.session_days)

    async def _open_session(self, user_id: int) -> str:
        cookie = secrets.token_urlsafe(_SESSION_BYTES)
        now = utcnow()
        async with transaction(self.sessions) as session:
            session.add(
                WebSession(
                    id=_session_id(cookie),
                    user_id=user_id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self._lifetime(),
                )
            )
            # Expired sessions of anyone go on the way: no sweeper process is needed.
            await session.execute(delete(WebSession).where(WebSession.expires_at <= now))
        logger.info("accounts.sign_in user=%s", user_id)
        return cookie

    async def _any_account(self, session: AsyncSession | None = None) -> bool:
        statement = select(Password.user_id).limit(1)
        if session is not None:
            return (await session.execute(statement)).first() is not None
        async with self.sessions() as own:
            return (await own.execute(statement)).first() is not None

    async def _hash(self, password: str) -> str:
        # Argon2 is slow on purpose (tens of ms): off the event loop, so other requests go on.
        return await anyio.to_thread.run_sync(self.hasher.hash, password)

    async def _verify(self, digest: str, password: str) -> bool:
        def verify() -> bool:
            try:
                return self.hasher.verify(digest, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        return await anyio.to_thread.run_sync(verify)

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self._hash(_DUMMY_PASSWORD)
        return self._dummy_hash


def _check_username(username: str) -> str:
    name = username.strip().lower()
    if not _USERNAME.match(name):
        raise InvalidInputError(
            "a username is 2 to 32 characters: letters, digits, and . _ - (not first)",
            where="username",
            fix="choose a username like ada or ada.lovelace",
        )
    return name


def _check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInputError(
            f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters",
            where="password",
            fix=f"choose a longer passphrase (at least {MIN_PASSWORD} characters)",
        )
