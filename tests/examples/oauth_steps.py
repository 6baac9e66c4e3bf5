"""The OAuth steps a host and a browser take, over real HTTP, for the tests to compose."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.examples.conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_params(state: str, challenge: str | None = None, **changes: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "todos",
        "state": state,
    }
    if challenge:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return params | changes


async def sign_in(
    client: httpx.AsyncClient,
    username: str,
    password: str,
    *,
    challenge: str | None = None,
) -> str:
    """Open the sign-in form, submit it, and return the code from the redirect."""
    state = secrets.token_urlsafe(16)
    params = authorize_params(state, challenge)
    form = await client.get("/oauth/authorize", params=params)
    assert form.status_code == 200, form.text
    assert "<form" in form.text
    assert "Powerstrip" in form.text  # which app asks
    assert "todos" in form.text  # for which scope
    answer = await client.post(
        "/oauth/authorize", params=params, data={"username": username, "password": password}
    )
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = parse_qs(location.query)
    assert query["state"] == [state]
    return query["code"][0]


async def token_request(
    client: httpx.AsyncClient,
    fields: dict[str, str],
    *,
    content_type: str = "application/json",
    secret: str = CLIENT_SECRET,
) -> httpx.Response:
    """POST to the token endpoint as the host does (spec §4), client credentials in the body."""
    body = {"client_id": CLIENT_ID, "client_secret": secret, **fields}
    if content_type == "application/json":
        return await client.post(
            "/oauth/token",
            content=json.dumps(body),
            headers={"content-type": "application/json"},
        )
    return await client.post("/oauth/token", data=body)


async def exchange(
    client: httpx.AsyncClient,
    code: str,
    *,
    content_type: str = "application/json",
    verifier: str | None = None,
    secret: str = CLIENT_SECRET,
) -> httpx.Response:
    fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    if verifier is not None:
        fields["code_verifier"] = verifier
    return await token_request(client, fields, content_type=content_type, secret=secret)


async def refresh(
    client: httpx.AsyncClient, refresh_token: str, *, content_type: str = "application/json"
) -> httpx.Response:
    fields = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return await token_request(client, fields, content_type=content_type)
