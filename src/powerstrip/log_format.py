"""`JsonFormatter`: log records as one JSON object a line, for a log collector.

    {"time": "2024-05-21T09:14:03.120Z", "level": "info", "logger": "powerstrip.host.chats",
     "message": "chats.turn conversation=…", "request": "8f2c…", "call": "call_1"}

The ids bound for the record (`powerstrip.logs.log_ids`) become fields of their own instead of
the `key=value` words a text line ends with. Records are masked when they are made
(`powerstrip.logs`); the finished line goes through the same masking once more, so no secret
appears in it in any encoding, JSON's escapes included.

`POWERSTRIP_LOG_FORMAT=json` makes `powerstrip serve` use it for every logger it configures.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from powerstrip.logs import redact_log_text

__all__ = ["JsonFormatter"]

_RESERVED = frozenset({"time", "level", "logger", "message", "exception", "stack"})


class JsonFormatter(logging.Formatter):
    """One JSON object a line: `time`, `level`, `logger`, `message`, the ids, `exception`."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        words = getattr(record, "powerstrip_id_words", "")
        if words and message.endswith(words):
            message = message[: -len(words)]
        stamp = datetime.fromtimestamp(record.created, UTC)
        body: dict[str, Any] = {  # Any: JSON values
            "time": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": message,
        }
        ids = getattr(record, "powerstrip_ids", None)
        if isinstance(ids, dict):
            for name, value in ids.items():
                body[f"id_{name}" if name in _RESERVED else name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            body["exception"] = record.exc_text
        if record.stack_info:
            body["stack"] = self.formatStack(record.stack_info)
        return redact_log_text(json.dumps(body, ensure_ascii=False, default=str))
