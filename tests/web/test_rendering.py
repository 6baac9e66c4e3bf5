"""Answers rendered as markdown and sanitised; logos judged by their bytes."""

from __future__ import annotations

import re

import pytest

from powerstrip.host.logos import sniff_image
from powerstrip.web import render_markdown

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_markdown_keeps_tables_code_and_links() -> None:
    html = render_markdown("| a | b |\n| - | - |\n| 1 | 2 |\n\n`x` [site](https://example.org)")
    assert "<table>" in html
    assert "<code>x</code>" in html
    assert 'href="https://example.org"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        "![tracker](https://plugin.example.com/pixel.png)",
        '<a href="https://e.com" onclick="alert(1)">e</a>',
        "<iframe src=https://e.com></iframe>",
    ],
)
def test_markdown_never_lets_markup_through(text: str) -> None:
    html = str(render_markdown(text))
    tags = " ".join(re.findall(r"<[^>]*>", html)).lower()  # markup, not the escaped text
    for forbidden in ("<script", "<img", "<iframe", "javascript:", "onerror", "onclick"):
        assert forbidden not in tags, html


def test_only_raster_images_are_logos() -> None:
    assert sniff_image(PNG) == "image/png"
    assert sniff_image(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert sniff_image(b"GIF89a....") == "image/gif"
    assert sniff_image(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_image(b"<svg onload=alert(1)></svg>") is None
    assert sniff_image(b"<html>") is None
