"""Redaction: what is stored or logged about a call never holds a credential.

Two layers: headers and query parameters whose names say "secret" are masked, and every known
secret value (the call's own credentials) is replaced wherever it appears, even in a body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["MASK", "Redactor"]

MASK = "[redacted]"
# Whole name parts only: `access_token` and `X-Api-Key` are secret, `author` is not.
_SECRET_NAME = re.compile(
    r"(?:^|[-_.])(?:authorization|auth|token|secret|password|passwd|api[-_]?key|apikey"
    r"|session|cookie|signature|sig|credentials?)(?:$|[-_.])",
    re.IGNORECASE,
)


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _secret_name(name: str) -> bool:
    # camelCase parts count as parts too: `accessToken`, `clientSecret`, `apiKey`.
    return bool(_SECRET_NAME.search(_CAMEL.sub("_", name)))


class Redactor:
    """Masks secret-looking fields and the given secret values."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            value = value.replace(secret, MASK)
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {
            name: MASK if _secret_name(name) else self.text(value)
            for name, value in headers.items()
        }

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        query = [
            (k, MASK if _secret_name(k) else self.text(v))
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
        cleaned = urlunsplit(parts._replace(query=urlencode(query, safe="[]"), fragment=""))
        return self.text(cleaned)

    def json(self, value: Any) -> Any:  # Any: arbitrary JSON
        if isinstance(value, dict):
            return {
                k: MASK if isinstance(k, str) and _secret_name(k) else self.json(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value
