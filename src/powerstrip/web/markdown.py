"""Answers as HTML: markdown rendered on the server (markdown-it-py), then sanitised (nh3).

The model's text can carry whatever a plugin put in front of it, so the rendered HTML is cleaned
with an allow-list: no script, no event handler, no style, no frame; links keep only http(s)
and mailto targets, open in a new tab and carry `rel="noopener noreferrer nofollow"`. Images are
dropped: a plugin-chosen image URL would tell its owner who reads the answer and when.

Every page of a conversation, and the transcript the page reloads after each turn, shows all its
answers again, so the safe HTML of recent answers is kept (by their text): an answer is parsed
and sanitised once, not on every view. The same text always makes the same HTML.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

__all__ = ["render_markdown"]

_PARSER = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)

_TAGS = {
    "a",
    "b",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
_ATTRIBUTES = {"a": {"href", "title"}, "td": {"align"}, "th": {"align"}, "ol": {"start"}}


# Answers whose HTML is kept; a long answer is at most a few tens of KB.
_CACHED_ANSWERS = 1024


@lru_cache(maxsize=_CACHED_ANSWERS)
def render_markdown(text: str) -> Markup:
    """Safe HTML for `text` as markdown (raw HTML in it is shown as text, never as markup)."""
    html = _PARSER.render(text)
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above
