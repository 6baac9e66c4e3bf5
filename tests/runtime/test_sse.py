"""sse_data: the `data` of each event of a byte stream, however the bytes are cut."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from powerstrip.runtime.sse import sse_data

pytestmark = pytest.mark.anyio


async def pieces(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def events(*chunks: bytes) -> list[str]:
    return [data async for data in sse_data(pieces(*chunks))]


async def test_each_event_gives_its_data() -> None:
    assert await events(b'data: {"a": 1}\n\ndata: [DONE]\n\n') == ['{"a": 1}', "[DONE]"]


async def test_every_line_ending_ends_a_line() -> None:
    stream = b"data: crlf\r\n\r\ndata: lf\n\ndata: cr\r\rdata:no-space\n\n"
    assert await events(stream) == ["crlf", "lf", "cr", "no-space"]


async def test_an_event_cut_anywhere_comes_out_the_same() -> None:
    stream = 'data: {"text": "café ☕"}\r\n\r\ndata: two\r\n\r\n'.encode()
    for cut in range(1, len(stream)):
        assert await events(stream[:cut], stream[cut:]) == ['{"text": "café ☕"}', "two"], cut
    assert await events(*(bytes([byte]) for byte in stream)) == ['{"text": "café ☕"}', "two"]


async def test_data_lines_of_one_event_join_with_newlines() -> None:
    assert await events(b"data: one\ndata\ndata: three\n\n") == ["one\n\nthree"]


async def test_comments_other_fields_and_events_without_data_are_skipped() -> None:
    stream = b": keep-alive\n\nevent: ping\nid: 7\nretry: 10\n\nevent: chunk\ndata: x\n\n"
    assert await events(stream) == ["x"]


async def test_an_event_the_stream_ends_in_the_middle_of_is_not_given() -> None:
    assert await events(b"data: whole\n\ndata: cut off") == ["whole"]
    assert await events(b"data: whole\n\ndata: no blank line\n") == ["whole"]
    assert await events(b"data: ends with a lone CR\r\r") == ["ends with a lone CR"]


async def test_bytes_that_are_not_utf8_are_replaced() -> None:
    assert await events(b"data: \xff\n\n") == ["\ufffd"]
