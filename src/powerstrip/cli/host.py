"""What the `powerstrip` commands that work on the store share.

Each such command reads the settings, opens a `Host` over the same database the server uses
(SQLite in WAL mode lets both write), acts as one user (`--user`, default `dev`), and closes the
host again. A `PowerstripError` ends the command with its message (what, where, fix) on standard
error and exit code 1, never a traceback.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from powerstrip.cli.invocation import powerstrip_command
from powerstrip.errors import AccessError, ConfigError, ModelError, NotFoundError, PowerstripError
from powerstrip.settings import Settings

if TYPE_CHECKING:
    # The engine is imported when a command runs, not when the CLI starts: `powerstrip --help`
    # and each command's help then load no database driver, model client or MCP SDK.
    from powerstrip.host import Host, StoreEntry, UserInfo
    from powerstrip.runtime import ChatMessage, ModelEvent, SamplingOptions, ToolSpec

__all__ = [
    "DevOption",
    "UserOption",
    "acting_user",
    "err_console",
    "fail",
    "find_plugin",
    "load_settings",
    "looks_like_url",
    "open_host",
    "out_console",
    "run",
]

T = TypeVar("T")


out_console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

UserOption = Annotated[
    str,
    typer.Option(
        "--user",
        "-u",
        help="Act as this user. The default, dev, is created as an admin on first use in "
        "development mode.",
    ),
]
DevOption = Annotated[
    bool,
    typer.Option(
        "--dev",
        help="Development mode: also reach plain-HTTP plugins on localhost, and create the dev "
        "user on first use (or set POWERSTRIP_DEV_MODE=true).",
    ),
]


def load_settings(*, dev: bool = False, **overrides: Any) -> Settings:  # Any: field values
    """The settings from the environment, with development mode on when `dev`."""
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "_".join(str(part) for part in first["loc"]).upper()
        raise ConfigError(
            f"a setting is not valid: {first['msg']}",
            where=f"POWERSTRIP_{name}" if name else "settings",
            fix="correct the variable (docs/configuration.md describes each one)",
        ) from None  # the cause quotes the value, which may be a secret
    if dev:
        overrides["dev_mode"] = True
    return settings.model_copy(update=overrides) if overrides else settings


def run(main: Coroutine[Any, Any, T]) -> T:  # Any: the coroutine's send and yield types
    """Run a command's coroutine; a PowerstripError becomes one line on stderr and exit 1."""
    try:
        return asyncio.run(main)
    except PowerstripError as exc:
        fail(exc)
    except OSError as exc:
        # The file system refused (a database path whose folder cannot be made, a full disk):
        # say which file and why, without a traceback.
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err_console.print("interrupted")
        raise typer.Exit(130) from None


def fail(exc: PowerstripError) -> NoReturn:
    """Print the error and stop with exit code 1."""
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
    raise typer.Exit(1) from None


class _NoModel:
    """The model of commands that never run a turn: they need no backend configured."""

    name = "none"

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec],
        *,
        sampling: SamplingOptions | None = None,
    ) -> AsyncIterator[ModelEvent]:
        raise ModelError(
            "this command does not talk to a model",
            where="powerstrip CLI",
            fix=f"use `{powerstrip_command()} chat` or the server to chat",
        )
        yield  # an async generator, like every Model's stream


@asynccontextmanager
async def open_host(settings: Settings, *, with_model: bool = False) -> AsyncIterator[Host]:
    """A `Host` over the configured store, closed when the block ends.

    Only `with_model` builds the model backend, so managing users and plugins works before a
    model is configured.
    """
    from powerstrip.host import Host

    host = await Host.start(settings, model=None if with_model else _NoModel())
    try:
        yield host
    finally:
        await host.aclose()


async def acting_user(host: Host, username: str, *, admin: bool = False) -> UserInfo:
    """The user a command acts as; `dev` is created (as an admin) in development mode.

    `admin` refuses a user who is not an admin.
    """
    from powerstrip.host import DEV_USER

    if username == DEV_USER and host.settings.dev_mode:
        user = await host.users.ensure(username, admin=True)
    else:
        user = await host.users.find(username)
    if admin and not user.is_admin:
        raise AccessError(
            f"only an admin may do this, and {username!r} is not one",
            where=f"user {username}",
            fix="act as an admin with --user, or create one with "
            f"`{powerstrip_command()} users add NAME --admin`",
        )
    return user


async def find_plugin(host: Host, user: UserInfo, reference: str) -> StoreEntry:
    """The store entry a command names by id, `name_for_model` or URL."""
    # An admin sees banned plugins too, to name them when lifting the ban.
    entries = await host.plugins.store(user, include_banned=True)
    reference = reference.strip()
    if reference.isdigit():
        matches = [entry for entry in entries if entry.plugin.id == int(reference)]
    elif looks_like_url(reference):
        urls = _manifest_urls(reference)
        matches = [entry for entry in entries if entry.plugin.manifest_url in urls]
    else:
        matches = [entry for entry in entries if entry.plugin.name_for_model == reference]
    if len(matches) == 1:
        return matches[0]
    if matches:
        ids = ", ".join(str(entry.plugin.id) for entry in matches)
        raise NotFoundError(
            f"{len(matches)} plugins are named {reference!r} (ids {ids})",
            where="plugins",
            fix="name the plugin by its id",
        )
    raise NotFoundError(
        f"no plugin {reference!r} in the store",
        where="plugins",
        fix=f"`{powerstrip_command()} plugins list` shows the plugins; "
        f"`{powerstrip_command()} plugins add URL` adds one",
    )


def looks_like_url(reference: str) -> bool:
    """Whether a plugin reference is a URL or domain, not an id or a name."""
    return any(mark in reference for mark in ("/", ".", ":"))


def _manifest_urls(reference: str) -> set[str]:
    """The manifest URLs a base URL, domain or manifest URL may stand for."""
    bases = [reference] if "://" in reference else [f"https://{reference}", f"http://{reference}"]
    urls = set(bases)
    for base in bases:
        urls.add(f"{base.rstrip('/')}/.well-known/ai-plugin.json")
    return urls
