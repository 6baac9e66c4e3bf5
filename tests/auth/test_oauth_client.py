"""The host's side of the OAuth flow against the todo-oauth example's real provider."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from powerstrip.auth.oauth_client import (
    TokenSet,
    authorization_url,
    exchange_code,
    new_pkce,
    new_state,
    refresh_tokens,
    state_hash,
)
from powerstrip.errors import OAuthError
from powerstrip.examples import EXAMPLES
from powerstrip.net import GuardedClient
from powerstrip.testing import LoopbackServer, TestCA, loopback_policy
from tests.conftest import ServeApp
from tests.examples.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    USERS,
    make_config,
)

pytestmark = pytest.mark.anyio
PROVIDER = "https://plugin.example.com"


@pytest.fixture
def provider(serve_app: ServeApp, tmp_path: Path) -> LoopbackServer:
    return serve_app(EXAMPLES["todo-oauth"].build(make_config(tmp_path)))


@pytest.fixture(scope="session")
def tls(test_ca: TestCA) -> ssl.SSLContext:
    return test_ca.client_context()


@pytest.fixture
async def host(provider: LoopbackServer, ca_bundle: Path) -> AsyncIterator[GuardedClient]:
    policy = loopback_policy(provider, ["plugin.example.com"], ca_bundle=ca_bundle)
    async with GuardedClient(policy) as client:
        yield client


async def sign_in(provider: LoopbackServer, tls: ssl.SSLContext, url: str) -> tuple[str, str]:
    """Play the user's browser: open the provider's page, sign in, return (code, state)."""
    parts = urlsplit(url)
    local = f"{provider.url}{parts.path}?{parts.query}"
    async with httpx.AsyncClient(verify=tls) as browser:
        form = await browser.get(local)
        assert form.status_code == 200, form.text
        answer = await browser.post(local, data={"username": "alice", "password": USERS["alice"]})
    assert answer.status_code == 302, answer.text
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    return query["code"][0], query["state"][0]


async def full_flow(
    provider: LoopbackServer, tls: ssl.SSLContext, host: GuardedClient, content_type: str
) -> TokenSet:
    state = new_state()
    verifier, challenge = new_pkce()
    url = authorization_url(
        f"{PROVIDER}/oauth/authorize?prompt=login",
        client_id=CLIENT_ID,
        scope="todos",
        state=state,
        redirect_uri=REDIRECT_URI,
        code_challenge=challenge,
    )
    query = parse_qs(urlsplit(url).query)
    assert query["prompt"] == ["login"]  # parameters already in client_url are kept
    assert query["code_challenge_method"] == ["S256"]
    code, returned_state = await sign_in(provider, tls, url)
    assert returned_state == state
    return await exchange_code(
        host,
        token_url=f"{PROVIDER}/oauth/token",
        content_type=content_type,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        code=code,
        redirect_uri=REDIRECT_URI,
        code_verifier=verifier,
    )


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
async def test_code_exchange_and_refresh_in_each_content_type(
    provider: LoopbackServer, tls: ssl.SSLContext, host: GuardedClient, content_type: str
) -> None:
    tokens = await full_flow(provider, tls, host, content_type)
    assert tokens.access_token
    assert tokens.refresh_token
    assert not tokens.expired()
    assert tokens.access_token not in repr(tokens)
    listed = await host.request(
        "GET", f"{PROVIDER}/todos", headers={"Authorization": f"Bearer {tokens.access_token}"}
    )
    assert listed.status_code == 200
    renewed = await refresh_tokens(
        host,
        token_url=f"{PROVIDER}/oauth/token",
        content_type=content_type,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token=tokens.refresh_token,
    )
    assert renewed.access_token != tokens.access_token
    # The provider rotates refresh tokens: the old one is spent.
    with pytest.raises(OAuthError) as refused:
        await refresh_tokens(
            host,
            token_url=f"{PROVIDER}/oauth/token",
            content_type=content_type,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            refresh_token=tokens.refresh_token,
        )
    assert "invalid_grant" in str(refused.value)
    assert tokens.refresh_token not in str(refused.value)


async def test_a_wrong_client_secret_is_refused_without_echoing_it(
    provider: LoopbackServer, tls: ssl.SSLContext, host: GuardedClient
) -> None:
    verifier, challenge = new_pkce()
    url = authorization_url(
        f"{PROVIDER}/oauth/authorize",
        client_id=CLIENT_ID,
        scope="todos",
        state=new_state(),
        redirect_uri=REDIRECT_URI,
        code_challenge=challenge,
    )
    code, _ = await sign_in(provider, tls, url)
    with pytest.raises(OAuthError) as refused:
        await exchange_code(
            host,
            token_url=f"{PROVIDER}/oauth/token",
            content_type="application/json",
            client_id=CLIENT_ID,
            client_secret="not-the-secret-xyz",
            code=code,
            redirect_uri=REDIRECT_URI,
            code_verifier=verifier,
        )
    assert "not-the-secret-xyz" not in str(refused.value)


def test_state_is_stored_only_as_a_hash_and_pkce_is_s256() -> None:
    state = new_state()
    assert len(state) >= 40
    assert state_hash(state) != state
    assert len(state_hash(state)) == 64
    verifier, challenge = new_pkce()
    assert 43 <= len(verifier) <= 128
    assert "=" not in challenge
