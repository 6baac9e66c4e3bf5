"""The suite-wide secret scan: after every test has run, no secret may appear in a log record,
in any answer of the host's API, or anywhere in the bytes of a host database file.

Tests `watch()` the secrets they create or see (credentials a plugin received, API tokens,
vault keys); the fixed test secrets are watched from the start. A log handler keeps every
record's text; at the end of each worker's session the logs and every `powerstrip.db*` file
under its temporary directory are searched. Leaks are written to a report file that the xdist
controller (or the single process) turns into a failed run.

A secret is looked for in every form it could leak in, not only as written: escaped (Python
repr, JSON), URL-encoded and base64-encoded (standard and URL-safe, at any alignment inside a
longer encoded value). This is written independently of the host's redactor on purpose: the
scan must find what the redactor misses.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from pathlib import Path
from urllib.parse import quote, quote_plus

__all__ = [
    "LogCapture",
    "forms",
    "leaks_in_files",
    "leaks_in_text",
    "watch",
    "watched",
]

_MIN_LENGTH = 8
_lock = threading.Lock()
_watched: set[str] = set()


def watch(*secrets: str) -> None:
    """Add secrets to look for at the end (too-short values would match by chance)."""
    with _lock:
        _watched.update(s for s in secrets if len(s) >= _MIN_LENGTH)


def watched() -> frozenset[str]:
    with _lock:
        return frozenset(_watched)


def describe(secret: str) -> str:
    """A secret named without revealing it."""
    return f"{secret[:4]}… ({len(secret)} chars)"


_forms_cache: dict[str, frozenset[str]] = {}


def forms(secret: str) -> frozenset[str]:
    """Every spelling of `secret` a leak could take (see the module docstring)."""
    cached = _forms_cache.get(secret)
    if cached is not None:
        return cached
    found = {
        secret,
        secret.strip(),
        repr(secret)[1:-1],
        repr(secret.encode("utf-8", "surrogatepass"))[2:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
    }
    data = secret.encode("utf-8", "surrogatepass")
    for offset in range(3):
        # Encode behind `offset` filler bytes; keep only the characters that depend on the
        # secret's bytes alone, so the form matches wherever the secret sits in a longer value.
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        first = -(-8 * offset // 6)
        last = 8 * (offset + len(data)) // 6
        core = encoded[first:last]
        found.update({core, core.replace("+", "-").replace("/", "_")})
    result = frozenset(form for form in found if len(form) >= _MIN_LENGTH)
    _forms_cache[secret] = result
    return result


def leaks_in_text(text: str, secrets: frozenset[str] | None = None) -> list[str]:
    """The watched secrets found in `text` in any of their `forms`, described."""
    return [
        describe(s) for s in sorted(secrets or watched()) if any(form in text for form in forms(s))
    ]


def leaks_in_files(root: Path, secrets: frozenset[str] | None = None) -> list[str]:
    """Watched secrets found, in any of their `forms`, in the bytes of a host database file."""
    found = []
    needles = [
        (s, [f.encode("utf-8", "surrogatepass") for f in forms(s)])
        for s in sorted(secrets or watched())
    ]
    for path in sorted(root.rglob("powerstrip.db*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        found += [
            f"{path.name} in {path.parent.name}: {describe(s)}"
            for s, encoded in needles
            if any(b in data for b in encoded)
        ]
    return found


class LogCapture(logging.Handler):
    """Keeps the text of every record (with its traceback) for the final scan."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self._texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a record that cannot be formatted is searched by its parts
            text = f"{record.msg} {record.args}"
        with _lock:
            self._texts.append(text)

    def text(self) -> str:
        with _lock:
            return "\n".join(self._texts)
