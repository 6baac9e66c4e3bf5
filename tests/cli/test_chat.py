"""`powerstrip chat`: streamed answers, call lines and approval prompts, answered on stdin."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from powerstrip.testing import CallTool, Reply, ScriptedModelServer
from tests.cli.conftest import Cli


@pytest.fixture
def model(cli: Cli) -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(expected_api_key="model-key") as scripted:
        cli.env["POWERSTRIP_MODEL_BASE_URL"] = scripted.base_url
        cli.env["POWERSTRIP_MODEL_API_KEY"] = "model-key"
        yield scripted


def _conversation(output: str) -> str:
    found = re.search(r"New conversation (\S+)", output)
    assert found, output
    return found.group(1)


def test_a_call_is_approved_always_then_runs_without_asking(
    cli: Cli, model: ScriptedModelServer
) -> None:
    cli("plugins", "install", "https://plugin.example.com")
    model.push(
        CallTool("todo__add_todo", {"username": "dev", "todo": "buy milk"}, id="call-1"),
        Reply("Added buy milk to your list."),
        CallTool("todo__add_todo", {"username": "dev", "todo": "eggs"}, id="call-2"),
        Reply("Added eggs too."),
    )
    result = cli("chat", "--plugin", "todo", input="add buy milk\na\nadd eggs\n/quit\n")
    out = result.stdout
    assert "Plugins: todo (1)" in out
    assert '? Allow todo__add_todo {"username": "dev", "todo": "buy milk"}' in out
    assert "a: always allow this operation from now on\n  [y/n/a] a\n" in out
    assert '→ todo__add_todo {"username": "dev", "todo": "buy milk"}' in out
    assert re.search(r"← 200 ok \d+ ms", out)
    assert "assistant> Added buy milk to your list." in out
    # Allowed always: the second add asks nothing.
    assert out.count("? Allow") == 1
    assert '→ todo__add_todo {"username": "dev", "todo": "eggs"}' in out
    assert "assistant> Added eggs too." in out
    assert f"powerstrip chat -c {_conversation(out)}" in out
    # The answer streamed: the model sent it word by word, and it arrived as one line.
    assert model.requests[1]["stream"] is True

    listed = cli("chat", "--list")
    assert _conversation(out) in listed.stdout
    assert "add buy milk" in listed.stdout


def test_a_declined_call_is_not_made(cli: Cli, model: ScriptedModelServer) -> None:
    cli("plugins", "install", "https://plugin.example.com")
    model.push(
        CallTool("todo__delete_todo", {"username": "dev", "todo_id": 1}, id="call-1"),
        Reply("I left your list alone."),
    )
    result = cli("chat", "-p", "1", input="delete todo 1\nmaybe\nn\n")
    out = result.stdout
    assert "? Allow todo__delete_todo" in out
    assert "a: always" not in out  # consequential: asked every time
    assert "  [y/n] maybe\n  Answer y, n.\n  [y/n] n\n" in out
    assert "→ todo__delete_todo" not in out
    assert "assistant> I left your list alone." in out
    tool_message = model.requests[1]["messages"][-1]
    assert tool_message["role"] == "tool"
    assert "declined" in tool_message["content"].lower()


def test_a_turn_left_waiting_is_taken_up_again(cli: Cli, model: ScriptedModelServer) -> None:
    cli("plugins", "install", "https://plugin.example.com")
    model.push(CallTool("todo__list_todos", {"username": "dev"}, id="call-1"))
    first = cli("chat", "-p", "1", input="what is on my list?\n")  # EOF at the prompt
    assert "The turn waits for your decision" in first.stdout
    chat_id = _conversation(first.stdout)

    model.push(Reply("Your list is empty."))
    second = cli("chat", "-c", chat_id, input="y\n")
    out = second.stdout
    assert "This conversation waits for your decision" in out
    assert "? Allow todo__list_todos" in out
    assert re.search(r"← 200 ok", out)
    assert "assistant> Your list is empty." in out
    calls = cli("chat", "-c", chat_id, input="/calls\n").stdout
    assert re.search(r"todo__list_todos +│ 200 +│ ok", calls)


def test_a_model_failure_is_shown_and_the_chat_goes_on(
    cli: Cli, model: ScriptedModelServer
) -> None:
    cli("plugins", "install", "https://plugin.example.com")
    model.push(Reply("Hello!"))
    result = cli("chat", "-p", "1", input="hi\nagain\n")
    assert "assistant> Hello!" in result.stdout
    assert "error: the model failed" in result.stdout  # the script ran out
    assert "Bye." in result.stdout


def test_help_explains_the_commands_approvals_and_the_enabled_plugins(cli: Cli) -> None:
    cli("plugins", "install", "https://plugin.example.com")
    out = cli("chat", "-p", "1", input="/help\n").stdout
    help_text = out.split("you> ", 1)[1]
    for expected in ("/calls", "/quit", "a   make it, and always allow", "/api/grants"):
        assert expected in help_text, expected
    assert "todo" in help_text, "the enabled plugins are listed again"
