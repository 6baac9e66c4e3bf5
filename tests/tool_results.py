"""Read a tool result as the plugin wrote it, from the marked copy a model backend was sent."""

from __future__ import annotations

import re

_MARKED = re.compile(r'\A<plugin_result plugin="[A-Za-z0-9_-]+">\n(.*)\n</plugin_result>\Z', re.S)


def unwrap(content: str) -> str:
    """The content inside `<plugin_result plugin="...">...</plugin_result>`; fails if unmarked."""
    match = _MARKED.match(content)
    assert match is not None, f"the tool result is not marked as a plugin's data: {content[:80]!r}"
    return match[1]
