"""The four auth schemes: the manifest entry each serves, and who each lets in."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from powerstrip.findings import Severity
from powerstrip.plugin import parse_manifest
from powerstrip.sdk import NoAuth, OAuth, PluginAuth, ServiceAuth, UserAuth
from powerstrip.testing import LoopbackServer, TestCA
from tests.conftest import ServeApp
from tests.sdk.todo_plugin import BASE, build, client

pytestmark = pytest.mark.anyio

USER_KEYS = {"alice-key": "alice", "bob-key": "bob"}
ACCESS_TOKENS = {"at-alice": "alice"}


def user_for_key(key: str) -> str | None:
    return USER_KEYS.get(key)


async def user_for_key_async(key: str) -> str | None:
    return USER_KEYS.get(key)


def user_for_token(token: str) -> str | None:
    return ACCESS_TOKENS.get(token)


@dataclass(frozen=True)
class Scheme:
    """A scheme, the header it accepts, the user that header is, and its challenge."""

    id: str
    auth: PluginAuth
    good: str
    user: str | None
    challenge: str
    wrong_scheme: str
    wrong_value: str


SCHEMES = [
    Scheme(
        "service-bearer",
        ServiceAuth(key="svc-key"),
        "Bearer svc-key",
        None,
        "Bearer",
        "Basic svc-key",
        "Bearer svc-kez",
    ),
    Scheme(
        "service-basic",
        ServiceAuth(key="dXNlcjpwYXNz", authorization_type="basic"),
        "Basic dXNlcjpwYXNz",
        None,
        "Basic",
        "Bearer dXNlcjpwYXNz",
        "Basic dXNlcjpwYXNZ",
    ),
    Scheme(
        "user-sync",
        UserAuth(validate=user_for_key),
        "Bearer alice-key",
        "alice",
        "Bearer",
        "Basic alice-key",
        "Bearer carol-key",
    ),
    Scheme(
        "user-async",
        UserAuth(validate=user_for_key_async),
        "Bearer bob-key",
        "bob",
        "Bearer",
        "Basic bob-key",
        "Bearer carol-key",
    ),
    Scheme(
        "user-basic",
        UserAuth(validate=user_for_key, authorization_type="basic"),
        "Basic alice-key",
        "alice",
        "Basic",
        "Bearer alice-key",
        "Basic carol-key",
    ),
    Scheme(
        "oauth",
        OAuth(
            validate=user_for_token,
            client_url="/oauth/authorize",
            authorization_url="/oauth/token",
            scope="todos",
        ),
        "Bearer at-alice",
        "alice",
        "Bearer",
        "Basic at-alice",
        "Bearer at-expired",
    ),
]


@pytest.fixture(params=SCHEMES, ids=[s.id for s in SCHEMES])
def scheme(request: pytest.FixtureRequest) -> Scheme:
    result: Scheme = request.param
    return result


async def test_the_right_credential_is_accepted_as_its_user(scheme: Scheme) -> None:
    async with client(build(auth=scheme.auth).app()) as http:
        reply = await http.get("/whoami", headers={"Authorization": scheme.good})
    assert reply.status_code == 200
    assert reply.json()["user_id"] == scheme.user


async def test_the_scheme_name_is_case_insensitive(scheme: Scheme) -> None:
    name, _, value = scheme.good.partition(" ")
    async with client(build(auth=scheme.auth).app()) as http:
        reply = await http.get("/whoami", headers={"Authorization": f"{name.upper()} {value}"})
    assert reply.status_code == 200


@pytest.mark.parametrize("refusal", ["missing", "wrong_scheme", "wrong_value", "empty_value"])
async def test_a_bad_credential_is_refused_with_401_json_and_a_challenge(
    scheme: Scheme, refusal: str
) -> None:
    headers = {
        "missing": {},
        "wrong_scheme": {"Authorization": scheme.wrong_scheme},
        "wrong_value": {"Authorization": scheme.wrong_value},
        "empty_value": {"Authorization": scheme.challenge + " "},
    }[refusal]
    async with client(build(auth=scheme.auth).app()) as http:
        reply = await http.get("/whoami", headers=headers)
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == scheme.challenge
    assert reply.headers["content-type"] == "application/json"
    error = reply.json()["error"]
    assert error["code"] == "unauthorized"
    assert error["message"]
    # The refusal never echoes the credential that was presented.
    assert scheme.wrong_value.partition(" ")[2] not in error["message"]


async def test_no_auth_lets_anyone_call_with_or_without_a_header() -> None:
    async with client(build(auth=NoAuth()).app()) as http:
        bare = await http.get("/whoami")
        with_header = await http.get("/whoami", headers={"Authorization": "Bearer anything"})
    assert bare.status_code == with_header.status_code == 200
    assert bare.json()["user_id"] is None


async def test_plugin_files_are_served_without_credentials(scheme: Scheme) -> None:
    # The host fetches these before any user has a key.
    async with client(build(auth=scheme.auth).app()) as http:
        for path in ("/.well-known/ai-plugin.json", "/openapi.yaml", "/logo.png", "/legal"):
            assert (await http.get(path)).status_code == 200, path


# -- the manifest's auth entry ---------------------------------------------------------------


async def served_auth(auth: PluginAuth, base_url: str = BASE) -> dict[str, object]:
    async with client(build(auth=auth).app(), base_url=base_url) as http:
        manifest = (await http.get("/.well-known/ai-plugin.json")).json()
    errors = [f for f in parse_manifest(manifest).findings if f.severity is Severity.ERROR]
    assert errors == []
    entry: dict[str, object] = manifest["auth"]
    return entry


async def test_manifest_auth_for_no_auth() -> None:
    assert await served_auth(NoAuth()) == {"type": "none"}


async def test_manifest_auth_for_a_service_key_carries_tokens_but_never_the_key() -> None:
    auth = ServiceAuth(
        key="svc-secret-key",
        authorization_type="basic",
        verification_tokens={"powerstrip": "vt-123", "openai": "vt-456"},
    )
    entry = await served_auth(auth)
    assert entry == {
        "type": "service_http",
        "authorization_type": "basic",
        "verification_tokens": {"powerstrip": "vt-123", "openai": "vt-456"},
    }
    async with client(build(auth=auth).app()) as http:
        for path in ("/.well-known/ai-plugin.json", "/openapi.yaml", "/openapi.json", "/legal"):
            assert "svc-secret-key" not in (await http.get(path)).text, path


def test_a_service_key_is_not_shown_in_repr() -> None:
    assert "svc-secret-key" not in repr(ServiceAuth(key="svc-secret-key"))


async def test_manifest_auth_for_user_keys() -> None:
    entry = await served_auth(UserAuth(validate=user_for_key, authorization_type="basic"))
    assert entry == {"type": "user_http", "authorization_type": "basic"}


async def test_manifest_auth_for_oauth_makes_relative_urls_absolute_on_the_request_host() -> None:
    auth = OAuth(
        validate=user_for_token,
        client_url="/oauth/authorize",
        authorization_url="/oauth/token",
        scope="todos:read todos:write",
        authorization_content_type="application/x-www-form-urlencoded",
        verification_tokens={"powerstrip": "vt-789"},
    )
    entry = await served_auth(auth, base_url="https://todo.acme.dev")
    assert entry == {
        "type": "oauth",
        "client_url": "https://todo.acme.dev/oauth/authorize",
        "scope": "todos:read todos:write",
        "authorization_url": "https://todo.acme.dev/oauth/token",
        "authorization_content_type": "application/x-www-form-urlencoded",
        "verification_tokens": {"powerstrip": "vt-789"},
    }


async def test_manifest_auth_for_oauth_keeps_absolute_urls() -> None:
    auth = OAuth(
        validate=user_for_token,
        client_url="https://auth.example.com/authorize",
        authorization_url="https://auth.example.com/token",
    )
    entry = await served_auth(auth)
    assert entry["client_url"] == "https://auth.example.com/authorize"
    assert entry["authorization_url"] == "https://auth.example.com/token"


# -- over real HTTPS -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def user_auth_server(serve_app: ServeApp) -> LoopbackServer:
    return serve_app(build(auth=UserAuth(validate=user_for_key_async)).app())


@pytest.mark.network
async def test_over_https_a_user_key_is_accepted_and_a_wrong_one_refused(
    user_auth_server: LoopbackServer, test_ca: TestCA
) -> None:
    url = f"https://localhost:{user_auth_server.port}/whoami"
    async with httpx.AsyncClient(verify=test_ca.client_context(), timeout=10) as http:
        accepted = await http.get(url, headers={"Authorization": "Bearer bob-key"})
        refused = await http.get(url, headers={"Authorization": "Bearer mallory-key"})
    assert accepted.status_code == 200
    assert accepted.json()["user_id"] == "bob"
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert refused.json()["error"]["code"] == "unauthorized"
