"""The `powerstrip` command line (Typer): one module per command group.

`host.py` is the one place that opens the host for a command and turns every error, a bad
setting included, into one clear line; `invocation.py` names the program as it was run in every
hint the commands print.
"""

from powerstrip.cli.app import app

__all__ = ["app"]
