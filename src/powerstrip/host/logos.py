"""Plugin logos, fetched by the host and served from its own origin.

A browser never loads a logo from the plugin's domain (that would tell the plugin who looks at
the store, and let it serve anything). The host fetches `logo_url` through the guarded client
(address guard, TLS policy, size cap), accepts only PNG, JPEG, GIF and WebP, judged by the bytes
themselves, not the declared type (SVG can carry scripts: refused), and keeps the result in
memory for a day; a logo that cannot be had is remembered as missing for a while too, so a
broken plugin costs one fetch, not one per page view.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes, urlsplit

from powerstrip.errors import PowerstripError
from powerstrip.net import GuardedClient

__all__ = ["MAX_LOGO_BYTES", "Logo", "Logos", "sniff_image"]

logger = logging.getLogger(__name__)

MAX_LOGO_BYTES = 256_000
_FRESH_SECONDS = 24 * 3600.0
_MISSING_SECONDS = 600.0
_TIMEOUT = 5.0
_MAX_CACHED = 2000


@dataclass(frozen=True, slots=True)
class Logo:
    content: bytes
    media_type: str


def sniff_image(content: bytes) -> str | None:
    """The image type the bytes are, among those a logo may be; None for anything else."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


class Logos:
    """The logo cache; one per process."""

    def __init__(self, client: GuardedClient) -> None:
        self.client = client
        self._cache: dict[str, tuple[float, Logo | None]] = {}

    async def get(self, logo_url: str, *, origin: str) -> Logo | None:
        """The logo at `logo_url` for the plugin whose manifest is at `origin`, or None."""
        if not logo_url:
            return None
        now = time.monotonic()
        cached = self._cache.get(logo_url)
        if cached is not None and now < cached[0]:
            return cached[1]
        logo = await self._fetch(logo_url, origin)
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()
        self._cache[logo_url] = (now + (_FRESH_SECONDS if logo else _MISSING_SECONDS), logo)
        return logo

    async def _fetch(self, logo_url: str, origin: str) -> Logo | None:
        if logo_url.startswith("data:"):
            content = _data_url(logo_url)
        else:
            try:
                response = await self.client.request(
                    "GET", logo_url, timeout=_TIMEOUT, max_bytes=MAX_LOGO_BYTES, origin=origin
                )
            except PowerstripError as exc:
                logger.info("logos.unavailable host=%s error=%s", _host(logo_url), exc.message)
                return None
            if response.status_code != 200:
                logger.info(
                    "logos.unavailable host=%s status=%s", _host(logo_url), response.status_code
                )
                return None
            content = response.content
        if content is None or len(content) > MAX_LOGO_BYTES:
            return None
        media_type = sniff_image(content)
        if media_type is None:
            logger.info("logos.refused host=%s reason=not_an_allowed_image", _host(logo_url))
            return None
        return Logo(content, media_type)


def _data_url(url: str) -> bytes | None:
    header, _, data = url.partition(",")
    if len(data) > MAX_LOGO_BYTES * 2:
        return None
    try:
        if header.endswith(";base64"):
            return base64.b64decode(data, validate=False)
        return unquote_to_bytes(data)
    except (ValueError, binascii.Error):
        return None


def _host(url: str) -> str:
    return urlsplit(url).hostname or "?"
