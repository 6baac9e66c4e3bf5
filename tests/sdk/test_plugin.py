"""`Plugin`: the manifest it serves, the rules it will not break, CORS and the allowlist."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from powerstrip.findings import Severity
from powerstrip.plugin import parse_manifest
from powerstrip.sdk import Plugin, ServiceAuth
from powerstrip.sdk.assets import default_logo_png
from powerstrip.testing import LoopbackServer, TestCA
from tests.conftest import ServeApp
from tests.sdk.todo_plugin import BASE, bearer, build, client

pytestmark = pytest.mark.anyio

# A tiny logo keeps the property test fast: the default 512×512 one costs ~35 ms to draw.
TINY_PNG = default_logo_png("tiny", size=1)


def error_findings(manifest: object) -> list[str]:
    report = parse_manifest(manifest)
    return [str(f) for f in report.findings if f.severity is Severity.ERROR]


# -- the manifest -------------------------------------------------------------------------------


@pytest.mark.parametrize("base", ["https://plugin.example.com", "https://todo.acme.dev:8443"])
async def test_manifest_names_the_host_the_request_came_to(base: str) -> None:
    async with client(build().app(), base_url=base) as http:
        reply = await http.get("/.well-known/ai-plugin.json")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    manifest = reply.json()
    assert manifest["api"] == {"type": "openapi", "url": f"{base}/openapi.yaml"}
    assert manifest["logo_url"] == f"{base}/logo.png"
    assert manifest["legal_info_url"] == f"{base}/legal"


async def test_served_manifest_has_every_field_and_no_error_finding() -> None:
    async with client(build().app()) as http:
        manifest = (await http.get("/.well-known/ai-plugin.json")).json()
    assert manifest == {
        "schema_version": "v1",
        "name_for_human": "TODO List",
        "name_for_model": "todo",
        "description_for_human": "Manage your TODO list.",
        "description_for_model": "Keeps the user's TODO list: list, add and delete TODOs.",
        "auth": {"type": "none"},
        "api": {"type": "openapi", "url": f"{BASE}/openapi.yaml"},
        "logo_url": f"{BASE}/logo.png",
        "contact_email": "support@example.com",
        "legal_info_url": f"{BASE}/legal",
    }
    assert error_findings(manifest) == []


async def test_an_authors_own_legal_page_is_kept() -> None:
    plugin = build(legal_info_url="https://example.com/terms")
    async with client(plugin.app()) as http:
        manifest = (await http.get("/.well-known/ai-plugin.json")).json()
    assert manifest["legal_info_url"] == "https://example.com/terms"


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("name_for_human", "A Name Far Too Long!!", ["name_for_human", "21", "20"]),
        ("name_for_model", "t" * 51, ["name_for_model", "51", "50"]),
        ("name_for_model", "todo-list", ["name_for_model", "letters, digits and _", "'-'"]),
        ("description_for_human", "d" * 101, ["description_for_human", "100"]),
        ("description_for_model", "d" * 8001, ["description_for_model", "8000"]),
    ],
)
def test_a_plugin_that_breaks_a_manifest_limit_is_refused_naming_field_and_limit(
    field: str, value: str, words: list[str]
) -> None:
    with pytest.raises(ValueError, match="would break the platform's rules") as raised:
        build(**{field: value})
    for word in words:
        assert word in str(raised.value)


def test_names_exactly_at_the_limits_are_accepted() -> None:
    plugin = build(name_for_human="h" * 20, name_for_model="m" * 50, logo_png=TINY_PNG)
    assert error_findings(plugin.manifest(BASE)) == []


def test_operations_cannot_be_added_once_the_app_is_built() -> None:
    plugin = build()
    plugin.app()

    with pytest.raises(RuntimeError, match="before calling app"):

        @plugin.get("/late")
        def late() -> str:
            return "too late"


def test_app_is_built_once() -> None:
    plugin = build()
    assert plugin.app() is plugin.app()


@settings(max_examples=60, deadline=None)
@given(
    name_for_human=st.text(min_size=1, max_size=20).filter(str.strip),
    name_for_model=st.from_regex(r"[A-Za-z0-9_]{1,50}", fullmatch=True),
    description_for_human=st.text(min_size=1, max_size=100).filter(str.strip),
    description_for_model=st.text(min_size=1, max_size=8000).filter(str.strip),
)
def test_any_names_and_descriptions_within_the_limits_build_a_compliant_plugin(
    name_for_human: str,
    name_for_model: str,
    description_for_human: str,
    description_for_model: str,
) -> None:
    plugin = Plugin(
        name_for_human=name_for_human,
        name_for_model=name_for_model,
        description_for_human=description_for_human,
        description_for_model=description_for_model,
        contact_email="support@example.com",
        logo_png=TINY_PNG,
    )
    manifest = plugin.manifest(BASE)
    assert manifest["name_for_model"] == name_for_model
    assert error_findings(manifest) == []


# -- CORS ------------------------------------------------------------------------------------


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_cors_preflight_from_the_host_origin_is_allowed() -> None:
    plugin = build(host_origins=["https://chat.example.com"])
    async with client(plugin.app()) as http:
        reply = await http.options("/lists/1/todos", headers=preflight("https://chat.example.com"))
    assert reply.status_code == 200
    assert reply.headers["access-control-allow-origin"] == "https://chat.example.com"
    assert "POST" in reply.headers["access-control-allow-methods"]


async def test_cors_preflight_from_another_origin_gets_no_allow_origin() -> None:
    plugin = build(host_origins=["https://chat.example.com"])
    async with client(plugin.app()) as http:
        reply = await http.options("/lists/1/todos", headers=preflight("https://evil.example.net"))
    assert "access-control-allow-origin" not in reply.headers


async def test_cors_headers_are_on_the_actual_answer_for_the_host_origin() -> None:
    plugin = build(host_origins=["https://chat.example.com"])
    async with client(plugin.app()) as http:
        reply = await http.get("/todos", headers={"Origin": "https://chat.example.com"})
    assert reply.status_code == 200
    assert reply.headers["access-control-allow-origin"] == "https://chat.example.com"


async def test_without_host_origins_no_origin_is_allowed() -> None:
    async with client(build().app()) as http:
        reply = await http.options("/todos", headers=preflight("https://chat.example.com"))
    assert "access-control-allow-origin" not in reply.headers


# -- the caller allowlist --------------------------------------------------------------------


async def test_a_caller_outside_the_allowlist_is_refused_with_403_json() -> None:
    plugin = build(allow_callers=["10.0.0.0/8"])
    async with client(plugin.app()) as http:
        reply = await http.get("/todos")
    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "forbidden"
    assert "127.0.0.1" in reply.json()["error"]["message"]


async def test_a_caller_inside_the_allowlist_is_served() -> None:
    plugin = build(allow_callers=["192.0.2.0/24", "127.0.0.0/8"])
    async with client(plugin.app()) as http:
        reply = await http.get("/todos")
    assert reply.status_code == 200
    assert reply.json() == []


async def test_the_allowlist_does_not_hide_the_manifest() -> None:
    # The host must be able to discover a plugin before it is allowed to call it.
    plugin = build(allow_callers=["10.0.0.0/8"])
    async with client(plugin.app()) as http:
        reply = await http.get("/.well-known/ai-plugin.json")
    assert reply.status_code == 200


# -- over real HTTPS -------------------------------------------------------------------------


def httpx_client(test_ca: TestCA) -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=test_ca.client_context(), timeout=10)


@pytest.fixture(scope="module")
def served(serve_app: ServeApp) -> LoopbackServer:
    plugin = build(auth=ServiceAuth(key="svc-key"), allow_callers=["127.0.0.0/8"])
    return serve_app(plugin.app())


@pytest.fixture(scope="module")
def served_elsewhere_only(serve_app: ServeApp) -> LoopbackServer:
    return serve_app(build(allow_callers=["10.0.0.0/8"]).app())


@pytest.mark.network
async def test_over_https_the_manifest_names_the_served_host_and_passes_parse(
    served: LoopbackServer, test_ca: TestCA
) -> None:
    base = f"https://localhost:{served.port}"
    async with httpx_client(test_ca) as http:
        manifest = (await http.get(f"{base}/.well-known/ai-plugin.json")).json()
        logo = await http.get(manifest["logo_url"])
        spec = await http.get(manifest["api"]["url"])
    assert manifest["api"]["url"] == f"{base}/openapi.yaml"
    assert error_findings(manifest) == []
    assert logo.status_code == 200
    assert logo.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert spec.status_code == 200
    assert f"url: {base}" in spec.text


@pytest.mark.network
async def test_over_https_an_operation_answers_an_allowed_caller_with_the_key(
    served: LoopbackServer, test_ca: TestCA
) -> None:
    async with httpx_client(test_ca) as http:
        added = await http.post(
            f"https://localhost:{served.port}/lists/7/todos",
            json={"text": "buy milk"},
            headers=bearer("svc-key"),
        )
        refused = await http.get(f"https://localhost:{served.port}/todos")
    assert added.status_code == 200
    assert added.json() == {"id": 1, "list_id": 7, "text": "buy milk", "owner": None}
    assert refused.status_code == 401


@pytest.mark.network
async def test_over_https_a_loopback_caller_outside_the_allowlist_gets_403(
    served_elsewhere_only: LoopbackServer, test_ca: TestCA
) -> None:
    async with httpx_client(test_ca) as http:
        reply = await http.get(f"https://127.0.0.1:{served_elsewhere_only.port}/todos")
    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "forbidden"
