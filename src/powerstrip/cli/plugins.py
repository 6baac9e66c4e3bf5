"""`powerstrip plugins …`: the plugin store from the terminal, as one user sees it.

A plugin is named by its id, its `name_for_model` or its URL, everywhere.
"""

from __future__ import annotations

import shlex
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from powerstrip.cli.host import (
    DevOption,
    UserOption,
    acting_user,
    find_plugin,
    load_settings,
    looks_like_url,
    open_host,
    out_console,
    run,
)
from powerstrip.cli.invocation import powerstrip_command
from powerstrip.cli.register import read_secret
from powerstrip.errors import NotFoundError, RegistryError

if TYPE_CHECKING:
    # The engine loads when a command runs, not for the CLI's help (cli/host.py).
    from powerstrip.host import Host, PluginDiff, PluginInfo, UserInfo

__all__ = ["diff_lines", "plugin_id_of", "plugins_app"]

plugins_app = typer.Typer(
    name="plugins",
    help="Add, install, enable, refresh and uninstall plugins.",
    no_args_is_help=True,
)

PluginRef = Annotated[
    str,
    typer.Argument(
        metavar="PLUGIN", help="The plugin's id, name_for_model or URL.", show_default=False
    ),
]


async def plugin_id_of(host: Host, user: UserInfo, reference: str) -> int:
    """The id a command names; a bare number is taken as is (a banned plugin is not listed)."""
    if reference.strip().isdigit():
        return int(reference)
    return (await find_plugin(host, user, reference)).plugin.id


def _describe(plugin: PluginInfo) -> str:
    return f"{escape(plugin.name_for_model)} (id {plugin.id}, auth {plugin.auth_type})"


@plugins_app.command("add")
def add(
    url: Annotated[
        str,
        typer.Argument(help="The plugin's base URL, domain or manifest URL.", show_default=False),
    ],
    user: UserOption = "dev",
    dev: DevOption = False,
) -> None:
    """Add a plugin to the store from its URL (it is checked first; a refused one adds nothing)."""

    async def main() -> None:
        async with open_host(load_settings(dev=dev)) as host:
            me = await acting_user(host, user)
            plugin = await host.plugins.add(me, url)
        out_console.print(f"Added {_describe(plugin)} from {escape(plugin.manifest_url)}")
        if plugin.lenient:
            out_console.print("[yellow]It is marked lenient: its manifest breaks length rules.[/]")
        out_console.print(f"Install it: {escape(powerstrip_command())} plugins install {plugin.id}")

    run(main())


@plugins_app.command("add-mcp")
def add_mcp(
    url: Annotated[
        str | None,
        typer.Argument(
            help="The MCP server's streamable-HTTP endpoint, e.g. https://example.com/mcp.",
            show_default=False,
        ),
    ] = None,
    command: Annotated[
        str | None,
        typer.Option(
            "--command",
            help="Admins, with POWERSTRIP_MCP_ALLOW_COMMANDS=true: a local stdio server to run "
            "(split like a shell would).",
            show_default=False,
        ),
    ] = None,
    user_key: Annotated[
        bool, typer.Option("--user-key", help="Each user installs it with their own key.")
    ] = False,
    service_key: Annotated[
        bool,
        typer.Option(
            "--service-key",
            help="Admins: one key for every user's calls (asked for, not shown; or read from "
            "standard input with --service-key-stdin).",
        ),
    ] = False,
    service_key_stdin: Annotated[
        bool, typer.Option("--service-key-stdin", help="Read the service key from stdin.")
    ] = False,
    oauth: Annotated[
        bool,
        typer.Option(
            "--oauth",
            help="Each user signs in at the server's authorization server (found by itself "
            "when the server answers 401).",
        ),
    ] = False,
    user: UserOption = "dev",
    dev: DevOption = False,
) -> None:
    """Add an MCP server as a plugin: its tools beside the OpenAPI plugins' in the store."""
    argv = shlex.split(command) if command else []
    key = (
        read_secret("the service key", from_stdin=service_key_stdin)
        if service_key or service_key_stdin
        else None
    )

    async def main() -> None:
        async with open_host(load_settings(dev=dev)) as host:
            me = await acting_user(host, user)
            plugin = await host.mcp_servers.add(
                me, url=url, command=argv, user_key=user_key, service_key=key, oauth=oauth
            )
        out_console.print(f"Added {_describe(plugin)}: MCP server {escape(plugin.manifest_url)}")
        if plugin.auth_type == "oauth":
            out_console.print(
                "Its users sign in when they install it (the install prints the sign-in link)."
            )
        out_console.print(f"Install it: {escape(powerstrip_command())} plugins install {plugin.id}")

    run(main())


@plugins_app.command("list")
def list_plugins(
    installed: Annotated[
        bool, typer.Option("--installed", help="Only the plugins you installed.")
    ] = False,
    user: UserOption = "dev",
    dev: DevOption = False,
) -> None:
    """List the plugins in the store, with your install state."""

    async def main() -> None:
        async with open_host(load_settings(dev=dev)) as host:
            me = await acting_user(host, user)
            entries = await host.plugins.store(me, installed_only=installed)
        if not entries:
            out_console.print(
                f"No plugins yet. Add one: {escape(powerstrip_command())} plugins add URL"
            )
            return
        table = Table("id", "name", "auth", "installed", "verified", "installs", "manifest")
        for entry in entries:
            plugin = entry.plugin
            state = "re-consent" if entry.needs_reconsent else ("yes" if entry.installed else "")
            table.add_row(
                str(plugin.id),
                escape(plugin.name_for_model),
                plugin.auth_type,
                state,
                "yes" if plugin.verified else "",
                str(entry.install_count),
                escape(plugin.manifest_url),
            )
        out_console.print(table)

    run(main())


@plugins_app.command("operations")
def operations(reference: PluginRef, user: UserOption = "dev", dev: DevOption = False) -> None:
    """List a plugin's operations as the model sees them."""

    async def main() -> None:
        async with open_host(load_settings(dev=dev)) as host:
            me = await acting_user(host, user)
            plugin_id = await plugin_id_of(host, me, reference)
            views = await host.plugins.operations(me, plugin_id)
        table = Table("function", "method", "path", "approval")
        for tool in views:
            table.add_row(
                escape(tool.function_name),
                tool.method,
                escape(tool.path),
                _approval(tool.consequential, tool.consequential_declared),
            )
        out_console.print(table)

    run(main())


def _approval(consequential: bool, declared: bool | None) -> str:
    # As the conversation loop asks (spec §5): declared false asks until "always allowed".
    if declared is False:
        return "asks, may be always allowed"
    return "asks every time" if consequential else "no"


@plugins_app.command("install")
def install(
    reference: PluginRef,
    key_stdin: Annotated[
        bool,
        typer.Option(
            "--key-stdin",
            help="Read your key for a user_http plugin from standard input instead of asking.",
        ),
    ] = False,
    user: UserOption = "dev",
    dev: DevOption = False,
) -> None:
    """Install a plugin for yourself (a URL not in the store is added first).

    A user_http plugin asks for your key (not echoed); an OAuth plugin prints the sign-in link
    to open in your browser.
    """

    async def main() -> None:
        async with open_host(load_settings(dev=dev)) as host:
            me = await acting_user(host, user)
            try:
                plugin = (await find_plugin(host, me, reference)).plugin
            except NotFoundError:
                if not looks_like_url(reference):
                    raise
                plugin = await host.plugins.add(me, reference)
                out_console.print(f"Added {_describe(plugin)}")
            user_key = _read_key(plugin, from_stdin=key_stdin)
            result = await host.plugins.install(me, plugin.id, user_key=user_key)
        out_console.print(f"Installed {_describe(plugin)} for {escape(me.username)}.")
        if result.warning:
            out_console.print(f"[yellow]{escape(result.warning)}[/]")
        else:
            out_console.print(f"Operations: {escape(', '.join(result.operations))}")
        if result.sign_in_url is not None:
            _print_sign_in(result.sign_in_url, host.settings.public_url, plugin.id)
        out_console.print(f"Chat with it: {escape(powerstrip_command())} chat --plugin {plugin.id}")

    run(main())


def _read_key(plugin: PluginInfo, *, from_stdin: bool) -> str | None:
    if plugin.auth_type != "user_http":
        if from_stdin:
            raise RegistryError(
                f"plugin {plugin.name_for_model!r} ({plugin.auth_type}) takes no user key",
                where=f"plugin {plugin.id}",
                fix="install it without --key-stdin",
            )
        return None
    if from_stdin:
        key = sys.stdin.readline().strip()
    else:
        key = typer.prompt(
            f"Your key for {plugin.name_for_model} (not shown)", hide_input=True
        ).strip()
    if not key:
        raise RegistryError(
            f"plugin {plugin.name_for_model!r} needs your own key (user_http), and none was given",
            where=f"plugin {plugin.id}",
            fix="paste the key the plugin's service gave you",
        )
    return key


def _print_sign_in(link: str, public_url: str, plugin_id: int) -> None:
    out_console.print("Sign in to the plugin: open this link in your browser (valid 10 minutes)")
    out_console.print(f"  {escape(link)}", overflow="ignore", crop=False)
    out_console.print(
        f"The Powerstrip server must be running at {escape(public_url)}; "
        f"`{escape(powerstrip_command())} plugins sign-in {plugin_id}` makes a new link."
    )


@plugins_app.command("sign-in")
def sign_in(reference: PluginRef, user: UserOption = "dev", dev: DevOption = False) -> None:
    """Print a new sign-in link for an installed OAuth plugin."""

    async def main() -> None:
        async with open_host(load_settings(dev=dev)) as host:
            me = await acting_user(host, user)
            entry = await find_plugin(host, me, reference)
            plugin = entry.plugin
            if plugin.auth_type != "oauth":
                raise RegistryError(
                    f"plugin {plugin.name_for_model!r} does not use OAuth",
                    where=f"plugin {plugin.id}",
                    fix="only OAuth plugins need a sign-in",
                )
            if not entry.installed:
                raise RegistryError(
                    f"plugin {plugin.name_for_model!r} is not installed for {me.username}",
                    where=f"plugin {plugin.id}",
                    fix=f"install it first: {powerstrip_command()} plugins install {plugin.id}",
                )
            link = await host.plugins.sign_in_link(me, plugin.id)
            _print_sign_in(link, host.settings.public_url, plugin.id)

    run(main())


ConversationArg = Annotated[
    str, typer.Argument(metavar="CONVERSATION", help="The conversation's id.", show_default=False)
]


@plugins_app.command("enable")
def enable(
    conversation: ConversationArg,
    reference: PluginRef,
    user: UserOption = "dev",
    dev: DevOption = False,
) -> None:
    """Enable an installed plugin in a conversation (at most 3 at once)."""

    async def main() -> None:
        async with open_host(load_settings(dev=dev)) as host:
            me = await acting_user(host, user)
            plugin_id = await plugin_id_of(host, me, reference)
            chat = await host.chats.enable(me, conversation, plugin_id)
        enabled = ", ".join(str(pid) for pid in chat.plugin_ids)
        out_console.print(f"Enabled plugin {plugin_id}; conversation plugins: {enabled}")

    run(main())


@plugins_app.command("disable")
def disable(
    conversation: ConversationArg,
    reference: PluginRef,
    user: UserOption = "dev",
    dev: DevOption = False,
) -> None:
    """Disable a plugin in a conversation."""

    async def main() -> None:
        async with open_host(load_settings(dev=dev)) as host:
            me = await acting_user(host, user)
            plugin_id = await plugin_id_of(host, me, reference)
            chat = await host.chats.disable(me, conversation, plugin_id)
        enabled = ", ".join(str(pid) for pid in chat.plugin_ids) or "none"
        out_console.print(f"Disabled plugin {plugin_id}; conversation plugins: {enabled}")

    run(main())


@plugins_app.command("refresh")
def refresh(reference: PluginRef, user: UserOption = "dev", dev: DevOption = False) -> None:
    """Fetch a plugin again and print what changed."""

    async def main() -> PluginDiff:
        async with open_host(load_settings(dev=dev)) as host:
            me = await acting_user(host, user)
            plugin_id = await plugin_id_of(host, me, reference)
            return await host.plugins.refresh(me, plugin_id)

    diff = run(main())
    for line in diff_lines(diff):
        out_console.print(line)


def diff_lines(diff: PluginDiff) -> list[str]:
    """A refresh's findings, one line each, ready to print (markup escaped)."""
    if not diff.changed:
        return [f"Plugin {diff.plugin_id}: nothing changed."]
    lines = [f"Plugin {diff.plugin_id} changed:"]
    if diff.changed_fields:
        lines.append(f"  fields: {escape(', '.join(diff.changed_fields))}")
    lines.extend(f"  [green]+ {escape(op)}[/]" for op in diff.operations_added)
    lines.extend(f"  [red]- {escape(op)}[/]" for op in diff.operations_removed)
    lines.extend(
        f"  [yellow]~ {escape(op)}: another method, path or consequential flag[/]"
        for op in diff.operations_changed
    )
    if diff.grants_removed:
        lines.append(
            f'  [yellow]{diff.grants_removed} "always allow" grant(s) removed: their '
            "operations ask again[/]"
        )
    if diff.auth_changed or diff.api_host_changed:
        what = " and ".join(
            name
            for name, flag in (("auth", diff.auth_changed), ("API host", diff.api_host_changed))
            if flag
        )
        lines.append(
            f"  [yellow]its {what} changed: {diff.reconsent_required} install(s) must install "
            "it again to consent; their credentials were deleted[/]"
        )
    return lines


@plugins_app.command("uninstall")
def uninstall(reference: PluginRef, user: UserOption = "dev", dev: DevOption = False) -> None:
    """Uninstall a plugin; your credentials for it are deleted."""

    async def main() -> int:
        async with open_host(load_settings(dev=dev)) as host:
            me = await acting_user(host, user)
            plugin_id = await plugin_id_of(host, me, reference)
            await host.plugins.uninstall(me, plugin_id)
            return plugin_id

    plugin_id = run(main())
    out_console.print(f"Uninstalled plugin {plugin_id}; your credentials for it are deleted.")


@plugins_app.command("verify")
def verify(
    reference: PluginRef,
    withdraw: Annotated[
        bool, typer.Option("--withdraw", help="Withdraw the verification instead.")
    ] = False,
    user: UserOption = "dev",
    dev: DevOption = False,
) -> None:
    """Admin: mark a plugin verified (lifts the 15-user install cap), or withdraw it."""

    async def main() -> int:
        async with open_host(load_settings(dev=dev)) as host:
            me = await acting_user(host, user, admin=True)
            plugin_id = await plugin_id_of(host, me, reference)
            await host.plugins.set_verified(me, plugin_id, not withdraw)
            return plugin_id

    plugin_id = run(main())
    state = "no longer verified" if withdraw else "verified"
    out_console.print(f"Plugin {plugin_id} is {state}.")


@plugins_app.command("ban")
def ban(
    reference: PluginRef,
    lift: Annotated[bool, typer.Option("--lift", help="Lift the ban instead.")] = False,
    user: UserOption = "dev",
    dev: DevOption = False,
) -> None:
    """Admin: ban a plugin (nobody may install, enable or call it), or lift the ban."""

    async def main() -> int:
        async with open_host(load_settings(dev=dev)) as host:
            me = await acting_user(host, user, admin=True)
            plugin_id = await plugin_id_of(host, me, reference)
            await host.plugins.ban(me, plugin_id, not lift)
            return plugin_id

    plugin_id = run(main())
    if lift:
        out_console.print(f"Plugin {plugin_id} is no longer banned.")
    else:
        out_console.print(f"Plugin {plugin_id} is banned: nobody may install, enable or call it.")
