"""`host.mcp_oauth`: the rules of the host's authorization server that its edges cannot show.

The protocol itself is tested end to end in `tests/server/test_mcp_oauth.py`; here, against a
real store: open registration stays bounded, unused registrations are forgotten, a connection
made twice is one connection, and an MCP token acts with the `mcp` scope only.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from powerstrip.errors import InvalidInputError, OAuthError
from powerstrip.host import ConsentRequest, Host, check_redirect_uri
from powerstrip.settings import Settings
from powerstrip.store import utcnow
from tests import secret_watch
from tests.databases import backends, postgres_schema
from tests.server.conftest import vault_key

pytestmark = pytest.mark.anyio

_REDIRECT = "http://127.0.0.1:8765/callback"


class MovableClock:
    def __init__(self) -> None:
        self.ahead = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.ahead


@pytest.fixture(params=backends())
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'powerstrip.db'}"
        return
    async with postgres_schema() as url:
        yield url.render_as_string(hide_password=False)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def host(tmp_path: Path, database_url: str, clock: MovableClock) -> AsyncIterator[Host]:
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        vault_keys=vault_key(),
        public_url="https://Powerstrip.Example.org/",
        mcp_oauth_pending_clients=2,
    )
    started = await Host.start(settings, clock=clock)
    try:
        yield started
    finally:
        await started.aclose()


async def _register(host: Host, name: str) -> str:
    client_id = secrets.token_hex(8)
    await host.mcp_oauth.register(
        client_id, name=name, redirect_uris=[_REDIRECT], registration={"client_id": client_id}
    )
    return client_id


async def _connect(host: Host, client_id: str, username: str) -> str:
    user = await host.users.ensure(username, admin=True)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()
    request = ConsentRequest(
        client_id, _REDIRECT, True, challenge.rstrip("="), "s", ("mcp",), host.mcp_oauth.resource
    )
    redirect = await host.mcp_oauth.approve(user, request)
    code = redirect.split("code=", 1)[1].split("&", 1)[0]
    secret_watch.watch(code)
    tokens = await host.mcp_oauth.exchange_code(client_id, code)
    secret_watch.watch(tokens.access_token)
    secret_watch.watch(tokens.refresh_token)
    return tokens.access_token


async def test_the_issuer_and_resource_are_the_public_url_as_clients_compare_it(
    host: Host,
) -> None:
    assert host.mcp_oauth.issuer == "https://powerstrip.example.org"
    assert host.mcp_oauth.resource == "https://powerstrip.example.org/mcp"
    assert host.mcp_oauth.check_resource(None) == host.mcp_oauth.resource
    assert host.mcp_oauth.check_resource("https://powerstrip.example.org/mcp/") == (
        host.mcp_oauth.resource
    )
    with pytest.raises(OAuthError, match=re.escape("not https://powerstrip.example.org/api")):
        host.mcp_oauth.check_resource("https://powerstrip.example.org/api")


async def test_registrations_nobody_used_are_capped_and_forgotten_after_a_day(
    host: Host, clock: MovableClock
) -> None:
    first = await _register(host, "one")
    assert await host.mcp_oauth.registration_open()
    await _register(host, "two")
    assert not await host.mcp_oauth.registration_open()
    # A client somebody connected no longer counts as waiting.
    await _connect(host, first, "ada")
    assert await host.mcp_oauth.registration_open()
    await _register(host, "three")
    assert not await host.mcp_oauth.registration_open()
    clock.ahead += timedelta(hours=25)
    assert await host.mcp_oauth.registration_open()
    assert await host.mcp_oauth.client(first) is not None  # connected: kept


async def test_connecting_a_client_again_keeps_one_connection_with_the_mcp_scope_only(
    host: Host,
) -> None:
    client_id = await _register(host, "desk")
    first = await _connect(host, client_id, "ada")
    second = await _connect(host, client_id, "ada")
    ada = await host.users.find("ada")
    [connection] = await host.mcp_oauth.connections(ada)
    assert connection.client_name == "desk"
    assert connection.redirect_hosts == ("127.0.0.1:8765",)
    for token in (first, second):
        acting = await host.mcp_oauth.authenticate(token)
        assert acting is not None
        assert acting.username == "ada"
        # An admin's MCP client is not an admin: its token carries the mcp scope alone.
        assert acting.scopes == frozenset({"mcp"})
        assert not acting.may("admin")
        assert not acting.may("chat")
    # The API's authentication knows nothing of MCP tokens.
    assert await host.users.authenticate(first) is None


@pytest.mark.parametrize(
    ("uri", "fine"),
    [
        ("https://app.example.net/cb", True),
        ("http://127.0.0.1:9/cb", True),
        ("http://127.1.2.3/cb", True),
        ("http://[::1]:9/cb", True),
        ("http://localhost:9/cb", True),
        ("http://app.example.net/cb", False),
        ("http://127.0.0.1.nip.io/cb", False),
        ("myapp:/cb", False),
        ("https:///cb", False),
        ("https://app.example.net:99999/cb", False),
    ],
)
def test_redirect_uris_are_https_or_loopback_http(uri: str, fine: bool) -> None:
    if fine:
        assert check_redirect_uri(uri) == uri
    else:
        with pytest.raises(InvalidInputError):
            check_redirect_uri(uri)
