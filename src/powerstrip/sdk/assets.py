"""The small files every plugin serves besides its API: a logo and a legal page."""

from __future__ import annotations

import functools
import hashlib
import html
import struct
import zlib

__all__ = ["default_logo_png", "legal_page_html"]


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


@functools.lru_cache(maxsize=64)
def default_logo_png(name: str, size: int = 512) -> bytes:
    """A square PNG in a colour derived from `name`, with a lighter inner square.

    Plugins without a logo of their own still serve a valid 512×512 image (spec §2). Built
    from its two kinds of row, not pixel by pixel (a Python loop over 262,144 pixels cost tens
    of milliseconds per plugin built), and kept: the same name always gives the same bytes.
    """
    digest = hashlib.sha256(name.encode()).digest()
    outer = bytes(64 + b % 160 for b in digest[:3])
    inner = bytes(min(255, c + 70) for c in outer)
    margin = size // 4
    # Each scanline starts with its filter type, 0 (none), then three bytes per pixel.
    plain = b"\0" + outer * size
    crossed = b"\0" + outer * margin + inner * (size - 2 * margin) + outer * margin
    rows = plain * margin + crossed * (size - 2 * margin) + plain * margin
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )


def legal_page_html(name_for_human: str, contact_email: str, text: str | None) -> str:
    """A plain legal page; `text` is the plugin's own terms, else a minimal default."""
    body = text or (
        f"{name_for_human} is provided as is, without warranty. It stores only what its "
        "operations need to do their job, and nothing is shared with third parties."
    )
    paragraphs = "".join(f"<p>{html.escape(p.strip())}</p>" for p in body.split("\n\n") if p)
    name, email = html.escape(name_for_human), html.escape(contact_email)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{name}: terms and privacy</title></head><body>"
        f"<h1>{name}: terms and privacy</h1>{paragraphs}"
        f"<p>Contact: <a href='mailto:{email}'>{email}</a></p></body></html>"
    )
