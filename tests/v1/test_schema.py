"""schemathesis over `/v1/openapi.json`: a bounded number of generated requests per operation,
sent signed in to a real server (the offline model answers every turn): none is a 5xx, and
every JSON answer matches the schema the document gives it (OpenAI's own type, from the
`openai` package: server/v1/shapes.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import response_schema_conformance

from powerstrip.server import create_app
from powerstrip.settings import Settings
from powerstrip.store import upgrade
from powerstrip.testing import LoopbackServer
from tests.server.conftest import vault_key
from tests.v1.conftest import make_token

_EXAMPLES = 5


@schemathesis.check
def no_server_error(ctx: Any, response: Any, case: Any) -> bool | None:  # Any: schemathesis's
    if response.status_code >= 500:
        raise AssertionError(f"{response.status_code}: {response.text[:300]}")
    return None


def _openai_error_shape(response: Any) -> None:  # Any: schemathesis's response
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["message"], str), response.text
        assert error["type"], response.text


def test_no_generated_request_is_a_server_error(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, vault_keys=vault_key(), retrieval_embedder="lexical", fetch_timeout=1
    )
    asyncio.run(upgrade(settings.database_url))
    with LoopbackServer(create_app(settings), lifespan=True) as server:
        token = asyncio.run(make_token(settings, "fuzz"))
        auth = {"Authorization": f"Bearer {token}"}
        raw = httpx.get(f"{server.url}/v1/openapi.json", timeout=60).json()
        schema = schemathesis.openapi.from_dict(raw)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 50
        failures: list[str] = []
        for operation in operations:

            @hypothesis_settings(
                max_examples=_EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy())
            def answers_without_failing(case: Any) -> None:  # Any: schemathesis's Case
                response = case.call(base_url=f"{server.url}/v1", headers=auth, timeout=20)
                checks = [no_server_error]
                kind = response.headers.get("content-type") or [""]  # schemathesis: a list
                if kind[0].startswith("application/json"):
                    checks.append(response_schema_conformance)
                case.validate_response(response, checks=checks)
                _openai_error_shape(response)

            try:
                answers_without_failing()
            except (Exception, BaseExceptionGroup) as exc:  # each operation's failure
                failures.append(f"{operation.label}: {str(exc)[:1500]}")
        assert not failures, "\n\n".join(failures)
