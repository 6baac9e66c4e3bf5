"""The page an export's one-time link opens: `/data/exports/ID?token=...`.

The link needs no API token (it is opened from a mail, in any browser): its secret is the
permission. Opening it (GET) only shows what it downloads: mail scanners and link previews
open links, and must not use up a one-time link. The Download button POSTs the secret back,
and that request gets the zip, once. The access log redacts `token` (server/access_log.py).
"""

from __future__ import annotations

import html

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, Response

from powerstrip.errors import NotFoundError
from powerstrip.server.deps import CurrentHost

__all__ = ["router"]

router = APIRouter(tags=["data"], include_in_schema=False)

_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the link's secret must not leave in a Referer
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    content = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>"
        '<body style="font-family:system-ui;max-width:36rem;margin:4rem auto">'
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(content, status_code=status, headers=_HEADERS)


@router.get("/data/exports/{export_id}")
async def export_page(export_id: str, host: CurrentHost, token: str = "") -> Response:
    try:
        info = await host.exports.peek(export_id, token)
    except NotFoundError as exc:
        return _page("Link not valid", f"<p>{html.escape(exc.message)}.</p>", 404)
    if info.status == "building":
        return _page(
            "Your export is being built",
            "<p>It is not ready yet. Reload this page in a minute.</p>",
        )
    size = f"{info.size_bytes / 1024:.0f} KiB"
    expires = html.escape(f"{info.expires_at:%Y-%m-%d %H:%M} UTC")
    return _page(
        "Your Powerstrip data export",
        f"<p>A zip of {size}. This link downloads it once, until {expires}.</p>"
        '<form method="post">'
        f'<input type="hidden" name="token" value="{html.escape(token, quote=True)}">'
        "<button type=submit>Download</button></form>",
    )


@router.post("/data/exports/{export_id}")
async def download(export_id: str, host: CurrentHost, token: str = Form("")) -> Response:
    try:
        found = await host.exports.claim(export_id, token)
    except NotFoundError as exc:
        return _page("Link not valid", f"<p>{html.escape(exc.message)}.</p>", 404)
    return Response(
        found.archive,
        media_type="application/zip",
        headers=_HEADERS | {"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )
