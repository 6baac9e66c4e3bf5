"""The suite-wide secret scan: after every test has run, no secret may appear in a log record,
in any answer of the host's API, or anywhere in the bytes of a host database file.

Tests `watch()` the secrets they create or see (credentials a plugin received, API tokens,
vault keys); the fixed test secrets are watched from the start. A log handler keeps every
record's text; at the end of each worker's session the logs and every `powerstrip.db*` file
under its temporary directory are searched. Leaks are written to a report file that the xdist
controller (or the single process) turns into a failed run.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

__all__ = [
    "LogCapture",
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


def leaks_in_text(text: str, secrets: frozenset[str] | None = None) -> list[str]:
    """The watched secrets found in `text`, described."""
    return [describe(s) for s in sorted(secrets or watched()) if s in text]


def leaks_in_files(root: Path, secrets: frozenset[str] | None = None) -> list[str]:
    """Watched secrets found in the bytes of any host database file under `root`."""
    found = []
    needles = [(s, s.encode()) for s in sorted(secrets or watched())]
    for path in sorted(root.rglob("powerstrip.db*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        found += [
            f"{path.name} in {path.parent.name}: {describe(s)}" for s, b in needles if b in data
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
