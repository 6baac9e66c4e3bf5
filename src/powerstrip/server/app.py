"""The FastAPI app factory: the REST API, the OAuth pages and a health check over one `Host`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from powerstrip import __version__
from powerstrip.host import Host
from powerstrip.runtime import Model
from powerstrip.server import oauth
from powerstrip.server.access_log import install_access_log_redaction
from powerstrip.server.api import account_router, conversations_router, plugins_router
from powerstrip.server.deps import require_scope
from powerstrip.server.errors import error_responses, install_error_handlers
from powerstrip.server.guard import RequestGuard
from powerstrip.settings import Settings

__all__ = ["OwnAddressMiddleware", "create_app"]

logger = logging.getLogger(__name__)


class OwnAddressMiddleware:
    """Tells the host each local address and port it is reached at, before anything else runs.

    Only the server sees the sockets it accepts on (a server bound to every interface is reached
    at concrete addresses); the host refuses those as plugin destinations, so a plugin pointed at
    this server can never make the host call itself.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server")
        app = scope.get("app")  # Starlette puts itself here before its middleware runs
        host = getattr(getattr(app, "state", None), "host", None)
        if scope["type"] in ("http", "websocket") and server and server[1] and host is not None:
            host.note_own_address(str(server[0]), int(server[1]))
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None, *, model: Model | None = None) -> FastAPI:
    """The host app. Its resources open at startup in the server's event loop (lifespan).

    `model` replaces the backend the settings choose (tests pass a scripted one).
    """
    chosen = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # At startup, after the server configured its logging (which would drop a filter
        # added earlier to a logger it configures).
        install_access_log_redaction()
        host = await Host.start(chosen, model=model)
        app.state.host = host
        logger.info(
            "server.start model=%s public_url=%s dev_mode=%s",
            host.model.name,
            chosen.public_url,
            chosen.dev_mode,
        )
        try:
            yield
        finally:
            await host.aclose()

    app = FastAPI(
        title="Powerstrip",
        version=__version__,
        summary="A self-hosted ChatGPT plugin host: install plugins, chat with them.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(RequestGuard, max_bytes=chosen.max_request_bytes)
    app.add_middleware(OwnAddressMiddleware)
    # Every /api route can meet these; a route adds the ones only it can (403 for admins).
    errors = error_responses(400, 401, 404, 409, 413, 422, 502, 503)
    # A token needs the chat scope for the store and conversations (docs/api.md).
    chat = [Depends(require_scope("chat"))]
    app.include_router(plugins_router, prefix="/api", responses=errors, dependencies=chat)
    app.include_router(conversations_router, prefix="/api", responses=errors, dependencies=chat)
    app.include_router(account_router, prefix="/api", responses=errors)
    app.include_router(oauth.router)

    @app.get("/healthz", include_in_schema=False)
    async def health() -> Any:  # Any: JSON
        return {"status": "ok", "version": __version__}

    return app
