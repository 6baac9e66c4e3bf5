"""`powerstrip example …`: list and serve the example plugins."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

# powerstrip.examples (the SDK, FastAPI, the plugins' stores) loads when a command runs, not
# for the CLI's help.

__all__ = ["example_app"]

example_app = typer.Typer(
    name="example", help="List and serve the example plugins.", no_args_is_help=True
)
_console = Console(highlight=False)

DataDir = Annotated[
    Path,
    typer.Option("--data-dir", help="Where the examples keep their SQLite files and dev secrets."),
]


def _known(name: str) -> str:
    from powerstrip.examples import EXAMPLES

    if name not in EXAMPLES:
        raise typer.BadParameter(f"no example named {name!r}; choose one of {', '.join(EXAMPLES)}")
    return name


@example_app.command("list")
def list_examples() -> None:
    """List the example plugins."""
    from powerstrip.examples import EXAMPLES

    table = Table("name", "what it shows")
    for name, spec in EXAMPLES.items():
        table.add_row(name, spec.description)
    _console.print(table)


@example_app.command("serve")
def serve(
    name: Annotated[str, typer.Argument(help="The example to serve.", callback=_known)],
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="The port to listen on (make run's examples use 5001-5005).")
    ] = 5010,
    data_dir: DataDir = Path(".powerstrip/examples"),
    verification_token: Annotated[
        list[str] | None,
        typer.Option(
            "--verification-token",
            metavar="HOST=TOKEN",
            help="A host's verification token to publish in the manifest (repeatable).",
        ),
    ] = None,
) -> None:
    """Serve one example plugin over HTTP (use it with `powerstrip check --dev`)."""
    from powerstrip.examples import EXAMPLES, ExampleConfig

    tokens: dict[str, str] = {}
    for entry in verification_token or []:
        key, sep, token = entry.partition("=")
        if not sep or not key or not token:
            raise typer.BadParameter(
                f"{entry!r} is not HOST=TOKEN", param_hint="--verification-token"
            )
        tokens[key] = token
    config = ExampleConfig(data_dir=data_dir, verification_tokens=tokens)
    spec = EXAMPLES[name]
    app = spec.build(config)
    _console.print(f"[bold]{name}[/]: {spec.description}")
    _console.print(f"Manifest: http://{host}:{port}/.well-known/ai-plugin.json")
    notes = spec.notes(config)
    if notes:
        # Development secrets go to the operator's terminal only, never to a log.
        _console.print(notes)
    uvicorn.run(app, host=host, port=port, log_level="info")


@example_app.command("issue-key")
def issue_key(
    user: Annotated[str, typer.Argument(help="The user the key is for.")],
    data_dir: DataDir = Path(".powerstrip/examples"),
) -> None:
    """Issue a personal key for a user of the todo-user example (paste it at install)."""
    from powerstrip.examples import ExampleConfig, issue_user_key

    key = issue_user_key(ExampleConfig(data_dir=data_dir), user)
    typer.echo(key)
