"""The `powerstrip` command line: the app, with each command group from its own module."""

from __future__ import annotations

from typing import Annotated

import typer

from powerstrip import __version__
from powerstrip.cli.chat import chat
from powerstrip.cli.check import check
from powerstrip.cli.data import data_app
from powerstrip.cli.docs import docs_app
from powerstrip.cli.examples import example_app
from powerstrip.cli.keys import keys_app
from powerstrip.cli.mcp import mcp_app
from powerstrip.cli.plugins import plugins_app
from powerstrip.cli.register import register
from powerstrip.cli.serve import serve
from powerstrip.cli.users import users_app
from powerstrip.cli.worker import worker

__all__ = ["app"]

app = typer.Typer(
    name="powerstrip",
    help="Powerstrip: an open, self-hosted host for ChatGPT-style plugins.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"powerstrip {__version__}")
        raise typer.Exit()


app.command()(check)
app.command()(serve)
app.command()(worker)
app.add_typer(plugins_app)
app.command()(register)
app.command()(chat)
app.add_typer(users_app)
app.add_typer(keys_app)
app.add_typer(example_app)
app.add_typer(docs_app)
app.add_typer(mcp_app)
app.add_typer(data_app)


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Powerstrip: an open, self-hosted host for ChatGPT-style plugins."""
