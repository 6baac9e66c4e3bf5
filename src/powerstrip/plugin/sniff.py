"""Say what a body that should have been JSON or YAML actually is, for error messages."""

from __future__ import annotations

__all__ = ["describe_body"]


def describe_body(text: str) -> str:
    """Classify a body: `an empty body`, `an HTML page`, `a JSON error body` or `text`."""
    stripped = text.lstrip("\ufeff").strip()
    if not stripped:
        return "an empty body"
    head = stripped[:200].lower()
    if head.startswith(("<!doctype html", "<html", "<head", "<body")) or "<html" in head:
        return "an HTML page"
    if head.startswith("<?xml") or head.startswith("<"):
        return "an XML or HTML document"
    return "text"
