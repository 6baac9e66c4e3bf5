"""The example plugins beside a development server (`powerstrip serve --dev --with-examples`).

`ExampleServers` serves every example over plain HTTP on 127.0.0.1 (development mode lets the
host reach `http://localhost`), each on its own port, from one uvicorn server in a background
thread.
`wire_examples` then puts them in the store for the `dev` user: added (or refreshed), registered
by `dev` with the examples' generated secrets, their verification tokens published and checked,
verified, and installed. Every step is idempotent, so a second `make run` finds the plugins it
added the first time (at the same ports, the same manifest URLs, the same ids).

Two things are only known once a plugin is in the store: the verification token the host issues
at registration, and the OAuth redirect URI `PUBLIC_URL/aip/ID/oauth/callback`. The examples
that need them are rebuilt with them and swapped in behind their running server.
"""

from __future__ import annotations

import dataclasses
import errno
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import uvicorn

from powerstrip.aliases import ASGIApp
from powerstrip.cli.invocation import powerstrip_command
from powerstrip.errors import ConfigError, PowerstripError
from powerstrip.examples import EXAMPLES, ExampleConfig, issue_user_key, resolve_secrets
from powerstrip.host import Host, PluginInfo, UserInfo

__all__ = ["ExampleServers", "WiredExample", "wire_examples"]


_STARTUP_SECONDS = 15.0
_STOP_SECONDS = 5.0


class _ByPort:
    """Sends each request to the example listening on the port it came in on.

    One uvicorn server listens on every example's port; `rebuild` swaps an example's app.
    """

    def __init__(self) -> None:
        self.apps: dict[int, ASGIApp] = {}

    async def __call__(
        self,
        scope: MutableMapping[str, Any],  # Any: ASGI messages
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        _host, port = scope["server"]
        await self.apps[port](scope, receive, send)


class ExampleServers:
    """The example plugins on `http://localhost:PORT`, ports from `base_port` up (0: any free).

    `front(name, app)`, when given, wraps every build of an example (a bench puts a checker in
    front of each plugin, and it stays there when `rebuild` swaps the app).
    """

    def __init__(
        self,
        config: ExampleConfig,
        base_port: int,
        names: tuple[str, ...] = tuple(EXAMPLES),
        *,
        front: Callable[[str, ASGIApp], ASGIApp] | None = None,
    ) -> None:
        self.config = config
        self.names = names
        self._front = front
        self._sockets: dict[str, socket.socket] = {}
        try:
            for offset, name in enumerate(names):
                self._sockets[name] = _bind(base_port + offset if base_port else 0)
        except ConfigError:
            self.close()
            raise
        self.ports = {name: sock.getsockname()[1] for name, sock in self._sockets.items()}
        self._app = _ByPort()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def url(self, name: str) -> str:
        """Where the host reaches the example `name`."""
        return f"http://localhost:{self.ports[name]}"

    def start(self) -> None:
        """Build and serve every example; returns once they accept connections."""
        for name in self.names:
            self._app.apps[self.ports[name]] = self._build(name, self.config)
        server = uvicorn.Server(
            uvicorn.Config(
                self._app,
                lifespan="off",
                log_config=None,
                log_level="warning",
                access_log=False,
                timeout_graceful_shutdown=1,
            )
        )
        # Not the main thread, so uvicorn leaves the signals to the main server.
        self._server = server
        self._thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": list(self._sockets.values())},
            name="example-plugins",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_SECONDS
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.close()
                raise ConfigError(
                    "the example plugins did not start",
                    where="powerstrip serve --with-examples",
                    fix=f"run one alone with `{powerstrip_command()} example serve NAME` to "
                    "see why",
                )
            time.sleep(0.01)

    def rebuild(self, name: str, config: ExampleConfig) -> None:
        """Serve a new build of `name` from now on (same port)."""
        self._app.apps[self.ports[name]] = self._build(name, config)

    def _build(self, name: str, config: ExampleConfig) -> ASGIApp:
        app: ASGIApp = EXAMPLES[name].build(config)
        return self._front(name, app) if self._front else app

    def close(self) -> None:
        """Stop the server and close the sockets."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_STOP_SECONDS)
            self._thread = None
        for sock in self._sockets.values():
            sock.close()


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # As `powerstrip serve`'s own socket: without it every answer waits for a delayed ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        busy = exc.errno == errno.EADDRINUSE
        raise ConfigError(
            f"port {port} on 127.0.0.1 is {'already in use' if busy else 'not available'}",
            where="--examples-port",
            fix="stop what listens there, or pass another --examples-port (0: any free ports; "
            "the examples then get new ids in the store)",
        ) from None
    return sock


@dataclass(frozen=True, slots=True)
class WiredExample:
    """An example as the store now has it for the dev user, or why it could not be set up."""

    name: str
    url: str
    plugin: PluginInfo | None
    problem: str | None = None
    # Only for the operator's terminal: it may name a generated development password.
    sign_in: str | None = None


async def wire_examples(
    host: Host, servers: ExampleServers, *, username: str = "dev"
) -> list[WiredExample]:
    """Add, register, verify and install every served example for `username` (an admin)."""
    user = await host.users.ensure(username, admin=True)
    entries = await host.plugins.store(user)
    known = {entry.plugin.manifest_url: entry for entry in entries}
    wired: list[WiredExample] = []
    for name in servers.names:
        url = servers.url(name)
        try:
            entry = known.get(f"{url}/.well-known/ai-plugin.json")
            if entry is None:
                plugin = await host.plugins.add(user, url)
            else:
                plugin = entry.plugin
                await host.plugins.refresh(user, plugin.id)
            await _register(host, servers, name, plugin, user)
            await host.plugins.set_verified(user, plugin.id, True)
            await _install(host, servers.config, name, plugin, user)
        except PowerstripError as exc:
            wired.append(WiredExample(name, url, None, problem=str(exc)))
            continue
        wired.append(WiredExample(name, url, plugin, sign_in=_sign_in(host, servers, plugin, user)))
    return wired


async def _register(
    host: Host, servers: ExampleServers, name: str, plugin: PluginInfo, user: UserInfo
) -> None:
    """Register `user` as the developer and publish the token, for the schemes that need it."""
    config = servers.config
    secrets = resolve_secrets(config)
    if plugin.auth_type == "service_http":
        registration = await host.plugins.register(user, plugin.id, service_key=secrets.service_key)
    elif plugin.auth_type == "oauth":
        registration = await host.plugins.register(
            user,
            plugin.id,
            client_id=config.oauth_client_id,
            client_secret=secrets.oauth_client_secret,
        )
    else:
        return
    servers.rebuild(
        name,
        dataclasses.replace(
            config,
            verification_tokens={host.settings.verification_key: registration.token},
            oauth_redirect_uris=(host.plugins.redirect_uri(plugin.id),),
        ),
    )
    await host.plugins.verify_token(user, plugin.id)


async def _install(
    host: Host, config: ExampleConfig, name: str, plugin: PluginInfo, user: UserInfo
) -> None:
    mine = {entry.plugin.id: entry for entry in await host.plugins.store(user)}
    entry = mine.get(plugin.id)
    if entry is not None and entry.installed and not entry.needs_reconsent:
        return
    # A user_http example's data belongs to whoever its key was issued to: the dev user, here.
    key = (
        issue_user_key(config, user.username, example=name)
        if plugin.auth_type == "user_http"
        else None
    )
    await host.plugins.install(user, plugin.id, user_key=key)


def _sign_in(host: Host, servers: ExampleServers, plugin: PluginInfo, user: UserInfo) -> str | None:
    if plugin.auth_type != "oauth":
        return None
    demo = resolve_secrets(servers.config).demo_users
    accounts = ", ".join(f"{name} / {password}" for name, password in demo.items())
    link = host.sign_in_links.link(user.id, plugin.id)
    return (
        f"sign in (valid 10 minutes; `{powerstrip_command()} plugins sign-in {plugin.id}` makes "
        f"a new link) as one of {accounts}:\n    {link}"
    )
