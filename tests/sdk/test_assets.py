"""The logo and the legal page every plugin serves."""

from __future__ import annotations

import struct
import zlib

import pytest

from powerstrip.sdk.assets import default_logo_png, legal_page_html
from tests.sdk.todo_plugin import build, client

pytestmark = pytest.mark.anyio

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The (type, data) chunks of a PNG, checking the signature and every CRC."""
    assert data[:8] == SIGNATURE
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, kind
        chunks.append((kind, body))
        offset += 12 + length
    return chunks


def png_size(data: bytes) -> tuple[int, int]:
    chunks = png_chunks(data)
    kind, header = chunks[0]
    assert kind == b"IHDR"
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(
        ">IIBBBBB", header
    )
    assert (depth, colour, compression, filtering, interlace) == (8, 2, 0, 0, 0)
    assert chunks[-1] == (b"IEND", b"")
    pixels = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    # One filter byte then three bytes per pixel, for every row.
    assert len(pixels) == height * (1 + 3 * width)
    return width, height


async def test_the_served_logo_is_a_valid_512_by_512_png() -> None:
    async with client(build(logo_png=None).app()) as http:
        reply = await http.get("/logo.png")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "image/png"
    assert png_size(reply.content) == (512, 512)


async def test_the_default_logo_is_the_same_for_the_same_name() -> None:
    async with client(build(name_for_model="weather", logo_png=None).app()) as http:
        served = (await http.get("/logo.png")).content
    assert served == default_logo_png("weather")
    assert default_logo_png("weather") == default_logo_png("weather")


def test_different_names_get_different_logos() -> None:
    assert default_logo_png("todo") != default_logo_png("weather")


async def test_an_authors_own_logo_is_served_as_it_is() -> None:
    own = default_logo_png("mine", size=16)
    async with client(build(logo_png=own).app()) as http:
        reply = await http.get("/logo.png")
    assert reply.content == own
    assert png_size(reply.content) == (16, 16)


async def test_the_legal_page_is_html_naming_the_plugin_and_its_contact() -> None:
    async with client(build().app()) as http:
        reply = await http.get("/legal")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/html")
    assert reply.text.startswith("<!doctype html>")
    assert "<title>TODO List: terms and privacy</title>" in reply.text
    assert "mailto:support@example.com" in reply.text


async def test_the_legal_page_escapes_the_plugins_name_and_text() -> None:
    plugin = build(
        name_for_human="Tom & <Jerry>",
        legal_text="First <script>alert(1)</script>.\n\nSecond & last.",
    )
    async with client(plugin.app()) as http:
        page = (await http.get("/legal")).text
    assert "<script>" not in page
    assert "<Jerry>" not in page
    assert "Tom &amp; &lt;Jerry&gt;" in page
    assert "<p>First &lt;script&gt;alert(1)&lt;/script&gt;.</p><p>Second &amp; last.</p>" in page


def test_the_legal_page_escapes_quotes_in_the_contact_address() -> None:
    page = legal_page_html("TODO", "o'brien@example.com' onclick='x", None)
    assert "onclick='x" not in page
    assert "o&#x27;brien@example.com" in page


def test_the_default_legal_text_names_the_plugin() -> None:
    page = legal_page_html("TODO List", "support@example.com", None)
    assert "<p>TODO List is provided as is" in page


@pytest.mark.parametrize("size", [512, 17, 4])
def test_the_default_logo_is_a_lighter_square_inside_a_border_of_a_quarter(size: int) -> None:
    data = default_logo_png("weather", size=size)
    assert png_size(data) == (size, size)
    pixels = zlib.decompress(b"".join(body for kind, body in png_chunks(data) if kind == b"IDAT"))
    stride = 1 + 3 * size

    def pixel(x: int, y: int) -> bytes:
        assert pixels[y * stride] == 0  # each row's filter byte: none
        return pixels[y * stride + 1 + 3 * x : y * stride + 4 + 3 * x]

    margin = size // 4
    outer = pixel(0, 0)
    inside = {
        (x, y): margin <= x < size - margin and margin <= y < size - margin
        for x in range(size)
        for y in range(size)
        if size < 32 or x in (0, margin - 1, margin, size // 2, size - margin, size - 1)
    }
    colours = {pixel(x, y) for (x, y), is_inside in inside.items() if not is_inside}
    assert colours == {outer}
    [inner] = {pixel(x, y) for (x, y), is_inside in inside.items() if is_inside}
    assert all(i >= o for i, o in zip(inner, outer, strict=True))
    assert inner != outer
