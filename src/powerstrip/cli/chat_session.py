"""The terminal chat `powerstrip chat` runs: streamed answers, call lines, approval prompts.

Imported when the command runs (`cli/chat.py`), so the CLI's start loads none of the engine.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from powerstrip.cli.invocation import powerstrip_command
from powerstrip.cli.plugins import plugin_id_of
from powerstrip.errors import PowerstripError
from powerstrip.host import ChatSummary, Host, UserInfo
from powerstrip.runtime import (
    ApprovalNeeded,
    CallFinished,
    CallStarted,
    ErrorEvent,
    Event,
    TextDelta,
    TurnDone,
)

__all__ = ["ChatSession"]

_ARGUMENTS_SHOWN = 200  # characters of a call's arguments on its line
_HELP = "Type a message. /calls shows the call log, /help explains, /quit (or Ctrl-D) leaves."
_HELP_LONG = """\
Type a message and press Enter: the model answers, calling the enabled plugins when they help.

  /calls    the plugin calls of this conversation: what was sent, the status, the time
  /help     this text, and the enabled plugins
  /quit     leave (also /exit, /q or Ctrl-D); the conversation is kept

Before a call that can change something (a POST, or an operation its plugin marks as
consequential) you are asked:
  y   make this call          n   do not make it (the model is told you declined)
  a   make it, and always allow this operation of this plugin from now on
      (offered only where the plugin permits it; GET /api/grants lists such grants and
      DELETE /api/grants/ID revokes one)
"""


@dataclass
class ChatSession:
    """One terminal chat: the conversation it is in, and where its output goes."""

    host: Host
    user: UserInfo
    console: Console
    conversation_id: str = ""
    _mid_line: bool = field(default=False, init=False)

    async def open(self, conversation: str | None, plugins: list[str]) -> None:
        """Take up `conversation` (enabling `plugins` in it), or start one with `plugins`."""
        ids = [await plugin_id_of(self.host, self.user, reference) for reference in plugins]
        chats = self.host.chats
        if conversation is None:
            summary = await chats.create(self.user, plugin_ids=tuple(ids))
            self.conversation_id = summary.id
            self.console.print(f"New conversation {summary.id}")
        else:
            view = await chats.get(self.user, conversation)
            summary = view.summary
            self.conversation_id = summary.id
            for plugin_id in ids:
                summary = await chats.enable(self.user, summary.id, plugin_id)
            title = escape(summary.title or "(untitled)")
            self.console.print(
                f"Continuing {title} ({summary.id}, {len(view.messages)} message(s))"
            )
        await self._show_plugins(summary)
        self.console.print(f"[dim]{_HELP}[/]")
        if conversation is not None and (await chats.get(self.user, summary.id)).pending:
            await self._resume_pending()

    async def loop(self) -> None:
        """Read messages until EOF or /quit, running a turn for each."""
        while True:
            line = self._read("[bold green]you>[/] ")
            if line is None:
                break
            text = line.strip()
            if not text:
                continue
            if text in ("/quit", "/exit", "/q"):
                break
            if text == "/help":
                self.console.print(escape(_HELP_LONG))
                view = await self.host.chats.get(self.user, self.conversation_id)
                await self._show_plugins(view.summary)
                continue
            if text == "/calls":
                await self._show_calls()
                continue
            events = self.host.chats.send(self.user, self.conversation_id, text)
            try:
                if not await self._play(events):
                    break
            except PowerstripError as exc:
                # The turn failed before it started (a plugin removed meanwhile, a refused
                # "always allow"): say so and let the user go on.
                self._end_line()
                self.console.print(f"[bold red]error:[/] {escape(str(exc))}")
        self._end_line()
        command = escape(powerstrip_command())
        self.console.print(f"[dim]Bye. Continue with: {command} chat -c {self.conversation_id}[/]")

    async def _play(self, events: AsyncIterator[Event]) -> bool:
        """Show a turn's events and settle its approvals; False when the user left meanwhile."""
        while True:
            pending = await self._render(events)
            if not pending:
                return True
            decisions: dict[str, bool] = {}
            always: set[str] = set()
            for request in pending:
                answer = self._ask(request)
                if answer is None:
                    self.console.print(
                        "[yellow]The turn waits for your decision; it is asked again when you "
                        "continue this conversation.[/]"
                    )
                    return False
                decisions[request.approval_id] = answer != "n"
                if answer == "a":
                    always.add(request.approval_id)
            events = self.host.chats.resume(
                self.user, self.conversation_id, decisions, always_allow=frozenset(always)
            )

    async def _resume_pending(self) -> None:
        view = await self.host.chats.get(self.user, self.conversation_id)
        self.console.print("[yellow]This conversation waits for your decision:[/]")
        requests = [
            ApprovalNeeded(p.call_id, p.function_name, p.arguments, p.can_always_allow)
            for p in view.pending
        ]

        async def replay() -> AsyncIterator[Event]:
            for request in requests:
                yield request
            yield TurnDone("", paused=True)

        await self._play(replay())

    async def _render(self, events: AsyncIterator[Event]) -> list[ApprovalNeeded]:
        """Print a stream of events; the approvals it ends waiting for."""
        pending: list[ApprovalNeeded] = []
        answering = False
        async for event in events:
            if isinstance(event, TextDelta):
                if not answering:
                    self._end_line()
                    self.console.print("[bold cyan]assistant>[/] ", end="")
                    answering = True
                self.console.print(event.text, end="", markup=False)
                self._mid_line = True
            elif isinstance(event, CallStarted):
                self._end_line()
                answering = False
                self.console.print(
                    f"  [dim]→ {escape(event.function_name)} {escape(_short(event.arguments))}[/]"
                )
            elif isinstance(event, CallFinished):
                self._end_line()
                self.console.print(f"  [dim]←[/] {_finished(event)}")
            elif isinstance(event, ApprovalNeeded):
                pending.append(event)
            elif isinstance(event, ErrorEvent):
                self._end_line()
                answering = False
                self.console.print(f"[bold red]error:[/] {escape(event.message)}")
            elif isinstance(event, TurnDone):
                self._end_line()
                if not event.paused:
                    return []
        return pending

    def _ask(self, request: ApprovalNeeded) -> str | None:
        """y, n or a (always) for one call; None on EOF."""
        choices = "y/n/a" if request.can_always_allow else "y/n"
        self.console.print(
            f"[bold yellow]?[/] Allow [bold]{escape(request.function_name)}[/] "
            f"{escape(_short(request.arguments))}"
        )
        if request.can_always_allow:
            self.console.print(
                "  [dim]y: yes once, n: no, a: always allow this operation from now on[/]"
            )
        while True:
            answer = self._read(escape(f"  [{choices}] "))
            if answer is None:
                return None
            choice = answer.strip().lower()[:1]
            if choice in choices.split("/"):
                return choice
            self.console.print(f"  Answer {choices.replace('/', ', ')}.")

    def _read(self, prompt: str) -> str | None:
        try:
            line = self.console.input(prompt)
        except (EOFError, KeyboardInterrupt):
            self.console.print()  # the terminal left the cursor after the prompt
            self._mid_line = False
            return None
        if not sys.stdin.isatty():
            # Piped input is not echoed by a terminal: echo it, so the transcript reads right.
            self.console.print(line, markup=False)
        return line

    def _end_line(self) -> None:
        if self._mid_line:
            self.console.print()
            self._mid_line = False

    async def _show_plugins(self, summary: ChatSummary) -> None:
        if not summary.plugin_ids:
            self.console.print(
                "[yellow]No plugin is enabled: add --plugin ID (see powerstrip plugins list).[/]"
            )
            return
        entries = {
            entry.plugin.id: entry
            for entry in await self.host.plugins.store(self.user, installed_only=True)
        }
        names = [
            f"{escape(entries[pid].plugin.name_for_model)} ({pid})" if pid in entries else str(pid)
            for pid in summary.plugin_ids
        ]
        self.console.print(f"Plugins: {', '.join(names)}")

    async def _show_calls(self) -> None:
        calls = await self.host.chats.calls(self.user, self.conversation_id)
        if not calls:
            self.console.print("No plugin calls in this conversation yet.")
            return
        table = Table("function", "status", "outcome", "ms", "url")
        for call in calls:
            table.add_row(
                escape(str(call["function_name"])),
                str(call["status_code"] or ""),
                str(call["outcome"]),
                str(call["duration_ms"] or ""),
                escape(str(call["url"] or "")),
            )
        self.console.print(table)


def _short(arguments: str) -> str:
    """A call's arguments on one line: compact JSON, cut at `_ARGUMENTS_SHOWN` characters."""
    try:
        text = json.dumps(json.loads(arguments), ensure_ascii=False, separators=(", ", ": "))
    except ValueError:
        text = " ".join(arguments.split())
    if len(text) > _ARGUMENTS_SHOWN:
        return text[: _ARGUMENTS_SHOWN - 1] + "…"
    return text


def _finished(event: CallFinished) -> str:
    status = f"{event.status_code} " if event.status_code is not None else ""
    color = "green" if event.outcome == "ok" else "red"
    line = f"[{color}]{status}{escape(event.outcome)}[/] [dim]{event.duration_ms} ms[/]"
    if event.error and event.error != f"HTTP {event.status_code}":
        line += f" {escape(event.error)}"
    return line
