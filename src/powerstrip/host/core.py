"""`Host`: everything a Powerstrip process works with, built from `Settings`.

One place wires the store (engine, sessions), the vault, the guarded outbound client, the
registry, the executor, the model backend and the conversation service, so the web app and the
CLI need not.

    host = await Host.start(settings)
    ...
    await host.aclose()
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from powerstrip.auth import Vault
from powerstrip.coordination import Coordination, build_coordination
from powerstrip.errors import CoordinationError
from powerstrip.host.accounts import Accounts, SignInThrottle
from powerstrip.host.chats import Chats
from powerstrip.host.clock import Clock, system_clock
from powerstrip.host.data_controls import DataControls
from powerstrip.host.draining import Drain
from powerstrip.host.exports import Exports
from powerstrip.host.feedback import Feedbacks
from powerstrip.host.health import Health
from powerstrip.host.host_secret import load_host_secret
from powerstrip.host.logos import Logos
from powerstrip.host.mcp_oauth import McpOAuth
from powerstrip.host.mcp_servers import McpServers
from powerstrip.host.metrics import Metrics
from powerstrip.host.model_choice import model_from_settings
from powerstrip.host.openai_api import OpenAIApi
from powerstrip.host.plugins import Plugins
from powerstrip.host.retention import Retention
from powerstrip.host.sign_in_links import SignInLinks
from powerstrip.host.token_refresh import TokenRefresh
from powerstrip.host.tool_calls import ToolCalls
from powerstrip.host.transcription import Transcriber
from powerstrip.host.turn_recovery import TurnRecovery
from powerstrip.host.users import Users
from powerstrip.jobs import Jobs
from powerstrip.logs import install_log_hygiene, remember_secret
from powerstrip.net import GuardedClient, NetPolicy
from powerstrip.registry import Registry
from powerstrip.runtime import Executor, Model
from powerstrip.settings import Settings
from powerstrip.store import create_engine, session_factory, upgrade

__all__ = ["Host", "derive_secret"]


logger = logging.getLogger(__name__)


@dataclass
class Host:
    """The long-lived objects of one server process; any number of processes may share a store."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    vault: Vault
    client: GuardedClient
    registry: Registry
    executor: Executor
    model: Model
    chats: Chats
    sign_in_links: SignInLinks
    plugins: Plugins
    users: Users
    transcriber: Transcriber
    # The services of the OpenAI-compatible API (/v1).
    openai: OpenAIApi
    data: DataControls
    retention: Retention
    exports: Exports
    feedback: Feedbacks
    accounts: Accounts
    logos: Logos
    tool_calls: ToolCalls
    mcp_servers: McpServers
    # Background jobs (docs/jobs.md); `jobs.start()` makes this process one of their workers.
    jobs: Jobs
    token_refresh: TokenRefresh

    # The host as the OAuth authorization server of its /mcp (MCP clients that sign in).
    mcp_oauth: McpOAuth
    # Signs the state of an MCP call waiting for the user's yes (`powerstrip.mcp`).
    mcp_state_key: bytes
    # The liveness and readiness probes, the metrics, and the turns a shutdown must end.
    health: Health
    metrics: Metrics
    drain: Drain
    # Closes the calls of turns whose worker died (`sweep()`; on Redis also a periodic job).
    turn_recovery: TurnRecovery

    # What this process shares with the other workers: in memory, or on Redis.
    coordination: Coordination
    clock: Clock = system_clock

    @classmethod
    async def start(
        cls,
        settings: Settings,
        *,
        model: Model | None = None,
        migrate: bool = True,
        host_secret: bytes | None = None,
        clock: Clock | None = None,
        coordination: Coordination | None = None,
    ) -> Host:
        """Migrate the database (unless `migrate=False`) and build every component.

        `model` replaces the backend the settings choose (tests pass a scripted one); `clock`
        the system clock the data services read (tests move it on instead of sleeping);
        `coordination` the shared state the settings choose (tests pass one with a short lease).
        CoordinationError when `redis_url` is set and that Redis does not answer.
        """
        install_log_hygiene()
        for secret in _configured_secrets(settings):
            remember_secret(secret)
        now = clock or system_clock
        if migrate:
            await upgrade(settings.database_url)
        shared = coordination or build_coordination(settings)
        try:
            await shared.ping()
        except CoordinationError as exc:
            # Started anyway: /readyz answers 503 naming Redis until it is back, and a turn
            # meanwhile ends with a clear error; a worker that refused to start would need
            # restarting by hand once Redis is up.
            logger.warning("host.redis_unavailable error=%s", exc.message)
        vault = Vault.from_settings(settings)
        policy = NetPolicy.from_settings(settings)
        engine = create_engine(settings.database_url)
        client = GuardedClient(policy)
        sessions = session_factory(engine)
        jobs = Jobs(settings, sessions)
        registry = Registry(sessions, vault, client, settings)
        executor = Executor(client)
        chosen = model or model_from_settings(settings)
        base = host_secret or await load_host_secret(sessions, vault)
        drain = Drain()
        metrics = Metrics(queue_depth=jobs.depth)
        chats = Chats(
            sessions=sessions,
            registry=registry,
            executor=executor,
            model=chosen,
            settings=settings,
            ephemeral_secret=derive_secret(base, "ephemeral-user-id"),
            turn_watch=lambda events: metrics.watch_turn(drain.watch(events)),
            turn_locks=shared.turn_locks,
        )
        tool_calls = ToolCalls(
            sessions=sessions,
            registry=registry,
            executor=executor,
            settings=settings,
            ephemeral_secret=derive_secret(base, "ephemeral-user-id"),
        )
        sign_in_links = SignInLinks(settings.public_url, derive_secret(base, "oauth-sign-in"))
        plugins = Plugins(registry, sign_in_links, settings)
        users = Users(sessions, token_cache_seconds=settings.token_cache_seconds)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            vault=vault,
            client=client,
            registry=registry,
            executor=executor,
            model=chosen,
            chats=chats,
            sign_in_links=sign_in_links,
            plugins=plugins,
            users=users,
            transcriber=Transcriber(settings),
            openai=OpenAIApi(sessions, settings, chats, plugins, shared, jobs),
            data=DataControls(
                sessions,
                retention_days=settings.retention_days,
                on_deleted=chats.forget,
                on_account_deleted=users.forget_tokens,
            ),
            retention=Retention(
                sessions,
                retention_days=settings.retention_days,
                batch_size=settings.retention_batch_size,
                clock=now,
                on_deleted=chats.forget,
                jobs=jobs,
                interval_seconds=settings.retention_interval_seconds,
            ),
            exports=Exports(
                sessions,
                settings,
                jobs=jobs,
                vault=vault,
                link_key=derive_secret(base, "export-links"),
                clock=now,
            ),
            feedback=Feedbacks(sessions),
            clock=now,
            accounts=Accounts(
                sessions,
                settings,
                derive_secret(base, "web-form-token"),
                throttle=SignInThrottle(shared.rates),
            ),
            logos=Logos(client),
            tool_calls=tool_calls,
            mcp_servers=McpServers(registry, settings),
            mcp_oauth=McpOAuth(
                sessions, settings, derive_secret(base, "mcp-oauth-consent"), clock=now
            ),
            mcp_state_key=derive_secret(base, "mcp-call-state"),
            health=Health(engine, redis_url=settings.redis_url, draining=lambda: drain.draining),
            metrics=metrics,
            drain=drain,
            coordination=shared,
            jobs=jobs,
            token_refresh=TokenRefresh(registry, jobs, settings),
            turn_recovery=TurnRecovery(
                sessions,
                shared.turn_locks,
                # Only shared locks tell another worker's live turn from a dead one's.
                jobs=jobs if shared.backend == "redis" else None,
                interval_seconds=settings.turn_recovery_interval_seconds,
                lease_seconds=settings.turn_lock_lease_seconds,
            ),
        )

    def note_own_address(self, address: str, port: int) -> None:
        """Remember a local address the server was reached at: never a plugin destination."""
        try:
            literal = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return  # a unix socket path, or a name: nothing to compare addresses against
        self.client.policy.own.add_socket(literal, port)

    async def aclose(self) -> None:
        """Stop this process's jobs; close the model backend, the outbound client, Redis, the
        store."""
        await self.jobs.aclose()  # first: the jobs use everything below
        await self.openai.aclose()
        close = getattr(self.model, "aclose", None)
        if close is not None:
            await close()
        await self.transcriber.aclose()
        await self.client.aclose()
        await self.health.aclose()

        await self.coordination.aclose()
        await self.engine.dispose()


def _configured_secrets(settings: Settings) -> list[str]:
    """The secrets the settings hold: the model and SMTP keys and the vault's key material."""
    found = [
        settings.model_api_key.get_secret_value(),
        settings.smtp_password.get_secret_value(),
        settings.metrics_token.get_secret_value(),
        urlsplit(settings.redis_url).password or "",
    ]
    for entry in settings.vault_keys.get_secret_value().split(","):
        found.append(entry.partition(":")[2].strip())
    return [value for value in found if value]


def derive_secret(base: bytes, purpose: str) -> bytes:
    """A key for one purpose, so no two uses share (or can be made to confuse) a key."""
    return hmac.new(base, f"powerstrip {purpose}".encode(), hashlib.sha256).digest()
