"""`ExampleConfig.rate_limit` limits each caller and answers 429 with `Retry-After`."""

from __future__ import annotations

import ssl

import httpx
import pytest

from powerstrip.examples import ExampleConfig
from powerstrip.sdk import RateLimit
from tests.examples.conftest import SERVICE_KEY, ServeExample, make_config

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("name", ["todo-none", "todo-service"])
async def test_the_call_past_the_limit_gets_429_with_retry_after(
    serve_example: ServeExample, config: ExampleConfig, tls: ssl.SSLContext, name: str
) -> None:
    limited = make_config(config.data_dir, rate_limit=RateLimit(requests=3, per_seconds=60))
    server = serve_example(name, limited)
    headers = {"authorization": f"Bearer {SERVICE_KEY}"}
    async with httpx.AsyncClient(base_url=server.url, verify=tls, headers=headers) as client:
        for _ in range(3):
            assert (await client.get("/todos/alice")).status_code == 200
        refused = await client.get("/todos/alice")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "rate_limited"
