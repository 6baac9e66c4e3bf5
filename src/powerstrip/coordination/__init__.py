"""State several workers share: turn locks, rate windows, signals and event logs.

One process keeps it in memory (the embedded default); with `POWERSTRIP_REDIS_URL` every
worker keeps it on that Redis, so a load balancer may send any request to any worker. Built once
per process by `build_coordination(settings)` and held by the `Host`.

What is *not* here, because the database already shares it: OAuth states (table
`oauth_states`), the spec cache's stored spec and validators (the plugin's row), the MCP
tool-call limit (counted from the call log), background responses' and runs' objects.
"""

from powerstrip.coordination.factory import Coordination, build_coordination
from powerstrip.coordination.protocols import (
    EventLogs,
    Listener,
    RateWindows,
    Signals,
    TurnLocks,
    Window,
)
from powerstrip.coordination.redis_locks import LEASE_SECONDS

__all__ = [
    "LEASE_SECONDS",
    "Coordination",
    "EventLogs",
    "Listener",
    "RateWindows",
    "Signals",
    "TurnLocks",
    "Window",
    "build_coordination",
]
