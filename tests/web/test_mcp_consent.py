"""The consent page of MCP's OAuth in a real browser: signing in first, allowing, and being sent
back to the MCP client's loopback listener (which the page's form-action must let through)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import pytest
from playwright.sync_api import Browser, expect

from powerstrip.testing import LoopbackServer
from tests import secret_watch
from tests.web.conftest import PASSWORD, Web, new_context, screenshot, sign_up


class Listener:
    """An MCP client's loopback redirect listener: keeps the query each visit brought."""

    def __init__(self) -> None:
        self.queries: list[dict[str, list[str]]] = []
        self._lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] != "/callback":  # the browser also asks for a favicon
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        with self._lock:
            self.queries.append(parse_qs(scope.get("query_string", b"").decode()))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"You can close this window."})


@pytest.fixture
def listener() -> Iterator[tuple[Listener, str]]:
    app = Listener()
    with LoopbackServer(app) as server:
        yield app, f"{server.url}/callback"


def _authorize_url(web: Web, redirect: str, state: str, verifier: str = "") -> tuple[str, str]:
    """The client's authorization URL, and its client id."""
    answer = httpx.post(
        f"{web.url}/oauth/register",
        json={"client_name": "Desk App", "redirect_uris": [redirect]},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256((verifier or secrets.token_urlsafe(48)).encode()).digest()
    )
    params = {
        "response_type": "code",
        "client_id": answer.json()["client_id"],
        "redirect_uri": redirect,
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
        "state": state,
        "resource": f"{web.url}/mcp",
    }
    return f"{web.url}/oauth/authorize?{urlencode(params)}", answer.json()["client_id"]


def test_allowing_on_the_consent_page_sends_the_browser_back_with_a_code(
    browser: Browser, web: Web, listener: tuple[Listener, str]
) -> None:
    received, redirect = listener
    context = new_context(browser)
    page = context.new_page()
    sign_up(page, web, "mcp-ada")
    verifier = secrets.token_urlsafe(48)
    url, client_id = _authorize_url(web, redirect, "state-1", verifier)
    page.goto(url)
    expect(page.get_by_role("heading", name="Connect an MCP client?")).to_be_visible()
    expect(page.locator("#client-name")).to_have_text("Desk App")
    expect(page.locator("#redirect-target")).to_have_text(redirect)
    screenshot(page, "mcp-consent-desktop")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{redirect}?*")
    [query] = received.queries
    secret_watch.watch(query["code"][0])
    assert query["code"][0].startswith("psc_")
    assert query["state"] == ["state-1"]
    assert query["iss"] == [web.url]
    # The client exchanges the code: from then on, it is a connected client of the person's.
    token = httpx.post(
        f"{web.url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": client_id,
            "code": query["code"][0],
            "redirect_uri": redirect,
            "code_verifier": verifier,
        },
        timeout=30,
    )
    assert token.status_code == 200, token.text
    secret_watch.watch(token.json()["access_token"])
    secret_watch.watch(token.json()["refresh_token"])
    page.goto(f"{web.url}/settings")
    expect(page.get_by_role("region", name="Connected MCP clients")).to_contain_text("Desk App")
    context.close()


def test_a_person_not_signed_in_signs_in_first_and_comes_back_to_the_question(
    browser: Browser, web: Web, listener: tuple[Listener, str]
) -> None:
    received, redirect = listener
    context = new_context(browser)
    page = context.new_page()
    sign_up(page, web, "mcp-bob")
    page.get_by_role("button", name="Sign out").click()
    page.goto(_authorize_url(web, redirect, "state-2")[0])
    expect(page).to_have_url(re.compile(re.escape(f"{web.url}/sign-in?next=%2Foauth%2Fconsent")))
    page.get_by_label("Username").fill("mcp-bob")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Connect an MCP client?")).to_be_visible()
    page.get_by_role("button", name="Deny").click()
    page.wait_for_url(f"{redirect}?*")
    [query] = received.queries
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["state-2"]
    assert "code" not in query
    context.close()
