"""`CallContext`: the user from the credential, the rest from the headers the host adds."""

from __future__ import annotations

import pytest

from powerstrip.sdk import ServiceAuth, UserAuth
from tests.sdk.todo_plugin import bearer, build, client

pytestmark = pytest.mark.anyio

KEYS = {"alice-key": "alice", "bob-key": "bob"}
FIELDS = {
    "conversation_id": "conversation-id",
    "ephemeral_user_id": "ephemeral-user-id",
    "subdivision": "subdivision-1-iso-code",
}


def user_auth() -> UserAuth:
    return UserAuth(validate=KEYS.get)


async def whoami(headers: dict[str, str]) -> dict[str, str | None]:
    async with client(build(auth=user_auth()).app()) as http:
        reply = await http.get("/whoami", headers=bearer("alice-key") | headers)
    assert reply.status_code == 200
    context: dict[str, str | None] = reply.json()
    return context


async def test_user_id_is_the_user_the_credential_belongs_to() -> None:
    async with client(build(auth=user_auth()).app()) as http:
        alice = (await http.get("/whoami", headers=bearer("alice-key"))).json()
        bob = (await http.get("/whoami", headers=bearer("bob-key"))).json()
    assert (alice["user_id"], bob["user_id"]) == ("alice", "bob")


async def test_a_service_key_has_no_user() -> None:
    async with client(build(auth=ServiceAuth(key="svc")).app()) as http:
        context = (await http.get("/whoami", headers=bearer("svc"))).json()
    assert context["user_id"] is None


async def test_user_id_never_comes_from_a_header() -> None:
    context = await whoami({"powerstrip-user-id": "mallory", "openai-user-id": "mallory"})
    assert context["user_id"] == "alice"


async def test_powerstrip_headers_fill_the_context() -> None:
    context = await whoami(
        {
            "powerstrip-conversation-id": "conv-1",
            "powerstrip-ephemeral-user-id": "eph-1",
            "powerstrip-subdivision-1-iso-code": "US-CA",
        }
    )
    assert context["conversation_id"] == "conv-1"
    assert context["ephemeral_user_id"] == "eph-1"
    assert context["subdivision"] == "US-CA"


@pytest.mark.parametrize(("field", "header"), FIELDS.items())
async def test_openai_headers_are_the_fallback(field: str, header: str) -> None:
    context = await whoami({f"openai-{header}": "from-openai"})
    assert context[field] == "from-openai"


@pytest.mark.parametrize(("field", "header"), FIELDS.items())
async def test_powerstrip_headers_win_over_openai_ones(field: str, header: str) -> None:
    context = await whoami({f"powerstrip-{header}": "ours", f"openai-{header}": "theirs"})
    assert context[field] == "ours"


@pytest.mark.parametrize(("field", "header"), FIELDS.items())
async def test_an_empty_powerstrip_header_falls_back_to_openai(field: str, header: str) -> None:
    context = await whoami({f"powerstrip-{header}": "", f"openai-{header}": "theirs"})
    assert context[field] == "theirs"


async def test_absent_headers_leave_the_fields_none() -> None:
    context = await whoami({})
    assert [context[field] for field in FIELDS] == [None, None, None]


async def test_the_client_address_is_the_callers() -> None:
    context = await whoami({})
    assert context["client_address"] == "127.0.0.1"


async def test_an_operation_without_a_context_parameter_still_enforces_auth() -> None:
    async with client(build(auth=user_auth()).app()) as http:
        anonymous = await http.delete("/todos/1")
        wrong = await http.delete("/todos/1", headers=bearer("carol-key"))
        known = await http.delete("/todos/1", headers=bearer("alice-key"))
    assert anonymous.status_code == wrong.status_code == 401
    # Past the auth check, the operation itself runs and finds nothing to delete.
    assert known.status_code == 404


async def test_each_user_sees_only_their_own_todos() -> None:
    async with client(build(auth=user_auth()).app()) as http:
        await http.post("/lists/1/todos", json={"text": "alice's"}, headers=bearer("alice-key"))
        await http.post("/lists/1/todos", json={"text": "bob's"}, headers=bearer("bob-key"))
        alice = (await http.get("/todos", headers=bearer("alice-key"))).json()
    assert [t["text"] for t in alice] == ["alice's"]
