"""The `/v1` app: the routers, OpenAI's errors, the token door and `Idempotency-Key`."""

from __future__ import annotations

from fastapi import FastAPI

from powerstrip import __version__
from powerstrip.server.v1 import (
    assistants,
    audio,
    chat,
    files,
    models,
    responses,
    uploads,
    vector_stores,
)
from powerstrip.server.v1.access import Idempotent, V1Guard
from powerstrip.server.v1.errors import install_openai_errors
from powerstrip.server.v1.shapes import document_answers

__all__ = ["create_v1_app"]


def create_v1_app() -> FastAPI:
    """The sub-app; the server mounts it at `/v1` and gives it the host in `state.host`."""
    app = FastAPI(
        title="Powerstrip OpenAI-compatible API",
        version=__version__,
        summary="OpenAI's API on a Powerstrip host: point the openai client's base_url here.",
        docs_url=None,
        redoc_url=None,
    )
    install_openai_errors(app)
    # Added last runs first: the guard authenticates, then Idempotent may replay.
    app.add_middleware(Idempotent)
    app.add_middleware(V1Guard)
    for module in (models, chat, responses, files, uploads, vector_stores, assistants, audio):
        app.include_router(module.router)
    document_answers(app)
    return app
