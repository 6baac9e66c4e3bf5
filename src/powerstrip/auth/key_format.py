"""What a pasted key or client secret may contain, checked before it is sealed.

A key is sent in an HTTP header (`Authorization: Bearer KEY`) or form field exactly as pasted,
so it must be something HTTP can carry unchanged: printable ASCII without spaces. A trailing
newline from a copy-paste, a non-ASCII letter or a lone surrogate (which JSON can spell) would
otherwise be accepted, fail on every call, and be quoted back by the HTTP library's error.
The error names the field and the offending character, never the key.
"""

from __future__ import annotations

import unicodedata

from powerstrip.errors import InvalidInputError

__all__ = ["MAX_KEY_LENGTH", "check_key"]

MAX_KEY_LENGTH = 4096
_FIX = (
    "paste the key exactly as the plugin's service issued it: printable ASCII without spaces, "
    "line breaks or other control characters"
)


def check_key(field: str, value: str) -> None:
    """Raise `InvalidInputError` naming `field` unless `value` is a usable key."""
    if not value:
        raise InvalidInputError(f"{field} is empty", where=field, fix=_FIX)
    if len(value) > MAX_KEY_LENGTH:
        raise InvalidInputError(
            f"{field} is {len(value)} characters long; at most {MAX_KEY_LENGTH} are accepted",
            where=field,
            fix=_FIX,
        )
    for position, char in enumerate(value, start=1):
        if "!" <= char <= "~":
            continue
        raise InvalidInputError(
            f"{field} has {_describe(char)} at character {position} of {len(value)}",
            where=field,
            fix=_FIX,
        )


def _describe(char: str) -> str:
    code = f"U+{ord(char):04X}"
    if char == " ":
        return "a space"
    if 0xD800 <= ord(char) <= 0xDFFF:
        return f"a lone surrogate ({code})"
    if ord(char) < 0x80 or unicodedata.category(char).startswith("C"):
        return f"a control character ({code})"
    return f"a non-ASCII character ({code})"
