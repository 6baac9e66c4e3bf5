"""`powerstrip keys …`: the vault's keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from powerstrip.cli.host import load_settings, open_host, out_console, run

if TYPE_CHECKING:
    # The engine loads when a command runs, not for the CLI's help (cli/host.py).
    from powerstrip.host.key_rotation import RotationReport

__all__ = ["keys_app"]

keys_app = typer.Typer(name="keys", help="Manage the vault's keys.", no_args_is_help=True)


@keys_app.command("new")
def new_key() -> None:
    """Print a new vault key entry (KEYID:BASE64KEY) for POWERSTRIP_VAULT_KEYS.

    Put it first in the list to seal new secrets with it; keep the old entries after it so
    the secrets they sealed still open.
    """
    from powerstrip.auth import generate_key

    typer.echo(generate_key())


@keys_app.command("rotate")
def rotate() -> None:
    """Re-seal every stored secret under the active (first) key of POWERSTRIP_VAULT_KEYS.

    Add the new key first, keep the old ones after it, rotate, then drop the old keys. It is
    one transaction: a secret that does not open stops it, and nothing is changed.
    """

    def progress(table: str, done: int, total: int) -> None:
        out_console.print(f"  {table}: {done}/{total} secret(s) checked")

    async def main() -> RotationReport:
        async with open_host(load_settings()) as host:
            out_console.print(
                f"Re-sealing stored secrets under key {host.vault.active_key_id!r} "
                f"(keys configured: {', '.join(host.vault.key_ids)})"
            )
            from powerstrip.host.key_rotation import rotate_keys

            return await rotate_keys(host.sessions, host.vault, on_progress=progress)

    report = run(main())
    for table in report.tables:
        out_console.print(
            f"{table.table}: {table.rotated} re-sealed, {table.current} already current"
        )
    out_console.print(
        f"Done: {report.rotated} secret(s) re-sealed, {report.current} already under "
        f"{report.active_key_id!r}. Keys other than {report.active_key_id!r} may now be removed "
        "from POWERSTRIP_VAULT_KEYS."
    )
