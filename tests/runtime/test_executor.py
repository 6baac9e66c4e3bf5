"""The executor against a real plugin API on loopback: requests, faults, truncation, records."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from powerstrip.net import GuardedClient, NetPolicy, RetryPolicy
from powerstrip.openapi import ToolSet, convert, load_spec
from powerstrip.runtime.executor import CallRequest, Executor
from powerstrip.testing import LoopbackServer, loopback_policy
from tests.conftest import ServeApp
from tests.net.dropping_server import DroppingServer
from tests.runtime import fault_plugin

pytestmark = pytest.mark.anyio

BASE = "https://api.example.com"
SECRET = "sk-user-SECRET-4242"


@pytest.fixture(scope="module")
def tools() -> ToolSet:
    return convert(load_spec(fault_plugin.SPEC), namespace="faults")


@pytest.fixture(scope="module")
def server(serve_app: ServeApp) -> LoopbackServer:
    return serve_app(fault_plugin.app)


@pytest.fixture
async def executor(server: LoopbackServer, ca_bundle: Path) -> AsyncIterator[Executor]:
    policy = loopback_policy(server, ["api.example.com"], ca_bundle=ca_bundle, call_timeout=2.0)
    async with GuardedClient(policy) as client:
        yield Executor(client, retry=RetryPolicy(max_attempts=3, backoff_base=0.05))


def request(**headers: str) -> CallRequest:
    return CallRequest(
        base_url=BASE,
        auth_headers={"Authorization": f"Bearer {SECRET}"},
        context_headers=headers,
        secrets=(SECRET,),
    )


async def test_path_and_query_arguments_are_encoded_safely(
    executor: Executor, tools: ToolSet
) -> None:
    tool = tools.lookup("faults__getItem")
    args = {"item_id": "../admin?x=1", "tags": ["a", "b c"], "limit": 5}
    outcome = await executor.execute(tool, json.dumps(args), request())
    assert outcome.outcome == "ok"
    seen = json.loads(outcome.model_text)
    # The value stays one path segment: no traversal, no injected query.
    assert seen["raw_path"] == "/items/..%2Fadmin%3Fx%3D1"
    assert seen["query"] == "tags=a&tags=b+c&limit=5"
    # The plugin got the credential; the model's copy of an echo of it is masked.
    assert fault_plugin.RECEIVED[-1]["authorization"] == f"Bearer {SECRET}"
    assert seen["headers"]["authorization"] == "Bearer [redacted]"
    assert SECRET not in outcome.model_text


async def test_the_json_body_is_sent_and_the_record_is_redacted(
    executor: Executor, tools: ToolSet
) -> None:
    tool = tools.lookup("faults__addItem")
    outcome = await executor.execute(
        tool, '{"name": "milk", "count": 2}', request(**{"openai-conversation-id": "c1"})
    )
    assert json.loads(outcome.model_text) == {"received": {"name": "milk", "count": 2}}
    assert outcome.status_code == 200
    assert outcome.request_bytes > 0
    record = json.dumps(outcome.request)
    assert SECRET not in record
    assert "[redacted]" in record
    assert outcome.request["headers"]["openai-conversation-id"] == "c1"


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"count": 1}', "'name' is a required property"),
        ('{"name": 5}', "name: 5 is not of type 'string'"),
    ],
)
async def test_invalid_arguments_are_refused_before_any_request(
    executor: Executor, tools: ToolSet, arguments: str, problem: str
) -> None:
    outcome = await executor.execute(tools.lookup("faults__addItem"), arguments, request())
    assert outcome.outcome == "invalid_arguments"
    assert problem in outcome.model_text
    assert outcome.request_bytes == 0
    assert outcome.attempts == 0


async def test_a_500_is_retried_then_reported(executor: Executor, tools: ToolSet) -> None:
    fault_plugin.ATTEMPTS.pop("error500", None)
    outcome = await executor.execute(
        tools.lookup("faults__fault"), '{"kind": "error500"}', request()
    )
    assert outcome.outcome == "http_error"
    assert outcome.status_code == 500
    assert outcome.attempts == 3
    assert "HTTP 500" in outcome.model_text
    assert "boom" in outcome.model_text


async def test_a_429_with_retry_after_is_honoured(executor: Executor, tools: ToolSet) -> None:
    fault_plugin.ATTEMPTS.pop("ratelimited-once", None)
    outcome = await executor.execute(
        tools.lookup("faults__fault"), '{"kind": "ratelimited-once"}', request()
    )
    assert outcome.outcome == "ok"
    assert outcome.attempts == 2
    assert outcome.duration_ms >= 900


async def test_a_slow_plugin_times_out(executor: Executor, tools: ToolSet) -> None:
    outcome = await executor.execute(tools.lookup("faults__fault"), '{"kind": "slow"}', request())
    assert outcome.outcome == "timeout"
    assert outcome.status_code is None
    assert "failed" in outcome.model_text


async def test_a_large_json_answer_keeps_whole_records(executor: Executor, tools: ToolSet) -> None:
    outcome = await executor.execute(tools.lookup("faults__fault"), '{"kind": "big"}', request())
    assert outcome.outcome == "ok"
    assert outcome.response_bytes > 2_000_000
    assert outcome.truncated
    assert len(outcome.model_text) <= 100_000
    body, note = outcome.model_text.rsplit("\n", 1)
    records = json.loads(body)
    assert records[-1] == {"id": len(records) - 1, "text": "x" * 90}
    assert f"showing {len(records)} of 20000 records" in note


async def test_garbage_bytes_are_returned_as_text(executor: Executor, tools: ToolSet) -> None:
    outcome = await executor.execute(
        tools.lookup("faults__fault"), '{"kind": "garbage"}', request()
    )
    assert outcome.outcome == "ok"
    assert outcome.response_bytes == 2560


async def test_redirects_are_not_followed(executor: Executor, tools: ToolSet) -> None:
    outcome = await executor.execute(
        tools.lookup("faults__fault"), '{"kind": "redirect"}', request()
    )
    assert outcome.outcome == "http_error"
    assert outcome.status_code == 302
    assert "redirects are not followed" in outcome.model_text


async def test_a_plugin_that_is_down_is_a_network_error(ca_bundle: Path, tools: ToolSet) -> None:
    down = LoopbackServer(fault_plugin.app)
    down.start()
    down.stop()  # a port that was just closed: nothing listens there now
    policy = loopback_policy(down, ["api.example.com"], ca_bundle=ca_bundle, call_timeout=2.0)
    async with GuardedClient(policy) as client:
        executor = Executor(client, retry=RetryPolicy(max_attempts=2, backoff_base=0.05))
        outcome = await executor.execute(tools.lookup("faults__fault"), '{"kind": "x"}', request())
    assert outcome.outcome == "network_error"
    assert SECRET not in (outcome.error or "")


async def test_a_compressed_bomb_is_stopped_at_the_decoded_size(
    server: LoopbackServer, ca_bundle: Path, tools: ToolSet
) -> None:
    policy = loopback_policy(
        server, ["api.example.com"], ca_bundle=ca_bundle, max_response_bytes=1_000_000
    )
    async with GuardedClient(policy) as client:
        executor = Executor(client)
        bomb = await executor.execute(
            tools.lookup("faults__fault"), '{"kind": "gzip-bomb"}', request()
        )
        small = await executor.execute(
            tools.lookup("faults__fault"), '{"kind": "gzip-small"}', request()
        )
    assert bomb.outcome == "network_error"
    assert "larger than 1000000 bytes" in (bomb.error or "")
    assert json.loads(small.model_text) == {"small": True}


@pytest.mark.parametrize("value", ["..", ".", ""])
async def test_dot_segments_in_path_values_are_refused(
    executor: Executor, tools: ToolSet, value: str
) -> None:
    outcome = await executor.execute(
        tools.lookup("faults__getItem"), json.dumps({"item_id": value}), request()
    )
    assert outcome.outcome == "invalid_arguments"
    assert outcome.request_bytes == 0


async def test_header_parameters_cannot_shadow_the_hosts_headers(
    executor: Executor, tools: ToolSet
) -> None:
    fault_plugin.RECEIVED.clear()
    arguments = {"item_id": "1", "Openai-Ephemeral-User-Id": "forged", "X-Trace": "t-1"}
    outcome = await executor.execute(
        tools.lookup("faults__echoHeader"),
        json.dumps(arguments),
        request(**{"openai-ephemeral-user-id": "real"}),
    )
    assert outcome.outcome == "ok"
    received = fault_plugin.RECEIVED[-1]
    assert received["openai-ephemeral-user-id"] == "real"
    assert received["x-trace"] == "t-1"


async def test_a_failed_post_is_not_retried_but_a_429_is(
    executor: Executor, tools: ToolSet
) -> None:
    # A POST that failed with a 5xx may have happened: running it again could do it twice.
    fault_plugin.ATTEMPTS.pop("error500", None)
    failed = await executor.execute(
        tools.lookup("faults__postFault"), '{"kind": "error500"}', request()
    )
    assert (failed.outcome, failed.attempts) == ("http_error", 1)
    assert fault_plugin.ATTEMPTS["error500"] == 1
    fault_plugin.ATTEMPTS.pop("ratelimited-once", None)
    limited = await executor.execute(
        tools.lookup("faults__postFault"), '{"kind": "ratelimited-once"}', request()
    )
    assert (limited.outcome, limited.attempts) == ("ok", 2)


async def test_a_post_the_plugin_read_is_sent_once_and_recorded_as_one_attempt(
    tools: ToolSet,
) -> None:
    dropping = DroppingServer()
    try:
        async with GuardedClient(NetPolicy(dev_mode=True, call_timeout=2.0)) as client:
            executor = Executor(client, retry=RetryPolicy(max_attempts=3, backoff_base=0.01))
            base = f"http://127.0.0.1:{dropping.port}"
            posted = await executor.execute(
                tools.lookup("faults__postFault"),
                '{"kind": "x"}',
                CallRequest(base_url=base),
            )
            assert dropping.requests == [b"POST /fault/x HTTP/1.1"]
            assert (posted.outcome, posted.attempts) == ("network_error", 1)
            fetched = await executor.execute(
                tools.lookup("faults__fault"), '{"kind": "x"}', CallRequest(base_url=base)
            )
    finally:
        dropping.close()
    # A GET is safe to repeat: it was, and the record says how often.
    assert (fetched.outcome, fetched.attempts) == ("network_error", 3)
    assert len(dropping.requests) == 4
