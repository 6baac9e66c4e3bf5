"""The access log without the secrets that travel in query strings.

Sign-in links carry their ticket in the query (`/aip/ID/oauth/begin?ticket=...`) and the
provider sends the OAuth `code` and `state` back the same way: uvicorn's access log would keep
each of them in plain text, usable by whoever reads the log while they are live. The filter
rewrites the logged path: every value on the `/aip/` pages and the values of secret-named
parameters anywhere become `[redacted]`; paths and parameter names stay readable.
"""

from __future__ import annotations

import logging
from urllib.parse import unquote

__all__ = ["ACCESS_LOGGER", "AccessLogRedactor", "install_access_log_redaction", "redact_path"]

ACCESS_LOGGER = "uvicorn.access"
REDACTED = "[redacted]"

# The OAuth pages: everything in their query strings is a ticket, a code, a state, or the
# provider's words about them.
_SECRET_PATHS = ("/aip/",)
_SECRET_NAMES = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "client_secret",
        "code",
        "key",
        "password",
        "refresh_token",
        "state",
        "ticket",
        "token",
    }
)


def redact_path(full_path: str) -> str:
    """`full_path` (path and query, as logged) with secret query values replaced."""
    path, mark, query = full_path.partition("?")
    if not mark:
        return full_path
    everything = path.startswith(_SECRET_PATHS)
    parts = []
    for pair in query.split("&"):
        name, equals, _value = pair.partition("=")
        secret = everything or unquote(name).lower() in _SECRET_NAMES
        parts.append(f"{name}={REDACTED}" if equals and secret else pair)
    return f"{path}?{'&'.join(parts)}"


class AccessLogRedactor(logging.Filter):
    """Rewrites uvicorn's access records (`client, method, path, version, status`) in place."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], redact_path(args[2]), args[3], args[4])
        return True


def install_access_log_redaction() -> None:
    """Put the redactor on uvicorn's access logger (once per process)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, AccessLogRedactor) for f in logger.filters):
        logger.addFilter(AccessLogRedactor())
