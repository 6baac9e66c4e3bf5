"""docs/cli.md names every command, and every command line it shows parses."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main

from powerstrip.cli import app

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(command, typer.main.TyperGroup):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield path


def _command_lines() -> list[str]:
    """The `powerstrip …` lines of the doc's console examples, without prompt or redirection."""
    blocks = re.findall(r"```console\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    lines = []
    for block in blocks:
        for line in block.splitlines():
            if line.startswith("$ powerstrip "):
                lines.append(line.removeprefix("$ ").split(" <")[0].split("  #")[0].strip())
    return lines


def _parse(line: str) -> None:
    """Parse a command line as the CLI would, without running it (UsageError when wrong)."""
    words = shlex.split(line)[1:]
    command: Any = typer.main.get_command(app)
    context: Any = None
    name = "powerstrip"
    while isinstance(command, typer.main.TyperGroup):
        context = typer.Context(command, info_name=name, parent=context)
        name, words = words[0], words[1:]
        command = command.get_command(context, name)
        assert command is not None, f"{line}: no command {name!r}"
    command.make_context(name, words, parent=context)


def test_every_command_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for path in _commands(typer.main.get_command(app)):
        assert f"powerstrip {' '.join(path)}" in text, f"`powerstrip {' '.join(path)}` missing"


@pytest.mark.parametrize("line", _command_lines())
def test_every_example_command_line_parses(line: str) -> None:
    _parse(line)


def test_a_wrong_command_line_does_not_parse() -> None:
    with pytest.raises(typer.TyperException, match="--nope"):
        _parse("powerstrip plugins list --nope")
