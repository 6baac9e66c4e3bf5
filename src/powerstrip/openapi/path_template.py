"""Which spec path templates are safe to join under an API base URL.

The executor appends an operation's path to the plugin's API base. A template that does not start
with `/` chooses the host instead (`.{h}/x` makes `api.example.com.evil.example/x`; `@evil/x`
turns the base host into userinfo), and dot segments or backslashes climb out of the base path
once a server normalises them. Such templates are refused: by the converter (PS327, the operation
is not offered) and again by the request builder, so no tool can send a user's key elsewhere. A
fixed query (`/services?funcs=Get`) stays allowed: real plugins use it and it cannot move the
request.
"""

from __future__ import annotations

__all__ = ["path_template_problem"]


def path_template_problem(template: str) -> str | None:
    """Why `template` cannot be joined safely under an API base, or None when it can."""
    if not template.startswith("/"):
        return "does not start with '/', so it would be joined onto the API host's name"
    path = template.partition("?")[0]
    if "\\" in template:
        return "contains a backslash, which servers may read as '/'"
    if "#" in template:
        return "contains '#', which would cut the request path short"
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in template):
        return "contains a space or a control character"
    if any(segment in (".", "..") for segment in path.split("/")):
        return "has a '.' or '..' segment, which would leave the API base path"
    return None
