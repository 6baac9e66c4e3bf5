"""The web app's cost: time to the first streamed token, and page renders under load.

One host on loopback (`create_app`, SQLite in a temporary folder) answered by the scripted model
(`powerstrip.testing`, which streams its reply word by word). Prints, side by side:

- time to first token (TTFT) of the same turn sent by the web app's page (session cookie and
  form token, `POST /api/conversations/ID/messages`, SSE) and by a REST client (bearer token),
  p50 and p99 over `--turns` turns each, interleaved so both see the same machine;
- page render time of a conversation page (`GET /c/ID`, a signed-in user, the sidebar, the
  transcript rendered as markdown) at 1 and at `--users` concurrent users, p50 and p99, with
  the CPU time the process spent per page (server and clients: one process) and what one page
  costs the store: SQL statements and connection checkouts, figures a loaded machine does not
  change.

    .venv/bin/python bench/web.py [--turns 100] [--users 50] [--pages 20] [--answers 6]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import event

from powerstrip.server import create_app
from powerstrip.settings import Settings
from powerstrip.testing import LoopbackServer, Reply, ScriptedModelServer

PASSWORD = "a long enough passphrase"  # noqa: S105 - a throwaway account of the benchmark
ANSWER = "Here is a short answer with a few words to stream back to the page"
# What the read conversations hold: answers as a model writes them, a table, code and a link.
RICH_ANSWER = (
    "Here is what I found on **your list**:\n\n| todo | due | done |\n| --- | --- | --- |\n"
    + "".join(f"| item {n} | 2024-06-{n + 10} | no |\n" for n in range(8))
    + "\n```python\nfor todo in todos:\n    print(todo)\n```\n\n"
    "See [the docs](https://example.org/docs) for more, and tell me what to add next."
)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no form token on the page"
    return found.group(1)


async def sign_up(base: str, username: str) -> tuple[httpx.AsyncClient, str]:
    """A signed-in browser-like client and its form token."""
    client = httpx.AsyncClient(base_url=base, timeout=60)
    page = await client.get("/sign-up")
    answer = await client.post(
        "/sign-up",
        data={
            "csrf": _token(page.text),
            "username": username,
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert answer.status_code == 303, answer.text
    return client, _token((await client.get("/settings")).text)


async def api_token(client: httpx.AsyncClient, csrf: str) -> str:
    made = await client.post("/settings/tokens", data={"csrf": csrf, "name": "bench"})
    found = re.search(r'<code id="new-token">([^<]+)</code>', made.text)
    assert found, made.text
    return found.group(1)


async def ttft(client: httpx.AsyncClient, chat_id: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    first = 0.0
    async with client.stream(
        "POST",
        f"/api/conversations/{chat_id}/messages",
        json={"content": "hello"},
        headers=headers,
    ) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if not first and line.startswith("event: text_delta"):
                first = time.perf_counter() - started
    return first


async def renders(clients: list[httpx.AsyncClient], paths: list[str], rounds: int) -> list[float]:
    timings: list[float] = []

    async def user(client: httpx.AsyncClient, path: str) -> None:
        for _ in range(rounds):
            started = time.perf_counter()
            answer = await client.get(path)
            assert answer.status_code == 200
            timings.append(time.perf_counter() - started)

    await asyncio.gather(*(user(c, p) for c, p in zip(clients, paths, strict=True)))
    return timings


async def run(turns: int, users: int, pages: int, answers: int) -> None:
    with tempfile.TemporaryDirectory() as folder, ScriptedModelServer() as model:
        root = Path(folder)
        server = LoopbackServer(None, lifespan=True)  # type: ignore[arg-type] - set below
        settings = Settings(
            data_dir=root,
            database_url=f"sqlite+aiosqlite:///{root / 'powerstrip.db'}",
            public_url=server.url,
            model_base_url=f"{model.url}/v1",
            model_name="scripted",
            model_api_key="bench",
        )
        server.app = create_app(settings)
        server.start()
        try:
            page_client, csrf = await sign_up(server.url, "bench")
            token = await api_token(page_client, csrf)
            rest = httpx.AsyncClient(base_url=server.url, timeout=60)
            made = await page_client.post("/c", data={"csrf": csrf})
            chat_id = made.headers["location"].rsplit("/", 1)[1]
            model.push(*[Reply(ANSWER) for _ in range(2 * turns + 2)])
            await ttft(page_client, chat_id, {"X-CSRF-Token": csrf})  # warm up both paths
            await ttft(rest, chat_id, {"Authorization": f"Bearer {token}"})
            web_times, rest_times = [], []
            for _ in range(turns):
                web_times.append(await ttft(page_client, chat_id, {"X-CSRF-Token": csrf}))
                rest_times.append(await ttft(rest, chat_id, {"Authorization": f"Bearer {token}"}))
            print(f"time to first token over {turns} turns each (ms)")
            print(f"{'path':<34}{'p50':>8}{'p99':>8}")
            for name, values in (("web page (cookie + form token)", web_times),
                                 ("REST API (bearer token)", rest_times)):  # fmt: skip
                print(
                    f"{name:<34}{percentile(values, 0.5) * 1000:>8.1f}"
                    f"{percentile(values, 0.99) * 1000:>8.1f}"
                )
            added = percentile(web_times, 0.5) / percentile(rest_times, 0.5) - 1
            print(f"the web path adds {added * 100:+.1f}% to the median TTFT\n")

            # Page renders: each user has a conversation with a few answers.
            clients, paths = [], []
            for number in range(users):
                client, user_csrf = await sign_up(server.url, f"reader{number}")
                made = await client.post("/c", data={"csrf": user_csrf})
                paths.append(made.headers["location"])
                clients.append(client)
            # Every answer its own text: no two pages share a rendered answer.
            model.push(*[Reply(f"{RICH_ANSWER} ({n})") for n in range(users * answers)])
            for client, path in zip(clients, paths, strict=True):
                csrf_of = _token((await client.get(path)).text)
                for _ in range(answers):
                    await ttft(client, path.rsplit("/", 1)[1], {"X-CSRF-Token": csrf_of})
            engine = server.app.state.host.engine.sync_engine
            store = {"statements": 0, "checkouts": 0}

            def count(kind: str) -> None:
                store[kind] += 1

            event.listen(engine, "before_cursor_execute", lambda *_: count("statements"))
            event.listen(engine, "checkout", lambda *_: count("checkouts"))
            await renders(clients[:1], paths[:1], 1)  # warm: templates compiled, caches filled
            print(f"conversation page render, {pages} pages per user, 100 alone (ms)")
            print(f"{'users':<34}{'p50':>8}{'p99':>8}{'CPU/page':>10}")
            for count_of in (1, users):
                store.update(statements=0, checkouts=0)
                cpu = time.process_time()
                # One user alone reads at least 100 pages: enough for a steady CPU figure.
                rounds = pages if count_of > 1 else max(pages, 100)
                timings = await renders(clients[:count_of], paths[:count_of], rounds)
                cpu_ms = (time.process_time() - cpu) * 1000 / len(timings)
                print(
                    f"{count_of:<34}{percentile(timings, 0.5) * 1000:>8.1f}"
                    f"{percentile(timings, 0.99) * 1000:>8.1f}{cpu_ms:>10.1f}"
                )
            per_page = {kind: value / len(timings) for kind, value in store.items()}
            print(
                f"each page: {per_page['statements']:.0f} SQL statements, "
                f"{per_page['checkouts']:.0f} connection checkouts"
            )
            for client in [*clients, page_client, rest]:
                await client.aclose()
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--answers", type=int, default=6, help="answers per read conversation")
    args = parser.parse_args()
    asyncio.run(run(args.turns, args.users, args.pages, args.answers))


if __name__ == "__main__":
    main()
