"""Pages from Jinja2 templates, every value escaped unless it went through the sanitiser."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

from powerstrip import __version__
from powerstrip.host import Host
from powerstrip.web.markdown import render_markdown
from powerstrip.web.security import Visitor

__all__ = ["STATIC_DIR", "asset_url", "page", "templates"]

_HERE = Path(__file__).parent
STATIC_DIR = _HERE / "static"


@cache
def _asset_digest(name: str) -> str:
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def asset_url(name: str) -> str:
    """The URL of a static file, with its digest: cached for a year, never stale."""
    return f"/static/{name}?v={_asset_digest(name)}"


def _when(value: datetime | None) -> str:
    if value is None:
        return "never"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _day(value: datetime) -> str:
    today = datetime.now(UTC).date()
    day = value.astimezone(UTC).date()
    if day == today:
        return "Today"
    if (today - day).days == 1:
        return "Yesterday"
    if (today - day).days < 7:
        return "Previous 7 days"
    return day.strftime("%B %Y")


@cache
def templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        # The templates ship with the package: compiled once, never stat()ed again per render.
        auto_reload=False,
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["markdown"] = render_markdown
    env.filters["when"] = _when
    env.filters["day"] = _day
    env.globals["asset"] = asset_url
    env.globals["version"] = __version__
    return env


def page(
    host: Host,
    visitor: Visitor,
    template: str,
    status: int = 200,
    **context: Any,  # Any: whatever the template shows
) -> HTMLResponse:
    """Render `template` for the visitor; sets the pre-session cookie when one was made."""
    body = (
        templates()
        .get_template(template)
        .render(
            visitor=visitor,
            user=visitor.user,
            csrf=visitor.csrf,
            settings=host.settings,
            **context,
        )
    )
    response = HTMLResponse(body, status_code=status)
    visitor.remember(response, host)
    return response
