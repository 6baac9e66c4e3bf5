"""The types of what a request may carry: row ids in range, text that is valid Unicode.

Every route takes its ids and body text through these, so a value the database or an encoder
cannot hold is a 422 at the door instead of a crash deep inside (an `OverflowError` from the
SQLite driver, a `UnicodeEncodeError` while writing the answer).
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, Field

__all__ = ["MAX_ROW_ID", "GrantId", "PluginId", "RowId", "Text"]

# Ids are 64-bit signed integers in SQLite and PostgreSQL (BIGINT), and start at 1.
MAX_ROW_ID = 2**63 - 1

PluginId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A plugin's id.")]
GrantId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A grant's id.")]
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]

# JSON may spell half of a UTF-16 pair ("\ud800") on its own: Python decodes it to a string that
# no UTF-8 encoder (database driver, httpx, the answer's own JSON) accepts.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _valid_unicode(text: str) -> str:
    found = _LONE_SURROGATE.search(text)
    if found:
        raise ValueError(
            f"the text holds a lone surrogate (U+{ord(found.group()):04X}) at character "
            f"{found.start()}, which is not valid Unicode: send the character itself, or a "
            "complete surrogate pair"
        )
    return text


Text = Annotated[str, AfterValidator(_valid_unicode)]
