"""The full OAuth dance against `todo-oauth` over real HTTPS, and every way it must refuse."""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from powerstrip.examples import ExampleConfig
from tests.examples.conftest import REDIRECT_URI, USERS, ServeExample, make_config
from tests.examples.oauth_steps import (
    authorize_params,
    exchange,
    pkce_pair,
    refresh,
    sign_in,
    token_request,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(
    serve_example: ServeExample, config: ExampleConfig, tls: ssl.SSLContext
) -> AsyncIterator[httpx.AsyncClient]:
    server = serve_example("todo-oauth", config)
    async with httpx.AsyncClient(base_url=server.url, verify=tls) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
async def test_sign_in_exchange_call_refresh_and_rotation(
    client: httpx.AsyncClient, content_type: str
) -> None:
    verifier, challenge = pkce_pair()
    code = await sign_in(client, "alice", "alice-password", challenge=challenge)

    issued = await exchange(client, code, content_type=content_type, verifier=verifier)
    assert issued.status_code == 200, issued.text
    tokens = issued.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["scope"] == "todos"
    assert tokens["expires_in"] > 0
    assert tokens["access_token"]
    assert tokens["refresh_token"]
    assert issued.headers["cache-control"] == "no-store"

    added = await client.post(
        "/todos", json={"todo": "buy milk"}, headers=bearer(tokens["access_token"])
    )
    assert added.status_code == 200, added.text
    listed = await client.get("/todos", headers=bearer(tokens["access_token"]))
    assert [t["todo"] for t in listed.json()["todos"]] == ["buy milk"]

    renewed = await refresh(client, tokens["refresh_token"], content_type=content_type)
    assert renewed.status_code == 200, renewed.text
    fresh = renewed.json()
    assert fresh["refresh_token"] != tokens["refresh_token"]
    assert fresh["access_token"] != tokens["access_token"]
    listed = await client.get("/todos", headers=bearer(fresh["access_token"]))
    assert [t["todo"] for t in listed.json()["todos"]] == ["buy milk"]

    reused = await refresh(client, tokens["refresh_token"], content_type=content_type)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"

    for token in (tokens["access_token"], "not-a-token-we-issued"):
        refused = await client.get("/todos", headers=bearer(token))
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert refused.json()["error"]["code"] == "unauthorized"


async def test_client_secret_by_http_basic_is_accepted(client: httpx.AsyncClient) -> None:
    code = await sign_in(client, "bob", "bob-password")
    answer = await client.post(
        "/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=("powerstrip-test", "test-client-secret"),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["access_token"]


async def test_a_wrong_code_verifier_is_refused(client: httpx.AsyncClient) -> None:
    _, challenge = pkce_pair()
    other_verifier, _ = pkce_pair()
    code = await sign_in(client, "alice", "alice-password", challenge=challenge)
    answer = await exchange(client, code, verifier=other_verifier)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


async def test_a_missing_code_verifier_is_refused_when_a_challenge_was_sent(
    client: httpx.AsyncClient,
) -> None:
    _, challenge = pkce_pair()
    code = await sign_in(client, "alice", "alice-password", challenge=challenge)
    answer = await exchange(client, code)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


async def test_a_code_works_once_and_its_reuse_revokes_what_it_gave(
    client: httpx.AsyncClient,
) -> None:
    code = await sign_in(client, "alice", "alice-password")
    first = await exchange(client, code)
    assert first.status_code == 200, first.text
    second = await exchange(client, code, content_type="application/x-www-form-urlencoded")
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    # RFC 6749 §4.1.2: a replayed code was probably stolen; its tokens stop working.
    revoked = await client.get("/todos", headers=bearer(first.json()["access_token"]))
    assert revoked.status_code == 401


async def test_a_wrong_client_secret_is_refused(client: httpx.AsyncClient) -> None:
    code = await sign_in(client, "alice", "alice-password")
    answer = await exchange(client, code, secret="not-the-secret")
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert "www-authenticate" in answer.headers
    # The code was not spent by the failed attempt.
    assert (await exchange(client, code)).status_code == 200


async def test_an_unknown_grant_type_and_a_bad_body_are_standard_errors(
    client: httpx.AsyncClient,
) -> None:
    answer = await token_request(client, {"grant_type": "password"})
    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_grant_type"
    broken = await client.post(
        "/oauth/token", content=b"[1, 2]", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400
    assert broken.json()["error"] == "invalid_request"
    assert broken.json()["error_description"]


async def test_a_wrong_password_shows_the_form_again(client: httpx.AsyncClient) -> None:
    params = authorize_params("s1")
    answer = await client.post(
        "/oauth/authorize", params=params, data={"username": "alice", "password": "wrong"}
    )
    assert answer.status_code == 200
    assert "location" not in answer.headers
    assert "not right" in answer.text
    assert "<form" in answer.text
    unknown = await client.post(
        "/oauth/authorize", params=params, data={"username": "mallory", "password": "x"}
    )
    assert "location" not in unknown.headers
    assert "not right" in unknown.text


async def test_denying_sends_access_denied_back_to_the_client(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/oauth/authorize", params=authorize_params("s2"), data={"decision": "deny"}
    )
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["s2"]


@pytest.mark.parametrize(
    "changes",
    [
        {"client_id": "unknown-app"},
        {"redirect_uri": "https://evil.example.net/callback"},
        {"redirect_uri": REDIRECT_URI + "/extra"},
    ],
    ids=["unknown-client", "foreign-redirect", "longer-redirect"],
)
async def test_an_unverified_client_or_redirect_gets_an_error_page_not_a_redirect(
    client: httpx.AsyncClient, changes: dict[str, str]
) -> None:
    params = authorize_params("s3", **changes)
    for answer in (
        await client.get("/oauth/authorize", params=params),
        await client.post(
            "/oauth/authorize",
            params=params,
            data={"username": "alice", "password": "alice-password"},
        ),
    ):
        assert answer.status_code == 400
        assert "location" not in answer.headers
        assert answer.headers["content-type"].startswith("text/html")
        assert "not valid" in answer.text


async def test_an_unknown_scope_is_reported_to_the_verified_client(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/oauth/authorize", params=authorize_params("s4", scope="admin"))
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["invalid_scope"]
    assert query["state"] == ["s4"]


async def test_debug_logging_never_shows_an_issued_token(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        code = await sign_in(client, "alice", "alice-password")
        tokens = (await exchange(client, code)).json()
        renewed = (await refresh(client, tokens["refresh_token"])).json()
    # The test's own HTTP client (httpx, httpcore) logs what it receives; the server must not.
    logged = "\n".join(
        record.getMessage()
        for record in caplog.records
        if not record.name.startswith(("httpx", "httpcore"))
    )
    assert "authlib" in {record.name.split(".")[0] for record in caplog.records}
    for secret in (code, tokens["access_token"], tokens["refresh_token"], renewed["access_token"]):
        assert secret not in logged
    assert "test-client-secret" not in logged
    assert "alice-password" not in logged


async def test_password_guessing_is_throttled_before_the_password_is_checked(
    client: httpx.AsyncClient,
) -> None:
    params = authorize_params("s-throttle")
    for _ in range(10):
        answer = await client.post(
            "/oauth/authorize", params=params, data={"username": "alice", "password": "guess"}
        )
        assert answer.status_code == 200
    # The right password now gets no answer either: the guess is not even tried.
    answer = await client.post(
        "/oauth/authorize", params=params, data={"username": "alice", "password": USERS["alice"]}
    )
    assert answer.status_code == 429
    assert int(answer.headers["retry-after"]) >= 1
    assert "location" not in answer.headers


async def test_access_tokens_last_as_long_as_the_config_says(
    serve_example: ServeExample, tmp_path: Path, tls: ssl.SSLContext
) -> None:
    server = serve_example("todo-oauth", make_config(tmp_path, oauth_access_token_seconds=33))
    async with httpx.AsyncClient(base_url=server.url, verify=tls) as client:
        code = await sign_in(client, "alice", "alice-password")
        issued = await exchange(client, code)
        assert issued.status_code == 200, issued.text
        assert issued.json()["expires_in"] == 33
        renewed = await refresh(client, issued.json()["refresh_token"])
        assert renewed.json()["expires_in"] == 33
