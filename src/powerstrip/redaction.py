"""Redaction: what is stored or logged about a call never holds a credential.

Two layers: headers and query parameters whose names say "secret" are masked, and every known
secret value (the call's own credentials) is replaced wherever it appears, even in a body, in
every form it can take on the way: as written, escaped (Python repr, `\\n`, JSON), URL-encoded,
and base64-encoded (standard and URL-safe, padded or not, at any alignment inside a longer
encoded value such as a Basic credential). This is the one redaction mechanism: every place that
records or shows text that may hold a secret passes it through a `Redactor`.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

__all__ = ["MASK", "Redactor", "encoded_forms"]

MASK = "[redacted]"
# Whole name parts only: `access_token` and `X-Api-Key` are secret, `author` is not.
_SECRET_NAME = re.compile(
    r"(?:^|[-_.])(?:authorization|auth|token|secret|password|passwd|api[-_]?key|apikey"
    r"|session|cookie|signature|sig|credentials?)(?:$|[-_.])",
    re.IGNORECASE,
)


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_MIN_SECRET = 4
# A base64 form shorter than this could match unrelated base64 text by chance.
_MIN_BASE64 = 8


def encoded_forms(secret: str) -> set[str]:
    """`secret` as written and in every encoding it could leak in (see the module docstring)."""
    forms = {secret, secret.strip()}
    forms.add(repr(secret)[1:-1])
    forms.add(secret.encode("unicode_escape").decode("ascii"))
    data = secret.encode("utf-8", "surrogatepass")
    forms.add(repr(data)[2:-1])
    forms.add(json.dumps(secret)[1:-1])
    forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    forms.update({quote(secret, safe=""), quote(secret), quote_plus(secret)})
    for offset in range(3):
        # Behind `offset` filler bytes, the characters that depend on the secret's bytes only:
        # found wherever the secret sits inside a longer encoded value.
        encoded = base64.b64encode(b"\0" * offset + data).decode("ascii")
        core = encoded[-(-8 * offset // 6) : 8 * (offset + len(data)) // 6]
        if len(core) >= _MIN_BASE64:
            forms.update({core, core.replace("+", "-").replace("/", "_")})
    return {form for form in forms if len(form) >= _MIN_SECRET}


def _secret_name(name: str) -> bool:
    # camelCase parts count as parts too: `accessToken`, `clientSecret`, `apiKey`.
    return bool(_SECRET_NAME.search(_CAMEL.sub("_", name)))


class Redactor:
    """Masks secret-looking fields and the given secret values."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= _MIN_SECRET:
                forms |= encoded_forms(secret)
        # Longest first, so a secret (or form) that contains another is masked whole.
        self._secrets = sorted(forms, key=len, reverse=True)

    def text(self, value: str) -> str:
        """`value` with every form of every secret replaced by the mask."""
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
