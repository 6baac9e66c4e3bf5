"""MCP servers that want a credential, used as plugins: OAuth, a key per user, a service key.

`secure.example.com` is an SDK `MCPServer` with its own authorization server (MCP
authorization: protected resource metadata, dynamic client registration, PKCE, tokens bound to
the resource); `keyed.example.com` is the notes server behind a bearer-key check that lists
its tools only for a known key. Each runs over TLS on loopback, recorded, so a test sees which
credential came with every listing and every call: a user's own, and never another user's.
The host's `/mcp` is driven with the official `mcp` client.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from powerstrip.testing import CallTool, LoopbackServer, Reply, TestCA
from tests.conftest import LOOPBACK_NAMES
from tests.mcp_sites import notes as notes_site
from tests.mcp_sites import secure as secure_site
from tests.registry.conftest import PUBLIC_URL
from tests.server.conftest import Hosted, Received, Recorder

pytestmark = pytest.mark.anyio

_SECURE = secure_site.RESOURCE
_KEYED_NAME = "keyed.example.com"
_KEYED = f"https://{_KEYED_NAME}/mcp"
_KEYS = {"service-key-for-all": "service", "ada-own-key": "ada", "bob-own-key": "bob"}


def _keyed(app: Any) -> Any:  # Any: ASGI apps
    """The app, answering 401 to a request without one of `_KEYS` as its bearer."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            key = headers.get("authorization", "").partition(" ")[2]
            if key not in _KEYS:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [(b"www-authenticate", b'Bearer realm="keyed"')],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return
        await app(scope, receive, send)

    return wrapped


@pytest.fixture
def provider() -> secure_site.Provider:
    return secure_site.Provider()


@pytest.fixture
def secure_recorder(provider: secure_site.Provider) -> Recorder:
    return Recorder(secure_site.app(provider))


@pytest.fixture
def keyed_recorder() -> Recorder:
    return Recorder(_keyed(notes_site.app(notes_site.Notes())))


@pytest.fixture
def extra_sites(
    test_ca: TestCA, secure_recorder: Recorder, keyed_recorder: Recorder
) -> Iterator[dict[str, LoopbackServer]]:
    servers = {
        secure_site.NAME: LoopbackServer(
            secure_recorder,
            ssl_context=test_ca.server_context(secure_site.NAME, *LOOPBACK_NAMES),
            lifespan=True,
        ),
        _KEYED_NAME: LoopbackServer(
            keyed_recorder,
            ssl_context=test_ca.server_context(_KEYED_NAME, *LOOPBACK_NAMES),
            lifespan=True,
        ),
    }
    for server in servers.values():
        server.start()
    yield servers
    for server in servers.values():
        server.stop()


def _token(api: httpx.AsyncClient) -> str:
    return api.headers["authorization"].partition(" ")[2]


@asynccontextmanager
async def mcp_client(hosted: Hosted, api: httpx.AsyncClient) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {_token(api)}"}
    async with httpx2.AsyncClient(verify=hosted.tls, headers=headers, timeout=30) as http:
        transport = streamable_http_client(f"{hosted.server.url}/mcp", http_client=http)
        async with Client(transport) as client:
            yield client


def _mcp_requests(recorder: Recorder, since: int = 0) -> list[tuple[str, str]]:
    """(bearer, JSON-RPC method) of each MCP request the server received after `since`."""
    found = []
    for request in recorder.received[since:]:
        if request.path != "/mcp" or request.method != "POST":
            continue
        method = json.loads(request.body).get("method", "")
        found.append((request.headers.get("authorization", "").partition(" ")[2], method))
    return found


async def _sign_in(
    hosted: Hosted, sites: dict[str, LoopbackServer], link: str, username: str
) -> httpx.Response:
    """Play the user's browser: the host's page, the server's authorize and login, back."""

    def locate(url: str) -> str:
        parts = urlsplit(url)
        if parts.hostname in sites:
            return f"{sites[parts.hostname].url}{parts.path}?{parts.query}"
        return hosted._local(url)

    async with httpx.AsyncClient(verify=hosted.tls, timeout=30) as browser:
        page = await browser.get(locate(link))
        assert "Continue to sign in" in page.text, page.text
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        ticket = parse_qs(urlsplit(link).query)["ticket"][0]
        begin = await browser.post(
            locate(link),
            data={"ticket": ticket, "csrf": csrf},
            headers={"Origin": PUBLIC_URL, "Sec-Fetch-Site": "same-origin"},
        )
        assert begin.status_code == 303, begin.text
        authorize = await browser.get(locate(begin.headers["location"]))
        assert authorize.status_code == 302, authorize.text  # the SDK's /authorize → /login
        login = locate(authorize.headers["location"])
        assert (await browser.get(login)).status_code == 200
        signed = await browser.post(
            login, data={"username": username, "password": secure_site.USERS[username]}
        )
        assert signed.status_code == 302, signed.text
        return await browser.get(locate(signed.headers["location"]))


async def _install_and_sign_in(
    hosted: Hosted,
    sites: dict[str, LoopbackServer],
    api: httpx.AsyncClient,
    plugin_id: int,
    who: str,
) -> None:
    answer = await api.post(f"/api/plugins/{plugin_id}/install")
    assert answer.status_code == 200, answer.text
    link = answer.json()["sign_in_url"]
    callback = await _sign_in(hosted, sites, link, who)
    assert callback.status_code == 200, callback.text


async def test_an_oauth_mcp_server_is_discovered_registered_and_used_with_each_users_token(
    hosted: Hosted,
    extra_sites: dict[str, LoopbackServer],
    provider: secure_site.Provider,
    secure_recorder: Recorder,
) -> None:
    async with await hosted.user("ada") as ada, await hosted.user("bob") as bob:
        added = await ada.post("/api/mcp/servers", json={"url": _SECURE})
        assert added.status_code == 201, added.text
        plugin = added.json()
        assert plugin["auth_type"] == "oauth"
        plugin_id = plugin["id"]
        # Powerstrip registered itself (RFC 7591) with the host's callback for this plugin.
        [client] = provider.clients.values()
        assert [str(u) for u in client.redirect_uris or []] == [
            f"{PUBLIC_URL}/aip/{plugin_id}/oauth/callback"
        ]
        assert client.token_endpoint_auth_method == "none"

        await _install_and_sign_in(hosted, extra_sites, ada, plugin_id, "ada")
        # The first listing was made with ada's token, and is the store's now.
        ops = (await ada.get(f"/api/plugins/{plugin_id}/operations")).json()["operations"]
        assert {op["operation_id"] for op in ops} == {"whoami", "my_notes", "forget_notes"}
        await _install_and_sign_in(hosted, extra_sites, bob, plugin_id, "bob")
        ada_tokens, bob_tokens = provider.tokens_of("ada"), provider.tokens_of("bob")
        assert ada_tokens
        assert bob_tokens
        assert not ada_tokens & bob_tokens

        for api, who, own, other in (
            (bob, "bob", bob_tokens, ada_tokens),
            (ada, "ada", ada_tokens, bob_tokens),
        ):
            since = len(secure_recorder.received)
            async with mcp_client(hosted, api) as session:
                names = {tool.name for tool in (await session.list_tools()).tools}
                assert "vault_notes__whoami" in names
                result = await session.call_tool("vault_notes__whoami", {})
            assert result.is_error is False
            assert result.content[0].text == who  # type: ignore[union-attr]
            sent = _mcp_requests(secure_recorder, since)
            methods = {method for _, method in sent}
            assert {"tools/list", "tools/call"} <= methods
            # The listing and the call went with this user's token, never the other's.
            assert all(bearer in own for bearer, _ in sent), sent
            assert not any(bearer in other for bearer, _ in sent)
        assert provider.calls == [("bob", "whoami"), ("ada", "whoami")]

        # Ada's token ends early: the server's 401 renews it once, and the call goes through.
        provider.expire("ada")
        async with mcp_client(hosted, ada) as session:
            result = await session.call_tool("vault_notes__whoami", {})
        assert result.content[0].text == "ada"  # type: ignore[union-attr]
        assert provider.refreshed == 1

        # Every token request named the resource (RFC 8707), and PKCE came with the code.
        token_requests = [r for r in secure_recorder.received if r.path == "/token"]
        assert token_requests
        for request in token_requests:
            assert "resource=https%3A%2F%2Fsecure.example.com%2Fmcp" in request.body.decode()
        exchanges = [r for r in token_requests if b"authorization_code" in r.body]
        assert all(b"code_verifier=" in r.body for r in exchanges)
        assert not any(b"client_secret" in r.body for r in token_requests)


async def test_a_chat_uses_an_oauth_mcp_plugin_and_waits_for_the_destructive_tool(
    hosted: Hosted, extra_sites: dict[str, LoopbackServer], provider: secure_site.Provider
) -> None:
    provider.notes["ada"] = ["call the bank"]
    async with await hosted.user("ada") as ada:
        plugin_id = (await ada.post("/api/mcp/servers", json={"url": _SECURE})).json()["id"]
        await _install_and_sign_in(hosted, extra_sites, ada, plugin_id, "ada")
        chat = (await ada.post("/api/conversations", json={"plugin_ids": [plugin_id]})).json()
        path = f"/api/conversations/{chat['id']}"
        hosted.model.push(
            CallTool("vault_notes__my_notes", {}, id="c1"),
            Reply("One note: call the bank."),
            CallTool("vault_notes__forget_notes", {}, id="c2"),
            Reply("Forgotten."),
        )
        listed = await ada.post(f"{path}/messages", json={"content": "notes?", "stream": False})
        assert listed.json()["text"] == "One note: call the bank."
        paused = await ada.post(f"{path}/messages", json={"content": "forget", "stream": False})
        assert paused.json()["paused"] is True
        assert provider.calls == [("ada", "my_notes")]
        done = await ada.post(
            f"{path}/approvals", json={"decisions": {"c2": True}, "stream": False}
        )
        assert done.json()["text"] == "Forgotten."
        assert provider.calls == [("ada", "my_notes"), ("ada", "forget_notes")]


async def test_each_user_key_lists_and_calls_for_its_user_only(
    hosted: Hosted, keyed_recorder: Recorder
) -> None:
    async with await hosted.user("ada") as ada, await hosted.user("bob") as bob:
        # Without a key the server cannot be listed, and it has no OAuth: refused, clearly.
        refused = await ada.post("/api/mcp/servers", json={"url": _KEYED})
        assert refused.status_code == 400, refused.text
        assert "protected resource metadata" in refused.text
        assert (await ada.get("/api/plugins")).json()["plugins"] == []

        added = await ada.post("/api/mcp/servers", json={"url": _KEYED, "user_key": True})
        assert added.status_code == 201, added.text
        assert added.json()["auth_type"] == "user_http"
        plugin_id = added.json()["id"]
        for api, key in ((ada, "ada-own-key"), (bob, "bob-own-key")):
            answer = await api.post(f"/api/plugins/{plugin_id}/install", json={"user_key": key})
            assert answer.status_code == 200, answer.text
        assert "notes__list_notes" in answer.json()["operations"], answer.text

        for api, own, other in (
            (bob, "bob-own-key", "ada-own-key"),
            (ada, "ada-own-key", "bob-own-key"),
        ):
            since = len(keyed_recorder.received)
            async with mcp_client(hosted, api) as session:
                await session.list_tools()
                result = await session.call_tool("notes__list_notes", {})
            assert result.is_error is False
            sent = _mcp_requests(keyed_recorder, since)
            assert {"tools/list", "tools/call"} <= {method for _, method in sent}
            assert {bearer for bearer, _ in sent} == {own}, sent
            assert other not in {bearer for bearer, _ in sent}


async def test_a_service_key_is_for_admins_and_goes_with_every_users_listing_and_call(
    hosted: Hosted, keyed_recorder: Recorder
) -> None:
    body = {"url": _KEYED, "service_key": "service-key-for-all"}
    async with await hosted.user("ada") as ada, await hosted.user("root", admin=True) as root:
        refused = await ada.post("/api/mcp/servers", json=body)
        assert refused.status_code == 403, refused.text
        both = await root.post("/api/mcp/servers", json=body | {"user_key": True})
        assert both.status_code == 422, both.text
        added = await root.post("/api/mcp/servers", json=body)
        assert added.status_code == 201, added.text
        assert added.json()["auth_type"] == "service_http"
        plugin_id = added.json()["id"]
        # Registering it as a developer is not a thing for an MCP server.
        again = await ada.post(
            f"/api/plugins/{plugin_id}/registration", json={"service_key": "mine-now"}
        )
        assert again.status_code == 409, again.text
        installed = await ada.post(f"/api/plugins/{plugin_id}/install")
        assert installed.status_code == 200, installed.text
        async with mcp_client(hosted, ada) as session:
            result = await session.call_tool("notes__list_notes", {})
        assert result.is_error is False
    sent: list[Received] = keyed_recorder.received
    assert sent
    bearers = {bearer for bearer, _ in _mcp_requests(keyed_recorder)}
    assert bearers == {"service-key-for-all"}
