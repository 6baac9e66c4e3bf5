"""The headers the host adds to every plugin call (spec §6)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

__all__ = ["call_headers", "ephemeral_user_id"]


def ephemeral_user_id(
    secret: bytes, user_id: str, plugin_id: str, now: datetime | None = None
) -> str:
    """A per-plugin, per-user pseudonym that changes daily at midnight UTC.

    An HMAC of (plugin, user, UTC date) under the host's secret: stable within a day, unlinkable
    across plugins and days, and never the real user id.
    """
    day = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d")
    message = f"{plugin_id}\x00{user_id}\x00{day}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def call_headers(
    *, conversation_id: str, ephemeral_id: str, subdivision: str | None
) -> dict[str, str]:
    """The §6 headers, under both the original `openai-` names and `powerstrip-`."""
    values = {"conversation-id": conversation_id, "ephemeral-user-id": ephemeral_id}
    if subdivision:
        values["subdivision-1-iso-code"] = subdivision
    headers: dict[str, str] = {}
    for prefix in ("openai-", "powerstrip-"):
        for name, value in values.items():
            headers[prefix + name] = value
    return headers
