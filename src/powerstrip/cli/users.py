"""`powerstrip users …`: the host's users and their REST API tokens.

These commands are the operator's: they open the database directly, so they need no token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from powerstrip.cli.host import err_console, load_settings, open_host, out_console, run
from powerstrip.cli.invocation import powerstrip_command
from powerstrip.errors import NotFoundError
from powerstrip.names import ALL_SCOPES

if TYPE_CHECKING:
    # The engine loads when a command runs, not for the CLI's help (cli/host.py).
    from powerstrip.host import IssuedToken

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
                user = await host.users.find(name)
            except NotFoundError:
                user = await host.users.ensure(name, admin=admin)
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
    scopes: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help=f"What the token may do ({', '.join(sorted(ALL_SCOPES))}); repeat for several. "
            "Default: every scope the user may have.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Issue a new REST API token for a user; it is printed once, on standard output."""

    async def main() -> IssuedToken:
        async with open_host(load_settings()) as host:
            user = await host.users.find(name)
            chosen = scopes or [s for s in sorted(ALL_SCOPES) if s != "admin" or user.is_admin]
            return await host.users.issue_token(user, name=label, scopes=chosen)

    issued = run(main())
    err_console.print(
        f"A new API token for {escape(name)} (id {issued.id}, scopes "
        f"{', '.join(issued.scopes)}); it is shown only now. "
        "Send it as `Authorization: Bearer TOKEN`."
    )
    typer.echo(issued.token)


@users_app.command("tokens")
def tokens(name: Username) -> None:
    """List a user's API tokens (never the tokens themselves)."""

    async def main() -> None:
        async with open_host(load_settings()) as host:
            rows = await host.users.tokens(await host.users.find(name))
        if not rows:
            out_console.print(f"{escape(name)} has no API tokens.")
            return
        table = Table("id", "name", "scopes", "created", "last used")
        for row in rows:
            last = row.last_used_at.strftime("%Y-%m-%d %H:%M") if row.last_used_at else "never"
            table.add_row(
                str(row.id),
                escape(row.name),
                " ".join(row.scopes),
                row.created_at.strftime("%Y-%m-%d %H:%M"),
                last,
            )
        out_console.print(table)

    run(main())


@users_app.command("revoke")
def revoke(
    name: Username,
    token_id: Annotated[
        int | None,
        typer.Option("--id", help="Revoke only this token (see `users tokens`).", min=1),
    ] = None,
) -> None:
    """Revoke every API token of a user, or only one with --id."""

    async def main() -> int:
        async with open_host(load_settings()) as host:
            user = await host.users.find(name)
            if token_id is None:
                return await host.users.revoke_all(user)
            await host.users.revoke_token(user, token_id)
            return 1

    count = run(main())
    out_console.print(f"Revoked {count} token(s) of {escape(name)}.")
