"""`powerstrip users`: add users, issue and revoke their API tokens."""

from __future__ import annotations

from powerstrip.host import user_for_token
from tests.cli.conftest import Cli, run_async


async def _owner(cli: Cli, token: str) -> str | None:
    host = await cli.host()
    try:
        user = await user_for_token(host.sessions, token)
    finally:
        await host.aclose()
    return None if user is None else f"{user.username} admin={user.is_admin}"


def test_a_user_is_added_once_and_keeps_its_role(cli: Cli) -> None:
    added = cli("users", "add", "ada", "--admin")
    assert "Added ada as an admin" in added.stdout
    again = cli("users", "add", "ada")
    assert "ada already exists (id 1, an admin)" in again.stdout
    cli("users", "add", "bob")
    assert "bob already exists (id 2, not an admin)" in cli("users", "add", "bob", "--admin").stdout


def test_a_token_is_printed_once_and_opens_the_users_account(cli: Cli) -> None:
    cli("users", "add", "ada", "--admin")
    issued = cli("users", "token", "ada")
    token = issued.stdout.strip()
    assert token.startswith("pst_")
    assert "shown only now" in issued.stderr
    assert run_async(_owner(cli, token)) == "ada admin=True"
    second = cli("users", "token", "ada").stdout.strip()
    assert second != token

    revoked = cli("users", "revoke", "ada")
    assert "Revoked 2 token(s) of ada" in revoked.stdout
    assert run_async(_owner(cli, token)) is None


def test_a_token_for_an_unknown_user_says_how_to_create_it(cli: Cli) -> None:
    result = cli("users", "token", "nobody", code=1)
    assert "no user named 'nobody'" in result.stderr
    assert "powerstrip users add nobody" in result.stderr
    assert result.stdout == ""


def test_bad_settings_and_unusable_paths_are_one_line_not_a_traceback(cli: Cli) -> None:
    cli.env["POWERSTRIP_MAX_STEPS"] = "abc"
    for command in (("chat", "--list"), ("users", "add", "zed")):
        result = cli(*command, code=1)
        assert "POWERSTRIP_MAX_STEPS" in result.output
    del cli.env["POWERSTRIP_MAX_STEPS"]
    cli.env["POWERSTRIP_DATABASE_URL"] = "sqlite+aiosqlite:////proc/no-such-dir/powerstrip.db"
    result = cli("users", "add", "zed", code=1)
    assert "/proc/no-such-dir" in result.output
