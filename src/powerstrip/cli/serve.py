"""`powerstrip serve`: the host's web server, optionally with the example plugins beside it.

One process by default; `--workers N` starts N worker processes on the one listening socket
(uvicorn's supervisor restarts a worker that dies). SIGTERM or Ctrl-C drains: no new
connections, turns in flight get `POWERSTRIP_SHUTDOWN_GRACE_SECONDS` to finish, and the rest
end as interrupted with a last event saying so (`powerstrip.host.Drain`).
"""

from __future__ import annotations

import contextlib
import copy
import errno
import logging
import math
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import uvicorn
import uvicorn.config
from rich.markup import escape
from rich.table import Table
from uvicorn.supervisors import Multiprocess

from powerstrip import __version__
from powerstrip.cli.host import fail, load_settings, out_console, run
from powerstrip.cli.invocation import powerstrip_command
from powerstrip.errors import ConfigError, PowerstripError
from powerstrip.settings import Settings

if TYPE_CHECKING:
    from powerstrip.cli.dev_examples import ExampleServers, WiredExample

__all__ = ["serve"]

logger = logging.getLogger(__name__)

# Where prometheus_client's multiprocess mode keeps each worker's values.
_METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The app every worker process builds, from the environment (`--workers` > 1).
_WORKER_APP = "powerstrip.server.worker_app:worker_app"
# uvicorn's own limit, after the drain's: time to send the last events and close the calls.
_SHUTDOWN_MARGIN_SECONDS = 5
# How long a worker may take to answer the supervisor's ping before it counts as hung and is
# replaced. A new worker answers only once it has imported everything (the retrieval and
# speech libraries): uvicorn's 5 s killed every worker on a loaded machine.
_WORKER_HEALTHCHECK_SECONDS = 60

_CHAT_WITH = ("todo-none", "sports")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve(
    host: Annotated[str, typer.Option("--host", help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="The port to listen on.")] = 8000,
    dev: Annotated[
        bool,
        typer.Option(
            "--dev",
            help="Development mode: allow plain-HTTP plugins on localhost, and let requests "
            "without a token act as the admin user dev.",
        ),
    ] = False,
    with_examples: Annotated[
        bool,
        typer.Option(
            "--with-examples",
            help="Also serve the example plugins on localhost and install them for dev "
            "(needs --dev).",
        ),
    ] = False,
    examples_port: Annotated[
        int,
        typer.Option(
            "--examples-port",
            help="The first of the example plugins' ports, one each (0: any free ports).",
        ),
    ] = 5001,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="Worker processes to start on the one port. Several need a database they "
            "can share: PostgreSQL (recommended, with POWERSTRIP_REDIS_URL so turn locks and "
            "rate limits hold across them), or a SQLite file on a local disk (WAL: writers "
            "take turns, waiting up to 5 s each). An in-memory SQLite database takes one.",
        ),
    ] = 1,
) -> None:
    """Run the Powerstrip server (REST API, OAuth pages) with uvicorn.

    Unless POWERSTRIP_PUBLIC_URL is set, the public URL is http://HOST:PORT. SIGTERM or Ctrl-C
    stops it gracefully (POWERSTRIP_SHUTDOWN_GRACE_SECONDS); a second Ctrl-C at once.
    """
    # The engine and the examples load here, not for the CLI's help (cli/host.py).
    from powerstrip.cli.dev_examples import ExampleServers
    from powerstrip.examples import ExampleConfig

    listener: socket.socket | None = None
    servers: ExampleServers | None = None
    try:
        listener = _bind(host, port)
        settings = load_settings(dev=dev, **_public_url(host, listener))
        if workers > 1:
            _check_workers(settings)
        if with_examples and not settings.dev_mode:
            raise ConfigError(
                "the example plugins are served over plain HTTP on localhost, which only "
                "development mode allows",
                where="--with-examples",
                fix="add --dev",
            )
        if with_examples:
            servers = ExampleServers(ExampleConfig(data_dir=_examples_dir(settings)), examples_port)
            servers.start()
        startup = run(_prepare(settings, servers))
        _banner(settings, startup)
        if settings.dev_mode and host not in _LOOPBACK:
            out_console.print(
                f"[bold yellow]warning:[/] development mode on {escape(host)}: other machines "
                "can reach the API (they need a token; only callers on this machine act as dev "
                "without one) and plain-HTTP localhost plugins are allowed. Listen on "
                "127.0.0.1, or leave out --dev."
            )
        _run_server(settings, listener, workers)
    except PowerstripError as exc:
        fail(exc)
    finally:
        if listener is not None:
            listener.close()
        if servers is not None:
            servers.close()


@dataclass(frozen=True, slots=True)
class _Startup:
    model: str
    examples: list[WiredExample]


async def _prepare(settings: Settings, servers: ExampleServers | None) -> _Startup:
    """Migrate the store and check the configuration (the model's too) before listening."""
    from powerstrip.cli.dev_examples import wire_examples
    from powerstrip.host import Host

    host = await Host.start(settings)
    try:
        examples = await wire_examples(host, servers) if servers is not None else []
        return _Startup(host.model.name, examples)
    finally:
        await host.aclose()


def _run_server(settings: Settings, listener: socket.socket, workers: int) -> None:
    options: dict[str, Any] = {  # Any: uvicorn's keyword arguments
        "log_level": "info",
        "log_config": _log_config(settings),
        "timeout_graceful_shutdown": math.ceil(settings.shutdown_grace_seconds)
        + _SHUTDOWN_MARGIN_SECONDS,
    }
    from sqlalchemy.engine import make_url

    from powerstrip.server import create_app

    if workers == 1:
        app = create_app(settings, drain_on_shutdown_signals=True, sole_process=True)
        config = uvicorn.Config(app, **options)
        # uvicorn stops gracefully on SIGTERM, then raises it again to end the process: an
        # ordinary exit instead, so the example servers and the listener are closed.
        previous = signal.signal(signal.SIGTERM, _exit_cleanly)
        try:
            # ... and on Ctrl-C it raises that again: the same way out.
            with contextlib.suppress(KeyboardInterrupt):
                uvicorn.Server(config).run(sockets=[listener])
        finally:
            signal.signal(signal.SIGTERM, previous)
        return
    # The workers read their settings from the environment: hand them what the command set.
    os.environ["POWERSTRIP_PUBLIC_URL"] = settings.public_url
    if settings.dev_mode:
        os.environ["POWERSTRIP_DEV_MODE"] = "true"
    with _metrics_dir():
        config = uvicorn.Config(
            _WORKER_APP,
            factory=True,
            workers=workers,
            timeout_worker_healthcheck=_WORKER_HEALTHCHECK_SECONDS,
            **options,
        )
        if not settings.redis_url:
            logger.warning(
                "serve.no_redis workers=%d: turn locks, rate limits, the spec cache and event "
                "streams are per process; set POWERSTRIP_REDIS_URL to share them",
                workers,
            )
        if make_url(settings.database_url).get_backend_name() == "sqlite":
            logger.warning(
                "serve.sqlite_workers workers=%d: the processes take turns writing the SQLite "
                "file (each waits up to 5 s); for many concurrent turns use PostgreSQL",
                workers,
            )
        Multiprocess(config, sockets=[listener]).run()


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _check_workers(settings: Settings) -> None:
    """Refuse several workers on a database they cannot share."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        raise ConfigError(
            "an in-memory SQLite database lives in one process: several workers cannot share it",
            where="--workers",
            fix="use a SQLite file or PostgreSQL (POWERSTRIP_DATABASE_URL), or one worker",
        )


@contextlib.contextmanager
def _metrics_dir() -> Iterator[None]:
    """A fresh directory for the workers' metrics, removed afterwards; one of the operator's
    (`PROMETHEUS_MULTIPROC_DIR` already set) is emptied of an earlier run's values instead."""
    given = os.environ.get(_METRICS_DIR_ENV)
    if given:
        for stale in Path(given).glob("*.db"):
            stale.unlink(missing_ok=True)
        yield
        return
    made = tempfile.mkdtemp(prefix="powerstrip-metrics-")
    os.environ[_METRICS_DIR_ENV] = made
    try:
        yield
    finally:
        os.environ.pop(_METRICS_DIR_ENV, None)
        shutil.rmtree(made, ignore_errors=True)


def _log_config(settings: Settings) -> dict[str, Any]:  # Any: logging's dictConfig schema
    """uvicorn's logging, with Powerstrip's own records on the same stream at the set level."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    if settings.log_format == "json":
        for name in ("default", "access"):
            config["formatters"][name] = {"()": "powerstrip.log_format.JsonFormatter"}
    config["loggers"]["powerstrip"] = {
        "handlers": ["default"],
        "level": settings.log_level.upper(),
        "propagate": False,
    }
    return config


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # uvicorn serves a socket handed to it without setting TCP_NODELAY on the connections it
    # accepts (asyncio sets it only on sockets made with IPPROTO_TCP); Linux copies the option
    # from the listening socket. Without it a response written in two pieces (headers, then
    # body; every chunk of a stream) waits out the client's delayed ACK: ~40 ms a request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        busy = exc.errno == errno.EADDRINUSE
        raise ConfigError(
            f"cannot listen on {host}:{port}: {'the port is in use' if busy else exc.strerror}",
            where="--host/--port",
            fix="stop what listens there, or pass another --port",
        ) from None
    return sock


def _public_url(host: str, listener: socket.socket) -> dict[str, str]:
    """The public URL to use when POWERSTRIP_PUBLIC_URL is not set: where this server listens."""
    if _public_url_configured():
        return {}
    port = listener.getsockname()[1]
    name = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - a comparison
    if ":" in name:
        name = f"[{name}]"
    return {"public_url": f"http://{name}:{port}"}


def _public_url_configured() -> bool:
    try:
        return "public_url" in Settings().model_fields_set
    except ValueError:
        return False  # load_settings reports the malformed setting


def _banner(settings: Settings, startup: _Startup) -> None:
    from powerstrip.host import display_url

    mode = " (development mode)" if settings.dev_mode else ""
    base = settings.public_url.rstrip("/")
    out_console.print(f"[bold]Powerstrip {__version__}[/]{mode}")
    out_console.print(f"  server:   {escape(base)}  (health: {escape(base)}/healthz)")
    out_console.print(f"  database: {escape(display_url(settings.database_url))}")
    out_console.print(f"  model:    {escape(startup.model)}")
    if not startup.examples:
        if settings.dev_mode:
            out_console.print(f"  API:      curl {escape(base)}/api/plugins")
        return
    table = Table("id", "plugin", "auth", "url", title="Example plugins, installed for dev")
    ready: dict[str, int] = {}
    for example in startup.examples:
        if example.plugin is None:
            continue
        ready[example.name] = example.plugin.id
        table.add_row(
            str(example.plugin.id),
            escape(example.plugin.name_for_model),
            example.plugin.auth_type,
            escape(example.url),
        )
    out_console.print(table)
    for example in startup.examples:
        if example.problem is not None:
            out_console.print(
                f"[yellow]{escape(example.name)} is not set up:[/] {escape(example.problem)}"
            )
        elif example.sign_in is not None and example.plugin is not None:
            out_console.print(f"{escape(example.plugin.name_for_model)}: {escape(example.sign_in)}")
    # Two plugins whose operations do not look alike, so the model picks the right one.
    chosen = [ready[name] for name in _CHAT_WITH if name in ready] or list(ready.values())[:1]
    plugins = " ".join(f"--plugin {pid}" for pid in chosen)
    out_console.print(
        f"Chat in another terminal:  {escape(powerstrip_command())} chat --dev {plugins}"
    )
    out_console.print(f"Or use the API:            curl {escape(base)}/api/plugins")
    out_console.print(f"Example data and secrets:  {escape(str(_examples_dir(settings)))}")


def _examples_dir(settings: Settings) -> Path:
    return settings.data_dir / "examples"
