"""`Metrics`: what the process has done, in Prometheus's text format (`/metrics`).

Turns (`powerstrip_turns_total` by outcome, `powerstrip_turn_duration_seconds`), plugin calls by
plugin id (`powerstrip_plugin_calls_total` by outcome, `powerstrip_plugin_call_duration_seconds`),
HTTP requests by route template and status (`powerstrip_http_requests_total`,
`powerstrip_http_request_duration_seconds`) and the job queue's depth (`powerstrip_queue_depth`);
docs/deploy.md lists each series with its labels.

The series live in the process (prometheus_client's default registry). With several worker
processes, `powerstrip serve --workers N` sets `PROMETHEUS_MULTIPROC_DIR` before they start:
each process writes its values there and any of them answers a scrape with the sum.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Iterable
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from powerstrip.runtime import ApprovalNeeded, ClientCalls, ErrorEvent, Event, TurnDone

__all__ = [
    "METRICS_CONTENT_TYPE",
    "Metrics",
    "QueueDepth",
    "observe_call",
    "observe_request",
]

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST
_MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Turns wait on models and plugins: seconds to minutes. Calls: the call timeout bounds them.
_TURN_BUCKETS = (0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
_CALL_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

_TURNS = Counter("powerstrip_turns", "Turns that ended, by how they ended.", ["outcome"])
_TURN_SECONDS = Histogram(
    "powerstrip_turn_duration_seconds", "How long turns ran.", buckets=_TURN_BUCKETS
)
_CALLS = Counter(
    "powerstrip_plugin_calls", "Plugin calls, by plugin id and outcome.", ["plugin", "outcome"]
)
_CALL_SECONDS = Histogram(
    "powerstrip_plugin_call_duration_seconds",
    "How long plugin calls took, by plugin id.",
    ["plugin"],
    buckets=_CALL_BUCKETS,
)
_REQUESTS = Counter(
    "powerstrip_http_requests",
    "HTTP requests, by method, route template and status.",
    ["method", "route", "status"],
)
_REQUEST_SECONDS = Histogram(
    "powerstrip_http_request_duration_seconds",
    "How long HTTP requests took, by route template.",
    ["route"],
)


class QueueDepth(Protocol):
    """How many background jobs are waiting: the job queue provides it (`Metrics.queue_depth`)."""

    def __call__(self) -> Awaitable[int]: ...


async def _no_queue() -> int:
    return 0


def observe_call(plugin_id: int | str, outcome: str, duration_ms: int) -> None:
    """Count one plugin call (the call log's `outcome`) and its duration."""
    plugin = str(plugin_id)
    _CALLS.labels(plugin, outcome).inc()
    _CALL_SECONDS.labels(plugin).observe(duration_ms / 1000)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one HTTP request by its route template (never its raw path) and status."""
    _REQUESTS.labels(method, route, str(status)).inc()
    _REQUEST_SECONDS.labels(route).observe(seconds)


class Metrics:
    """The process's metrics: turns are watched through `watch_turn`, scrapes `render`."""

    def __init__(self, queue_depth: QueueDepth | None = None) -> None:
        self.queue_depth: QueueDepth = queue_depth or _no_queue

    def watch_turn(self, events: AsyncIterator[Event]) -> AsyncIterator[Event]:
        """`events` unchanged; the turn is counted, with its duration, when it ends."""
        return self._watch_turn(events)

    async def _watch_turn(self, events: AsyncIterator[Event]) -> AsyncGenerator[Event, None]:
        started = time.monotonic()
        outcome = "left"
        try:
            async for event in events:
                if isinstance(event, ErrorEvent):
                    outcome = "error"
                elif isinstance(event, ApprovalNeeded) and outcome != "error":
                    outcome = "paused"
                elif isinstance(event, ClientCalls) and outcome != "error":
                    outcome = "client_calls"
                elif isinstance(event, TurnDone) and outcome == "left":
                    outcome = "paused" if event.paused else "ok"
                yield event
        except Exception:
            outcome = "error"
            raise
        finally:
            # Closed here, not left to the garbage collector: a client that leaves must end
            # the turn (its open calls closed) before this returns.
            close = getattr(events, "aclose", None)
            if close is not None:
                await close()
            _TURNS.labels(outcome).inc()
            _TURN_SECONDS.observe(time.monotonic() - started)

    async def render(self) -> bytes:
        """The exposition text of every series (all worker processes' when there are several)."""
        depth = await self.queue_depth()
        if os.environ.get(_MULTIPROCESS_ENV):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
            text = generate_latest(registry)
        else:
            text = generate_latest(REGISTRY)
        # Read now, from the queue itself: the same for every worker, so never summed.
        # A collector, not a Gauge: in multiprocess mode a Gauge would write a file per process.
        extra = CollectorRegistry()
        extra.register(_QueueGauge(depth))
        return text + generate_latest(extra)


class _QueueGauge(Collector):
    def __init__(self, depth: int) -> None:
        self._depth = depth

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "powerstrip_queue_depth", "Background jobs waiting in the queue.", value=self._depth
        )
