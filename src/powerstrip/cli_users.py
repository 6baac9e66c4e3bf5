"""`powerstrip users …`: the host's users and their REST API tokens.

These commands are the operator's: they open the database directly, so they need no token.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from powerstrip.cli_host import err_console, load_settings, open_host, out_console, run
from powerstrip.cli_invocation import powerstrip_command
from powerstrip.errors import NotFoundError
from powerstrip.host import ensure_user, find_user, issue_token, revoke_tokens

__all__ = ["users_app"]

users_app = typer.Typer(
    name="users", help="Add users and issue their API tokens.", no_args_is_help=True
)

Username = Annotated[str, typer.Argument(help="The user's name.", show_default=False)]


@users_app.command("add")
def add(
    name: Username,
    admin: Annotated[
        bool, typer.Option("--admin", help="Make the user an admin (verify and ban plugins).")
    ] = False,
) -> None:
    """Add a user (an existing user is left as it is)."""

    async def main() -> None:
        async with open_host(load_settings()) as host:
            try:
                user = await find_user(host.sessions, name)
            except NotFoundError:
                user = await ensure_user(host.sessions, name, admin=admin)
                role = "an admin" if user.is_admin else "a user"
                out_console.print(f"Added {escape(name)} as {role} (id {user.id}).")
                out_console.print(
                    f"API token: {escape(powerstrip_command())} users token {escape(name)}"
                )
                return
            role = "an admin" if user.is_admin else "not an admin"
            out_console.print(f"{escape(name)} already exists (id {user.id}, {role}).")

    run(main())


@users_app.command("token")
def token(
    name: Username,
    label: Annotated[
        str, typer.Option("--name", help="A label to tell the user's tokens apart.")
    ] = "cli",
) -> None:
    """Issue a new REST API token for a user; it is printed once, on standard output."""

    async def main() -> str:
        async with open_host(load_settings()) as host:
            user = await find_user(host.sessions, name)
            return await issue_token(host.sessions, user.id, label)

    issued = run(main())
    err_console.print(
        f"A new API token for {escape(name)}; it is shown only now. "
        "Send it as `Authorization: Bearer TOKEN`."
    )
    typer.echo(issued)


@users_app.command("revoke")
def revoke(name: Username) -> None:
    """Revoke every API token of a user."""

    async def main() -> int:
        async with open_host(load_settings()) as host:
            user = await find_user(host.sessions, name)
            return await revoke_tokens(host.sessions, user.id)

    count = run(main())
    out_console.print(f"Revoked {count} token(s) of {escape(name)}.")
