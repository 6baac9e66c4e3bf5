"""Sign-in links: how a user's browser starts an OAuth sign-in the API or CLI asked for.

The OAuth `state` is bound to a browser session (spec §4): the host's callback only accepts it
from the browser that started the sign-in. An API client or `powerstrip chat` is not that
browser, so they hand the user a link to the host's own `/aip/ID/oauth/begin?ticket=...`. The
ticket names the user and the plugin, expires in minutes and is signed with a host key, so it
cannot be forged or altered. Opening it sets a fresh session cookie in the browser and sends it on
to the provider. Each link starts one sign-in only (`use`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.errors import OAuthError, StoreError
from powerstrip.store import SignInUse, transaction, utcnow

__all__ = ["SignInLinks", "Ticket"]

_TTL_SECONDS = 600


@dataclass(frozen=True, slots=True)
class Ticket:
    """Who signs in to which plugin."""

    user_id: int
    plugin_id: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _digest(ticket: str) -> str:
    # Uses are kept by digest: the store never holds a live ticket.
    return hashlib.sha256(ticket.encode()).hexdigest()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SignInLinks:
    """Makes and reads signed sign-in tickets."""

    def __init__(self, public_url: str, key: bytes, ttl_seconds: int = _TTL_SECONDS) -> None:
        self.public_url = public_url.rstrip("/")
        self._key = key
        self.ttl_seconds = ttl_seconds

    def link(self, user_id: int, plugin_id: int, *, now: float | None = None) -> str:
        """The URL the user opens to sign in to `plugin_id`."""
        expires = int((now or time.time()) + self.ttl_seconds)
        # A random part makes every link distinct, so using one never uses up another.
        nonce = secrets.token_urlsafe(9)
        payload = _b64(json.dumps([user_id, plugin_id, expires, nonce]).encode())
        ticket = f"{payload}.{self._sign(payload)}"
        return f"{self.public_url}/aip/{plugin_id}/oauth/begin?ticket={ticket}"

    def read(self, ticket: str, plugin_id: int, *, now: float | None = None) -> Ticket:
        """The ticket's user, or OAuthError when it is forged, altered, expired or for another
        plugin."""
        payload, _, signature = ticket.partition(".")
        # A real ticket is base64url text; anything else (compare_digest refuses non-ASCII
        # text with a TypeError) is simply not one.
        if (
            not ticket.isascii()
            or not payload
            or not hmac.compare_digest(signature, self._sign(payload))
        ):
            raise OAuthError(
                "the sign-in link is not valid",
                where="ticket",
                fix="start the sign-in again from the plugin store or `powerstrip plugins`",
            )
        try:
            user_id, ticket_plugin, expires, _nonce = json.loads(_unb64(payload))
        except (ValueError, TypeError) as exc:
            raise OAuthError("the sign-in link is not valid", where="ticket") from exc
        if ticket_plugin != plugin_id:
            raise OAuthError(
                "the sign-in link is for another plugin",
                where="ticket",
                fix="open the link you were given unchanged",
            )
        if (now or time.time()) > expires:
            raise OAuthError(
                "the sign-in link has expired",
                where="ticket",
                fix="start the sign-in again to get a new link",
            )
        return Ticket(int(user_id), int(plugin_id))

    async def use(self, sessions: async_sessionmaker[AsyncSession], ticket: str) -> None:
        """Record that `ticket` started a sign-in; OAuthError when it already did once."""
        digest = _digest(ticket)
        try:
            async with transaction(sessions) as session:
                # Links older than their lifetime cannot be read any more: forget their uses.
                horizon = utcnow() - timedelta(seconds=2 * self.ttl_seconds)
                await session.execute(delete(SignInUse).where(SignInUse.used_at < horizon))
                session.add(SignInUse(link_hash=digest))
        except StoreError:
            raise OAuthError(
                "this sign-in link was already used",
                where="ticket",
                fix="ask for a new link (`powerstrip plugins sign-in` or the install answer)",
            ) from None

    async def was_used(self, sessions: async_sessionmaker[AsyncSession], ticket: str) -> bool:
        """Whether `ticket` already started its one sign-in."""
        async with sessions() as session:
            found = await session.execute(
                select(SignInUse.link_hash).where(SignInUse.link_hash == _digest(ticket))
            )
            return found.first() is not None

    def form_token(self, ticket: str, browser_nonce: str) -> str:
        """The token that ties a Continue form to the browser that was shown it.

        `browser_nonce` is a random value kept in that browser's cookie; the form carries this
        token. A page on another site can make a browser post a ticket, but cannot read this
        browser's cookie, nor compute a token for a cookie it planted, without the host's key.
        """
        # The "form." prefix keeps these apart from ticket signatures made with the same key.
        message = f"form.{ticket}.{browser_nonce}".encode()
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest())

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())
