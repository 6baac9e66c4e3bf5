"""`powerstrip chat`: a conversation in the terminal, with the user's plugins.

The answer streams as the model writes it; each plugin call gets a line when it starts
(`→ todo__add_todo {"todo": "milk"}`) and one when it ends (`← 200 ok 12 ms`). A call that needs
the user's approval is asked about (y/n, and a for "always allow" where the plugin permits it),
then the turn goes on. EOF (Ctrl-D) or `/quit` ends the chat; the conversation stays in the
store, and `--conversation ID` takes it up again.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from powerstrip.cli.host import (
    DevOption,
    UserOption,
    acting_user,
    fail,
    load_settings,
    open_host,
    out_console,
    run,
)
from powerstrip.cli.invocation import powerstrip_command
from powerstrip.errors import PowerstripError
from powerstrip.settings import Settings

__all__ = ["chat"]


def chat(
    conversation: Annotated[
        str | None,
        typer.Option("--conversation", "-c", help="Continue this conversation (its id)."),
    ] = None,
    plugin: Annotated[
        list[str] | None,
        typer.Option(
            "--plugin",
            "-p",
            help="Enable this installed plugin (id, name or URL; repeatable, at most 3).",
        ),
    ] = None,
    list_chats: Annotated[
        bool, typer.Option("--list", help="List your conversations and stop.")
    ] = False,
    user: UserOption = "dev",
    dev: DevOption = False,
) -> None:
    """Chat in the terminal with your plugins: streamed answers, call lines, approval prompts."""
    try:
        settings = load_settings(dev=dev)
    except PowerstripError as exc:
        fail(exc)
    if list_chats:
        run(_list(settings, user))
        return

    async def main() -> None:
        from powerstrip.cli.chat_session import ChatSession

        async with open_host(settings, with_model=True) as host:
            me = await acting_user(host, user)
            session = ChatSession(host, me, out_console)
            await session.open(conversation, plugin or [])
            await session.loop()

    run(main())


async def _list(settings: Settings, username: str) -> None:
    async with open_host(settings) as host:
        me = await acting_user(host, username)
        chats = await host.chats.list_chats(me)
    if not chats:
        out_console.print(
            f"No conversations yet: {escape(powerstrip_command())} chat --plugin ID starts one."
        )
        return
    # An id is copied whole, so it never wraps.
    table = Table(Column("id", no_wrap=True, min_width=36), "title", "plugins", "updated")
    for chat in chats:
        table.add_row(
            chat.id,
            escape(chat.title or "(untitled)"),
            ", ".join(str(pid) for pid in chat.plugin_ids),
            f"{chat.updated_at:%Y-%m-%d %H:%M}",
        )
    out_console.print(table)
