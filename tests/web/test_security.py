"""The web app's fences, over HTTP: other users' things are 404, forms need their token, CSP."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import pytest

from powerstrip.testing import Reply
from powerstrip.web import CONTENT_SECURITY_POLICY
from tests.web.conftest import Web, api_token, form_token, sign_up_http

_NUMBERS = itertools.count(1)


@pytest.fixture
def two_users(web: Web) -> Iterator[tuple[httpx.Client, httpx.Client, str]]:
    """Two signed-in users; the first has a conversation with one answer."""
    number = next(_NUMBERS)
    owner = sign_up_http(web, f"owner{number}")
    other = sign_up_http(web, f"other{number}")
    home = owner.get("/")
    made = owner.post("/c", data={"csrf": form_token(home.text)})
    assert made.status_code == 303, made.text
    chat_id = made.headers["location"].rsplit("/", 1)[1]
    web.model.push(Reply("Hello."))
    turn = owner.post(
        f"/api/conversations/{chat_id}/messages",
        json={"content": "hi", "stream": False},
        headers={"X-CSRF-Token": form_token(home.text)},
    )
    assert turn.status_code == 200, turn.text
    yield owner, other, chat_id
    owner.close()
    other.close()


def test_another_users_conversation_and_its_calls_are_not_found(
    web: Web, two_users: tuple[httpx.Client, httpx.Client, str]
) -> None:
    owner, other, chat_id = two_users
    assert owner.get(f"/c/{chat_id}").status_code == 200
    token = form_token(other.get("/").text)
    for path in (f"/c/{chat_id}", f"/c/{chat_id}/transcript", f"/c/{chat_id}/calls/x"):
        answer = other.get(path)
        assert answer.status_code == 404, path
        assert "not yours to see" in answer.text
    for path, data in (
        (f"/c/{chat_id}/rename", {"title": "mine now"}),
        (f"/c/{chat_id}/delete", {}),
        (f"/c/{chat_id}/feedback", {"seq": "2", "rating": "up"}),
        (f"/c/{chat_id}/plugins", {}),
    ):
        answer = other.post(path, data={"csrf": token, **data})
        assert answer.status_code == 404, path
    api = other.get(f"/api/conversations/{chat_id}", headers={"X-CSRF-Token": token})
    assert api.status_code == 404
    # Nothing changed for the owner.
    assert "hi" in owner.get(f"/c/{chat_id}/transcript").text


def test_another_users_token_and_install_are_not_found(web: Web) -> None:
    owner = sign_up_http(web, "token-owner")
    other = sign_up_http(web, "token-other")
    try:
        api_token(owner)
        token_id = owner.get("/settings").text.split("/settings/tokens/", 1)[1].split("/", 1)[0]
        csrf = form_token(other.get("/settings").text)
        answer = other.post(f"/settings/tokens/{token_id}/revoke", data={"csrf": csrf})
        assert answer.status_code == 404
        assert "/settings/tokens/" in owner.get("/settings").text  # still there
        plugin_id = web.plugin_ids["todo-none"]
        answer = other.post(f"/plugins/{plugin_id}/uninstall", data={"csrf": csrf})
        assert answer.status_code == 404  # not installed for them: nothing to uninstall
        answer = other.post("/plugins/99999/install", data={"csrf": csrf})
        assert answer.status_code == 404
        assert other.get("/logos/99999").status_code == 404
        assert other.get("/admin").status_code == 404  # not an admin: no such page
    finally:
        owner.close()
        other.close()


def test_a_form_without_its_token_or_from_another_site_is_refused(web: Web) -> None:
    client = sign_up_http(web, "csrf-check")
    try:
        good = form_token(client.get("/settings").text)
        assert client.post("/settings/tokens", data={"name": "x"}).status_code == 403
        assert (
            client.post("/settings/tokens", data={"name": "x", "csrf": "0" * 64}).status_code == 403
        )
        cross = client.post(
            "/settings/tokens",
            data={"name": "x", "csrf": good},
            headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        )
        assert cross.status_code == 403
        assert "another site" in cross.text
        assert "pst_" not in client.get("/settings").text  # no token was made
        # The REST API with the session cookie needs the page's token too.
        assert client.get("/api/conversations").status_code == 401
        ok = client.get("/api/conversations", headers={"X-CSRF-Token": good})
        assert ok.status_code == 200, ok.text
        # Signing in needs the pre-session token: no login CSRF.
        fresh = httpx.Client(base_url=web.url)
        answer = fresh.post("/sign-in", data={"username": "csrf-check", "password": "x" * 12})
        assert answer.status_code == 403
        fresh.close()
    finally:
        client.close()


def test_every_page_has_a_strict_content_security_policy(web: Web) -> None:
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    script_src = next(p for p in CONTENT_SECURITY_POLICY.split("; ") if p.startswith("script-src"))
    assert script_src == "script-src 'self'"
    client = sign_up_http(web, "csp-check")
    try:
        for path in ("/", "/plugins", "/develop", "/settings", "/static/chat.js", "/sign-in"):
            answer = client.get(path, follow_redirects=True)
            assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["x-frame-options"] == "DENY"
        assert "<script>" not in client.get("/").text.replace("<script type=", "")
    finally:
        client.close()


def test_sign_in_is_throttled_after_repeated_failures(web: Web) -> None:
    sign_up_http(web, "throttled").close()
    client = httpx.Client(base_url=web.url)
    try:
        statuses = []
        for _ in range(7):
            token = form_token(client.get("/sign-in").text)
            answer = client.post(
                "/sign-in", data={"csrf": token, "username": "throttled", "password": "wrong" * 3}
            )
            statuses.append(answer.status_code)
        assert statuses[:5] == [401] * 5
        assert "too many failed sign-ins" in answer.text
    finally:
        client.close()
