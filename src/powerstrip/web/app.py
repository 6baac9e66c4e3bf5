"""Put the web app on the host's FastAPI app: its pages, its assets, its headers.

The pages are ordinary routes of the host app (so `/api/...` keeps its JSON errors and its 405s),
made with `WebRoute` (see `powerstrip.web.route`).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRouter
from fastapi.staticfiles import StaticFiles
from starlette.responses import FileResponse, Response
from starlette.types import Scope

from powerstrip.web import account_pages, chat_pages, develop_pages, mcp_pages, store_pages
from powerstrip.web.render import STATIC_DIR
from powerstrip.web.route import WebRoute
from powerstrip.web.security import SecurityHeaders

__all__ = ["WebRoute", "install_web"]

# Paths whose answers are not the web app's pages: they keep their own headers.
_NOT_PAGES = ("/api/", "/aip/", "/docs", "/redoc", "/openapi.json", "/healthz")


class _Assets(StaticFiles):
    """Static files, cached for a year: their URLs carry their digest (`asset()`)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200 and b"v=" in scope.get("query_string", b""):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def install_web(app: FastAPI) -> None:
    """Add the web app's routes, assets and headers to `app` (its host in `app.state.host`)."""
    pages = APIRouter(route_class=WebRoute, include_in_schema=False)
    for module in (account_pages, chat_pages, store_pages, develop_pages, mcp_pages):
        pages.include_router(module.router)

    @pages.get("/manifest.webmanifest")
    async def web_manifest() -> Response:
        return FileResponse(
            STATIC_DIR / "manifest.webmanifest",
            media_type="application/manifest+json",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    @pages.get("/sw.js")
    async def service_worker() -> Response:
        # Served from the root so its scope is the whole app; never cached by HTTP, so a new
        # version of the app shell is picked up on the next visit.
        return FileResponse(
            STATIC_DIR / "sw.js",
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
        )

    app.include_router(pages)
    app.mount("/static", _Assets(directory=STATIC_DIR), name="static")
    app.add_middleware(SecurityHeaders, skip=_NOT_PAGES)
