"""`/mcp` with MCP's OAuth: the host is the authorization server of its own MCP endpoint.

A real host on loopback over TLS, at its own URL (so the URLs it names in its metadata are the
ones a client reaches), with the todo example behind `plugin.example.com`. The official `mcp`
client's `OAuthClientProvider` finds the host from a 401, registers itself, sends "the browser"
to the consent page (a test redirect handler that drives it over HTTP with a signed-in web
session), and lists and calls the user's plugins with the token it got. The other tests speak
the protocol by hand, to break each rule in turn.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import AnyUrl
from sqlalchemy import select

from powerstrip.host import Clock
from powerstrip.store import Call, McpToken, create_engine, session_factory, utcnow
from tests import secret_watch
from tests.server.conftest import Hosted

pytestmark = pytest.mark.anyio

_HOST = "plugin.example.com"
_PASSWORD = "a long enough passphrase"
_REDIRECT = "http://127.0.0.1:54321/callback"
_MCP_BODY = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
_MCP_HEADERS = {"accept": "application/json, text/event-stream"}


class MovableClock:
    """The host's clock, moved on by the tests (tokens expire without sleeping)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset


@pytest.fixture
def at_own_url() -> bool:
    return True


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def host_clock(clock: MovableClock) -> Clock:
    return clock


def _form_token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form token"
    return found.group(1)


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert found, f"the page has no {name} field"
    return found.group(1)


@asynccontextmanager
async def browser(hosted: Hosted, username: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in to the web app as `username` (signed up through the form)."""
    async with hosted.client() as web:
        page = await web.get("/sign-up")
        fields = {"username": username, "password": _PASSWORD, "confirm": _PASSWORD}
        made = await web.post("/sign-up", data=fields | {"csrf": _form_token(page.text)})
        assert made.status_code == 303, made.text
        yield web


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


@dataclass
class Memory:
    """The MCP client's token storage, in memory."""

    tokens: OAuthToken | None = None
    client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        secret_watch.watch(tokens.access_token)
        if tokens.refresh_token:
            secret_watch.watch(tokens.refresh_token)
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


@dataclass
class ConsentDriver:
    """The MCP client's redirect and callback handlers: a person who says yes in a browser."""

    web: httpx.AsyncClient
    decision: str = "allow"
    shown: list[str] = field(default_factory=list)
    landed: str = ""

    async def redirect(self, authorization_url: str) -> None:
        authorize = await self.web.get(authorization_url)
        assert authorize.status_code == 302, authorize.text
        consent = await self.web.get(authorize.headers["location"])
        assert consent.status_code == 200, consent.text
        self.shown.append(consent.text)
        answer = await self.web.post(
            "/oauth/consent",
            data={
                "csrf": _form_token(consent.text),
                "request": _hidden(consent.text, "request"),
                "decision": self.decision,
            },
        )
        assert answer.status_code == 303, answer.text
        self.landed = answer.headers["location"]

    async def callback(self) -> AuthorizationCodeResult:
        answer = _query(self.landed)
        secret_watch.watch(answer["code"])
        return AuthorizationCodeResult(
            code=answer["code"], state=answer["state"], iss=answer["iss"]
        )


@asynccontextmanager
async def oauth_client(
    hosted: Hosted, driver: ConsentDriver, storage: Memory | None = None
) -> AsyncIterator[Client]:
    """The official MCP client, signing in with OAuth by itself."""
    auth = OAuthClientProvider(
        server_url=f"{hosted.server.url}/mcp",
        client_metadata=OAuthClientMetadata(
            client_name="Desk App",
            redirect_uris=[AnyUrl(_REDIRECT)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
        ),
        storage=storage or Memory(),
        redirect_handler=driver.redirect,
        callback_handler=driver.callback,
    )
    async with httpx2.AsyncClient(verify=hosted.tls, auth=auth, timeout=30) as http:
        transport = streamable_http_client(f"{hosted.server.url}/mcp", http_client=http)
        async with Client(transport) as client:
            yield client


async def _installed(hosted: Hosted, api: httpx.AsyncClient) -> int:
    plugin_id = await hosted.add_plugin(api, _HOST)
    answer = await api.post(f"/api/plugins/{plugin_id}/install")
    assert answer.status_code == 200, answer.text
    return plugin_id


def _by_operation(tools: list[types.Tool]) -> dict[str, types.Tool]:
    return {tool.name.split("__", 1)[1]: tool for tool in tools}


async def test_the_official_client_signs_in_with_oauth_and_calls_the_users_plugins(
    hosted: Hosted,
) -> None:
    async with browser(hosted, "ada") as web, await hosted.user("ada") as ada:
        await _installed(hosted, ada)
        driver = ConsentDriver(web)
        storage = Memory()
        async with oauth_client(hosted, driver, storage) as client:
            tools = _by_operation((await client.list_tools()).tools)
            assert set(tools) == {"add_todo", "list_todos", "delete_todo"}
            made = await client.call_tool(
                tools["add_todo"].name, {"username": "ada", "todo": "buy milk"}
            )
            assert not made.is_error, made.content
            shown = await client.call_tool(tools["list_todos"].name, {"username": "ada"})
            [content] = shown.content
            assert isinstance(content, types.TextContent)
            assert "buy milk" in content.text
        # The consent page said who asks, as whom, what it can do, and where the answer goes.
        [page] = driver.shown
        assert "Desk App" in page
        assert "ada" in page
        assert "act as you with your installed plugins over MCP" in page
        assert _REDIRECT in page
        # The client registered as a public client and holds an access token of the host's.
        assert storage.client is not None
        assert storage.client.token_endpoint_auth_method == "none"
        assert storage.client.client_secret is None
        assert storage.tokens is not None
        assert storage.tokens.access_token.startswith("psm_")
        assert storage.tokens.refresh_token is not None
        assert storage.tokens.refresh_token.startswith("psr_")
        assert storage.tokens.scope == "mcp"
        # The settings page lists the connected client.
        settings = await web.get("/settings")
        assert "Connected MCP clients" in settings.text
        assert "Desk App" in settings.text
        assert "127.0.0.1:54321" in settings.text
        # An MCP token opens /mcp only: never the REST API.
        api = await ada.get(
            "/api/me", headers={"authorization": f"Bearer {storage.tokens.access_token}"}
        )
        assert api.status_code == 401
    calls = hosted.recorders[_HOST].api_calls()
    assert [(r.method, r.path) for r in calls] == [("POST", "/todos/ada"), ("GET", "/todos/ada")]
    # The calls went through the host's executor: ada's calls in the ledger, no conversation.
    engine = create_engine(hosted.settings.database_url)
    try:
        async with session_factory(engine)() as session:
            rows = (await session.scalars(select(Call))).all()
            digests = (await session.scalars(select(McpToken.digest))).all()
    finally:
        await engine.dispose()
    assert [(row.conversation_id, row.outcome) for row in rows] == [(None, "ok"), (None, "ok")]
    # Tokens are kept as digests only.
    assert storage.tokens.access_token not in digests
    assert hashlib.sha256(storage.tokens.access_token.encode()).hexdigest() in digests


async def test_another_users_oauth_token_never_reaches_the_first_users_plugins(
    hosted: Hosted,
) -> None:
    async with browser(hosted, "ada") as ada_web, await hosted.user("ada") as ada:
        await _installed(hosted, ada)
        async with oauth_client(hosted, ConsentDriver(ada_web)) as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
        assert len(names) == 3
    async with browser(hosted, "bob") as bob_web:
        driver = ConsentDriver(bob_web)
        async with oauth_client(hosted, driver) as client:
            assert (await client.list_tools()).tools == []
            answer = await client.call_tool(names[0], {"username": "ada"})
            assert answer.is_error
        assert "bob" in driver.shown[0]
    assert hosted.recorders[_HOST].api_calls() == []


# -- the protocol by hand ---------------------------------------------------------------------


@dataclass
class Flow:
    """One client's registration and the steps of its sign-in, spoken by hand."""

    hosted: Hosted
    web: httpx.AsyncClient
    client_id: str = ""
    verifier: str = ""
    challenge: str = ""
    state: str = ""

    @classmethod
    async def registered(cls, hosted: Hosted, web: httpx.AsyncClient) -> Flow:
        flow = cls(hosted, web)
        async with httpx.AsyncClient(base_url=hosted.server.url, verify=hosted.tls) as http:
            answer = await http.post(
                "/oauth/register",
                json={"client_name": "By Hand", "redirect_uris": [_REDIRECT]},
            )
        assert answer.status_code == 201, answer.text
        flow.client_id = answer.json()["client_id"]
        flow.verifier, flow.challenge = _pkce()
        flow.state = secrets.token_urlsafe(8)
        return flow

    def authorize_params(self, **changes: str | None) -> dict[str, str]:
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": _REDIRECT,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
            "state": self.state,
            "scope": "mcp",
            "resource": f"{self.hosted.server.url}/mcp",
        }
        params.update(changes)
        return {name: value for name, value in params.items() if value is not None}

    async def consent_page(self, **changes: str | None) -> httpx.Response:
        authorize = await self.web.get("/oauth/authorize", params=self.authorize_params(**changes))
        assert authorize.status_code == 302, authorize.text
        return await self.web.get(authorize.headers["location"])

    async def code(self, decision: str = "allow") -> str:
        consent = await self.consent_page()
        answer = await self.web.post(
            "/oauth/consent",
            data={
                "csrf": _form_token(consent.text),
                "request": _hidden(consent.text, "request"),
                "decision": decision,
            },
        )
        assert answer.status_code == 303, answer.text
        landed = _query(answer.headers["location"])
        assert landed["state"] == self.state
        secret_watch.watch(landed.get("code", "-"))
        return landed["code"]

    async def token(self, **fields: str) -> httpx.Response:
        """A token request (its answer holds tokens: not kept for the secret scan)."""
        async with httpx.AsyncClient(base_url=self.hosted.server.url, verify=self.hosted.tls) as h:
            answer = await h.post("/oauth/token", data={"client_id": self.client_id} | fields)
        if answer.status_code == 200:
            for name in ("access_token", "refresh_token"):
                secret_watch.watch(answer.json()[name])
        return answer

    async def exchange(self, code: str, verifier: str | None = None) -> httpx.Response:
        return await self.token(
            grant_type="authorization_code",
            code=code,
            redirect_uri=_REDIRECT,
            code_verifier=verifier or self.verifier,
        )


async def _mcp_status(hosted: Hosted, token: str) -> httpx.Response:
    async with hosted.client(_MCP_HEADERS | {"authorization": f"Bearer {token}"}) as http:
        return await http.post("/mcp", json=_MCP_BODY)


async def test_the_host_publishes_where_mcp_clients_sign_in(hosted: Hosted) -> None:
    url = hosted.server.url
    async with hosted.client(_MCP_HEADERS) as http:
        refused = await http.post("/mcp", json=_MCP_BODY)
        assert refused.status_code == 401
        challenge = refused.headers["www-authenticate"]
        assert challenge.startswith("Bearer ")
        assert f'resource_metadata="{url}/.well-known/oauth-protected-resource/mcp"' in challenge
        assert "error=" not in challenge  # no credential came (RFC 6750 §3.1)
        wrong = await http.post("/mcp", json=_MCP_BODY, headers={"authorization": "Bearer psm_x"})
        assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
        for path in (
            "/.well-known/oauth-protected-resource/mcp",
            "/.well-known/oauth-protected-resource",
        ):
            resource = (await http.get(path)).json()
            assert resource["resource"] == f"{url}/mcp"
            assert resource["authorization_servers"] == [url]
            assert resource["scopes_supported"] == ["mcp"]
        server = (await http.get("/.well-known/oauth-authorization-server")).json()
    assert server["issuer"] == url
    assert server["authorization_endpoint"] == f"{url}/oauth/authorize"
    assert server["token_endpoint"] == f"{url}/oauth/token"
    assert server["registration_endpoint"] == f"{url}/oauth/register"
    assert server["revocation_endpoint"] == f"{url}/oauth/revoke"
    assert server["code_challenge_methods_supported"] == ["S256"]
    assert server["token_endpoint_auth_methods_supported"] == ["none"]
    assert server["grant_types_supported"] == ["authorization_code", "refresh_token"]


@pytest.mark.parametrize(
    "uri",
    [
        "http://evil.example.net/callback",  # plain HTTP to another machine
        "myapp://callback",  # a custom scheme
        "https://app.example.net/callback#frag",  # a fragment
        "https://user@app.example.net/callback",  # a user name
    ],
)
async def test_registration_refuses_a_redirect_uri_that_is_not_https_or_loopback(
    hosted: Hosted, uri: str
) -> None:
    async with hosted.client() as http:
        answer = await http.post(
            "/oauth/register", json={"client_name": "Bad", "redirect_uris": [uri]}
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"] == "invalid_redirect_uri"
        fine = await http.post(
            "/oauth/register",
            json={"redirect_uris": ["https://app.example.net/cb", "http://[::1]:9000/cb"]},
        )
        assert fine.status_code == 201, fine.text
        # Asked for a secret, registered as a public client (RFC 7591 §3.2.1 says so).
        registered = fine.json()
        assert registered["token_endpoint_auth_method"] == "none"
        assert "client_secret" not in registered


async def test_the_consent_page_needs_a_signed_in_person_and_a_form_of_its_own(
    hosted: Hosted,
) -> None:
    async with browser(hosted, "ada") as web:
        flow = await Flow.registered(hosted, web)
        async with hosted.client() as stranger:
            authorize = await stranger.get("/oauth/authorize", params=flow.authorize_params())
            assert authorize.status_code == 302
            consent = authorize.headers["location"]
            # Not signed in: to the sign-in page, which comes back here.
            page = await stranger.get(consent)
            assert page.status_code == 303
            assert page.headers["location"].startswith("/sign-in?next=%2Foauth%2Fconsent")
        page = await flow.consent_page()
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "form-action 'self' http://127.0.0.1:54321" in csp
        assert "frame-ancestors 'none'" in csp
        # A form without the page's token (another site's page posting it) is refused.
        forged = await web.post(
            "/oauth/consent",
            data={"request": _hidden(page.text, "request"), "decision": "allow"},
        )
        assert forged.status_code == 403
        # An altered request is refused.
        altered = await web.post(
            "/oauth/consent",
            data={
                "csrf": _form_token(page.text),
                "request": _hidden(page.text, "request") + "x",
                "decision": "allow",
            },
        )
        assert altered.status_code == 400
        # No: the client hears access_denied, with its state.
        answer = await web.post(
            "/oauth/consent",
            data={
                "csrf": _form_token(page.text),
                "request": _hidden(page.text, "request"),
                "decision": "deny",
            },
        )
        assert answer.status_code == 303
        landed = _query(answer.headers["location"])
        assert answer.headers["location"].startswith(_REDIRECT + "?")
        assert (landed["error"], landed["state"]) == ("access_denied", flow.state)
        assert "code" not in landed


async def test_pkce_is_required_and_checked(hosted: Hosted) -> None:
    async with browser(hosted, "ada") as web:
        flow = await Flow.registered(hosted, web)
        for changes in ({"code_challenge": None}, {"code_challenge_method": "plain"}):
            refused = await web.get("/oauth/authorize", params=flow.authorize_params(**changes))
            assert refused.status_code == 302
            landed = _query(refused.headers["location"])
            assert landed["error"] == "invalid_request", landed
            assert landed["state"] == flow.state
        code = await flow.code()
        wrong = await flow.exchange(code, verifier=_pkce()[0])
        assert wrong.status_code == 400
        assert wrong.json()["error"] == "invalid_grant"
        missing = await flow.token(
            grant_type="authorization_code", code=code, redirect_uri=_REDIRECT
        )
        assert missing.status_code == 400
        assert missing.json()["error"] == "invalid_request"
        # The right verifier still works: a wrong guess did not spend the code.
        right = await flow.exchange(code)
        assert right.status_code == 200, right.text
        assert (await _mcp_status(hosted, right.json()["access_token"])).status_code == 200


async def test_a_redirect_uri_must_be_exactly_a_registered_one(hosted: Hosted) -> None:
    async with browser(hosted, "ada") as web:
        flow = await Flow.registered(hosted, web)
        for other in (
            "http://127.0.0.1:54321/callback/",
            "http://127.0.0.1:54322/callback",
            "https://evil.example.net/callback",
        ):
            refused = await web.get(
                "/oauth/authorize", params=flow.authorize_params(redirect_uri=other)
            )
            # Never redirected to an unregistered URI: answered here instead.
            assert refused.status_code == 400, other
            assert refused.json()["error"] == "invalid_request"
        code = await flow.code()
        changed = await flow.token(
            grant_type="authorization_code",
            code=code,
            redirect_uri="http://127.0.0.1:54321/other",
            code_verifier=flow.verifier,
        )
        assert changed.status_code == 400
        assert changed.json()["error"] == "invalid_request"


async def test_a_token_for_another_resource_is_not_issued(hosted: Hosted) -> None:
    async with browser(hosted, "ada") as web:
        flow = await Flow.registered(hosted, web)
        refused = await web.get(
            "/oauth/authorize",
            params=flow.authorize_params(resource="https://other.example.net/mcp"),
        )
        assert refused.status_code == 302
        landed = _query(refused.headers["location"])
        assert (landed["error"], landed["state"]) == ("invalid_target", flow.state)
        scoped = await web.get("/oauth/authorize", params=flow.authorize_params(scope="admin"))
        assert _query(scoped.headers["location"])["error"] == "invalid_scope"


async def test_a_code_works_once_and_a_second_use_revokes_what_it_gave(hosted: Hosted) -> None:
    async with browser(hosted, "ada") as web:
        flow = await Flow.registered(hosted, web)
        code = await flow.code()
        first = await flow.exchange(code)
        assert first.status_code == 200, first.text
        tokens = first.json()
        assert tokens["token_type"] == "Bearer"
        assert tokens["scope"] == "mcp"
        assert (await _mcp_status(hosted, tokens["access_token"])).status_code == 200
        again = await flow.exchange(code)
        assert again.status_code == 400
        assert again.json()["error"] == "invalid_grant"
        # The code was stolen, or replayed: what it gave is revoked.
        assert (await _mcp_status(hosted, tokens["access_token"])).status_code == 401
        refreshed = await flow.token(
            grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        assert refreshed.status_code == 400


async def test_codes_and_access_tokens_expire_and_refresh_tokens_rotate(
    hosted: Hosted, clock: MovableClock
) -> None:
    async with browser(hosted, "ada") as web:
        flow = await Flow.registered(hosted, web)
        late = await flow.code()
        clock.offset += timedelta(minutes=3)
        expired_code = await flow.exchange(late)
        assert expired_code.status_code == 400
        assert expired_code.json()["error"] == "invalid_grant"

        tokens = (await flow.exchange(await flow.code())).json()
        assert tokens["expires_in"] == 3600
        clock.offset += timedelta(minutes=61)
        stale = await _mcp_status(hosted, tokens["access_token"])
        assert stale.status_code == 401
        assert 'error="invalid_token"' in stale.headers["www-authenticate"]

        rotated = await flow.token(
            grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        assert rotated.status_code == 200, rotated.text
        fresh = rotated.json()
        assert fresh["refresh_token"] != tokens["refresh_token"]
        assert (await _mcp_status(hosted, fresh["access_token"])).status_code == 200
        # The spent refresh token again: stolen. The whole connection goes.
        reused = await flow.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
        assert reused.status_code == 400
        assert (await _mcp_status(hosted, fresh["access_token"])).status_code == 401
        gone = await flow.token(grant_type="refresh_token", refresh_token=fresh["refresh_token"])
        assert gone.status_code == 400


async def test_a_revoked_token_or_a_disconnected_client_opens_nothing(hosted: Hosted) -> None:
    async with browser(hosted, "ada") as web:
        flow = await Flow.registered(hosted, web)
        tokens = (await flow.exchange(await flow.code())).json()
        async with hosted.client() as http:
            revoked = await http.post(
                "/oauth/revoke", data={"client_id": flow.client_id, "token": tokens["access_token"]}
            )
        assert revoked.status_code == 200
        assert (await _mcp_status(hosted, tokens["access_token"])).status_code == 401
        again = await flow.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
        assert again.status_code == 400

        # Connected again, then disconnected from the web app's settings.
        tokens = (await flow.exchange(await flow.code())).json()
        assert (await _mcp_status(hosted, tokens["access_token"])).status_code == 200
        settings = await web.get("/settings")
        [action] = re.findall(r'action="(/settings/mcp-clients/\d+/revoke)"', settings.text)
        done = await web.post(action, data={"csrf": _form_token(settings.text)})
        assert done.status_code == 303
        assert "No MCP clients connected" in (await web.get("/settings")).text
        assert (await _mcp_status(hosted, tokens["access_token"])).status_code == 401


async def test_one_user_cannot_disconnect_another_users_client(hosted: Hosted) -> None:
    async with browser(hosted, "ada") as ada_web:
        flow = await Flow.registered(hosted, ada_web)
        tokens = (await flow.exchange(await flow.code())).json()
        settings = await ada_web.get("/settings")
        [action] = re.findall(r'action="(/settings/mcp-clients/\d+/revoke)"', settings.text)
    async with browser(hosted, "bob") as bob_web:
        page = await bob_web.get("/settings")
        refused = await bob_web.post(action, data={"csrf": _form_token(page.text)})
        assert refused.status_code == 404
    assert (await _mcp_status(hosted, tokens["access_token"])).status_code == 200


async def test_what_a_client_calls_itself_is_shown_as_text(hosted: Hosted) -> None:
    async with browser(hosted, "ada") as web:
        flow = await Flow.registered(hosted, web)
        async with hosted.client() as http:
            answer = await http.post(
                "/oauth/register",
                json={
                    "client_name": '<img src=x onerror="alert(1)">',
                    "redirect_uris": [_REDIRECT],
                },
            )
        flow.client_id = answer.json()["client_id"]
        page = await flow.consent_page()
        assert "<img src=x" not in page.text
        assert "&lt;img src=x onerror=" in page.text


async def test_the_api_lists_and_disconnects_the_users_mcp_clients(hosted: Hosted) -> None:
    async with browser(hosted, "ada") as web, await hosted.user("ada") as ada:
        flow = await Flow.registered(hosted, web)
        tokens = (await flow.exchange(await flow.code())).json()
        [client] = (await ada.get("/api/mcp/clients")).json()["clients"]
        assert client["client_name"] == "By Hand"
        assert client["client_id"] == flow.client_id
        assert client["redirect_hosts"] == ["127.0.0.1:54321"]
        assert client["scopes"] == ["mcp"]
        async with await hosted.user("bob") as bob:
            assert (await bob.get("/api/mcp/clients")).json()["clients"] == []
            refused = await bob.delete(f"/api/mcp/clients/{client['id']}")
            assert refused.status_code == 404
        assert (await _mcp_status(hosted, tokens["access_token"])).status_code == 200
        done = await ada.delete(f"/api/mcp/clients/{client['id']}")
        assert done.status_code == 204
        assert (await ada.get("/api/mcp/clients")).json()["clients"] == []
        assert (await _mcp_status(hosted, tokens["access_token"])).status_code == 401


async def test_a_connection_id_out_of_range_is_not_found(hosted: Hosted) -> None:
    async with browser(hosted, "ada") as web:
        page = await web.get("/settings")
        answer = await web.post(
            f"/settings/mcp-clients/{2**70}/revoke", data={"csrf": _form_token(page.text)}
        )
        assert answer.status_code == 404
