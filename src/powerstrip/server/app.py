"""The FastAPI app factory: the REST API, the OAuth pages, the web app and a health check over
one `Host`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from powerstrip import __version__
from powerstrip.errors import JobError, PowerstripError
from powerstrip.host import Host
from powerstrip.host.clock import Clock
from powerstrip.mcp import McpAuthServer, McpEndpoint, mcp_auth_routes
from powerstrip.runtime import Model
from powerstrip.server import data_pages, oauth, probes
from powerstrip.server.access_log import install_access_log_redaction
from powerstrip.server.api import (
    TRANSCRIPTIONS_PATH,
    account_router,
    audio_router,
    conversations_router,
    data_router,
    mcp_router,
    plugins_router,
    upload_cap,
)
from powerstrip.server.deps import require_scope
from powerstrip.server.errors import error_responses, install_error_handlers
from powerstrip.server.guard import RequestGuard
from powerstrip.server.request_metrics import RequestMetrics
from powerstrip.server.shutdown_signals import drain_on_signals
from powerstrip.server.v1 import UPLOAD_PARTS_PATH, create_v1_app
from powerstrip.settings import Settings

__all__ = ["McpRoute", "OwnAddressMiddleware", "create_app"]

logger = logging.getLogger(__name__)

# How often a server whose job queue did not answer at startup tries again.
_JOBS_RETRY_SECONDS = 5.0


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


class McpRoute:
    """`/mcp`: hands each request to the MCP endpoint the lifespan started with the host."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint: McpEndpoint = scope["app"].state.mcp
        await endpoint(scope, receive, send)


async def _recover_turns(host: Host) -> None:
    """Close the turns whose worker died; a failure here never stops the start."""
    try:
        # In memory, only the sole process sweeps, as it starts: no turn runs anywhere yet.
        await host.turn_recovery.sweep(alone=host.coordination.backend == "memory")
    except PowerstripError as exc:
        # The periodic sweep (on Redis) or each conversation's next message closes them later.
        logger.warning("server.turn_recovery_failed error=%s", exc.message)


def create_app(
    settings: Settings | None = None,
    *,
    model: Model | None = None,
    clock: Clock | None = None,
    drain_on_shutdown_signals: bool = False,
    sole_process: bool = False,
) -> FastAPI:
    """The host app. Its resources open at startup in the server's event loop (lifespan).

    `model` replaces the backend the settings choose (tests pass a scripted one), `clock` the
    system clock of the data services (tests move it on). Unless `POWERSTRIP_JOBS_IN_PROCESS`
    is off, the server is also a background job worker (docs/jobs.md), which enqueues the
    retention job at startup and every `POWERSTRIP_RETENTION_INTERVAL_SECONDS`.
    `drain_on_shutdown_signals` (what `powerstrip serve` asks for) makes SIGTERM and SIGINT
    drain the turns in flight (`powerstrip.host.Drain`) before the server stops.
    `sole_process` (`powerstrip serve` with one worker) says no other process runs turns on this
    store, so without Redis the startup may close what a dead predecessor's turns left open
    (`powerstrip.host.turn_recovery`); on Redis every server does that, by the turn locks' leases.
    """
    chosen = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # At startup, after the server configured its logging (which would drop a filter
        # added earlier to a logger it configures).
        install_access_log_redaction()
        host = await Host.start(chosen, model=model, clock=clock)
        app.state.host = host
        v1.state.host = host
        retrying: asyncio.Task[None] | None = None
        if chosen.jobs_in_process:
            # This process is a job worker too (docs/jobs.md): one command runs everything.
            try:
                await host.jobs.start()
            except JobError as exc:
                # Redis is down: serve anyway (/readyz says so) and start working once it is up.
                logger.warning("server.jobs_unavailable error=%s", exc.message)
                retrying = asyncio.create_task(_start_jobs_later(host))
        if sole_process or host.coordination.backend == "redis":
            await _recover_turns(host)
        app.state.mcp = McpEndpoint(host)
        undo_signals = (
            drain_on_signals(host.drain, chosen.shutdown_grace_seconds)
            if drain_on_shutdown_signals
            else None
        )

        app.state.mcp_auth = McpAuthServer(host)
        logger.info(
            "server.start model=%s public_url=%s dev_mode=%s",
            host.model.name,
            chosen.public_url,
            chosen.dev_mode,
        )
        try:
            async with app.state.mcp.running():
                yield
        finally:
            if undo_signals is not None:
                undo_signals()
            host.drain.stop()  # turns still running now never get to finish
            if retrying is not None:
                retrying.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await retrying
            await host.aclose()  # stops the job worker first: its running jobs go back

    app = FastAPI(
        title="Powerstrip",
        version=__version__,
        summary="A self-hosted ChatGPT plugin host: install plugins, chat with them.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # Audio uploads are bigger than any JSON body: their route has its own cap. The /v1 route
    # (OpenAI's path) is listed too, for the OpenAI-compatible API to mount there.
    audio_cap = upload_cap(chosen.transcription_max_bytes)
    app.add_middleware(
        RequestGuard,
        max_bytes=chosen.max_request_bytes,
        route_caps={
            TRANSCRIPTIONS_PATH: audio_cap,
            "/v1/audio/transcriptions": audio_cap,
            # Uploads of /v1/files may be as large as a document the retrieval engine reads.
            "/v1/files": upload_cap(chosen.retrieval_max_file_bytes),
            # And each part of a /v1/uploads upload: a part may be the whole file.
            "/v1" + UPLOAD_PARTS_PATH: upload_cap(chosen.retrieval_max_file_bytes),
        },
    )
    app.add_middleware(OwnAddressMiddleware)
    # Outermost: it counts every answer, the guard's refusals included.
    app.add_middleware(RequestMetrics)
    # Every /api route can meet these; a route adds the ones only it can (403 for admins).
    errors = error_responses(400, 401, 404, 409, 413, 422, 502, 503)
    # A token needs the chat scope for the store and conversations (docs/api.md).
    chat = [Depends(require_scope("chat"))]
    # The OpenAI-compatible API: its own schema, errors in OpenAI's shape, and its own door.
    # First: routes are matched in order, and no other route starts with /v1, so an API
    # client's request is not first tried against every /api route.
    v1 = create_v1_app()
    app.mount("/v1", v1)
    app.include_router(plugins_router, prefix="/api", responses=errors, dependencies=chat)
    app.include_router(conversations_router, prefix="/api", responses=errors, dependencies=chat)
    app.include_router(account_router, prefix="/api", responses=errors)
    app.include_router(data_router, prefix="/api", responses=errors, dependencies=chat)
    app.include_router(audio_router, prefix="/api", responses=errors, dependencies=chat)
    app.include_router(oauth.router)
    app.include_router(data_pages.router)
    app.include_router(mcp_router, prefix="/api", responses=errors, dependencies=chat)
    # The MCP server (docs/mcp.md): its own bearer check, outside /api's JSON error shapes.
    app.router.routes.append(Route("/mcp", McpRoute(), methods=["GET", "POST", "DELETE"]))
    # MCP authorization: the host is /mcp's OAuth authorization server (the consent page is
    # the web app's).
    app.router.routes.extend(mcp_auth_routes())

    # /healthz, /readyz and /metrics.
    app.include_router(probes.router)

    # The web app's pages, last: the API's routes (and their JSON errors) come first. Imported
    # here: the web app builds on this package's dependencies (session cookie, origin checks).
    from powerstrip.web import install_web

    install_web(app)

    return app


async def _start_jobs_later(host: Host) -> None:
    """Start the host's job worker once the queue answers, trying again every few seconds."""
    while True:
        await asyncio.sleep(_JOBS_RETRY_SECONDS)
        try:
            await host.jobs.start()
        except JobError as exc:
            logger.warning("server.jobs_unavailable error=%s", exc.message)
            continue
        logger.info("server.jobs_started")
        return
