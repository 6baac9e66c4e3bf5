"""`Health`: is this process alive, and is it ready to serve (`/healthz`, `/readyz`).

Liveness costs nothing and touches nothing: a process that can answer is alive, and a load
balancer or systemd that restarts it on a failed liveness probe must not do so because the
database blinked. Readiness checks what a request needs, each check bounded by a timeout:

- `database`: a connection can be had and answers;
- `migrations`: the schema is at the newest migration this code ships;
- `redis`: Redis answers a PING (only when `POWERSTRIP_REDIS_URL` is set);
- `shutdown`: the process is not draining (a SIGTERM came): a load balancer stops sending new
  requests while the turns in flight finish.

A failed check says what failed, never how to reach it (no URL, no password).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio
import redis.exceptions
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from powerstrip import __version__
from powerstrip.errors import PowerstripError
from powerstrip.store import head_revision, revision_of

__all__ = ["Check", "Health", "Readiness"]

logger = logging.getLogger(__name__)

# A probe answers within this many seconds per check, whatever hangs behind it.
PROBE_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class Check:
    """One readiness check: its name, whether it passed, and what it found."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Readiness:
    """The checks of one readiness probe."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(check.name for check in self.checks if not check.ok)

    def to_dict(self) -> dict[str, Any]:  # Any: JSON values
        """The probe's answer body: `{"status", "failed", "checks": {name: {ok, detail}}}`."""
        return {
            "status": "ready" if self.ok else "unready",
            "failed": list(self.failed),
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks},
            "version": __version__,
        }


class Health:
    """The liveness and readiness probes of one process."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        redis_url: str = "",
        draining: Callable[[], bool] = lambda: False,
        timeout: float = PROBE_TIMEOUT,
    ) -> None:
        self._engine = engine
        self._redis_url = redis_url
        self._draining = draining
        self._timeout = timeout
        self._redis: redis.asyncio.Redis | None = None

    def live(self) -> dict[str, str]:
        """The liveness answer: no I/O, so it fails only when the process cannot answer."""
        return {"status": "ok", "version": __version__}

    async def ready(self) -> Readiness:
        """Run every readiness check, at once; each one is bounded by the probe timeout."""
        store, cache = await asyncio.gather(self._store(), self._redis_check())
        checks = [*store]
        if cache is not None:
            checks.append(cache)
        checks.append(
            Check("shutdown", False, "the server is shutting down")
            if self._draining()
            else Check("shutdown", True, "serving")
        )
        return Readiness(tuple(checks))

    async def aclose(self) -> None:
        """Close the probe's Redis connection, if it opened one."""
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def _store(self) -> list[Check]:
        found = await self._bounded("database", revision_of(self._engine))
        if isinstance(found, Check):
            return [found, Check("migrations", False, "not checked: the database did not answer")]
        head = head_revision()
        database = Check("database", True, "reachable")
        if found == head:
            return [database, Check("migrations", True, f"at {head}")]
        return [
            database,
            Check(
                "migrations", False, f"the database is at {found or 'none'}, the code needs {head}"
            ),
        ]

    async def _redis_check(self) -> Check | None:
        if not self._redis_url:
            return None
        if self._redis is None:
            self._redis = redis.asyncio.Redis.from_url(
                self._redis_url,
                socket_timeout=self._timeout,
                socket_connect_timeout=self._timeout,
            )
        found = await self._bounded("redis", self._redis.ping())
        return found if isinstance(found, Check) else Check("redis", True, "reachable")

    async def _bounded(self, name: str, probe: Awaitable[Any]) -> Any:  # Any: the probe's value
        """The probe's value, or a failed `Check` saying why it has none."""
        try:
            return await asyncio.wait_for(probe, self._timeout)
        except TimeoutError:
            detail = f"no answer within {self._timeout:g} s"
        except PowerstripError as exc:
            detail = exc.message
        except redis.exceptions.RedisError as exc:
            detail = f"Redis failed: {type(exc).__name__}"
        except SQLAlchemyError as exc:
            detail = f"the database failed: {type(exc).__name__}"
        except OSError as exc:
            detail = f"unreachable: {type(exc).__name__}"
        logger.warning("health.check_failed check=%s detail=%s", name, detail)
        return Check(name, False, detail)
