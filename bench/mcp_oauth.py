"""What MCP's OAuth costs: one whole sign-in, and `/mcp` with an OAuth token or an API token.

One host on loopback (`create_app`, SQLite in a temporary folder, plain HTTP), one user signed
in to the web app. A sign-in is what a client does the first time: register, authorize (to the
consent page), the page, Allow, exchange the code with PKCE. Then `tools/list` on `/mcp`, with
the access token and with an API token: the only difference is how the bearer is looked up.
Times are wall-clock (noisy on a shared machine); CPU is the process's (client and server run
in this one process), per operation.
Run: `.venv/bin/python bench/mcp_oauth.py [SIGN_INS] [REQUESTS]`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from powerstrip.server import create_app
from powerstrip.settings import Settings
from powerstrip.testing import LoopbackServer

PASSWORD = "a long enough passphrase"  # noqa: S105 - a throwaway account of the benchmark
REDIRECT = "http://127.0.0.1:9/callback"
LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
ACCEPT = {"accept": "application/json, text/event-stream"}


def _field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    if not found:
        raise SystemExit(f"the page has no {name} field")
    return found.group(1)


async def sign_in(web: httpx.AsyncClient) -> str:
    """One client's whole sign-in; its access token."""
    registered = await web.post(
        "/oauth/register", json={"client_name": "bench", "redirect_uris": [REDIRECT]}
    )
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": registered.json()["client_id"],
        "redirect_uri": REDIRECT,
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
        "state": "s",
        "resource": str(web.base_url).rstrip("/") + "/mcp",
    }
    authorize = await web.get("/oauth/authorize", params=params)
    page = await web.get(authorize.headers["location"])
    answer = await web.post(
        "/oauth/consent",
        data={
            "csrf": _field(page.text, "csrf"),
            "request": _field(page.text, "request"),
            "decision": "allow",
        },
    )
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    tokens = await web.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": params["client_id"],
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    )
    if tokens.status_code != 200:
        raise SystemExit(f"sign-in failed: {tokens.text}")
    return str(tokens.json()["access_token"])


async def timed(count: int, make: Callable[[], Awaitable[object]]) -> tuple[list[float], float]:
    """Wall seconds of each of `count` awaits of `make()`, and the CPU seconds of all."""
    times: list[float] = []
    cpu = time.process_time()
    for _ in range(count):
        start = time.perf_counter()
        await make()
        times.append(time.perf_counter() - start)
    return times, time.process_time() - cpu


def report(label: str, times: list[float], cpu: float) -> None:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    print(
        f"{label:<28}{statistics.median(times) * 1000:>9.2f}{p99 * 1000:>9.2f}"
        f"{cpu / len(times) * 1000:>10.2f}"
    )


async def run(sign_ins: int, requests: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        server = LoopbackServer(None, lifespan=True)  # type: ignore[arg-type] - set below
        settings = Settings(
            data_dir=root,
            database_url=f"sqlite+aiosqlite:///{root / 'powerstrip.db'}",
            public_url=server.url,
        )
        server.app = create_app(settings)
        server.start()
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as web:
                page = await web.get("/sign-up")
                await web.post(
                    "/sign-up",
                    data={
                        "csrf": _field(page.text, "csrf"),
                        "username": "bench",
                        "password": PASSWORD,
                        "confirm": PASSWORD,
                    },
                )
                settings_page = await web.get("/settings")
                made = await web.post(
                    "/settings/tokens", data={"csrf": _field(settings_page.text, "csrf")}
                )
                found = re.search(r'<code id="new-token">([^<]+)</code>', made.text)
                if not found:
                    raise SystemExit("no API token")
                api_token = found.group(1)
                await sign_in(web)  # warm up
                flows, flows_cpu = await timed(sign_ins, lambda: sign_in(web))
                oauth_token = await sign_in(web)

                async def listing(token: str) -> None:
                    headers = ACCEPT | {"authorization": f"Bearer {token}"}
                    answer = await web.post("/mcp", json=LIST, headers=headers)
                    if answer.status_code != 200:
                        raise SystemExit(f"/mcp answered {answer.status_code}")

                await listing(oauth_token)
                await listing(api_token)
                by_oauth, oauth_cpu = await timed(requests, lambda: listing(oauth_token))
                by_api, api_cpu = await timed(requests, lambda: listing(api_token))
        finally:
            server.stop()
    print(f"{sign_ins} sign-ins, {requests} tools/list each way, SQLite, HTTP on loopback")
    print(f"{'operation':<28}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/op':>10}")
    report("whole OAuth sign-in", flows, flows_cpu)
    report("tools/list, OAuth token", by_oauth, oauth_cpu)
    report("tools/list, API token", by_api, api_cpu)


def main() -> None:
    sign_ins = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    asyncio.run(run(sign_ins, requests))


if __name__ == "__main__":
    main()
