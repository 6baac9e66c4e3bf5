"""Isolation under load: many users at once, and every credential checked where it lands.

Twenty users (by default) each hold their own key for the `todo-user` example (user_http) and
their own OAuth token for `todo-oauth` (signed in for real at the example provider, through the
host's sign-in link, in a browser of their own), and share the `todo-service` example
(service_http). Every user runs two conversations at once through the REST API of a real host
process (`powerstrip serve --dev`), a fresh conversation every ten turns; in each turn the
scripted model asks for the user's list three times on each of the three plugins in one step
(nine parallel calls). Tokens expire mid-run two ways: they last 36 s, so the host renews them on
its own clock within seconds (its leeway is 30 s) while the user's other turns are in flight; and
after every 120 calls the provider ends the live tokens of the next quarter of the users early,
so their next calls are refused (401) and renewed while other calls race them.

A checker sits in front of each plugin and judges every request it receives, from what the
plugins themselves know: the keys the bench issued and the provider's token table (owners by
SHA-256 digest, expired and revoked tokens included). On an API call it checks that
- the conversation the host names (`openai-conversation-id`) is one of ours with a turn under
  way, and its user is the user the host says the call is for (`openai-ephemeral-user-id`,
  pinned one-to-one to the user per plugin, different across plugins, both spellings of each
  header equal);
- the credential due is there and is that user's (their key, their access token, the service
  key);
- nothing else in the request (any header, the query, the body) is a credential of anyone:
  not another user's, not the same user's for another plugin.
Token requests (renewals) may carry one refresh token and nothing else; manifest and spec
fetches no credential at all. The model checks the other direction: every list a plugin
answered, and the whole history the host sent, holds only the conversation's own user.

Prints calls made, requests checked, mismatches (must be 0), crossed answers (must be 0),
refreshes, and turns/s; exits 1 on any mismatch. Runs on SQLite, and on PostgreSQL when
`--postgres-url` or POWERSTRIP_TEST_POSTGRES_URL names a database (a fresh schema, dropped
after). A run crossing midnight UTC sees new ephemeral ids and reports them as mismatches.

    .venv/bin/python bench/isolation.py [--calls 10000] [--users 20] [--seconds 2400]
    bash .ci/postgres.sh .venv/bin/python bench/isolation.py --no-sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import re
import secrets
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
from turns import POSTGRES_ENV, POWERSTRIP, free_port, postgres_schema, process, wait_for

from powerstrip.aliases import ASGIApp
from powerstrip.cli.dev_examples import ExampleServers, wire_examples
from powerstrip.examples import ExampleConfig, issue_user_key
from powerstrip.examples.todo.store import TodoStore
from powerstrip.host import Host, add_grant, ensure_user, issue_token
from powerstrip.server import create_app
from powerstrip.settings import Settings
from powerstrip.testing import (
    CallTool,
    CallTools,
    LoopbackServer,
    Reply,
    Respond,
    ScriptedModelServer,
    ScriptStep,
    sign_in_through_host,
)

USER_PLUGIN, OAUTH_PLUGIN, SERVICE_PLUGIN = "todo-user", "todo-oauth", "todo-service"
PLUGINS = (USER_PLUGIN, OAUTH_PLUGIN, SERVICE_PLUGIN)
SERVICE = "(the service)"  # the owner of the service key: no user
# Paths that are not the plugin's API: what a host fetches to learn the plugin, and the
# provider's endpoints.
NOT_API = ("/.well-known/", "/openapi", "/logo", "/legal", "/oauth/")
# Anything long enough to be a key or a token (they are URL-safe base64 and hex).
_CANDIDATE = re.compile(rb"[A-Za-z0-9_\-]{20,}")
_MARKER = re.compile(r"marker of (user\d+)")
_USER = re.compile(r"\b(user\d+)\b")
_HEADERS = ("conversation-id", "ephemeral-user-id")
PROBE_COOKIE = "isolation-probe"


def digest(value: str) -> str:
    """The SHA-256 hex digest both examples keep of the keys and tokens they hand out."""
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose credential a string is, and which kind."""

    user: str
    kind: str  # "user key", "access token", "refresh token", "service key"


OAuthOwners = Callable[[str], Owner | None]


class ProviderTokens:
    """Who an access or refresh token of the example provider was issued to, by its digest.

    Read from the provider's own table, whatever the token's state: an expired or revoked token
    is still its user's, and must not reach another user's call either.
    """

    def __init__(self, database: Path) -> None:
        self._database = database
        self._connection: sqlite3.Connection | None = None  # opened once the provider made it
        self._lock = threading.Lock()

    def __call__(self, value: str) -> Owner | None:
        hashed = digest(value)
        with self._lock:
            row = (
                self._open()
                .execute(
                    "SELECT user_id, access_hash = ? FROM oauth_tokens "
                    "WHERE access_hash = ? OR refresh_hash = ?",
                    (hashed, hashed, hashed),
                )
                .fetchone()
            )
        if row is None:
            return None
        return Owner(str(row[0]), "access token" if row[1] else "refresh token")

    def expire_now(self, users: Iterable[str]) -> int:
        """End the users' live access tokens at the provider, as a provider may before their
        time (their refresh tokens stay good); how many it ended.

        The host still holds them as valid: its next call with one is refused with a 401, and it
        must renew and retry while the user's other turns race it.
        """
        names = list(users)
        marks = ", ".join("?" for _ in names)
        with self._lock:
            connection = self._open()
            with connection:
                done = connection.execute(
                    f"UPDATE oauth_tokens SET expires_in = 0 "  # noqa: S608 - placeholders only
                    f"WHERE revoked = 0 AND expires_in > 0 AND user_id IN ({marks})",
                    names,
                )
        return done.rowcount

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = sqlite3.connect(self._database, check_same_thread=False, timeout=30)
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()


class Ledger:
    """Every credential in play and whose it is: user keys, OAuth tokens, the service key.

    Lookups are cached both ways; a miss is final because a key or token is stored before it
    is handed out, so nothing the host sends can become known later.
    """

    def __init__(self, service_key: str, oauth_owners: OAuthOwners) -> None:
        self.service_key = service_key
        self._oauth_owners = oauth_owners
        self._known: dict[str, Owner | None] = {digest(service_key): Owner(SERVICE, "service key")}
        self._lock = threading.Lock()

    def add_user_key(self, user: str, key: str) -> None:
        with self._lock:
            self._known[digest(key)] = Owner(user, "user key")

    def owner(self, value: str) -> Owner | None:
        hashed = digest(value)
        with self._lock:
            if hashed in self._known:
                return self._known[hashed]
        found = self._oauth_owners(value)
        with self._lock:
            self._known[hashed] = found
        return found


@dataclass(frozen=True, slots=True)
class Seen:
    """One request a plugin received."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    query: bytes
    body: bytes

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


@dataclass
class Tally:
    """What the checkers saw, across every plugin (they run in the plugins' server thread)."""

    api_checked: Counter[str] = field(default_factory=Counter)
    other_checked: int = 0
    renewals: int = 0
    unauthorized: int = 0  # API calls a plugin answered 401 (a token revoked by a renewal)
    mismatches: list[str] = field(default_factory=list)


class Checker:
    """Judges every request that reaches a plugin; `front(name, app)` puts it before one."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.conversations: dict[str, str] = {}  # conversation id -> its user
        self.turning: set[str] = set()  # the conversations with a turn under way
        self.tally = Tally()
        self.credentials: set[str] = set()  # every credential seen, for a secret scan
        self._lock = threading.Lock()
        self._by_pseudonym: dict[tuple[str, str], str] = {}  # (plugin, ephemeral id) -> user
        self._pseudonyms: dict[tuple[str, str], str] = {}  # (plugin, user) -> ephemeral id

    def front(self, plugin: str, app: ASGIApp) -> ASGIApp:
        return CheckedPlugin(self, plugin, app)

    def probe_cookie(self, seen: Seen) -> tuple[bytes, bytes] | None:
        """A `Set-Cookie` for the answer to `seen`, naming whose call it was (the browser's
        sign-in pages excepted): a host that kept it would send it on later calls, and the
        checker refuses every cookie."""
        if seen.path == "/oauth/authorize":
            return None
        said = (seen.header("openai-conversation-id") or [""])[0]
        whose = self.conversations.get(said, "the-host")
        return b"set-cookie", f"{PROBE_COOKIE}={whose}; Path=/".encode()

    def judge(self, plugin: str, seen: Seen) -> list[str]:
        """What is wrong with `seen` (nothing: an empty list), counted in the tally."""
        found = self._credentials(seen)
        with self._lock:
            self.credentials.update(found)
        if not seen.path.startswith(NOT_API):
            problems = self._judge_call(plugin, seen, found)
            with self._lock:
                self.tally.api_checked[plugin] += 1
        else:
            problems = self._judge_other(plugin, seen, found)
            with self._lock:
                self.tally.other_checked += 1
        if problems:
            where = f"{plugin} {seen.method} {seen.path}"
            with self._lock:
                self.tally.mismatches.extend(f"{where}: {problem}" for problem in problems)
        return problems

    def answered(self, plugin: str, seen: Seen, status: int) -> None:
        """Count what the plugin answered: renewals made, calls refused for their token."""
        with self._lock:
            if seen.path == "/oauth/token" and status == 200 and _grant(seen) == "refresh_token":
                self.tally.renewals += 1
            elif status == 401 and not seen.path.startswith(NOT_API):
                self.tally.unauthorized += 1

    def _credentials(self, seen: Seen) -> dict[str, Owner]:
        """Every known credential anywhere in the request, and whose it is."""
        parts = [value.encode() for _, value in seen.headers] + [seen.query, seen.body]
        candidates = {match.decode() for part in parts for match in _CANDIDATE.findall(part)}
        owners = {value: self.ledger.owner(value) for value in candidates}
        return {value: owner for value, owner in owners.items() if owner is not None}

    def _judge_call(self, plugin: str, seen: Seen, found: dict[str, Owner]) -> list[str]:
        problems = _cookies(seen)
        said: dict[str, str] = {}
        for name in _HEADERS:
            values = seen.header(f"openai-{name}") + seen.header(f"powerstrip-{name}")
            if len(values) != 2 or values[0] != values[1]:
                problems.append(f"the {name} headers are not one value under both names: {values}")
            said[name] = values[0] if values else ""
        user = self.conversations.get(said["conversation-id"])
        if user is None:
            return [*problems, "the call names no conversation of ours"]
        if said["conversation-id"] not in self.turning:
            problems.append(f"the call names {user}'s conversation, which has no turn under way")
        problems += self._pin(plugin, user, said["ephemeral-user-id"])
        due = self._due(plugin, user, seen, found)
        if due is None:
            problems.append(f"{user}'s call carries no credential of theirs for the plugin")
        for value, owner in found.items():
            if value != due:
                problems.append(f"{user}'s call carries {owner.user}'s {owner.kind}")
        return problems

    def _due(self, plugin: str, user: str, seen: Seen, found: dict[str, Owner]) -> str | None:
        """The credential this call must carry, when it carries it as the scheme says."""
        authorization = seen.header("authorization")
        if len(authorization) != 1 or not authorization[0].startswith("Bearer "):
            return None
        value = authorization[0].removeprefix("Bearer ")
        expected = {
            USER_PLUGIN: Owner(user, "user key"),
            OAUTH_PLUGIN: Owner(user, "access token"),
            SERVICE_PLUGIN: Owner(SERVICE, "service key"),
        }[plugin]
        return value if found.get(value) == expected else None

    def _pin(self, plugin: str, user: str, pseudonym: str) -> list[str]:
        """The ephemeral id stands for one user of this plugin, and that user for one id."""
        with self._lock:
            pinned_user = self._by_pseudonym.setdefault((plugin, pseudonym), user)
            pinned = self._pseudonyms.setdefault((plugin, user), pseudonym)
            elsewhere = [
                other
                for (other, someone), their in self._pseudonyms.items()
                if other != plugin and someone == user and their == pseudonym
            ]
        problems = []
        if pinned_user != user:
            problems.append(f"{user}'s call has the ephemeral id of {pinned_user}")
        if pinned != pseudonym:
            problems.append(f"{user}'s ephemeral id changed: {pinned} then {pseudonym}")
        if elsewhere:
            problems.append(f"{user}'s ephemeral id is the same on {elsewhere[0]}: linkable")
        if pseudonym == user or not pseudonym:
            problems.append(f"the ephemeral id is not a pseudonym: {pseudonym!r}")
        return problems

    def _judge_other(self, plugin: str, seen: Seen, found: dict[str, Owner]) -> list[str]:
        if seen.path == "/oauth/authorize":
            return []  # a browser signing in: no host request
        problems = _cookies(seen)
        kinds = sorted(f"{owner.user}'s {owner.kind}" for owner in found.values())
        if seen.path == "/oauth/token":
            refresh = [o for o in found.values() if o.kind == "refresh token"]
            if len(refresh) != len(found) or len(found) > 1:
                problems.append(f"a token request carries {kinds}")
        elif found:
            problems.append(f"a fetch of the plugin's files carries {kinds}")
        return problems


def _cookies(seen: Seen) -> list[str]:
    """Every call stands alone: a cookie is state a plugin left on an earlier one (whose?)."""
    cookies = seen.header("cookie")
    return [f"the request carries a cookie set on an earlier call: {c}" for c in cookies]


def _grant(seen: Seen) -> str:
    """The grant type of a token request, in either body the provider takes."""
    try:
        body = json.loads(seen.body)
    except ValueError:
        return dict(parse_qsl(seen.body.decode(errors="replace"))).get("grant_type", "")
    return str(body.get("grant_type", "")) if isinstance(body, dict) else ""


class CheckedPlugin:
    """An example plugin's app with the checker in front: every request judged on arrival."""

    def __init__(self, checker: Checker, plugin: str, app: ASGIApp) -> None:
        self.checker = checker
        self.plugin = plugin
        self.app = app

    async def __call__(
        self,
        scope: MutableMapping[str, Any],  # Any: ASGI messages
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        seen = Seen(
            scope["method"],
            scope["path"],
            tuple((k.decode().lower(), v.decode()) for k, v in scope["headers"]),
            scope.get("query_string", b""),
            b"".join(chunks),
        )
        self.checker.judge(self.plugin, seen)
        replayed = False
        status = 0

        async def replay() -> MutableMapping[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": seen.body, "more_body": False}
            return await receive()

        probe = self.checker.probe_cookie(seen)

        async def watch(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                if probe:
                    message = {**message, "headers": [*message["headers"], probe]}
            await send(message)

        await self.app(scope, replay, watch)
        self.checker.answered(self.plugin, seen, status)


# -- the model: three parallel list calls a turn, and a check of what came back -----------------


@dataclass
class Answers:
    """What the model saw come back from the plugins."""

    checked: int = 0
    failed: int = 0  # a call whose answer is not a list (it failed)
    crossed: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def model_step(answers: Answers, calls_per_plugin: int) -> ScriptStep:
    """One model request: list on every plugin for the turn's user, or check what came back."""

    def choose(body: dict[str, Any]) -> ScriptStep:
        messages = body["messages"]
        asked = next(m for m in reversed(messages) if m["role"] == "user")
        user = _USER.findall(str(asked["content"]))[-1]
        # The whole history is the conversation's own: its user's messages and lists only.
        others = {
            name
            for message in messages
            for name in (
                _MARKER.findall(str(message.get("content")))
                if message["role"] == "tool"
                else _USER.findall(str(message.get("content")))
                if message["role"] == "user"
                else []
            )
        } - {user}
        if others:
            with answers.lock:
                answers.crossed.append(f"{user}'s history holds messages of {sorted(others)}")
        if messages[-1]["role"] != "tool":
            names = [tool["function"]["name"] for tool in body.get("tools", [])]
            return CallTools(
                [
                    CallTool(name, {"username": user} if name.startswith("todo_service") else {})
                    for name in names
                    if name.endswith("__list_todos")
                    for _ in range(calls_per_plugin)
                ]
            )
        results = []
        for message in reversed(messages):
            if message["role"] != "tool":
                break
            results.append(str(message["content"]))
        with answers.lock:
            for content in results:
                owners = set(_MARKER.findall(content))
                answers.checked += 1
                if not owners:
                    answers.failed += 1
                elif owners != {user}:
                    answers.crossed.append(f"{user}'s turn read the list of {sorted(owners)}")
        return Reply("Listed.")

    return Respond(choose)


# -- setting up: plugins, users, keys, sign-ins -------------------------------------------------


@dataclass
class Seat:
    """One user: their name, API token, and the conversations their turns went to."""

    username: str
    password: str
    token: str
    user_id: int


@dataclass
class Options:
    calls: int = 10_000
    users: int = 20
    conversations: int = 2  # each user's conversations turning at once
    turns_per_conversation: int = 10  # then a fresh one (histories stay short)
    calls_per_plugin: int = 3  # parallel list calls on each plugin in one model step
    token_seconds: int = 36
    expire_every: int = 120  # calls between early expiries at the provider
    seconds: float = 2400.0


@dataclass
class Figures:
    """One run's figures."""

    turns: int = 0
    failed_turns: int = 0
    calls_made: int = 0
    calls_ok: int = 0
    expiries: int = 0  # rounds of early expiry
    reported: int = 0  # thousands of calls reported so far
    expired_early: int = 0  # access tokens the provider ended before their time
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    answers: Answers = field(default_factory=Answers)
    # Every key and token the users held, for a caller that scans logs and files for them.
    credentials: set[str] = field(default_factory=set)

    @property
    def api_checked(self) -> int:
        return sum(self.tally.api_checked.values())

    def good(self) -> bool:
        return (
            not self.tally.mismatches
            and not self.answers.crossed
            and self.api_checked >= self.calls_made > 0
        )

    def lines(self) -> Iterator[str]:
        rate = self.turns / self.seconds if self.seconds else 0.0
        tally, answers = self.tally, self.answers
        per = ", ".join(f"{k} {v}" for k, v in sorted(tally.api_checked.items()))
        yield (
            f"turns: {self.turns} in {self.seconds:.1f} s, {rate:.1f} turns/s, "
            f"failed {self.failed_turns}"
        )
        yield f"calls made: {self.calls_made} (ok {self.calls_ok})"
        yield f"calls checked at the plugins: {self.api_checked} ({per})"
        yield f"other requests checked (token, manifest, spec): {tally.other_checked}"
        yield f"mismatches: {len(tally.mismatches)}"
        yield f"answers checked by the model: {answers.checked}, crossed {len(answers.crossed)}"
        yield (
            f"refreshes: {tally.renewals}; tokens ended early at the provider "
            f"{self.expired_early}, calls refused 401 then renewed and retried "
            f"{tally.unauthorized}"
        )
        kinds = Counter(_USER.sub("userNN", problem) for problem in tally.mismatches)
        for kind, count in kinds.most_common():
            yield f"  {count} x {kind}"
        for problem in [*answers.crossed, *self.errors][:10]:
            yield f"  {problem}"


async def prepare(
    settings: Settings, servers: ExampleServers, config: ExampleConfig, ledger: Ledger, users: int
) -> tuple[dict[str, int], list[Seat]]:
    """Add, register and verify the plugins; seat the users with their keys and grants."""
    passwords = dict(config.demo_users or {})
    host = await Host.start(settings)
    try:
        wired = await wire_examples(host, servers)
        broken = [f"{w.name}: {w.problem}" for w in wired if w.plugin is None]
        if broken:
            raise SystemExit(f"the examples could not be set up: {broken}")
        ids = {w.name: w.plugin.id for w in wired if w.plugin is not None}
        seats = []
        for number in range(users):
            username = f"user{number:02d}"
            user = await ensure_user(host.sessions, username)
            key = issue_user_key(config, username)
            ledger.add_user_key(username, key)
            await host.registry.install(user.id, ids[USER_PLUGIN], user_key=key)
            await host.registry.install(user.id, ids[SERVICE_PLUGIN])
            for plugin_id in ids.values():
                await add_grant(host.sessions, user.id, plugin_id, "list_todos", ttl_days=0)
            token = await issue_token(host.sessions, user.id)
            seats.append(Seat(username, passwords[username], token, user.id))
        return ids, seats
    finally:
        await host.aclose()


async def sign_in(client: httpx.AsyncClient, seat: Seat, oauth_id: int, base: str) -> None:
    """Install todo-oauth as the user and sign in at its provider, as a browser would."""
    headers = {"Authorization": f"Bearer {seat.token}"}
    installed = await client.post(f"/api/plugins/{oauth_id}/install", headers=headers)
    installed.raise_for_status()
    async with httpx.AsyncClient(timeout=60) as browser:
        page = await sign_in_through_host(
            browser,
            installed.json()["sign_in_url"],
            seat.username,
            seat.password,
            public_url=base,
        )
    if page.status_code != 200:
        raise SystemExit(f"{seat.username} could not sign in: {page.text[:300]}")


def add_markers(config: ExampleConfig, usernames: Iterable[str]) -> None:
    """One todo per user and plugin, naming the user: what their lists must read back."""
    for plugin in PLUGINS:
        store = TodoStore(config.database(plugin))
        for username in usernames:
            store.add(username, f"marker of {username}")
        store.engine.dispose()


# -- the load -----------------------------------------------------------------------------------


class Crowd:
    """Every user's conversations turning at once until enough calls were made or time is up."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        seats: list[Seat],
        plugin_ids: list[int],
        checker: Checker,
        model: ScriptedModelServer,
        answers: Answers,
        tokens: ProviderTokens,
        options: Options,
        log: Callable[[str], None],
    ) -> None:
        self.client, self.seats, self.plugin_ids = client, seats, plugin_ids
        self.checker, self.model, self.answers, self.tokens = checker, model, answers, tokens
        self.options, self.log = options, log
        self.figures = Figures(answers=answers)
        self._deadline = time.monotonic() + options.seconds
        self._start = time.perf_counter()
        self._share = max(1, len(seats) // 4)  # users whose tokens end early in one round

    async def run(self) -> Figures:
        self._start = time.perf_counter()
        conversations = range(self.options.conversations)
        await asyncio.gather(*(self._converse(seat) for seat in self.seats for _ in conversations))
        self.figures.seconds = time.perf_counter() - self._start
        return self.figures

    def _more(self) -> bool:
        return self.figures.calls_made < self.options.calls and time.monotonic() < self._deadline

    async def _converse(self, seat: Seat) -> None:
        """Conversations of one user, one after another, each for a few turns."""
        headers = {"Authorization": f"Bearer {seat.token}"}
        while self._more():
            made = await self.client.post(
                "/api/conversations", json={"plugin_ids": self.plugin_ids}, headers=headers
            )
            if made.status_code != 201:
                # Counted, not fatal: the run goes on and the figures say how often.
                self.figures.failed_turns += 1
                self.figures.errors.append(f"{seat.username}: new conversation: {made.text[:200]}")
                await asyncio.sleep(1)
                continue
            chat_id = str(made.json()["id"])
            self.checker.conversations[chat_id] = seat.username
            for number in range(self.options.turns_per_conversation):
                if not self._more():
                    return
                step = model_step(self.answers, self.options.calls_per_plugin)
                self.model.push(step, step)
                self.checker.turning.add(chat_id)
                error = await self._turn(chat_id, headers, f"list {seat.username} #{number}")
                self.figures.turns += 1
                self._progress()
                await self._expire_some()
                if error:
                    # The host may still be making this turn's calls (a client that gave up
                    # does not stop it): the conversation stays under way, and is left.
                    self.figures.failed_turns += 1
                    self.figures.errors.append(f"{seat.username}: {error}")
                    break
                self.checker.turning.discard(chat_id)

    async def _turn(self, chat_id: str, headers: dict[str, str], text: str) -> str | None:
        """One turn; None when each of its calls was made and answered ok, else what went wrong."""
        figures = self.figures
        try:
            reply = await self.client.post(
                f"/api/conversations/{chat_id}/messages",
                json={"content": text, "stream": False},
                headers=headers,
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if reply.status_code != 200:
            return f"HTTP {reply.status_code}: {reply.text[:200]}"
        events = reply.json()["events"]
        finished = [e for e in events if e["type"] == "call_finished"]
        figures.calls_made += len(finished)
        figures.calls_ok += sum(1 for e in finished if e["outcome"] == "ok")
        errors = [e for e in events if e["type"] == "error"]
        if errors or len(finished) != len(PLUGINS) * self.options.calls_per_plugin:
            return str(errors[:1] or [e["outcome"] for e in finished])[:200]
        if any(e["outcome"] != "ok" for e in finished):
            return str(finished)[:300]
        return None

    def _progress(self) -> None:
        thousands = self.figures.calls_made // 1000
        if thousands > self.figures.reported:
            self.figures.reported = thousands
            elapsed = time.perf_counter() - self._start
            self.log(f"  {self.figures.calls_made} calls, {elapsed:.0f} s")

    async def _expire_some(self) -> None:
        """After every `expire_every` calls, the next quarter of the users lose their token."""
        figures, names = self.figures, [seat.username for seat in self.seats]
        while figures.calls_made >= (figures.expiries + 1) * self.options.expire_every:
            first = figures.expiries * self._share
            figures.expiries += 1
            chosen = [names[(first + n) % len(names)] for n in range(self._share)]
            figures.expired_early += await asyncio.to_thread(self.tokens.expire_now, chosen)


@contextlib.asynccontextmanager
async def host_server(settings: Settings, folder: Path, *, in_process: bool) -> AsyncIterator[None]:
    """The host serving `settings` at its public URL: a `powerstrip serve` process, or a thread.

    The process is what a deployment runs (its own interpreter, beside the plugins and the
    model); the thread starts in a moment, for the short run in the test suite.
    """
    if in_process:
        with LoopbackServer(create_app(settings), port=settings_port(settings), lifespan=True):
            yield
        return
    env = {key: value for key, value in os.environ.items() if not key.startswith("POWERSTRIP_")}
    env |= {
        "POWERSTRIP_DATA_DIR": str(settings.data_dir),
        "POWERSTRIP_MODEL_BASE_URL": settings.model_base_url,
        "POWERSTRIP_MODEL_NAME": settings.model_name,
        "POWERSTRIP_PUBLIC_URL": settings.public_url,
    }
    if settings.database_url:
        env["POWERSTRIP_DATABASE_URL"] = settings.database_url
    serve = [str(POWERSTRIP), "serve", "--dev", "--port", str(settings_port(settings))]
    with process(serve, env, folder / "host.log") as server:
        wait_for(f"{settings.public_url}/api/plugins", server, folder / "host.log")
        yield


def settings_port(settings: Settings) -> int:
    return int(settings.public_url.rsplit(":", 1)[1])


async def run_backend(
    database_url: str | None,
    options: Options,
    folder: Path,
    *,
    log: Callable[[str], None],
    host_in_process: bool = False,
) -> Figures:
    """Set everything up in `folder`, run the crowd, and return its figures."""
    passwords = {f"user{n:02d}": secrets.token_urlsafe(12) for n in range(options.users)}
    config = ExampleConfig(
        data_dir=folder / "examples",
        service_key=secrets.token_urlsafe(32),
        demo_users=passwords,
        oauth_access_token_seconds=options.token_seconds,
    )
    tokens = ProviderTokens(config.database(OAUTH_PLUGIN))
    ledger = Ledger(service_key=str(config.service_key), oauth_owners=tokens)
    checker = Checker(ledger)
    answers = Answers()
    base = f"http://127.0.0.1:{free_port()}"
    began = time.perf_counter()
    with ScriptedModelServer(keep_requests=100) as model:
        settings = Settings(
            dev_mode=True,
            data_dir=folder / "host",
            database_url=database_url or "",
            public_url=base,
            model_base_url=model.base_url,
            model_name="scripted-model",
        )
        servers = ExampleServers(config, 0, PLUGINS, front=checker.front)
        servers.start()
        try:
            ids, seats = await prepare(settings, servers, config, ledger, options.users)
            log(f"setup: plugins and users in {time.perf_counter() - began:.1f} s")
            async with host_server(settings, folder, in_process=host_in_process):
                limits = httpx.Limits(max_connections=500, max_keepalive_connections=500)
                async with httpx.AsyncClient(
                    base_url=base, limits=limits, timeout=httpx.Timeout(600.0)
                ) as client:
                    for seat in seats:
                        await sign_in(client, seat, ids[OAUTH_PLUGIN], base)
                    add_markers(config, passwords)
                    log(f"setup: host up, users signed in at {time.perf_counter() - began:.1f} s")
                    log(
                        f"{options.users} users, {options.users * options.conversations} "
                        f"conversations at once, {options.calls_per_plugin * len(PLUGINS)} "
                        f"calls a turn, access tokens last {options.token_seconds} s"
                    )
                    plugin_ids = [ids[name] for name in PLUGINS]
                    crowd = Crowd(
                        client, seats, plugin_ids, checker, model, answers, tokens, options, log
                    )
                    figures = await crowd.run()
        finally:
            servers.close()
            tokens.close()
    figures.tally = checker.tally
    figures.credentials = set(checker.credentials)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = Options()
    parser.add_argument("--calls", type=int, default=defaults.calls, help="plugin calls to make")
    parser.add_argument("--users", type=int, default=defaults.users)
    parser.add_argument(
        "--conversations",
        type=int,
        default=defaults.conversations,
        help="conversations of each user turning at once",
    )
    parser.add_argument(
        "--calls-per-plugin",
        type=int,
        default=defaults.calls_per_plugin,
        help="parallel calls on each plugin in a turn",
    )
    parser.add_argument(
        "--token-seconds",
        type=int,
        default=defaults.token_seconds,
        help="access token lifetime (the host renews 30 s before the end)",
    )
    parser.add_argument(
        "--expire-every",
        type=int,
        default=defaults.expire_every,
        help="calls between early expiries of a quarter of the users' tokens",
    )
    parser.add_argument("--seconds", type=float, default=defaults.seconds, help="time cap")
    parser.add_argument("--postgres-url", default=os.environ.get(POSTGRES_ENV, ""))
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args()
    # Stopped with SIGTERM, still stop the host process and the servers on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    options = Options(
        calls=args.calls,
        users=args.users,
        conversations=args.conversations,
        calls_per_plugin=args.calls_per_plugin,
        token_seconds=args.token_seconds,
        expire_every=args.expire_every,
        seconds=args.seconds,
    )
    good = True

    async def on(name: str, base: str | None) -> bool:
        print(f"== {name}", flush=True)
        with tempfile.TemporaryDirectory() as folder:
            if base:
                async with postgres_schema(base) as url:
                    figures = await run_backend(url, options, Path(folder), log=print)
            else:
                figures = await run_backend(None, options, Path(folder), log=print)
        for line in figures.lines():
            print(line, flush=True)
        print("isolation: held" if figures.good() else "isolation: BROKEN", flush=True)
        return figures.good()

    if not args.no_sqlite:
        good = asyncio.run(on("SQLite", None)) and good
    if args.postgres_url:
        good = asyncio.run(on("PostgreSQL", args.postgres_url)) and good
    raise SystemExit(0 if good else 1)


if __name__ == "__main__":
    main()
