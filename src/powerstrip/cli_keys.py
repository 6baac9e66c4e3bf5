"""`powerstrip keys …`: the vault's keys."""

from __future__ import annotations

import typer

from powerstrip.auth import generate_key

__all__ = ["keys_app"]

keys_app = typer.Typer(name="keys", help="Manage the vault's keys.", no_args_is_help=True)


@keys_app.command("new")
def new_key() -> None:
    """Print a new vault key entry (KEYID:BASE64KEY) for POWERSTRIP_VAULT_KEYS.

    Put it first in the list to seal new secrets with it; keep the old entries after it so
    the secrets they sealed still open.
    """
    typer.echo(generate_key())
