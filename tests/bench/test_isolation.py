"""`bench/isolation.py`: its checker catches every way a credential can land wrong, and a short
run of the bench itself (about 500 plugin calls, some refused for a token the provider ended
early, then renewed) holds isolation on each database.

The short run starts the host in this process (a `powerstrip serve` process takes seconds only to
import); the bench's own runs use the process and ten thousand calls.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests import secret_watch
from tests.bench.loader import BENCH_DIR, load_bench
from tests.databases import backends, postgres_schema

bench = load_bench("isolation")

ALICE_KEY = "todo_alice-key-000000000000000000000000"
BOB_KEY = "todo_bob-key-00000000000000000000000000"
ALICE_TOKEN = "alice-access-token-0000000000000000000000"
BOB_TOKEN = "bob-access-token-00000000000000000000000000"
BOB_REFRESH = "bob-refresh-token-0000000000000000000000000"
SERVICE_KEY = "the-service-key-000000000000000000000000"
ALICE_ID, BOB_ID = "a1" * 16, "b2" * 16  # ephemeral ids
TOKENS = {ALICE_TOKEN: ("alice", "access token"), BOB_TOKEN: ("bob", "access token")}
TOKENS |= {BOB_REFRESH: ("bob", "refresh token")}


def _checker() -> Any:  # Any: the bench's Checker, loaded from its file
    def owners(value: str) -> Any:
        found = TOKENS.get(value)
        return bench.Owner(*found) if found else None

    ledger = bench.Ledger(service_key=SERVICE_KEY, oauth_owners=owners)
    ledger.add_user_key("alice", ALICE_KEY)
    ledger.add_user_key("bob", BOB_KEY)
    checker = bench.Checker(ledger)
    checker.conversations.update(
        {"conv-of-alice": "alice", "conv-of-bob": "bob", "idle-conv-of-alice": "alice"}
    )
    checker.turning.update({"conv-of-alice", "conv-of-bob"})
    return checker


def _call(
    credential: str | None,
    *,
    conversation: str = "conv-of-alice",
    ephemeral: str = ALICE_ID,
    path: str = "/todos",
    query: bytes = b"",
    body: bytes = b"",
) -> Any:  # Any: the bench's Seen
    headers = [
        ("openai-conversation-id", conversation),
        ("powerstrip-conversation-id", conversation),
        ("openai-ephemeral-user-id", ephemeral),
        ("powerstrip-ephemeral-user-id", ephemeral),
    ]
    if credential is not None:
        headers.append(("authorization", f"Bearer {credential}"))
    return bench.Seen("GET", path, tuple(headers), query, body)


def test_calls_with_their_own_user_s_credentials_pass() -> None:
    checker = _checker()
    assert checker.judge("todo-user", _call(ALICE_KEY)) == []
    # A pseudonym per plugin: the same one on two plugins would link the user across them.
    assert checker.judge("todo-oauth", _call(ALICE_TOKEN, ephemeral="d4" * 16)) == []
    seen = _call(SERVICE_KEY, path="/todos/alice", ephemeral="e5" * 16)
    assert checker.judge("todo-service", seen) == []
    bob = {"conversation": "conv-of-bob", "ephemeral": BOB_ID}
    assert checker.judge("todo-user", _call(BOB_KEY, **bob)) == []
    assert checker.tally.api_checked == {"todo-user": 2, "todo-oauth": 1, "todo-service": 1}
    assert checker.tally.mismatches == []
    assert checker.credentials == {ALICE_KEY, ALICE_TOKEN, SERVICE_KEY, BOB_KEY}


@pytest.mark.parametrize(
    ("plugin", "seen", "problem"),
    [
        ("todo-user", _call(BOB_KEY), "carries bob's user key"),
        ("todo-oauth", _call(BOB_TOKEN), "carries bob's access token"),
        ("todo-oauth", _call(None), "carries no credential of theirs"),
        ("todo-user", _call("todo_an-unknown-key-000000000000000"), "no credential of theirs"),
        # Her own key, on the wrong plugin: the OAuth plugin must never see it.
        ("todo-oauth", _call(ALICE_KEY), "carries alice's user key"),
        ("todo-service", _call(ALICE_KEY), "carries alice's user key"),
        ("todo-user", _call(SERVICE_KEY), "carries (the service)'s service key"),
        # The right credential, and someone else's anywhere else in the request.
        ("todo-user", _call(ALICE_KEY, query=f"k={BOB_KEY}".encode()), "bob's user key"),
        ("todo-oauth", _call(ALICE_TOKEN, body=BOB_REFRESH.encode()), "bob's refresh token"),
        ("todo-user", _call(ALICE_KEY, conversation="conv-unknown"), "no conversation of ours"),
        # Her key and her conversation, but not the conversation whose turn is making calls.
        ("todo-user", _call(ALICE_KEY, conversation="idle-conv-of-alice"), "no turn under way"),
    ],
)
def test_a_credential_that_landed_wrong_is_a_mismatch(plugin: str, seen: Any, problem: str) -> None:
    checker = _checker()
    problems = checker.judge(plugin, seen)
    assert any(problem in found for found in problems), problems
    assert checker.tally.mismatches == [f"{plugin} GET {seen.path}: {p}" for p in problems]


def test_a_cookie_on_any_request_is_a_mismatch() -> None:
    # The checker sets one on every answer, naming whose call it was; a host must keep none.
    checker = _checker()
    probe = checker.probe_cookie(_call(BOB_KEY, conversation="conv-of-bob"))
    assert probe == (b"set-cookie", b"isolation-probe=bob; Path=/")
    seen = _call(ALICE_KEY)
    carried = bench.Seen(
        "GET", "/todos", (*seen.headers, ("cookie", "isolation-probe=bob")), b"", b""
    )
    assert checker.judge("todo-user", carried) == [
        "the request carries a cookie set on an earlier call: isolation-probe=bob"
    ]
    spec = bench.Seen("GET", "/openapi.yaml", (("cookie", "isolation-probe=the-host"),), b"", b"")
    assert checker.judge("todo-user", spec) != []


def test_the_ephemeral_id_must_stand_for_one_user_on_each_plugin() -> None:
    checker = _checker()
    assert checker.judge("todo-user", _call(ALICE_KEY)) == []
    # Bob's call with Alice's pseudonym: the host says the call is for someone else.
    bob = _call(BOB_KEY, conversation="conv-of-bob", ephemeral=ALICE_ID)
    assert "bob's call has the ephemeral id of alice" in checker.judge("todo-user", bob)
    changed = checker.judge("todo-user", _call(ALICE_KEY, ephemeral="c3" * 16))
    assert any("ephemeral id changed" in problem for problem in changed), changed
    # The same pseudonym on another plugin links the user across plugins.
    linked = checker.judge("todo-oauth", _call(ALICE_TOKEN))
    assert any("linkable" in problem for problem in linked), linked


def test_headers_must_say_one_thing_under_both_names() -> None:
    checker = _checker()
    seen = _call(ALICE_KEY)
    one_name = bench.Seen(
        "GET",
        "/todos",
        tuple(h for h in seen.headers if h[0] != "powerstrip-ephemeral-user-id"),
        b"",
        b"",
    )
    problems = checker.judge("todo-user", one_name)
    assert any("ephemeral-user-id headers" in problem for problem in problems), problems


def test_token_requests_carry_one_refresh_token_and_fetches_none() -> None:
    checker = _checker()
    renew = bench.Seen("POST", "/oauth/token", (), b"", f'{{"r": "{BOB_REFRESH}"}}'.encode())
    assert checker.judge("todo-oauth", renew) == []
    leaky = bench.Seen("POST", "/oauth/token", (), b"", f"{BOB_REFRESH} {ALICE_TOKEN}".encode())
    assert checker.judge("todo-oauth", leaky) != []
    spec = bench.Seen("GET", "/openapi.json", (("authorization", f"Bearer {BOB_KEY}"),), b"", b"")
    assert checker.judge("todo-user", spec) == [
        "a fetch of the plugin's files carries [\"bob's user key\"]"
    ]
    assert checker.tally.other_checked == 3


def test_the_model_flags_a_list_of_another_user() -> None:
    answers = bench.Answers()
    step = bench.model_step(answers, 1)
    body: dict[str, Any] = {
        "messages": [
            {"role": "user", "content": "list user03 #1"},
            {"role": "assistant", "content": None},
            {"role": "tool", "content": '{"todos": [{"id": 1, "todo": "marker of user03"}]}'},
            {"role": "tool", "content": '{"todos": [{"id": 2, "todo": "marker of user04"}]}'},
            {"role": "tool", "content": "HTTP 401: sign in again"},
        ]
    }
    assert step.choose(body) == bench.Reply("Listed.")
    assert (answers.checked, answers.failed) == (3, 1)
    assert "user03's turn read the list of ['user04']" in answers.crossed


def test_the_model_flags_a_history_with_another_user_s_messages() -> None:
    answers = bench.Answers()
    body: dict[str, Any] = {
        "messages": [
            {"role": "user", "content": "list user04 #0"},
            {"role": "tool", "content": '{"todos": [{"id": 2, "todo": "marker of user04"}]}'},
            {"role": "assistant", "content": "Listed."},
            {"role": "user", "content": "list user03 #1"},
        ],
        "tools": [{"function": {"name": "todo_user__list_todos"}}],
    }
    bench.model_step(answers, 1).choose(body)
    assert answers.crossed == ["user03's history holds messages of ['user04']"]


def test_the_model_lists_on_every_plugin_for_the_turn_s_user() -> None:
    step = bench.model_step(bench.Answers(), 2)
    tools = [
        {"function": {"name": f"{ns}__{op}"}}
        for ns in ("todo_user", "todo_service")
        for op in ("add_todo", "list_todos")
    ]
    chosen = step.choose(
        {"messages": [{"role": "user", "content": "list user07 #3"}], "tools": tools}
    )
    assert [(c.name, c.arguments) for c in chosen.calls] == [
        ("todo_user__list_todos", {}),
        ("todo_user__list_todos", {}),
        ("todo_service__list_todos", {"username": "user07"}),
        ("todo_service__list_todos", {"username": "user07"}),
    ]


def test_the_bench_describes_its_options() -> None:
    shown = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(BENCH_DIR / "isolation.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for option in ("--calls", "--users", "--token-seconds", "--expire-every", "--postgres-url"):
        assert option in shown.stdout


# -- the short run --------------------------------------------------------------------------------

SHORT = bench.Options(
    calls=500,
    users=5,
    conversations=2,
    calls_per_plugin=3,
    # The host never renews on its own clock here, so each early expiry at the provider is a 401
    # the host must renew and retry: the race is certain, not a matter of timing.
    token_seconds=3600,
    expire_every=60,
)


@pytest.mark.anyio
# About 30 s of CPU in all; the suite's 120 s guard against hangs is too tight for a load
# test on a busy machine.
@pytest.mark.timeout(300)
@pytest.mark.parametrize("backend", backends())
async def test_five_hundred_concurrent_calls_carry_only_their_user_s_credentials(
    backend: str, tmp_path: Path
) -> None:
    log: list[str] = []
    run: Callable[..., Any] = bench.run_backend
    if backend == "sqlite":
        figures = await run(None, SHORT, tmp_path, log=log.append, host_in_process=True)
    else:
        async with postgres_schema() as url:
            figures = await run(
                url.render_as_string(hide_password=False),
                SHORT,
                tmp_path,
                log=log.append,
                host_in_process=True,
            )
    report = "\n".join([*log, *figures.lines()])
    # Whatever credential the plugins received must show up in no log and no file.
    secret_watch.watch(*figures.credentials)
    assert figures.tally.mismatches == [], report
    assert figures.answers.crossed == [], report
    assert figures.failed_turns == 0, report
    assert figures.calls_made >= SHORT.calls, report
    assert figures.calls_ok == figures.calls_made, report
    # Every call made reached a checker; a call refused for its token arrived twice.
    assert figures.api_checked == figures.calls_made + figures.tally.unauthorized, report
    assert figures.answers.checked == figures.calls_made, report
    assert figures.tally.unauthorized > 0, report
    assert figures.tally.renewals > 0, report
    assert figures.good(), report
