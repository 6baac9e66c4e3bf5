"""`powerstrip data …`: the operator's side of users' data (spec §9).

`purge` runs the retention job once (safe beside running servers, and idempotent); `export`
writes everything kept about a user to a zip; `delete` deletes one conversation, all of them,
or the account, after the user's name is typed again; `history` shows or flips a user's chat
history switch. They call the same host services as the REST API.
"""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from powerstrip.cli.host import err_console, load_settings, open_host, out_console, run
from powerstrip.errors import InvalidInputError

__all__ = ["data_app"]

data_app = typer.Typer(
    name="data",
    help="Users' data: purge what is past its retention, export, delete, history switch.",
    no_args_is_help=True,
)

Username = Annotated[str, typer.Argument(help="The user's name.", show_default=False)]


class Switch(StrEnum):
    on = "on"
    off = "off"


@data_app.command("purge")
def purge(
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Delete history-off conversations older than POWERSTRIP_RETENTION_DAYS, and expired
    exports. Running it again, or beside a server, deletes nothing twice."""

    async def main() -> dict[str, int]:
        async with open_host(load_settings()) as host:
            return (await host.retention.purge()).as_dict()

    counts = run(main())
    if as_json:
        typer.echo(json.dumps(counts))
        return
    removed = ", ".join(f"{count} {name}" for name, count in counts.items() if name != "batches")
    out_console.print(f"Purged {removed}.")


@data_app.command("export")
def export(
    name: Username,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="The zip to write (default: ./powerstrip-export-USER.zip)."
        ),
    ] = None,
    link: Annotated[
        bool,
        typer.Option(
            "--link",
            help="Make a one-time download link instead of a file (mailed when SMTP and the "
            "user's e-mail are set).",
        ),
    ] = False,
) -> None:
    """Export everything kept about a user: conversations (JSON and HTML), account, plugins,
    grants, feedback and the redacted call log."""
    target = output or Path(f"powerstrip-export-{name}.zip")

    async def main() -> str:
        async with open_host(load_settings()) as host:
            user = await host.users.find(name)
            if link:
                ticket = await host.exports.start(user, mode="inline")
                mailed = f" (mailed to {ticket.info.mailed_to})" if ticket.info.mailed_to else ""
                err_console.print(f"A one-time link for {escape(name)}'s export{escape(mailed)}:")
                return ticket.download_url
            archive = await host.exports.archive(user)
        # 0600 from the start: the zip is the user's whole history.
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(archive)
        return f"Wrote {escape(str(target))} ({len(archive)} bytes)."

    message = run(main())
    if link:
        typer.echo(message)
    else:
        out_console.print(message)


@data_app.command("delete")
def delete(
    name: Username,
    conversation: Annotated[
        str | None, typer.Option("--conversation", help="Delete this one conversation.")
    ] = None,
    all_conversations: Annotated[
        bool, typer.Option("--all-conversations", help="Delete every conversation of the user.")
    ] = False,
    account: Annotated[
        bool, typer.Option("--account", help="Delete the account and everything of it.")
    ] = False,
    confirm: Annotated[
        str | None,
        typer.Option("--confirm", help="The user's name again, to confirm without a prompt."),
    ] = None,
) -> None:
    """Delete a conversation, all conversations, or the account (asks for the name again)."""
    chosen = [conversation is not None, all_conversations, account]
    if sum(chosen) != 1:
        err_console.print(
            "[bold red]error:[/] say what to delete: one of --conversation ID, "
            "--all-conversations or --account"
        )
        raise typer.Exit(2)
    if confirm is None:
        confirm = typer.prompt(f"Type the user name ({name}) to confirm")

    async def main() -> str:
        async with open_host(load_settings()) as host:
            user = await host.users.find(name)
            if conversation is not None:
                if confirm != user.username:
                    raise InvalidInputError(
                        "the confirmation does not match the user name; nothing was deleted",
                        where="--confirm",
                        fix=f"confirm with {user.username!r}",
                    )
                await host.chats.delete(user, conversation)
                return f"Deleted conversation {escape(conversation)}."
            if all_conversations:
                report = await host.data.delete_conversations(user, confirm=confirm)
                what = "conversations"
            else:
                report = await host.data.delete_account(user, confirm=confirm)
                what = "the account"
            counts = ", ".join(f"{n} {table}" for table, n in sorted(report.counts.items()) if n)
            return f"Deleted {what} of {escape(name)}: {escape(counts) or 'nothing'}."

    out_console.print(run(main()))


@data_app.command("history")
def history(
    name: Username,
    switch: Annotated[
        Switch | None, typer.Argument(help="on or off; without it, show the switch.")
    ] = None,
) -> None:
    """Show or flip a user's chat history switch (new conversations started while it is off are
    unlisted and deleted after the retention period)."""

    async def main() -> str:
        async with open_host(load_settings()) as host:
            user = await host.users.find(name)
            if switch is None:
                settings = await host.data.settings(user)
            else:
                settings = await host.data.update(user, history_enabled=switch is Switch.on)
        state = "on" if settings.history_enabled else "off"
        return (
            f"Chat history of {escape(name)} is {state}; history-off conversations are kept "
            f"{settings.retention_days} days."
        )

    out_console.print(run(main()))
