"""Cut a document's text into chunks on paragraph and sentence boundaries, within a token budget.

A chunk is a span of the original text (`text[char_start:char_end]`), so a search hit can point
at where it came from. Chunks close at a paragraph break when the next paragraph would not fit,
else at a sentence break; only a sentence longer than the whole budget is cut between words.
Each chunk after the first repeats the last sentences of the one before, up to `overlap` tokens,
so a passage cut in two is still found whole in one of them.

Tokens are counted by `count_tokens`; the default counts words and punctuation marks, close to
(a little under) a WordPiece tokenizer's count, and needs no model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from powerstrip.errors import ConfigError

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_OVERLAP",
    "Chunk",
    "chunk_text",
    "count_tokens",
    "sentences",
]

DEFAULT_MAX_TOKENS = 200
DEFAULT_OVERLAP = 40

_TOKEN = re.compile(r"\w+|[^\w\s]")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# A sentence ends at . ! ? (and closing quotes or brackets) followed by space, or at a line end.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n")


@dataclass(frozen=True)
class Chunk:
    """One chunk: its place in the document, its text and its token count."""

    position: int
    text: str
    char_start: int
    char_end: int
    token_count: int


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    tokens: int
    paragraph: int


def count_tokens(text: str) -> int:
    """Words and punctuation marks in `text`: the default token count."""
    return len(_TOKEN.findall(text))


def sentences(text: str) -> list[str]:
    """The sentences of `text` (split as chunks are: at . ! ? and a space, or a line end)."""
    return [text[start:end] for start, end in _spans(text, _SENTENCE_END, 0, len(text))]


def chunk_text(
    text: str,
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    overlap: int = DEFAULT_OVERLAP,
    count: Callable[[str], int] = count_tokens,
) -> list[Chunk]:
    """The chunks of `text`, in order; none for text without a token."""
    if max_tokens < 1:
        raise ConfigError(
            f"the chunk budget must be at least 1 token, not {max_tokens}",
            where="POWERSTRIP_RETRIEVAL_CHUNK_TOKENS",
            fix="use a positive number (200 is the default)",
        )
    if not 0 <= overlap < max_tokens:
        raise ConfigError(
            f"the chunk overlap must be from 0 to under the budget ({max_tokens}), not {overlap}",
            where="POWERSTRIP_RETRIEVAL_CHUNK_OVERLAP",
            fix="use a smaller overlap (40 is the default)",
        )
    units = _units(text, max_tokens, count)
    spans = _pack(units, max_tokens, overlap)
    return [
        Chunk(
            position=position,
            text=text[group[0].start : group[-1].end],
            char_start=group[0].start,
            char_end=group[-1].end,
            token_count=sum(unit.tokens for unit in group),
        )
        for position, group in enumerate(spans)
    ]


def _units(text: str, max_tokens: int, count: Callable[[str], int]) -> list[_Unit]:
    """Sentences (or, for an over-long one, runs of words), tagged with their paragraph."""
    units: list[_Unit] = []
    for paragraph, (p_start, p_end) in enumerate(_spans(text, _PARAGRAPH_BREAK, 0, len(text))):
        for s_start, s_end in _spans(text, _SENTENCE_END, p_start, p_end):
            tokens = count(text[s_start:s_end])
            if tokens == 0:
                continue
            if tokens <= max_tokens:
                units.append(_Unit(s_start, s_end, tokens, paragraph))
            else:
                units.extend(_word_runs(text, s_start, s_end, max_tokens, count, paragraph))
    return units


def _spans(text: str, separator: re.Pattern[str], start: int, end: int) -> list[tuple[int, int]]:
    """The stripped, non-empty pieces of `text[start:end]` between matches of `separator`."""
    spans: list[tuple[int, int]] = []
    position = start
    for match in separator.finditer(text, start, end):
        spans.append((position, match.start()))
        position = match.end()
    spans.append((position, end))
    stripped = []
    for piece_start, piece_end in spans:
        piece = text[piece_start:piece_end]
        left = len(piece) - len(piece.lstrip())
        right = len(piece.rstrip())
        if right > left:
            stripped.append((piece_start + left, piece_start + right))
    return stripped


def _word_runs(
    text: str, start: int, end: int, max_tokens: int, count: Callable[[str], int], paragraph: int
) -> list[_Unit]:
    runs: list[_Unit] = []
    words = [match.span() for match in re.finditer(r"\S+", text[start:end])]
    run_start: int | None = None
    run_end = 0
    run_tokens = 0
    for word_start, word_end in words:
        tokens = count(text[start + word_start : start + word_end])
        if run_start is not None and run_tokens + tokens > max_tokens:
            runs.append(_Unit(start + run_start, start + run_end, run_tokens, paragraph))
            run_start, run_tokens = None, 0
        if run_start is None:
            run_start = word_start
        # A single "word" above the budget (a long URL, a base64 blob) stays whole: cutting
        # inside it would index fragments nobody searches for.
        run_end = word_end
        run_tokens += tokens
    if run_start is not None:
        runs.append(_Unit(start + run_start, start + run_end, run_tokens, paragraph))
    return runs


def _pack(units: list[_Unit], max_tokens: int, overlap: int) -> list[list[_Unit]]:
    chunks: list[list[_Unit]] = []
    current: list[_Unit] = []
    tokens = 0
    fresh = 0  # units in `current` not repeated from the chunk before
    paragraph_tokens = _paragraph_tokens(units)
    for unit in units:
        starts_paragraph = not current or current[-1].paragraph != unit.paragraph
        too_full = tokens + unit.tokens > max_tokens
        # Prefer to end at a paragraph break when the next paragraph would not fit whole and
        # this chunk is already half full: a chunk about one thing retrieves better.
        break_here = (
            starts_paragraph
            and tokens + paragraph_tokens[unit.paragraph] > max_tokens
            and tokens * 2 >= max_tokens
        )
        if current and fresh and (too_full or break_here):
            chunks.append(current)
            current = _tail(current, overlap, max_tokens - unit.tokens)
            tokens = sum(item.tokens for item in current)
            fresh = 0
        current.append(unit)
        tokens += unit.tokens
        fresh += 1
    if current and fresh:
        chunks.append(current)
    return chunks


def _tail(units: list[_Unit], overlap: int, room: int) -> list[_Unit]:
    """The last units of a closed chunk to repeat, within `overlap` and the room left."""
    budget = min(overlap, room)
    tail: list[_Unit] = []
    total = 0
    for unit in reversed(units[1:]):  # never the whole chunk again: each chunk must move on
        if total + unit.tokens > budget:
            break
        tail.insert(0, unit)
        total += unit.tokens
    return tail


def _paragraph_tokens(units: list[_Unit]) -> dict[int, int]:
    totals: dict[int, int] = {}
    for unit in units:
        totals[unit.paragraph] = totals.get(unit.paragraph, 0) + unit.tokens
    return totals
