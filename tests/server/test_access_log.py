"""The access log shows which pages were asked for, never the secrets in their query strings."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import pytest

from tests import secret_watch
from tests.server.local_host import local_host

pytestmark = pytest.mark.anyio


async def test_sign_in_tickets_and_oauth_codes_are_not_in_the_access_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ticket, code, state = (secrets.token_urlsafe(16) for _ in range(3))
    secret_watch.watch(ticket, code, state)
    access = logging.getLogger("uvicorn.access")
    level = access.level
    access.setLevel(logging.INFO)
    try:
        with caplog.at_level(logging.INFO, logger="uvicorn.access"):
            async with local_host(tmp_path, access_log=True) as host, host.client() as browser:
                await browser.get("/aip/1/oauth/begin", params={"ticket": ticket})
                await browser.get(
                    "/aip/1/oauth/callback", params={"code": code, "state": state, "x": "1"}
                )
                await browser.get("/healthz", params={"access_token": ticket, "page": "2"})
    finally:
        access.setLevel(level)
    lines = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert len(lines) == 3, lines
    text = "\n".join(lines)
    for secret in (ticket, code, state):
        assert secret not in text, text
    # What was asked for stays readable: the path, the parameter names, harmless values.
    assert "/aip/1/oauth/begin?ticket=[redacted]" in text
    assert "/aip/1/oauth/callback?code=[redacted]&state=[redacted]&x=[redacted]" in text
    assert "/healthz?access_token=[redacted]&page=2" in text
    caplog.clear()  # the secrets are checked above; the suite-wide scan must not see them
