"""`powerstrip register`: a developer's secrets, the verification token, and `--verify`."""

from __future__ import annotations

import json
import re

from tests.cli.conftest import PUBLIC_URL, Cli
from tests.examples.conftest import CLIENT_ID, CLIENT_SECRET, SERVICE_KEY


def _token(output: str) -> str:
    published = re.search(r'\{"verification_tokens": .*\}', output)
    assert published, output
    token: str = json.loads(published.group(0))["verification_tokens"]["powerstrip"]
    return token


def test_a_service_plugin_is_registered_verified_and_installed(cli: Cli) -> None:
    cli("plugins", "add", "https://api.example.com")
    early = cli("plugins", "install", "todo_service", code=1)
    assert "not registered by its developer" in early.stderr

    registered = cli("register", "todo_service", "--service-key-stdin", input=SERVICE_KEY + "\n")
    assert SERVICE_KEY not in registered.output
    token = _token(registered.stdout)
    assert token in registered.stdout.splitlines()  # alone on its line, for scripts
    assert "https://api.example.com/.well-known/ai-plugin.json" in registered.stdout
    assert "powerstrip register 1 --verify" in registered.stdout

    unpublished = cli("register", "1", "--verify", code=1)
    assert "carries no token" in unpublished.stderr
    assert token in unpublished.stderr  # the fix says what to publish

    cli.serve("api.example.com", verification_tokens={"powerstrip": token})
    verified = cli("register", "1", "--verify")
    assert "publishes the token" in verified.stdout
    assert "Installed todo_service" in cli("plugins", "install", "1").stdout


def test_a_service_key_is_asked_without_echo(cli: Cli) -> None:
    cli("plugins", "add", "https://api.example.com")
    result = cli("register", "1", input=SERVICE_KEY + "\n")
    assert "Paste the service key (not shown)" in result.output
    assert SERVICE_KEY not in result.output
    _token(result.stdout)


def test_an_oauth_plugin_prints_its_sign_in_link_at_install(cli: Cli) -> None:
    cli("plugins", "add", "https://example.com")
    registered = cli(
        "register",
        "todo_oauth",
        "--client-id",
        CLIENT_ID,
        "--client-secret-stdin",
        input=CLIENT_SECRET + "\n",
    )
    assert CLIENT_SECRET not in registered.output
    cli.serve("example.com", verification_tokens={"powerstrip": _token(registered.stdout)})
    cli("register", "1", "--verify")

    installed = cli("plugins", "install", "1")
    assert f"{PUBLIC_URL}/aip/1/oauth/begin?ticket=" in installed.stdout
    assert "powerstrip plugins sign-in 1" in installed.stdout
    again = cli("plugins", "sign-in", "todo_oauth")
    assert f"{PUBLIC_URL}/aip/1/oauth/begin?ticket=" in again.stdout


def test_secrets_the_scheme_does_not_use_are_refused(cli: Cli) -> None:
    cli("plugins", "add", "https://api.example.com")
    cli("plugins", "add", "https://plugin.example.com")
    wrong = cli("register", "1", "--client-id", "x", input="secret\n", code=1)
    assert "uses a service key, not an OAuth client" in wrong.stderr
    nothing = cli("register", "2", code=1)
    assert "it has nothing to register" in nothing.stderr
    empty = cli("register", "1", "--service-key-stdin", input="\n", code=1)
    assert "the service key is empty" in empty.stderr
