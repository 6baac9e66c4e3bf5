"""`powerstrip plugins`: add, list, install, refresh, enable and uninstall, as one user."""

from __future__ import annotations

import re

from powerstrip.examples import issue_user_key
from tests.cli.conftest import Cli


def _id(output: str) -> str:
    found = re.search(r"\(id (\d+),", output)
    assert found, output
    return found.group(1)


def test_add_list_install_and_uninstall_a_plugin(cli: Cli) -> None:
    added = cli("plugins", "add", "https://plugin.example.com")
    assert "Added todo (id 1, auth none)" in added.stdout
    assert "powerstrip plugins install 1" in added.stdout

    listed = cli("plugins", "list")
    assert re.search(r"│ 1 +│ todo +│ none +│ +│", listed.stdout), listed.stdout

    installed = cli("plugins", "install", "todo")
    assert "Installed todo (id 1, auth none) for dev." in installed.stdout
    assert "todo__add_todo" in installed.stdout
    assert "powerstrip chat --plugin 1" in installed.stdout
    assert re.search(r"│ 1 +│ todo +│ none +│ yes", cli("plugins", "list", "--installed").stdout)

    operations = cli("plugins", "operations", "1")
    assert re.search(r"todo__delete_todo +│ DELETE +│ \S+ +│ asks every time", operations.stdout)
    assert re.search(r"todo__add_todo +│ POST +│ \S+ +│ asks, may be always", operations.stdout)

    gone = cli("plugins", "uninstall", "1")
    assert "Uninstalled plugin 1" in gone.stdout
    assert "No plugins" not in cli("plugins", "list").stdout
    assert "No plugins" in cli("plugins", "list", "--installed").stdout
    again = cli("plugins", "uninstall", "1", code=1)
    assert "error:" in again.stderr
    assert "not installed" in again.stderr


def test_installing_a_url_adds_the_plugin_first(cli: Cli) -> None:
    result = cli("plugins", "install", "https://plugin.example.com")
    assert "Added todo (id 1, auth none)" in result.stdout
    assert "Installed todo" in result.stdout


def test_a_user_key_is_asked_without_echo_and_never_printed(cli: Cli) -> None:
    cli("plugins", "add", "https://www.example.com")
    key = issue_user_key(cli.configs["www.example.com"], "dev")
    result = cli("plugins", "install", "todo_user", input=key + "\n")
    assert "Your key for todo_user (not shown)" in result.output
    assert "Installed todo_user" in result.stdout
    assert key not in result.output

    piped = cli("plugins", "install", "todo_user", "--key-stdin", input=key + "\n")
    assert "Installed todo_user" in piped.stdout
    empty = cli("plugins", "install", "todo_user", "--key-stdin", input="\n", code=1)
    assert "needs your own key" in empty.stderr


def test_a_refused_plugin_is_reported_without_a_traceback(cli: Cli) -> None:
    result = cli("plugins", "add", "https://nowhere.invalid", code=1)
    assert result.stderr.startswith("error:")
    assert "No plugins" in cli("plugins", "list").stdout


def test_refresh_prints_what_changed(cli: Cli) -> None:
    cli("plugins", "install", "https://plugin.example.com")
    assert "Plugin 1: nothing changed." in cli("plugins", "refresh", "1").stdout

    cli.serve("plugin.example.com", "todo-user")  # the developer redeploys with user keys
    changed = cli("plugins", "refresh", "todo").stdout
    assert "Plugin 1 changed:" in changed
    assert "- DELETE /todos/{username}/{todo_id}" in changed
    assert "+ DELETE /todos/{todo_id}" in changed
    assert "auth changed: 1 install(s) must install it again" in changed
    assert re.search(r"│ 1 +│ todo_user +│ user_http +│ re-consent", cli("plugins", "list").stdout)


def test_enable_and_disable_in_a_conversation(cli: Cli) -> None:
    cli("plugins", "install", "https://plugin.example.com")
    cli("plugins", "install", "https://www.example.com", "--key-stdin", input="k\n")
    started = cli("chat", "--plugin", "1", input="")
    conversation = re.search(r"New conversation (\S+)", started.stdout)
    assert conversation, started.stdout
    chat_id = conversation.group(1)

    enabled = cli("plugins", "enable", chat_id, "todo_user")
    assert "conversation plugins: 1, 2" in enabled.stdout
    disabled = cli("plugins", "disable", chat_id, "1")
    assert "conversation plugins: 2" in disabled.stdout
    unknown = cli("plugins", "enable", "no-such-conversation", "1", code=1)
    assert "no conversation no-such-conversation" in unknown.stderr


def test_verify_and_ban_are_for_admins(cli: Cli) -> None:
    added = cli("plugins", "add", "https://plugin.example.com")
    plugin_id = _id(added.stdout)
    cli("users", "add", "bob")
    refused = cli("plugins", "verify", plugin_id, "--user", "bob", code=1)
    assert "only an admin may do this" in refused.stderr

    assert f"Plugin {plugin_id} is verified." in cli("plugins", "verify", plugin_id).stdout
    assert re.search(r"│ todo +│ none +│ +│ yes", cli("plugins", "list").stdout)
    assert "is banned" in cli("plugins", "ban", plugin_id).stdout
    assert "No plugins" in cli("plugins", "list").stdout
    banned = cli("plugins", "install", plugin_id, code=1)
    assert "is banned" in banned.stderr
    # A banned plugin is still named by its name, to lift the ban.
    assert "no longer banned" in cli("plugins", "ban", "todo", "--lift").stdout
    cli("plugins", "install", plugin_id)


def test_an_unknown_user_outside_dev_mode_is_refused(cli: Cli) -> None:
    cli.env["POWERSTRIP_DEV_MODE"] = "false"
    result = cli("plugins", "list", code=1)
    assert "no user named 'dev'" in result.stderr
    assert "powerstrip users add dev" in result.stderr


def test_a_malformed_user_key_is_refused_in_one_line_that_names_the_field(cli: Cli) -> None:
    cli("plugins", "add", "https://www.example.com")
    result = cli(
        "plugins", "install", "todo_user", "--key-stdin", input="uk-caf\u00e9-0042\n", code=1
    )
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: user_key has a non-ASCII character (U+00E9)")
    assert "printable ASCII" in line
    assert "0042" not in result.output
    assert "No plugins" in cli("plugins", "list", "--installed").stdout
