"""`powerstrip keys rotate`: add a key, rotate, drop the old key; secrets still open."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from powerstrip.examples import issue_user_key
from tests.cli.conftest import Cli, run_async, vault_entry
from tests.examples.conftest import SERVICE_KEY


def _sealed(db: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        registrations = conn.execute(
            "SELECT id, service_key_sealed FROM registrations ORDER BY id"
        ).fetchall()
        credentials = conn.execute(
            "SELECT id, secret_sealed, refresh_sealed FROM credentials ORDER BY id"
        ).fetchall()
    conn.close()
    return [*registrations, *credentials]


async def _headers(cli: Cli) -> list[dict[str, str]]:
    host = await cli.host()
    try:
        return [(await host.registry.credentials_for(1, plugin_id)).headers for plugin_id in (1, 2)]
    finally:
        await host.aclose()


def _setup_secrets(cli: Cli) -> str:
    """A registered service plugin (id 1) and a user key install (id 2) for dev (user 1)."""
    cli("plugins", "add", "https://api.example.com")
    registered = cli("register", "1", "--service-key-stdin", input=SERVICE_KEY + "\n")
    token = re.search(r'"powerstrip": "([^"]+)"', registered.stdout)
    assert token, registered.stdout
    cli.serve("api.example.com", verification_tokens={"powerstrip": token.group(1)})
    cli("register", "1", "--verify")
    cli("plugins", "install", "1")
    cli("plugins", "add", "https://www.example.com")
    key = issue_user_key(cli.configs["www.example.com"], "dev")
    cli("plugins", "install", "2", "--key-stdin", input=key + "\n")
    return key


def test_rotate_then_drop_the_old_key(cli: Cli) -> None:
    key = _setup_secrets(cli)
    old = cli.env["POWERSTRIP_VAULT_KEYS"]
    new = vault_entry("second")
    cli.env["POWERSTRIP_VAULT_KEYS"] = f"{new},{old}"

    rotated = cli("keys", "rotate").stdout
    assert (
        "Re-sealing stored secrets under key 'second' (keys configured: second, first)" in rotated
    )
    # The service key, the user key, and the host's own secret (made when the host started).
    assert "registrations: 1/3 secret(s) checked" in rotated
    assert "host_secrets: 1 re-sealed, 0 already current" in rotated
    assert "credentials: 1 re-sealed, 0 already current" in rotated
    assert "Done: 3 secret(s) re-sealed, 0 already under 'second'" in rotated
    assert SERVICE_KEY not in rotated
    assert key not in rotated
    again = cli("keys", "rotate").stdout
    assert "Done: 0 secret(s) re-sealed, 3 already under 'second'" in again

    cli.env["POWERSTRIP_VAULT_KEYS"] = new
    service, user = run_async(_headers(cli))
    assert service == {"Authorization": f"Bearer {SERVICE_KEY}"}
    assert user == {"Authorization": f"Bearer {key}"}


def test_a_tampered_secret_is_named_and_nothing_changes(cli: Cli) -> None:
    _setup_secrets(cli)
    db = Path(cli.env["POWERSTRIP_DATA_DIR"]) / "powerstrip.db"
    with sqlite3.connect(db) as conn:
        (token,) = conn.execute("SELECT secret_sealed FROM credentials WHERE id = 1").fetchone()
        altered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        conn.execute("UPDATE credentials SET secret_sealed = ? WHERE id = 1", (altered,))
    conn.close()
    before = _sealed(db)
    cli.env["POWERSTRIP_VAULT_KEYS"] = f"{vault_entry('second')},{cli.env['POWERSTRIP_VAULT_KEYS']}"

    result = cli("keys", "rotate", code=1)

    assert "table credentials, row id=1, column secret_sealed" in result.stderr
    assert "key rotation stopped and changed nothing" in result.stderr
    assert "Done:" not in result.stdout
    assert _sealed(db) == before
