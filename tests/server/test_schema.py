"""The API answers as its schema (`/openapi.json`) and its reference (docs/api.md) say.

schemathesis draws requests for every operation from the schema the app serves and sends them
to a real server, signed in: no answer is a 5xx, every status is one the operation declares, and
every error body is the error model. Then each status docs/api.md lists is tied to a request that
produces it, so neither the code nor the docs can drift from the other.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import text

from powerstrip.server import create_app
from powerstrip.settings import Settings
from powerstrip.store import create_engine, upgrade
from powerstrip.testing import LoopbackServer
from tests.server.conftest import Hosted, vault_key
from tests.server.local_host import LocalHost

ROOT = Path(__file__).resolve().parents[2]


@schemathesis.check
def no_internal_error(ctx: Any, response: Any, case: Any) -> bool | None:  # Any: schemathesis's
    """No 500; a 502 (a plugin could not be reached) or 503 (the database refused) is an answer
    the API declares, which `status_code_conformance` checks."""
    if response.status_code == 500 or response.status_code > 503:
        raise AssertionError(f"{response.status_code}: {response.text[:300]}")
    return None


_CHECKS = [
    no_internal_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")


# Examples per operation, per caller: bounded so the three passes stay within a minute on a
# loaded machine (about 40 operations; the admin pass reaches the most code).
_EXAMPLES = {"admin": 20, "user": 5, "anonymous": 3}


def _fuzz(url: str, raw: dict[str, Any], headers: dict[str, str], examples: int) -> set[str]:
    """Send `examples` generated requests to every operation; the operations run, by label."""
    schema = schemathesis.openapi.from_dict(raw)
    operations = [result.ok() for result in schema.get_all_operations()]
    run: set[str] = set()
    for operation in operations:

        @hypothesis_settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def answers_as_declared(case: Any) -> None:  # Any: schemathesis's Case
            response = case.call(base_url=url, headers=headers, timeout=10)
            case.validate_response(response, checks=_CHECKS)
            run.add(case.operation.label)

        answers_as_declared()
    return run


def test_every_answer_is_one_the_schema_declares(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, vault_keys=vault_key(), fetch_timeout=1, call_timeout=1)
    asyncio.run(upgrade(settings.database_url))
    with LoopbackServer(create_app(settings), lifespan=True) as server:
        local = LocalHost(server, settings)
        callers = {
            "admin": {"Authorization": f"Bearer {asyncio.run(local.token('root', admin=True))}"},
            # Not an admin: the admin-only operations must answer as declared (403), not fail.
            "user": {"Authorization": f"Bearer {asyncio.run(local.token('ada'))}"},
            # No token at all: every operation that needs one answers its declared 401.
            "anonymous": {},
        }
        raw = httpx.get(f"{server.url}/openapi.json", timeout=60).json()
        declared = {
            f"{method.upper()} {path}" for path, item in raw["paths"].items() for method in item
        }
        assert len(declared) >= 40
        for caller, headers in callers.items():
            run = _fuzz(server.url, raw, headers, _EXAMPLES[caller])
            # Every operation of the schema was called by every caller, none skipped.
            assert run == declared, (caller, declared - run)


def test_a_method_a_path_does_not_answer_is_405_with_allow(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, vault_keys=vault_key())
    asyncio.run(upgrade(settings.database_url))
    with LoopbackServer(create_app(settings), lifespan=True) as server:
        token = asyncio.run(LocalHost(server, settings).token("root", admin=True))
        paths = httpx.get(f"{server.url}/openapi.json", timeout=60).json()["paths"]
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as api:
            for template, declared in paths.items():
                path = re.sub(r"\{[^}]+\}", "1", template)
                allowed = {method.upper() for method in declared}
                for method in set(_METHODS) - allowed:
                    answer = api.request(method, path)
                    assert answer.status_code == 405, (method, path, answer.text)
                    allow = set(answer.headers["allow"].split(", ")) - {"HEAD"}
                    assert allow == allowed, (method, path)
                    assert answer.json()["error"]["type"] == "MethodNotAllowed"


def _documented_statuses() -> set[int]:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    table = text.split("## Errors", 1)[1].split("\n## ", 1)[0]
    return {int(found) for found in re.findall(r"^\| (\d{3}) \|", table, re.MULTILINE)}


_REFUSE = {
    "sqlite": (
        "CREATE TRIGGER refuse BEFORE INSERT ON conversations "
        "BEGIN SELECT RAISE(ABORT, 'refused'); END",
    ),
    "postgresql": (
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END $$",
        "CREATE TRIGGER refuse BEFORE INSERT ON conversations "
        "FOR EACH ROW EXECUTE FUNCTION refuse()",
    ),
}


async def _refuse_new_conversations(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for statement in _REFUSE[engine.dialect.name]:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.mark.anyio
async def test_each_documented_status_is_what_its_request_gets(hosted: Hosted) -> None:
    async with await hosted.user("ada") as ada, hosted.client() as anonymous:
        plugin_id = await hosted.add_plugin(ada, "plugin.example.com")
        body = {"content-type": "application/json"}
        produced: dict[int, httpx.Response] = {
            400: await ada.post("/api/conversations", content=b"{not json", headers=body),
            401: await anonymous.get("/api/me"),
            403: await ada.post(f"/api/plugins/{plugin_id}/banned", json={"value": True}),
            404: await ada.get("/api/plugins/999/operations"),
            405: await ada.put("/api/plugins"),
            # Not installed: a store rule refuses to enable it.
            409: await ada.post("/api/conversations", json={"plugin_ids": [plugin_id]}),
            413: await ada.post("/api/conversations", content=b" " * 1_000_001, headers=body),
            422: await ada.post("/api/plugins", json={}),
            502: await ada.post("/api/plugins", json={"url": "https://nowhere.invalid"}),
        }
        # A plugin whose "manifest" is its spec: unusable, with its findings (422 too).
        unusable = await ada.post(
            "/api/plugins", json={"url": "https://www.example.com/openapi.json"}
        )
        assert unusable.status_code == 422, unusable.text
        assert "PS1" in unusable.json()["error"]["message"]
        # The database itself refuses the write (a trigger): nothing is written.
        await _refuse_new_conversations(hosted.settings.database_url)
        produced[503] = await ada.post("/api/conversations", json={"title": "x"})
        assert (await ada.get("/api/conversations")).json()["conversations"] == []
    for status, answer in produced.items():
        assert answer.status_code == status, (status, answer.text)
        assert set(json.loads(answer.content)["error"]) >= {"type", "message"}
    assert _documented_statuses() == set(produced), "docs/api.md's error table drifted"
