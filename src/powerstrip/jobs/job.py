"""What a job is to its enqueuer and its worker: a name, a deterministic id, a JSON payload.

A handler is an async function of the payload. It must be idempotent: a job may run again
after its worker died mid-way (or a retry), and running it twice must not double its effect.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from powerstrip.aliases import JSONValue

__all__ = ["Enqueued", "JobHandler", "JobInfo", "JobPayload", "JobState"]

JobPayload = dict[str, JSONValue]
JobHandler = Callable[[JobPayload], Awaitable[None]]
JobState = Literal["queued", "running", "done", "failed", "cancelled"]


@dataclass(frozen=True, slots=True)
class Enqueued:
    """The id a job was enqueued under, and whether this call queued it (False: it was there)."""

    job_id: str
    new: bool


@dataclass(frozen=True, slots=True)
class JobInfo:
    """A job as its queue knows it: state, tries so far, and why it failed (never a secret)."""

    id: str
    name: str
    status: JobState
    attempts: int
    error: str | None = None
