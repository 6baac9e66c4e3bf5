"""Log records that say which request and call they belong to, and never hold a secret.

Two things happen to every record the process makes, whichever logger, handler or formatter
prints it (uvicorn's, pytest's, a JSON one):

- the ids bound for the task that logs it (`log_ids(request="…", call="…")`, carried by
  contextvars into every await of that request or call) are appended as `key=value` words and set
  as attributes (`record.request`, `record.call`, …), so one grep finds a call's whole story;
- its text, arguments and traceback pass through one redactor: every value the vault opened or
  the host issued in this process (`remember_secret`), in every encoding `Redactor` knows, and
  anything shaped like a Powerstrip token or an HTTP credential, become `[redacted]`.

Call sites log plainly; none of them redacts on its own.

    install_log_hygiene()          # once, at start (Host.start does it)
    with log_ids(request=request_id):
        logger.info("chats.turn conversation=%s", conversation_id)
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from powerstrip.redaction import MASK, encoded_forms

__all__ = ["bound_log_ids", "install_log_hygiene", "log_ids", "redact_log_text", "remember_secret"]

_IDS: ContextVar[tuple[tuple[str, str], ...]] = ContextVar("powerstrip_log_ids", default=())

# What a credential looks like even when nobody told us its value: Powerstrip API tokens and
# MCP OAuth tokens and codes (pst_, psm_, psr_, psc_), and the value of an Authorization-style
# header quoted in a message.
_SHAPES = re.compile(
    r"ps[tmrc]_[A-Za-z0-9_-]{16,}"
    r"|(?<=Bearer )[A-Za-z0-9._~+/=-]{8,}"
    r"|(?<=Basic )[A-Za-z0-9+/=]{8,}",
    re.IGNORECASE,
)
# A bounded memory: the newest secrets are the ones live calls use.
_MAX_SECRETS = 4096
_MIN_SECRET = 4  # as `Redactor`: shorter values would mask ordinary words


@contextmanager
def log_ids(**ids: str | int | None) -> Iterator[None]:
    """Bind ids to every record logged inside the block (and in the tasks it starts)."""
    added = tuple((name, str(value)) for name, value in ids.items() if value not in (None, ""))
    token = _IDS.set(_IDS.get() + added)
    try:
        yield
    finally:
        _IDS.reset(token)


def bound_log_ids() -> dict[str, str]:
    """The ids bound here (the innermost value of each name)."""
    return dict(_IDS.get())


class _Masker:
    """Replaces many known strings in one pass: candidates are found by their first characters,
    so a record costs a walk over its text, not a search per remembered form."""

    _KEY = 6

    def __init__(self, forms: set[str]) -> None:
        self._short = sorted((f for f in forms if len(f) < self._KEY), key=len, reverse=True)
        self._index: dict[str, list[str]] = {}
        for form in sorted(forms, key=len, reverse=True):
            if len(form) >= self._KEY:
                self._index.setdefault(form[: self._KEY], []).append(form)

    def text(self, value: str) -> str:
        for form in self._short:
            value = value.replace(form, MASK)
        if not self._index:
            return value
        key, index = self._KEY, self._index
        pieces: list[str] = []
        start = position = 0
        end = len(value) - key
        while position <= end:
            found = None
            for form in index.get(value[position : position + key], ()):
                if value.startswith(form, position):
                    found = form  # the longest first: a form inside another is masked whole
                    break
            if found is None:
                position += 1
                continue
            pieces += (value[start:position], MASK)
            position = start = position + len(found)
        pieces.append(value[start:])
        return "".join(pieces)


class _Secrets:
    """The secret values this process has handled, and a masker over all their forms."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, None] = {}  # insertion-ordered: the oldest is dropped first
        self._masker: _Masker | None = _Masker(set())

    def add(self, value: str) -> None:
        if len(value) < _MIN_SECRET or value in self._values:
            return
        with self._lock:
            self._values[value] = None
            while len(self._values) > _MAX_SECRETS:
                self._values.pop(next(iter(self._values)))
            self._masker = None  # rebuilt on the next record

    def masker(self) -> _Masker:
        current = self._masker
        if current is None:
            with self._lock:
                forms: set[str] = set()
                for value in self._values:
                    forms |= encoded_forms(value)
                current = self._masker = _Masker(forms)
        return current


_secrets = _Secrets()


def remember_secret(value: str) -> None:
    """Mask `value` (in every encoding) in every log record from now on."""
    _secrets.add(value)


def redact_log_text(text: str) -> str:
    """`text` as a log record would carry it."""
    return _SHAPES.sub(MASK, _secrets.masker().text(text))


_installed = threading.Lock()
_previous: Any = None  # Any: logging's record factory type is not public


def install_log_hygiene() -> None:
    """Make every record of the process carry its ids and no secret (idempotent)."""
    global _previous
    with _installed:
        if _previous is not None:
            return
        _previous = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_make_record)


def _make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record: logging.LogRecord = _previous(*args, **kwargs)
    ids = _IDS.get()
    for name, value in ids:
        setattr(record, name, value)
    # For formatters that put the ids in fields of their own (`JsonFormatter`).
    record.powerstrip_ids = dict(ids)
    record.powerstrip_id_words = ""
    # Message and arguments are cleaned apart, so filters that read a record's arguments (the
    # access log's path redaction) still find them.
    if isinstance(record.msg, str):
        record.msg = redact_log_text(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_clean(value) for value in record.args)
    elif isinstance(record.args, dict):
        record.args = {key: _clean(value) for key, value in record.args.items()}
    try:
        whole = record.getMessage()
    except (TypeError, ValueError):
        whole = ""  # a malformed call: logging reports it when the record is formatted
    if _SHAPES.search(whole):
        # A credential's shape formed only once message and arguments met: mask it whole.
        record.msg, record.args = _SHAPES.sub(MASK, whole), None
    if ids and isinstance(record.msg, str):
        words = " ".join(f"{name}={value}" for name, value in ids)
        record.msg += " " + (words.replace("%", "%%") if record.args else words)
        record.powerstrip_id_words = " " + words
    if record.exc_info and record.exc_info[0] is not None:
        # Tracebacks quote arguments and locals' reprs: format now, redacted, once.
        record.exc_text = redact_log_text(logging.Formatter().formatException(record.exc_info))
    return record


def _clean(value: Any) -> Any:  # Any: whatever a log call passes
    if value is None or isinstance(value, bool | int | float):
        return value  # cannot hold a secret, and `%d` still formats it
    return redact_log_text(value if isinstance(value, str) else str(value))
