"""Logos: fetched by the host, judged by their bytes (data: URLs too)."""

from __future__ import annotations

import base64

import pytest

from powerstrip.host.logos import Logos
from powerstrip.net import GuardedClient, NetPolicy

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.mark.anyio
async def test_a_data_url_logo_is_checked_like_any_other() -> None:
    logos = Logos(GuardedClient(NetPolicy()))
    try:
        png = "data:image/png;base64," + base64.b64encode(PNG).decode()
        found = await logos.get(png, origin="https://plugin.example.com")
        assert found is not None
        assert found.media_type == "image/png"
        svg = "data:image/svg+xml;base64," + base64.b64encode(b"<svg onload=x>").decode()
        assert await logos.get(svg, origin="https://plugin.example.com") is None
        assert await logos.get("", origin="https://plugin.example.com") is None
    finally:
        await logos.client.aclose()
