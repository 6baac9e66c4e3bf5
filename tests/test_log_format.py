"""JSON log lines: the bound ids as fields, and no secret in any encoding."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator

import pytest

from powerstrip.log_format import JsonFormatter
from powerstrip.logs import install_log_hygiene, log_ids, remember_secret
from powerstrip.redaction import encoded_forms

logger = logging.getLogger("tests.log_format")


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    install_log_hygiene()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield out
    finally:
        logger.removeHandler(handler)


def _lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_line_carries_its_ids_as_fields(stream: io.StringIO) -> None:
    with log_ids(request="req-1", conversation="conv-2"), log_ids(call="call_3"):
        logger.info("chats.turn step=%d share=%s", 2, "50%")
    [line] = _lines(stream)
    assert line["message"] == "chats.turn step=2 share=50%"
    assert (line["request"], line["conversation"], line["call"]) == ("req-1", "conv-2", "call_3")
    assert (line["level"], line["logger"]) == ("info", "tests.log_format")
    assert str(line["time"]).endswith("Z")


def test_an_id_named_like_a_field_does_not_replace_it(stream: io.StringIO) -> None:
    with log_ids(message="not the message"):
        logger.info("the message")
    [line] = _lines(stream)
    assert line["message"] == "the message"
    assert line["id_message"] == "not the message"


def test_a_secret_appears_in_no_encoding_in_a_json_line(stream: io.StringIO) -> None:
    # Quotes, a backslash and non-ASCII: JSON escapes each of them its own way.
    secret = 'pa"ss\\wörd-9f8e7d6c5b4a'
    remember_secret(secret)
    basic = base64.b64encode(f"user:{secret}".encode()).decode()
    with log_ids(request="req-9"):
        logger.info("plain %s", secret)
        logger.info("json %s", json.dumps({"password": secret}))
        logger.info("repr %r, header Basic %s", secret, basic)
        logger.info("bytes %s", secret.encode())
        try:
            raise ValueError(f"refused {secret}")
        except ValueError:
            logger.exception("failed")
    text = stream.getvalue()
    lines = _lines(stream)
    assert len(lines) == 5
    for form in encoded_forms(secret) | {basic}:
        assert form not in text, form
    assert "ValueError: refused [redacted]" in str(lines[-1]["exception"])
