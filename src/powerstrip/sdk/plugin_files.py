"""The plugin's own documents (manifest, spec), rendered once per base URL.

A host asks for the spec on every conversation turn (revalidation, as the platform requires):
rendering the whole document as YAML for each of those requests was most of a plugin's work. So
each document is rendered once for each base URL it is served under, with a strong ETag (a
digest of its bytes) and a Last-Modified date, and a revalidation that matches is answered with
`304` from those alone. The Host header is the caller's to choose, so only the most recent
`_LIMIT` base URLs keep their renderings.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["PluginFiles", "RenderedCache", "RenderedDocument"]

_LIMIT = 64


@dataclass(frozen=True, slots=True)
class RenderedDocument:
    """One document's bytes and the validators a revalidation is checked against."""

    body: bytes
    media_type: str
    etag: str
    last_modified: datetime

    @classmethod
    def of(cls, body: bytes, media_type: str, last_modified: datetime) -> RenderedDocument:
        """A document with a strong ETag made from its bytes."""
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        return cls(body, media_type, etag, last_modified.replace(microsecond=0))

    def response(self, request: Request) -> Response:
        """`304` when the request's validators match (RFC 9110 §13.2.2), else the document."""
        headers = {
            "ETag": self.etag,
            "Last-Modified": format_datetime(self.last_modified, usegmt=True),
        }
        if self._not_modified(request):
            return Response(status_code=304, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)

    def _not_modified(self, request: Request) -> bool:
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None:
            # If-None-Match wins: If-Modified-Since is not even read when it is present.
            return _matches(if_none_match, self.etag)
        if_modified_since = request.headers.get("if-modified-since")
        if if_modified_since is None:
            return False
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False  # an unreadable date is ignored, as the RFC says
        if since.tzinfo is None:
            return False
        return self.last_modified <= since


def _matches(header: str, etag: str) -> bool:
    """Whether an If-None-Match list names `etag` (weak comparison, as for GET)."""
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


@dataclass(frozen=True, slots=True)
class PluginFiles:
    """The documents a plugin serves under one base URL."""

    manifest: RenderedDocument
    openapi_yaml: RenderedDocument
    openapi_json: RenderedDocument


class RenderedCache:
    """`PluginFiles` by base URL, rendered on first use; the least recently used go first.

    Thread-safe: the SDK's file routes run in the thread pool. Two threads asking for a new
    base URL at once may both render it; the first one stored is kept.
    """

    def __init__(self, render: Callable[[str], PluginFiles], limit: int = _LIMIT) -> None:
        self._render = render
        self._limit = limit
        self._files: OrderedDict[str, PluginFiles] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, base_url: str) -> PluginFiles:
        """The files for `base_url` (with or without its trailing slash)."""
        base = base_url.rstrip("/")
        with self._lock:
            files = self._files.get(base)
            if files is not None:
                self._files.move_to_end(base)
                return files
        rendered = self._render(base)  # outside the lock: other base URLs need not wait
        with self._lock:
            files = self._files.setdefault(base, rendered)
            self._files.move_to_end(base)
            while len(self._files) > self._limit:
                self._files.popitem(last=False)
        return files
