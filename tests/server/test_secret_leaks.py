"""Keys on the way in and out: malformed keys are refused, and no encoding of a key escapes.

A key with a control character used to be accepted, then quoted by the HTTP library's error
(`b'Bearer KEY\\n'`), and the redactor, which looked for the raw key only, let the escaped form
through to the SSE events, the call log, the database and the model. A plugin that echoes the key
back (JSON-escaped, URL-encoded, in a base64 token) did the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from powerstrip.testing import CallTool, LoopbackServer, Reply, TestCA
from tests import secret_watch
from tests.server import echo_key_site
from tests.server.conftest import Hosted

pytestmark = pytest.mark.anyio

# Printable ASCII, so it is a valid key, with the characters each encoding changes.
KEY = 'uk-"ada"\\secret/+?=&key-0042'


@pytest.fixture
def key_server(test_ca: TestCA) -> Iterator[LoopbackServer]:
    context = test_ca.server_context(echo_key_site.NAME)
    with LoopbackServer(echo_key_site.app, ssl_context=context) as server:
        yield server


@pytest.fixture
def extra_sites(key_server: LoopbackServer) -> dict[str, LoopbackServer]:
    return {echo_key_site.NAME: key_server}


async def _add(api: httpx.AsyncClient) -> int:
    answer = await api.post("/api/plugins", json={"url": f"https://{echo_key_site.NAME}"})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


@pytest.mark.parametrize(
    ("raw_key", "problem"),
    [
        ('"uk-ada-key-0042\\n"', "a control character (U+000A)"),
        ('"uk-ada-\\u00e9-0042"', "a non-ASCII character (U+00E9)"),
        ('"uk-ada-\\ud800-0042"', "a lone surrogate (U+D800)"),
        ('"uk-ada key-0042"', "a space"),
    ],
)
async def test_a_malformed_user_key_is_refused_with_a_422_and_nothing_is_installed(
    hosted: Hosted, raw_key: str, problem: str
) -> None:
    async with await hosted.user("ada") as api:
        plugin_id = await _add(api)
        answer = await api.post(
            f"/api/plugins/{plugin_id}/install",
            content=b'{"user_key": ' + raw_key.encode() + b"}",
            headers={"content-type": "application/json"},
        )
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        # Text that is not valid Unicode is refused at the door (body.user_key), before the
        # registry's own check of a key's characters (user_key) would see it.
        assert error["where"].rsplit(".", 1)[-1] == "user_key"
        assert problem in error["message"]
        if error["type"] != "InvalidRequest":
            assert "printable ASCII" in error["fix"]
        assert "0042" not in answer.text  # the key itself is never quoted back
        listed = (await api.get("/api/plugins")).json()["plugins"]
        assert [p["installed"] for p in listed if p["id"] == plugin_id] == [False]


async def test_a_malformed_service_key_is_refused_with_a_422(hosted: Hosted) -> None:
    async with await hosted.user("dev") as developer:
        plugin_id = await hosted.add_plugin(developer, "api.example.com")
        answer = await developer.post(
            f"/api/plugins/{plugin_id}/registration",
            json={"service_key": "sk-service-key-0042\n"},
        )
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["where"] == "service_key"
        assert "a control character (U+000A)" in error["message"]
        assert "0042" not in answer.text


async def test_a_key_the_plugin_echoes_in_any_encoding_reaches_nobody_else(
    hosted: Hosted,
) -> None:
    secret_watch.watch(KEY)
    async with await hosted.user("ada") as api:
        plugin_id = await _add(api)
        installed = await api.post(f"/api/plugins/{plugin_id}/install", json={"user_key": KEY})
        assert installed.status_code == 200, installed.text
        chat = await api.post("/api/conversations", json={"plugin_ids": [plugin_id]})
        chat_id = chat.json()["id"]
        hosted.model.push(CallTool("keys__whoami", {}), Reply("The key was refused."))
        answer = await api.post(
            f"/api/conversations/{chat_id}/messages", json={"content": "who am I?"}
        )
        assert answer.status_code == 200, answer.text
        events = answer.text
        calls = (await api.get(f"/api/conversations/{chat_id}/calls")).text
        messages = (await api.get(f"/api/conversations/{chat_id}")).text
    # The plugin did get the key, and answered with it in seven encodings.
    assert '"call_finished"' in events
    assert '"http_error"' in calls
    secrets = frozenset({KEY})
    places = {
        "SSE events": events,
        "call log": calls,
        "messages": messages,
        "model requests": json.dumps(hosted.model.requests),
    }
    for place, text in places.items():
        assert secret_watch.leaks_in_text(text, secrets) == [], place
    assert secret_watch.leaks_in_files(hosted.data_dir, secrets) == []
