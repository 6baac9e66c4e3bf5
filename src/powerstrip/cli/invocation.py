"""How to run `powerstrip` again: the command that the CLI prints in its hints.

`make run` starts `.venv/bin/powerstrip` without putting it on the PATH, so a hint that says
`powerstrip chat` fails when it is pasted. The hints name the program the way it was run:
the bare name only when the shell finds this very program under it.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

__all__ = ["powerstrip_command"]

_NAME = "powerstrip"


def powerstrip_command() -> str:
    """The words that run this `powerstrip` from the current directory's shell."""
    program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if program is None or program.name != _NAME:
        # `python -m powerstrip`, or the CLI called from another program (a test runner):
        # the module form runs the same code whatever the PATH holds.
        return f"{_shown(Path(sys.executable))} -m {_NAME}"
    found = shutil.which(_NAME)
    if found is not None and _same_file(Path(found), program):
        return _NAME
    return _shown(program)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def _shown(path: Path) -> str:
    """The path as short as it can be and still work here: relative below the current folder."""
    absolute = path.absolute()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)
