"""What operators' tools ask: `/healthz` (alive), `/readyz` (ready to serve), `/metrics`.

`/healthz` and `/readyz` are public (load balancers and process managers call them without
credentials) and say nothing secret: which checks failed, never where things are. `/metrics`
names plugin ids with their call and error rates, and the API's traffic: it takes the metrics
token (`POWERSTRIP_METRICS_TOKEN`) or an admin's API token.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from powerstrip.host import METRICS_CONTENT_TYPE, require_admin
from powerstrip.server.deps import CurrentHost, authenticate

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def health(host: CurrentHost) -> Any:  # Any: JSON
    """The process is alive: no I/O, so a slow database never gets it restarted."""
    return host.health.live()


@router.get("/readyz")
async def ready(host: CurrentHost) -> JSONResponse:
    """200 when every check passes; 503 naming the ones that failed."""
    readiness = await host.health.ready()
    return JSONResponse(
        readiness.to_dict(),
        status_code=200 if readiness.ok else 503,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/metrics")
async def metrics(request: Request, host: CurrentHost) -> Response:
    """Prometheus's text format, for the metrics token or an admin."""
    token = host.settings.metrics_token.get_secret_value()
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    scraper = (
        bool(token)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(given.strip().encode(), token.encode())
    )
    if not scraper:
        client = request.client.host if request.client else ""
        require_admin(await authenticate(host, request.headers, client))
    return Response(
        await host.metrics.render(),
        media_type=METRICS_CONTENT_TYPE,
        headers={"Cache-Control": "no-store"},
    )
