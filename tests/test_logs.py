"""Every log record carries the ids bound for its task and no secret, whoever logs it."""

from __future__ import annotations

import asyncio
import base64
import json
import logging

import pytest

from powerstrip.logs import bound_log_ids, install_log_hygiene, log_ids, remember_secret

logger = logging.getLogger("tests.logs")


@pytest.fixture(autouse=True)
def _hygiene() -> None:
    install_log_hygiene()


def test_a_remembered_secret_is_masked_in_every_encoding(caplog: pytest.LogCaptureFixture) -> None:
    secret = "s3cr3t-value-for-the-log-test"
    remember_secret(secret)
    basic = base64.b64encode(f"user:{secret}".encode()).decode()
    with caplog.at_level(logging.INFO, logger="tests.logs"):
        logger.info("plain %s, in a header Basic %s, quoted %r", secret, basic, secret)
        logger.info("json: %s", json.dumps({"key": secret}))
        logger.info("an object: %s", {"nested": [secret]})
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert secret not in text
    assert basic not in text
    assert text.count("[redacted]") >= 3


def test_token_shapes_are_masked_without_being_told(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="tests.logs"):
        logger.info("header Authorization: Bearer abcdefghijklmnop1234")
        logger.info("a token pst_%s leaked", "A" * 43)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "abcdefghijklmnop1234" not in text
    assert "AAAAAAAAAAAAAAAA" not in text
    assert "Bearer [redacted]" in text


def test_a_traceback_is_masked_too(caplog: pytest.LogCaptureFixture) -> None:
    secret = "traceback-secret-9876543210"
    remember_secret(secret)
    with caplog.at_level(logging.INFO, logger="tests.logs"):
        try:
            raise ValueError(f"bad key {secret}")
        except ValueError:
            logger.exception("failed")
    assert secret not in caplog.text
    assert "ValueError: bad key [redacted]" in caplog.text


@pytest.mark.anyio
async def test_bound_ids_reach_every_record_of_the_task_and_its_children(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def child() -> None:
        logger.info("child step")

    with caplog.at_level(logging.INFO, logger="tests.logs"):
        with log_ids(request="r1"):
            with log_ids(call="c7", empty=""):
                assert bound_log_ids() == {"request": "r1", "call": "c7"}
                await asyncio.gather(asyncio.create_task(child()))
            logger.info("after the call")
        logger.info("outside")
    messages = [record.getMessage() for record in caplog.records]
    assert messages == ["child step request=r1 call=c7", "after the call request=r1", "outside"]
    assert getattr(caplog.records[0], "call", None) == "c7"
