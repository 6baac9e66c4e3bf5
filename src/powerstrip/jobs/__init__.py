"""Background jobs: named, idempotent, retried, surviving a restart (docs/jobs.md).

`Jobs` queues them on arq (Redis) when `POWERSTRIP_REDIS_URL` is set, else in the store's
`jobs` table, run by the processes that run jobs (`powerstrip serve`, `powerstrip worker`).
This package knows no feature: the host registers each job's handler.
"""

from powerstrip.jobs.job import Enqueued, JobHandler, JobInfo, JobPayload, JobState
from powerstrip.jobs.retry import RetryPolicy, describe_failure, is_transient
from powerstrip.jobs.service import Jobs

__all__ = [
    "Enqueued",
    "JobHandler",
    "JobInfo",
    "JobPayload",
    "JobState",
    "Jobs",
    "RetryPolicy",
    "describe_failure",
    "is_transient",
]
