"""`powerstrip register`: a developer registers their plugin's secrets and verifies the token.

A `service_http` plugin needs its service key, an `oauth` plugin its OAuth client id and secret.
Secrets are read without echo (or from standard input for scripts) and never printed. The host
answers with a verification token to publish in the manifest; `--verify` then checks it.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from powerstrip.cli.host import (
    DevOption,
    UserOption,
    acting_user,
    find_plugin,
    load_settings,
    open_host,
    out_console,
    run,
)
from powerstrip.errors import RegistryError

if TYPE_CHECKING:
    # The engine loads when a command runs, not for the CLI's help (cli/host.py).
    from powerstrip.host import PluginInfo

__all__ = ["register"]


def register(
    reference: Annotated[
        str,
        typer.Argument(
            metavar="PLUGIN", help="The plugin's id, name_for_model or URL.", show_default=False
        ),
    ],
    verify: Annotated[
        bool,
        typer.Option(
            "--verify", help="Check that the live manifest publishes the issued token, and stop."
        ),
    ] = False,
    service_key_stdin: Annotated[
        bool,
        typer.Option("--service-key-stdin", help="Read the service key from standard input."),
    ] = False,
    client_id: Annotated[
        str | None, typer.Option("--client-id", help="The OAuth client id (asked when missing).")
    ] = None,
    client_secret_stdin: Annotated[
        bool,
        typer.Option(
            "--client-secret-stdin", help="Read the OAuth client secret from standard input."
        ),
    ] = False,
    user: UserOption = "dev",
    dev: DevOption = False,
) -> None:
    """Register as a plugin's developer (service key or OAuth client), or --verify its token.

    Prints the verification token and where to publish it; registering again replaces the
    secrets and issues a new token.
    """

    async def main() -> None:
        async with open_host(load_settings(dev=dev)) as host:
            me = await acting_user(host, user)
            plugin = (await find_plugin(host, me, reference)).plugin
            if verify:
                await host.plugins.verify_token(me, plugin.id)
                out_console.print(
                    f"The manifest of {escape(plugin.name_for_model)} publishes the token: "
                    "users may install it now."
                )
                return
            secrets = _secrets(plugin, service_key_stdin, client_id, client_secret_stdin)
            token = (await host.plugins.register(me, plugin.id, **secrets)).token
            key = host.settings.verification_key
        publish = json.dumps({"verification_tokens": {key: token}})
        out_console.print(f"Registered {escape(plugin.name_for_model)} (id {plugin.id}).")
        out_console.print("Verification token (not a secret):")
        typer.echo(token)
        out_console.print(
            f"Publish it in the `auth` object of {escape(plugin.manifest_url)}:\n"
            f"  {escape(publish)}\n"
            f"then check it: powerstrip register {plugin.id} --verify"
        )

    run(main())


def _secrets(
    plugin: PluginInfo, service_key_stdin: bool, client_id: str | None, client_secret_stdin: bool
) -> dict[str, str | None]:
    name = plugin.name_for_model
    if plugin.auth_type == "service_http":
        if client_id or client_secret_stdin:
            raise RegistryError(
                f"plugin {name!r} uses a service key, not an OAuth client",
                where=f"plugin {plugin.id}",
                fix="pass --service-key-stdin, or nothing to be asked for the key",
            )
        return {"service_key": read_secret("the service key", from_stdin=service_key_stdin)}
    if plugin.auth_type == "oauth":
        if service_key_stdin:
            raise RegistryError(
                f"plugin {name!r} uses OAuth, not a service key",
                where=f"plugin {plugin.id}",
                fix="pass --client-id and --client-secret-stdin, or nothing to be asked",
            )
        chosen_id = client_id or typer.prompt("OAuth client id").strip()
        secret = read_secret("the OAuth client secret", from_stdin=client_secret_stdin)
        return {"client_id": chosen_id, "client_secret": secret}
    raise RegistryError(
        f"plugin {name!r} uses {plugin.auth_type} auth: it has nothing to register",
        where=f"plugin {plugin.id}",
        fix="only service_http and oauth plugins are registered by their developer",
    )


def read_secret(what: str, *, from_stdin: bool) -> str:
    value = (
        sys.stdin.readline()
        if from_stdin
        else typer.prompt(f"Paste {what} (not shown)", hide_input=True)
    ).strip()
    if not value:
        raise RegistryError(
            f"{what} is empty",
            where="standard input" if from_stdin else "prompt",
            fix=f"give {what} as the plugin's service issued it",
        )
    return value
