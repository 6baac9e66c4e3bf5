"""`python -m powerstrip` is the `powerstrip` command."""

from powerstrip.cli import app

app(prog_name="powerstrip")
