"""An MCP server that wants OAuth (the SDK's `MCPServer` with its own authorization server).

It serves the MCP authorization specification as the SDK builds it: 401 with
`WWW-Authenticate: Bearer resource_metadata=...`, protected resource metadata, authorization
server metadata, dynamic client registration, PKCE (S256) and tokens bound to the `resource`.
Users sign in at `/login` with a password (`USERS`). Each user has their own notes; `whoami`
says whose token came. Tokens live `TOKEN_SECONDS`; `expire(user)` ends a user's token early,
so a test can see the host refresh it.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from html import escape

from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    RefreshToken,
    construct_redirect_uri,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from mcp_types import ToolAnnotations
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

NAME = "secure.example.com"
BASE = f"https://{NAME}"
RESOURCE = f"{BASE}/mcp"
USERS = {"ada": "ada-password", "bob": "bob-password"}
TOKEN_SECONDS = 3600


@dataclass
class Provider:
    """The authorization server's state (the server runs in another thread)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    clients: dict[str, OAuthClientInformationFull] = field(default_factory=dict)
    pending: dict[str, tuple[str, AuthorizationParams]] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    access: dict[str, AccessToken] = field(default_factory=dict)
    refresh: dict[str, RefreshToken] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    # (user, tool) for every tool call, in order.
    calls: list[tuple[str, str]] = field(default_factory=list)
    refreshed: int = 0

    def tokens_of(self, user: str) -> set[str]:
        with self.lock:
            return {t.token for t in self.access.values() if t.subject == user} | {
                t.token for t in self.refresh.values() if t.subject == user
            }

    def expire(self, user: str) -> None:
        with self.lock:
            for token in [t for t, a in self.access.items() if a.subject == user]:
                del self.access[token]

    # -- OAuthAuthorizationServerProvider ---------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        assert client_info.client_id is not None
        self.clients[client_info.client_id] = client_info

    async def authorize(
        self, client: OAuthClientInformationFull, params: AuthorizationParams
    ) -> str:
        key = secrets.token_urlsafe(16)
        assert client.client_id is not None
        self.pending[key] = (client.client_id, params)
        return f"{BASE}/login?request={key}"

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        code = self.codes.get(authorization_code)
        return code if code is not None and code.client_id == client.client_id else None

    def _issue(
        self, client_id: str, subject: str, scopes: list[str], resource: str | None
    ) -> OAuthToken:
        access = secrets.token_urlsafe(24)
        refresh = secrets.token_urlsafe(24)
        with self.lock:
            self.access[access] = AccessToken(
                token=access,
                client_id=client_id,
                scopes=scopes,
                expires_at=int(time.time()) + TOKEN_SECONDS,
                resource=resource,
                subject=subject,
            )
            self.refresh[refresh] = RefreshToken(
                token=refresh,
                client_id=client_id,
                scopes=scopes,
                resource=resource,
                subject=subject,
            )
        return OAuthToken(
            access_token=access,
            token_type="Bearer",
            expires_in=TOKEN_SECONDS,
            refresh_token=refresh,
            scope=" ".join(scopes),
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        self.codes.pop(authorization_code.code, None)
        assert authorization_code.subject is not None
        assert client.client_id is not None
        return self._issue(
            client.client_id,
            authorization_code.subject,
            authorization_code.scopes,
            authorization_code.resource,
        )

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> RefreshToken | None:
        token = self.refresh.get(refresh_token)
        return token if token is not None and token.client_id == client.client_id else None

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        with self.lock:
            self.refresh.pop(refresh_token.token, None)
            self.refreshed += 1
        assert refresh_token.subject is not None
        assert client.client_id is not None
        return self._issue(
            client.client_id,
            refresh_token.subject,
            scopes or refresh_token.scopes,
            refresh_token.resource,
        )

    async def load_access_token(self, token: str) -> AccessToken | None:
        with self.lock:
            return self.access.get(token)

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        with self.lock:
            self.access.pop(token.token, None)
            self.refresh.pop(token.token, None)


def _user() -> str:
    token = get_access_token()
    assert token is not None
    assert token.subject is not None
    return token.subject


def build(provider: Provider) -> MCPServer:
    server = MCPServer(
        "Vault Notes",
        instructions="Keeps each user's private notes.",
        auth_server_provider=provider,
        auth=AuthSettings(
            issuer_url=BASE,
            resource_server_url=RESOURCE,
            validate_token_resource=True,
            client_registration_options=ClientRegistrationOptions(
                enabled=True, valid_scopes=["notes"], default_scopes=["notes"]
            ),
            required_scopes=["notes"],
        ),
    )

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def whoami() -> str:
        """Say whose notes these are."""
        user = _user()
        provider.calls.append((user, "whoami"))
        return user

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def my_notes() -> str:
        """List the signed-in user's notes."""
        user = _user()
        provider.calls.append((user, "my_notes"))
        return "\n".join(provider.notes.get(user, [])) or "(no notes)"

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
    def forget_notes() -> str:
        """Delete every note of the signed-in user."""
        user = _user()
        provider.calls.append((user, "forget_notes"))
        count = len(provider.notes.pop(user, []))
        return f"deleted {count} notes"

    @server.custom_route("/login", methods=["GET", "POST"])
    async def login(request: Request) -> Response:
        key = request.query_params.get("request", "")
        if key not in provider.pending:
            return Response("unknown sign-in", status_code=400)
        if request.method == "GET":
            return HTMLResponse(
                f'<form method="post" action="/login?request={escape(key)}">'
                '<input name="username"><input name="password" type="password">'
                "<button>Sign in</button></form>"
            )
        form = await request.form()
        username = str(form.get("username", ""))
        if USERS.get(username) != form.get("password"):
            return Response("wrong password", status_code=403)
        client_id, params = provider.pending.pop(key)
        code = secrets.token_urlsafe(24)
        provider.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or ["notes"],
            expires_at=time.time() + 300,
            client_id=client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
            subject=username,
        )
        return RedirectResponse(
            construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state),
            status_code=302,
        )

    return server


def app(provider: Provider) -> Starlette:
    return build(provider).streamable_http_app(
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False)
    )
