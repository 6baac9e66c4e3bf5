"""The user's installed plugins as server-side tools of `/v1`, through the official `openai` client:
a call that needs approval ends the completion with a link and runs nothing; once the user
approved ("always allow"), chat completions and responses call the plugin on the host."""

from __future__ import annotations

import json

import openai
import pytest

from powerstrip.testing import CallTool, Reply
from tests.server.conftest import Hosted
from tests.v1.conftest import make_token

pytestmark = pytest.mark.anyio


async def _client(hosted: Hosted, username: str) -> openai.AsyncOpenAI:
    token = await make_token(hosted.settings, username, admin=True)
    return openai.AsyncOpenAI(
        base_url=f"{hosted.server.url}/v1",
        api_key=token,
        max_retries=0,
        http_client=openai.DefaultAsyncHttpxClient(verify=hosted.tls),
    )


async def test_plugins_run_on_the_host_after_approval(hosted: Hosted) -> None:
    async with await hosted.user("ada", admin=True) as api:
        plugin_id = await hosted.add_plugin(api, "plugin.example.com")
        assert (await api.post(f"/api/plugins/{plugin_id}/install")).status_code == 200
        operations = (await api.get(f"/api/plugins/{plugin_id}/operations")).json()["operations"]
        names = {op["operation_id"]: op["function_name"] for op in operations}
        get_todos = names["list_todos"]
        client = await _client(hosted, "ada")

        # 1. The call needs the user's yes: the completion ends saying so, and runs nothing.
        hosted.model.push(CallTool(get_todos, {"username": "ada"}, id="call-p1"))
        paused = await client.chat.completions.create(
            model="any-model", messages=[{"role": "user", "content": "What is on my list?"}]
        )
        text = paused.choices[0].message.content or ""
        extension = paused.model_extra["powerstrip"]  # type: ignore[index]
        [approval] = extension["approvals"]
        assert approval["call_id"] == "call-p1"
        assert approval["approve_url"].endswith(
            f"/api/conversations/{extension['conversation_id']}/approvals"
        )
        assert "needs your approval" in text
        assert approval["approve_url"] in text
        assert hosted.recorders["plugin.example.com"].api_calls() == []
        assert get_todos in [t["function"]["name"] for t in hosted.model.requests[-1]["tools"]]

        # 1b. In a response, the same wait is an mcp_approval_request item; an
        # mcp_approval_response in the next response lets the call run.
        plugins_tool = {"type": "mcp", "server_label": "powerstrip", "server_url": "powerstrip:"}
        hosted.model.push(CallTool(get_todos, {"username": "ada"}, id="call-r0"))
        asking = await client.responses.create(
            model="any-model",
            input="What is on my list?",
            tools=[plugins_tool],  # type: ignore[list-item]
        )
        [request] = asking.output
        assert request.type == "mcp_approval_request"
        assert (request.id, request.name) == ("call-r0", get_todos)  # type: ignore[union-attr]
        assert hosted.recorders["plugin.example.com"].api_calls() == []
        hosted.model.push(Reply("Nothing on it."))
        approved = await client.responses.create(
            model="any-model",
            previous_response_id=asking.id,
            input=[
                {"type": "mcp_approval_response", "approval_request_id": "call-r0", "approve": True}
            ],
            tools=[plugins_tool],  # type: ignore[list-item]
        )
        assert [item.type for item in approved.output] == ["mcp_call", "message"]
        assert approved.output_text == "Nothing on it."
        assert len(hosted.recorders["plugin.example.com"].api_calls()) == 1

        # 2. The user approves it at the link, allowing the operation from now on.
        hosted.model.push(Reply("Your list is empty."))
        decided = await api.post(
            approval["approve_url"].removeprefix(hosted.settings.public_url),
            json={"decisions": {"call-p1": True}, "always_allow": ["call-p1"], "stream": False},
        )
        assert decided.status_code == 200, decided.text
        assert len(hosted.recorders["plugin.example.com"].api_calls()) == 2

        # 3. Now a completion calls it on the host, and says so in its extension field.
        hosted.model.push(CallTool(get_todos, {"username": "ada"}), Reply("Still empty."))
        completion = await client.chat.completions.create(
            model="any-model",
            messages=[{"role": "user", "content": "And now?"}],
            extra_body={"powerstrip": {"plugins": [plugin_id]}},
        )
        assert completion.choices[0].message.content == "Still empty."
        [call] = completion.model_extra["powerstrip"]["plugin_calls"]  # type: ignore[index]
        assert (call["function_name"], call["status"], call["status_code"]) == (
            get_todos,
            "ok",
            200,
        )
        assert len(hosted.recorders["plugin.example.com"].api_calls()) == 3

        # 4. A response with the plugins as an mcp tool: an mcp_call item with the output.
        hosted.model.push(CallTool(get_todos, {"username": "ada"}, id="call-p3"), Reply("Empty."))
        response = await client.responses.create(
            model="any-model",
            input="Check my list",
            tools=[{"type": "mcp", "server_label": "powerstrip", "server_url": "powerstrip:"}],  # type: ignore[list-item]
        )
        mcp_call, message = response.output
        assert message.type == "message"
        assert mcp_call.type == "mcp_call"
        assert (mcp_call.name, mcp_call.status) == (get_todos, "completed")  # type: ignore[union-attr]
        assert json.loads(mcp_call.output or "null") is not None  # type: ignore[union-attr]
        assert response.output_text == "Empty."
        assert len(hosted.recorders["plugin.example.com"].api_calls()) == 4

        # 5. Without the extension field's plugins, or an mcp tool, no plugin is offered.
        hosted.model.push(Reply("No tools."))
        await client.chat.completions.create(
            model="any-model",
            messages=[{"role": "user", "content": "Hi"}],
            extra_body={"powerstrip": {"plugins": []}},
        )
        assert "tools" not in hosted.model.requests[-1]
        await client.close()


async def test_a_response_resumed_by_an_approval_samples_as_its_request_asks(
    hosted: Hosted,
) -> None:
    async with await hosted.user("ada", admin=True) as api:
        plugin_id = await hosted.add_plugin(api, "plugin.example.com")
        assert (await api.post(f"/api/plugins/{plugin_id}/install")).status_code == 200
        operations = (await api.get(f"/api/plugins/{plugin_id}/operations")).json()["operations"]
        get_todos = {op["operation_id"]: op["function_name"] for op in operations}["list_todos"]
        client = await _client(hosted, "ada")
        plugins_tool = {"type": "mcp", "server_label": "powerstrip", "server_url": "powerstrip:"}
        hosted.model.push(CallTool(get_todos, {"username": "ada"}, id="call-s1"))
        asking = await client.responses.create(
            model="any-model",
            input="What is on my list?",
            tools=[plugins_tool],  # type: ignore[list-item]
            temperature=1.5,
        )
        assert hosted.model.requests[-1]["temperature"] == 1.5
        hosted.model.push(Reply('{"items": []}'))
        approved = await client.responses.create(
            model="any-model",
            previous_response_id=asking.id,
            input=[
                {"type": "mcp_approval_response", "approval_request_id": "call-s1", "approve": True}
            ],
            tools=[plugins_tool],  # type: ignore[list-item]
            temperature=0.2,
            top_p=0.5,
            max_output_tokens=40,
            text={"format": {"type": "json_object"}},
        )
        assert approved.output_text == '{"items": []}'
        assert len(hosted.recorders["plugin.example.com"].api_calls()) == 1
        # The completion after the approved call has the approving request's options.
        after = hosted.model.requests[-1]
        assert after["messages"][-1]["role"] == "tool"
        sent = {key: after.get(key) for key in ("temperature", "top_p", "max_completion_tokens")}
        assert sent == {"temperature": 0.2, "top_p": 0.5, "max_completion_tokens": 40}
        assert after["response_format"] == {"type": "json_object"}
        await client.close()


async def test_a_completion_approved_at_its_link_samples_as_its_request_asked(
    hosted: Hosted,
) -> None:
    async with await hosted.user("cleo", admin=True) as api:
        plugin_id = await hosted.add_plugin(api, "plugin.example.com")
        assert (await api.post(f"/api/plugins/{plugin_id}/install")).status_code == 200
        operations = (await api.get(f"/api/plugins/{plugin_id}/operations")).json()["operations"]
        get_todos = {op["operation_id"]: op["function_name"] for op in operations}["list_todos"]
        client = await _client(hosted, "cleo")
        hosted.model.push(CallTool(get_todos, {"username": "cleo"}, id="call-k1"))
        paused = await client.chat.completions.create(
            model="any-model",
            messages=[{"role": "user", "content": "What is on my list?"}],
            temperature=0.3,
            max_tokens=55,
            stop=["END"],
        )
        [approval] = paused.model_extra["powerstrip"]["approvals"]  # type: ignore[index]
        # The person approves at the host's link, which brings no sampling options.
        hosted.model.push(Reply("Your list is empty."))
        decided = await api.post(
            approval["approve_url"].removeprefix(hosted.settings.public_url),
            json={"decisions": {"call-k1": True}, "stream": False},
        )
        assert decided.status_code == 200, decided.text
        after = hosted.model.requests[-1]
        sent = {key: after.get(key) for key in ("temperature", "max_completion_tokens", "stop")}
        assert sent == {"temperature": 0.3, "max_completion_tokens": 55, "stop": ["END"]}
        await client.close()


async def test_a_response_resumed_by_an_approval_can_call_the_client_s_own_function(
    hosted: Hosted,
) -> None:
    async with await hosted.user("dora", admin=True) as api:
        plugin_id = await hosted.add_plugin(api, "plugin.example.com")
        assert (await api.post(f"/api/plugins/{plugin_id}/install")).status_code == 200
        operations = (await api.get(f"/api/plugins/{plugin_id}/operations")).json()["operations"]
        get_todos = {op["operation_id"]: op["function_name"] for op in operations}["list_todos"]
        client = await _client(hosted, "dora")
        tools = [
            {"type": "mcp", "server_label": "powerstrip", "server_url": "powerstrip:"},
            {
                "type": "function",
                "name": "notify_phone",
                "description": "Send a note to the user's phone",
                "parameters": {"type": "object", "properties": {"text": {"type": "string"}}},
            },
        ]
        hosted.model.push(CallTool(get_todos, {"username": "dora"}, id="call-f1"))
        asking = await client.responses.create(
            model="any-model",
            input="Check my list and send it to my phone",
            tools=tools,  # type: ignore[arg-type]
        )
        assert [item.type for item in asking.output] == ["mcp_approval_request"]
        # After the approved call, the model calls the client's function: the response ends
        # with it, for the client to run.
        hosted.model.push(CallTool("notify_phone", {"text": "empty list"}, id="call-f2"))
        approved = await client.responses.create(
            model="any-model",
            previous_response_id=asking.id,
            input=[
                {"type": "mcp_approval_response", "approval_request_id": "call-f1", "approve": True}
            ],
            tools=tools,  # type: ignore[arg-type]
        )
        offered = [t["function"]["name"] for t in hosted.model.requests[-1]["tools"]]
        assert "notify_phone" in offered
        function_calls = [item for item in approved.output if item.type == "function_call"]
        assert [(c.name, c.call_id) for c in function_calls] == [("notify_phone", "call-f2")]  # type: ignore[union-attr]
        assert len(hosted.recorders["plugin.example.com"].api_calls()) == 1
        await client.close()
