"""The host as the OAuth 2.1 authorization server of its own `/mcp` (MCP authorization).

An MCP client registers itself (RFC 7591) as a public client, sends the person's browser to
the consent page, and gets an authorization code for them (PKCE S256, bound to the redirect URI
and to the resource `PUBLIC_URL/mcp`). The code is single-use and lives `CODE_SECONDS`; it
becomes a **connection** of that user and client, with an access token (`psm_...`, lives
`POWERSTRIP_MCP_OAUTH_ACCESS_MINUTES`) and a refresh token (`psr_...`, lives
`POWERSTRIP_MCP_OAUTH_REFRESH_DAYS`, rotated at each use). The store keeps SHA-256 digests only.

Why tables of their own and not API tokens with an `mcp` scope: an API token is made by its
owner, lives until revoked and works on `/api` and `/v1`; these are made for a client that
identified itself, expire, come in pairs that rotate, and must never open anything but `/mcp`.
A distinct prefix and table make that structural: the API's authentication never looks here,
and the only scope an MCP token carries is `mcp`, which no REST route accepts.

Reuse is treated as theft, as OAuth 2.1 asks of public clients: a code presented a second time,
or a refresh token that was already rotated, revokes the whole connection.

The protocol (parsing, PKCE verification, error shapes) is the `mcp` SDK's, in `powerstrip.mcp`;
this service holds the rules and the state:

    oauth = host.mcp_oauth
    await oauth.register(client_id, name=..., redirect_uris=[...], registration={...})
    ticket = oauth.consent_ticket(ConsentRequest(...))      # the consent page's URL carries it
    redirect = await oauth.approve(user, oauth.read_consent_ticket(ticket))
    tokens = await oauth.exchange_code(client_id, code)
    user = await oauth.authenticate(tokens.access_token)    # at /mcp
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.aliases import JSONValue
from powerstrip.errors import InvalidInputError, NotFoundError, OAuthError, RegistryError
from powerstrip.host.clock import Clock, system_clock
from powerstrip.host.mcp_consent import (
    ConsentRequest,
    ConsentTickets,
    check_redirect_uri,
    redirect_with,
)
from powerstrip.host.users import UserInfo
from powerstrip.logs import remember_secret
from powerstrip.settings import Settings
from powerstrip.store import (
    McpAuthCode,
    McpClient,
    McpConnection,
    McpToken,
    User,
    transaction,
    upsert,
)

__all__ = [
    "ACCESS_PREFIX",
    "CODE_SECONDS",
    "MCP_SCOPE",
    "REFRESH_PREFIX",
    "CodeGrant",
    "ConsentRequest",
    "IssuedTokens",
    "McpClientInfo",
    "McpConnectionInfo",
    "McpOAuth",
    "TokenGrant",
]

logger = logging.getLogger(__name__)

# The one scope: act as the user with their installed plugins, over MCP (`/mcp`).
MCP_SCOPE = "mcp"
ACCESS_PREFIX = "psm_"
REFRESH_PREFIX = "psr_"
CODE_PREFIX = "psc_"
# An authorization code is exchanged by the client right after the redirect: two minutes is
# ample, and a code caught in a log or a history is useless soon after.
CODE_SECONDS = 120
# Registrations nobody connected with are forgotten after a day.
_UNUSED_CLIENT_HOURS = 24
_LAST_USED_STEP = timedelta(hours=1)
_MAX_REDIRECT_URIS = 10


@dataclass(frozen=True, slots=True)
class McpClientInfo:
    """A registered client: `registration` is its RFC 7591 answer, given back as it was."""

    client_id: str
    name: str
    redirect_uris: tuple[str, ...]
    registration: dict[str, JSONValue]


@dataclass(frozen=True, slots=True)
class CodeGrant:
    """An unused, unexpired authorization code, as the token endpoint checks it."""

    client_id: str
    user_id: int
    code_challenge: str
    redirect_uri: str
    redirect_uri_explicit: bool
    resource: str
    scopes: tuple[str, ...]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """A live access or refresh token: whose, for which client, until when."""

    client_id: str
    user_id: int
    connection_id: int
    scopes: tuple[str, ...]
    resource: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    """A token answer: the only time the tokens' plaintext exists."""

    access_token: str
    refresh_token: str
    expires_in: int
    scopes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class McpConnectionInfo:
    """A client the user connected, as the settings page lists it."""

    id: int
    client_id: str
    client_name: str
    redirect_hosts: tuple[str, ...]
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _scopes(text: str) -> tuple[str, ...]:
    return tuple(sorted(set(text.split())))


class McpOAuth:
    """The authorization server's rules and state, for the SDK's handlers and the consent page."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        consent_key: bytes,
        *,
        clock: Clock = system_clock,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._tickets = ConsentTickets(consent_key, clock=clock)
        self._clock = clock
        parts = urlsplit(settings.public_url.rstrip("/"))
        # As clients compare it, character for character: scheme and host in lower case.
        base = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))
        # The issuer is the host itself (RFC 8414), and the one resource it issues for is /mcp.
        self.issuer = base
        self.resource = f"{base}/mcp"

    @property
    def access_seconds(self) -> int:
        return self._settings.mcp_oauth_access_minutes * 60

    @property
    def refresh_seconds(self) -> int:
        return self._settings.mcp_oauth_refresh_days * 86400

    # -- clients ---------------------------------------------------------------------------

    async def registration_open(self) -> bool:
        """Whether another client may register now (unused registrations are capped)."""
        now = self._clock()
        async with transaction(self._sessions) as session:
            horizon = now - timedelta(hours=_UNUSED_CLIENT_HOURS)
            unused = (
                select(McpClient.id)
                .outerjoin(McpConnection, McpConnection.client_id == McpClient.id)
                .where(McpConnection.id.is_(None), McpClient.created_at < horizon)
            )
            await session.execute(delete(McpClient).where(McpClient.id.in_(unused)))
            waiting = await session.scalar(
                select(func.count())
                .select_from(McpClient)
                .outerjoin(McpConnection, McpConnection.client_id == McpClient.id)
                .where(McpConnection.id.is_(None))
            )
        return int(waiting or 0) < self._settings.mcp_oauth_pending_clients

    async def register(
        self,
        client_id: str,
        *,
        name: str,
        redirect_uris: list[str],
        registration: dict[str, JSONValue],
    ) -> McpClientInfo:
        """Keep a client's registration; InvalidInputError for a redirect URI it may not use."""
        if not redirect_uris:
            raise InvalidInputError(
                "a client needs a redirect URI", where="redirect_uris", fix="register one"
            )
        if len(redirect_uris) > _MAX_REDIRECT_URIS:
            raise InvalidInputError(
                f"a client may register at most {_MAX_REDIRECT_URIS} redirect URIs",
                where="redirect_uris",
            )
        checked = tuple(check_redirect_uri(uri) for uri in redirect_uris)
        row = McpClient(
            id=client_id,
            name=name.strip()[:100],
            redirect_uris=list(checked),
            registration=registration,
            created_at=self._clock(),
        )
        async with transaction(self._sessions) as session:
            session.add(row)
        logger.info("mcp_oauth.register client=%s redirects=%d", client_id, len(checked))
        return McpClientInfo(client_id, row.name, checked, registration)

    async def client(self, client_id: str) -> McpClientInfo | None:
        """The registered client, or None."""
        if len(client_id) > 64:
            return None
        async with self._sessions() as session:
            row = await session.get(McpClient, client_id)
        if row is None:
            return None
        return McpClientInfo(row.id, row.name, tuple(row.redirect_uris), dict(row.registration))

    # -- authorization -----------------------------------------------------------------------

    def check_resource(self, resource: str | None) -> str:
        """The resource a token is asked for: ours (`/mcp`) or OAuthError (RFC 8707)."""
        if resource is None or resource.rstrip("/") == self.resource:
            # A client of the older protocol sends none: /mcp is the only resource here.
            return self.resource
        raise OAuthError(
            f"this authorization server issues tokens for {self.resource} only, not {resource}",
            where="resource",
            fix=f"ask for resource={self.resource}",
        )

    def consent_ticket(self, request: ConsentRequest) -> str:
        """The signed request the consent page's URL carries (it cannot be altered)."""
        return self._tickets.make(request)

    def read_consent_ticket(self, ticket: str) -> ConsentRequest:
        """The request of a ticket; OAuthError when it is forged, altered or expired."""
        return self._tickets.read(ticket)

    async def approve(self, user: UserInfo, request: ConsentRequest) -> str:
        """The person said yes: a new code, and the URL that takes the browser back with it."""
        client = await self.client(request.client_id)
        if client is None or request.redirect_uri not in client.redirect_uris:
            # The client was forgotten (or the ticket outlived a registration): nothing to do.
            raise NotFoundError(
                "this MCP client is no longer registered",
                where=f"client {request.client_id}",
                fix="start connecting again from your MCP client",
            )
        code = CODE_PREFIX + secrets.token_urlsafe(32)
        remember_secret(code)
        now = self._clock()
        async with transaction(self._sessions) as session:
            await session.execute(delete(McpAuthCode).where(McpAuthCode.expires_at < now))
            session.add(
                McpAuthCode(
                    digest=_digest(code),
                    user_id=user.id,
                    client_id=client.client_id,
                    code_challenge=request.code_challenge,
                    redirect_uri=request.redirect_uri,
                    redirect_uri_explicit=request.redirect_uri_explicit,
                    resource=request.resource,
                    scopes=" ".join(request.scopes),
                    created_at=now,
                    expires_at=now + timedelta(seconds=CODE_SECONDS),
                )
            )
        logger.info("mcp_oauth.approve client=%s user=%s", client.client_id, user.username)
        return redirect_with(request.redirect_uri, code=code, state=request.state, iss=self.issuer)

    def deny(self, request: ConsentRequest) -> str:
        """The person said no: the URL that tells the client so (RFC 6749 §4.1.2.1)."""
        return redirect_with(
            request.redirect_uri,
            error="access_denied",
            error_description="the person did not allow this client",
            state=request.state,
            iss=self.issuer,
        )

    # -- tokens ------------------------------------------------------------------------------

    async def load_code(self, client_id: str, code: str) -> CodeGrant | None:
        """The code when it can still be exchanged by this client; None otherwise.

        A code used once already is a stolen one (or a replay): the connection it was
        exchanged for is revoked.
        """
        now = self._clock()
        async with self._sessions() as session:
            row = await session.get(McpAuthCode, _digest(code))
        if row is None or row.client_id != client_id or row.expires_at <= now:
            return None
        if row.used_at is not None:
            await self._revoke_connection(row.connection_id, "code used again")
            return None
        return CodeGrant(
            row.client_id,
            row.user_id,
            row.code_challenge,
            row.redirect_uri,
            row.redirect_uri_explicit,
            row.resource,
            _scopes(row.scopes),
            row.expires_at,
        )

    async def exchange_code(self, client_id: str, code: str) -> IssuedTokens:
        """Spend the code (once) and issue the connection's first tokens."""
        digest = _digest(code)
        now = self._clock()
        async with transaction(self._sessions) as session:
            # Locked (PostgreSQL; SQLite's writers are serialised): one exchange per code.
            row = await session.get(McpAuthCode, digest, with_for_update=True)
            if (
                row is None
                or row.client_id != client_id
                or row.used_at is not None
                or row.expires_at <= now
            ):
                # Two exchanges of one code raced, and this one came second.
                raise OAuthError("the authorization code was already used", where="code")
            row.used_at = now
            await upsert(
                session,
                McpConnection,
                {
                    "user_id": row.user_id,
                    "client_id": client_id,
                    "scopes": row.scopes,
                    "resource": row.resource,
                    "created_at": now,
                    "last_used_at": now,
                },
                key=("user_id", "client_id"),
                update=("scopes", "resource", "last_used_at"),
            )
            connection_id = await session.scalar(
                select(McpConnection.id).where(
                    McpConnection.user_id == row.user_id, McpConnection.client_id == client_id
                )
            )
            if connection_id is None:
                raise OAuthError("the connection could not be made", where="code")
            row.connection_id = connection_id
            issued = await self._issue(session, connection_id, _scopes(row.scopes), now)
        logger.info("mcp_oauth.exchange client=%s connection=%d", client_id, connection_id)
        return issued

    async def load_refresh(self, client_id: str, token: str) -> TokenGrant | None:
        """A refresh token this client may use now; None otherwise.

        One that was already rotated is a stolen one: the whole connection is revoked.
        """
        found = await self._grant(token, "refresh")
        if found is None:
            return None
        grant, rotated = found
        if grant.client_id != client_id:
            return None
        if rotated:
            await self._revoke_connection(grant.connection_id, "refresh token used again")
            return None
        return grant

    async def refresh(self, client_id: str, token: str, scopes: tuple[str, ...]) -> IssuedTokens:
        """Rotate: spend the refresh token and issue a new pair."""
        now = self._clock()
        async with transaction(self._sessions) as session:
            row = await session.get(McpToken, _digest(token), with_for_update=True)
            connection = (
                None if row is None else await session.get(McpConnection, row.connection_id)
            )
            if (
                row is None
                or connection is None
                or row.kind != "refresh"
                or row.rotated_at is not None
                or row.expires_at <= now
                or connection.client_id != client_id
            ):
                # Two refreshes with one token raced, and this one came second.
                raise OAuthError("the refresh token was already used", where="refresh_token")
            row.rotated_at = now
            allowed = _scopes(connection.scopes)
            asked = tuple(scope for scope in scopes if scope in allowed) or allowed
            issued = await self._issue(session, connection.id, asked, now)
        logger.info("mcp_oauth.refresh client=%s connection=%d", client_id, connection.id)
        return issued

    async def load_access(self, token: str) -> TokenGrant | None:
        """A live access token's grant, or None (unknown, expired, revoked)."""
        found = await self._grant(token, "access")
        return None if found is None else found[0]

    async def authenticate(self, token: str) -> UserInfo | None:
        """The user an access token acts for, with the `mcp` scope only; None when not live."""
        if not token.startswith(ACCESS_PREFIX):
            return None
        now = self._clock()
        async with self._sessions() as session:
            found = await session.execute(
                select(
                    User.id,
                    User.username,
                    User.is_admin,
                    User.subdivision,
                    McpConnection.id.label("connection_id"),
                    McpConnection.scopes,
                    McpConnection.last_used_at,
                )
                .join(McpConnection, McpConnection.user_id == User.id)
                .join(McpToken, McpToken.connection_id == McpConnection.id)
                .where(
                    McpToken.digest == _digest(token),
                    McpToken.kind == "access",
                    McpToken.expires_at > now,
                )
            )
            row = found.one_or_none()
        if row is None:
            return None
        if row.last_used_at is None or now - row.last_used_at > _LAST_USED_STEP:
            # At most one write an hour per connection, as for API tokens.
            async with transaction(self._sessions) as session:
                await session.execute(
                    update(McpConnection)
                    .where(McpConnection.id == row.connection_id)
                    .values(last_used_at=now)
                )
        return UserInfo(
            row.id,
            row.username,
            row.is_admin,
            row.subdivision,
            scopes=frozenset(_scopes(row.scopes)) & {MCP_SCOPE},
        )

    async def revoke(self, client_id: str, token: str) -> None:
        """RFC 7009: revoke the token's whole connection (its access and refresh tokens)."""
        async with self._sessions() as session:
            found = await session.execute(
                select(McpToken.connection_id)
                .join(McpConnection, McpConnection.id == McpToken.connection_id)
                .where(McpToken.digest == _digest(token), McpConnection.client_id == client_id)
            )
            connection_id = found.scalar_one_or_none()
        if connection_id is not None:
            await self._revoke_connection(connection_id, "revoked by the client")

    # -- the user's connections ---------------------------------------------------------------

    async def connections(self, user: UserInfo) -> list[McpConnectionInfo]:
        """The clients the user connected, newest first."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(McpConnection, McpClient)
                    .join(McpClient, McpClient.id == McpConnection.client_id)
                    .where(McpConnection.user_id == user.id)
                    .order_by(McpConnection.id.desc())
                )
            ).all()
        return [
            McpConnectionInfo(
                connection.id,
                client.id,
                client.name,
                tuple(dict.fromkeys(urlsplit(uri).netloc for uri in client.redirect_uris)),
                _scopes(connection.scopes),
                connection.created_at,
                connection.last_used_at,
            )
            for connection, client in rows
        ]

    async def disconnect(self, user: UserInfo, connection_id: int) -> None:
        """Revoke one of the user's connections; another user's id is NotFoundError."""
        async with transaction(self._sessions) as session:
            row = await session.get(McpConnection, connection_id)
            if row is None or row.user_id != user.id:
                raise NotFoundError(
                    f"no connected MCP client with id {connection_id}",
                    where="MCP clients",
                    fix="list your connected MCP clients to find the id",
                )
            await session.delete(row)
        logger.info("mcp_oauth.disconnect connection=%d user=%s", connection_id, user.username)

    # -- parts -------------------------------------------------------------------------------

    async def _issue(
        self,
        session: AsyncSession,
        connection_id: int,
        scopes: tuple[str, ...],
        now: datetime,
    ) -> IssuedTokens:
        if not scopes:
            raise RegistryError("a token needs a scope", where="scope", fix=f"ask for {MCP_SCOPE}")
        # Expired tokens and spent refresh tokens past their life have nothing left to tell.
        await session.execute(delete(McpToken).where(McpToken.expires_at < now))
        access = ACCESS_PREFIX + secrets.token_urlsafe(32)
        refresh = REFRESH_PREFIX + secrets.token_urlsafe(32)
        remember_secret(access)
        remember_secret(refresh)
        session.add_all(
            [
                McpToken(
                    digest=_digest(access),
                    connection_id=connection_id,
                    kind="access",
                    created_at=now,
                    expires_at=now + timedelta(seconds=self.access_seconds),
                ),
                McpToken(
                    digest=_digest(refresh),
                    connection_id=connection_id,
                    kind="refresh",
                    created_at=now,
                    expires_at=now + timedelta(seconds=self.refresh_seconds),
                ),
            ]
        )
        return IssuedTokens(access, refresh, self.access_seconds, scopes)

    async def _grant(self, token: str, kind: str) -> tuple[TokenGrant, bool] | None:
        now = self._clock()
        async with self._sessions() as session:
            found = await session.execute(
                select(McpToken, McpConnection)
                .join(McpConnection, McpConnection.id == McpToken.connection_id)
                .where(
                    McpToken.digest == _digest(token),
                    McpToken.kind == kind,
                    McpToken.expires_at > now,
                )
            )
            row = found.one_or_none()
        if row is None:
            return None
        token_row, connection = row
        grant = TokenGrant(
            connection.client_id,
            connection.user_id,
            connection.id,
            _scopes(connection.scopes),
            connection.resource,
            token_row.expires_at,
        )
        return grant, token_row.rotated_at is not None

    async def _revoke_connection(self, connection_id: int | None, why: str) -> None:
        if connection_id is None:
            return
        async with transaction(self._sessions) as session:
            await session.execute(delete(McpConnection).where(McpConnection.id == connection_id))
        logger.warning("mcp_oauth.revoke connection=%d reason=%r", connection_id, why)
