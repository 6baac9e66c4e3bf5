"""Questions answered over a plugin's records: "who stole the most bases", "top 3 by wins".

The plugin returns records; the message says how to look at them. A superlative ("most",
"highest", "best", "fewest", "lowest") or "top N by X" names a field: the records are sorted
by it and the first N (1 for a superlative) are the answer. The field is found by its words
among the records' (flattened) keys, so this works on any plugin's records, not only ours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from powerstrip.runtime.offline.tokenize import identifier_words, stem, terms, word_set

__all__ = ["ANSWER_WORDS", "Ranking", "rank_records", "ranking_of"]

_MOST = r"most|highest|best|biggest|largest|greatest|top|leading|max(?:imum)?"
_LEAST = r"fewest|least|lowest|worst|smallest|min(?:imum)?"
_TOP = re.compile(
    r"\btop\s+(\d{1,3})\b(?:\s+\w+)?(?:\s+(?:by|in|for)\s+(?P<field>[\w\s-]+))?", re.I
)
_SUPERLATIVE = re.compile(rf"\b(?P<dir>{_MOST}|{_LEAST})\s+(?P<field>[\w\s-]+)", re.I)
# Words that say how to answer over the records, not which records: "top 5 ... by", "the
# most", "how many", "compare". Selection reads them as read, not as evidence against.
ANSWER_WORDS = word_set(
    """
    most highest best biggest largest greatest top leading max maximum fewest least lowest
    worst smallest min minimum by many much compare count number
    """
)
# Words for a team's or person's results that name a numeric field by another word.
_FIELD_SYNONYMS = {"record": "wins", "won": "wins", "victories": "wins", "stole": "stolen"}
_FIELD_SYNONYMS |= {"homers": "home runs", "hr": "home runs", "rbi": "runs batted in"}


@dataclass(frozen=True, slots=True)
class Ranking:
    """Sort by the field named by `words`, highest first unless `ascending`; keep `count`."""

    words: tuple[str, ...]
    ascending: bool
    count: int


def ranking_of(text: str) -> Ranking | None:
    """The ranking a message asks for, if any."""
    top = _TOP.search(text)
    if top is not None:
        words = _field_words(top["field"] or text[top.end() :])
        return Ranking(words, False, max(1, int(top[1])))
    match = _SUPERLATIVE.search(text)
    if match is None:
        return None
    ascending = re.fullmatch(_LEAST, match["dir"], re.I) is not None
    words = _field_words(match["field"])
    # "who won the most games": the verb names the field better than its object.
    before = text[: match.start()].lower().split()
    if before and before[-1] in ("won", "the") and "won" in before:
        words = ("win", *words)
    return Ranking(words, ascending, 1)


def _field_words(phrase: str) -> tuple[str, ...]:
    out: list[str] = []
    for word in phrase.lower().split()[:4]:
        word = _FIELD_SYNONYMS.get(word, word)
        out.extend(terms(word))
    return tuple(out)


def _flat(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:  # Any: JSON
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{name}."))
        else:
            out[name] = value
    return out


def _field_score(key: str, words: Sequence[str]) -> float:
    parts = [stem(w) for w in identifier_words(key.rpartition(".")[2])]
    if not parts or not words:
        return 0.0
    hits = sum(1 for w in words if any(p.startswith(w[:4]) or w.startswith(p[:4]) for p in parts))
    return hits / len(words) + hits / len(parts) / 2


def rank_records(
    records: Sequence[Mapping[str, Any]], ranking: Ranking
) -> tuple[str, list[Mapping[str, Any]]] | None:
    """The field sorted by, and the records sorted by it; None when no numeric field fits."""
    flats = [_flat(r) for r in records]
    numeric = {
        key
        for flat in flats
        for key, value in flat.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    scored = sorted(((_field_score(key, ranking.words), key) for key in numeric), reverse=True)
    if not scored or scored[0][0] < 0.5:
        return None
    field = scored[0][1]
    present = [(flat.get(field), record) for flat, record in zip(flats, records, strict=True)]
    usable = [(value, record) for value, record in present if isinstance(value, int | float)]
    usable.sort(key=lambda pair: pair[0], reverse=not ranking.ascending)
    return field, [record for _, record in usable]
