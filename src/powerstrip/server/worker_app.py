"""The app of each `powerstrip serve --workers N` process, built from the environment.

uvicorn starts N processes and has each import this factory (`powerstrip.server.worker_app:
worker_app`); `powerstrip serve` put the settings it was given on the command line into the
environment before they started.
"""

from __future__ import annotations

from fastapi import FastAPI

from powerstrip.server.app import create_app
from powerstrip.settings import Settings

__all__ = ["worker_app"]


def worker_app() -> FastAPI:
    """One worker's app: settings from `POWERSTRIP_*`, shutdown signals drain its turns."""
    return create_app(Settings(), drain_on_shutdown_signals=True)
