"""The OAuth refresh job: renew users' access tokens shortly before they expire.

Every `POWERSTRIP_OAUTH_REFRESH_INTERVAL_SECONDS` a worker runs `oauth.refresh_due`, which
finds the tokens expiring within `POWERSTRIP_OAUTH_REFRESH_AHEAD_SECONDS` and enqueues one
`oauth.refresh` job per token, its id naming the user, the plugin and the expiry it was found
with: however many workers look, each token is refreshed once, and a token a turn renewed
meanwhile is left alone. A turn finding its token expired still refreshes it on the spot (the
registry's fallback), so nothing depends on the job having run.

A refresh the provider refuses is not retried: the user signs in again when the token expires,
as before. A provider or network that is briefly away is retried with the jobs' backoff.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from powerstrip.errors import PowerstripError
from powerstrip.jobs import JobPayload, Jobs, is_transient
from powerstrip.registry import ExpiringToken, Registry
from powerstrip.settings import Settings

__all__ = ["REFRESH_DUE_JOB", "REFRESH_JOB", "TokenRefresh"]

logger = logging.getLogger(__name__)

REFRESH_DUE_JOB = "oauth.refresh_due"
REFRESH_JOB = "oauth.refresh"


class TokenRefresh:
    """Finds OAuth tokens about to expire and refreshes each in a job of its own."""

    def __init__(self, registry: Registry, jobs: Jobs, settings: Settings) -> None:
        self.registry = registry
        self.jobs = jobs
        self.ahead = timedelta(seconds=settings.oauth_refresh_ahead_seconds)
        jobs.register(REFRESH_DUE_JOB, self._due_job)
        jobs.register(REFRESH_JOB, self._refresh_job)
        if settings.oauth_refresh_ahead_seconds > 0:
            jobs.every(REFRESH_DUE_JOB, settings.oauth_refresh_interval_seconds)

    async def enqueue_due(self) -> int:
        """Enqueue a refresh for each token expiring soon; how many were new."""
        tokens = await self.registry.expiring_tokens(datetime.now(UTC) + self.ahead)
        queued = 0
        for token in tokens:
            stamp = token.expires_at.timestamp()
            payload: JobPayload = {
                "user": token.user_id,
                "plugin": token.plugin_id,
                "expires_at": stamp,
            }
            key = f"{token.user_id}.{token.plugin_id}.{stamp:.6f}"
            if (await self.jobs.enqueue(REFRESH_JOB, key, payload)).new:
                queued += 1
        if queued:
            logger.info("oauth.refresh_due tokens=%d queued=%d", len(tokens), queued)
        return queued

    async def _due_job(self, payload: JobPayload) -> None:
        await self.enqueue_due()

    async def _refresh_job(self, payload: JobPayload) -> None:
        token = ExpiringToken(
            int(payload["user"]),
            int(payload["plugin"]),
            datetime.fromtimestamp(float(payload["expires_at"]), UTC),
        )
        try:
            renewed = await self.registry.refresh_ahead(token)
        except PowerstripError as exc:
            if is_transient(exc):
                raise
            # Uninstalled, banned or no longer verified since: nothing of it to keep fresh.
            logger.info(
                "oauth.refresh_skipped user=%s plugin=%s error=%s",
                token.user_id,
                token.plugin_id,
                exc.message,
            )
            return
        logger.info(
            "oauth.refresh_ahead user=%s plugin=%s renewed=%s",
            token.user_id,
            token.plugin_id,
            renewed,
        )
