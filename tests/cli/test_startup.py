"""The CLI starts without the engine: help and --version load no driver, model client or SDK."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# Each is seconds of imports (together most of a command's start) that only running a
# command needs.
_ENGINE = ("powerstrip.host", "powerstrip.runtime", "powerstrip.server", "powerstrip.check")
_LIBRARIES = ("sqlalchemy", "openai", "mcp", "fastapi", "httpx", "numpy")

_EVERY_HELP = textwrap.dedent(
    """
    import json, sys
    import typer
    from powerstrip.cli import app

    def helps(command, ctx):
        yield command.get_help(ctx)
        for name in command.list_commands(ctx) if hasattr(command, "list_commands") else ():
            sub = command.get_command(ctx, name)
            yield from helps(sub, sub.context_class(sub, info_name=name, parent=ctx))

    root = typer.main.get_command(app)
    for _ in helps(root, root.context_class(root, info_name="powerstrip")):
        pass  # Typer prints each help as it renders it
    print(json.dumps(sorted(sys.modules)))
    """
)


def test_every_commands_help_loads_none_of_the_engine() -> None:
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", _EVERY_HELP], capture_output=True, text=True, timeout=120, check=True
    )
    *helps, modules = result.stdout.splitlines()
    # Every group and command rendered its help, the deepest too.
    assert sum("Usage:" in line for line in helps) > 40
    assert any("Usage: powerstrip plugins add" in line for line in helps)
    loaded = [
        name
        for name in json.loads(modules)
        if name.startswith(_ENGINE) or name.split(".")[0] in _LIBRARIES
    ]
    assert loaded == []
