"""Names become ids: find the operation that looks a thing up, then read its id from the records.

Plugins say how their ids are found ("Player ids can be determined using the getPlayers
function", "search players by name first"). Without reading prose, the same knowledge is in
the operations themselves: an id parameter `player_ids` names its thing (`player`), and an
operation of the same plugin whose name is about that thing (`list_players`, `getPlayers`)
finds it, by a search parameter when it has one, else by listing and matching the name in the
records. The router calls that operation first, then the one asked for with the id it found;
both calls go through the executor, so approvals apply to each and the user sees both.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from powerstrip.runtime.model import ToolSpec
from powerstrip.runtime.offline.params import Param, params_of
from powerstrip.runtime.offline.scan import Scan
from powerstrip.runtime.offline.tokenize import identifier_words, is_function_word, stem, terms

__all__ = [
    "FIND_PREFIX",
    "SEARCH_WORDS",
    "Match",
    "finder_arguments",
    "finders",
    "match_records",
    "search_term",
    "thing_of",
]

# Call ids of lookups start with this, then the parameter and the finder's position: the next
# turn reads the plan back from the history.
FIND_PREFIX = "offline-find-"
_ID_WORDS = frozenset({"id", "ids", "code", "codes", "key", "keys", "uuid"})
SEARCH_WORDS = frozenset({"search", "query", "q", "name", "keyword", "keywords", "term"})
_READ_WORDS = frozenset({"list", "get", "find", "search", "lookup", "query", "fetch", "show"})
_NAME_KEYS = ("name", "full_name", "fullname", "title", "display_name", "label")


def thing_of(param: Param) -> str | None:
    """The thing an id parameter identifies: `player_ids` → `player`; None if it is no id."""
    words = identifier_words(param.name)
    if not words or not set(words) & _ID_WORDS:
        return None
    rest = [w for w in words if w not in _ID_WORDS]
    return stem(rest[-1]) if rest else None


def _namespace(name: str) -> str:
    return name.rpartition("__")[0]


def finders(tool: ToolSpec, param: Param, tools: Sequence[ToolSpec]) -> list[ToolSpec]:
    """Operations of `tool`'s plugin that find the thing `param` identifies, searchers first."""
    thing = thing_of(param)
    if thing is None:
        return []
    found: list[tuple[int, ToolSpec]] = []
    for other in tools:
        if _namespace(other.name) != _namespace(tool.name):
            continue
        words = [stem(w) for w in identifier_words(other.name.rpartition("__")[2])]
        if thing not in words or not set(words) & {stem(w) for w in _READ_WORDS}:
            continue
        searcher = any(p.name.lower() in SEARCH_WORDS for p in params_of(other.parameters))
        found.append((0 if searcher else 1, other))
    found.sort(key=lambda pair: pair[0])
    return [tool for _, tool in found]


def finder_arguments(
    finder: ToolSpec, name: str, known: Mapping[str, Any]
) -> dict[str, Any]:  # Any: JSON
    """Arguments for the lookup: the name as the search, the season-like filters already known."""
    arguments: dict[str, Any] = {}
    for param in params_of(finder.parameters):
        lowered = param.name.lower()
        if lowered in SEARCH_WORDS and param.type == "string":
            arguments[param.name] = name
        elif param.name in known and not thing_of(param):
            arguments[param.name] = known[param.name]
        elif param.is_a("count") and param.maximum is not None:
            arguments[param.name] = int(param.maximum)
    return arguments


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


@dataclass(frozen=True, slots=True)
class Match:
    id: Any  # Any: JSON
    label: str
    exact: bool


def _id_of(record: Mapping[str, Any], thing: str) -> Any:  # Any: JSON
    for key in ("id", f"{thing}_id", f"{thing}Id", f"{thing}ID"):
        if key in record and not isinstance(record[key], Mapping | list):
            return record[key]
    for key, value in record.items():
        if str(key).lower().endswith("id") and isinstance(value, str | int):
            return value
    return None


def _label(record: Mapping[str, Any]) -> str:
    for key in _NAME_KEYS:
        value = record.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def match_records(records: Sequence[Any], name: str, param: Param) -> list[Match]:
    """The distinct ids of the records whose text names `name` (every word of it)."""
    thing = thing_of(param) or ""
    wanted = re.findall(r"\w+", _fold(name))
    out: dict[Any, Match] = {}
    for record in records:
        if not isinstance(record, Mapping):
            continue
        texts = [_fold(v) for v in record.values() if isinstance(v, str)]
        words = set(re.findall(r"\w+", " ".join(texts)))
        if not wanted or not all(w in words for w in wanted):
            continue
        record_id = _id_of(record, thing)
        if record_id is None or record_id in out:
            continue
        label = _label(record)
        out[record_id] = Match(record_id, label, _fold(label) == " ".join(wanted))
    matches = list(out.values())
    exact = [m for m in matches if m.exact]
    return exact if len(exact) == 1 else matches


# Verbs after which the words are what to look for: "find aaron judge", "look up mookie".
_SEARCH_VERBS = frozenset({"find", "search", "lookup", "locate"})
_SEARCH_AFTER = frozenset({"for", "up"})


def search_term(
    param: Param, tool: ToolSpec, scanned: Scan, arguments: Mapping[str, Any]
) -> tuple[str, int, int] | None:
    """What a search parameter looks for: a name no other argument took ("the player Shohei
    Ohtani"), or the words right after a search verb ("find aaron judge") that are not the
    operation's own words. A name after "the" is a team or a thing, not a person's name.
    Returns the term and its first and last token."""
    used = " ".join(str(v) for v in arguments.values()).casefold()
    person = param.about_person
    for phrase in scanned.names:
        before = scanned.tokens[phrase.first - 1].lower if phrase.first else ""
        if phrase.text.casefold() in used or (person and before == "the"):
            continue
        return phrase.text, phrase.first, phrase.last
    own = set(terms(identifier_words(tool.name.rpartition("__")[2]))) | set(terms(tool.description))
    tokens = scanned.tokens
    for index, token in enumerate(tokens):
        if token.lower not in _SEARCH_VERBS:
            continue
        start = index + 1
        if start < len(tokens) and tokens[start].lower in _SEARCH_AFTER:
            start += 1
        run: list[str] = []
        for follower in tokens[start:]:
            text = follower.text
            if not text.isalpha() or is_function_word(text) or follower.lower in used:
                break
            if set(terms(text)) & own:
                break
            run.append(text)
        end = start + len(run)
        # The words run to the end of the sentence: "find aaron judge", not "find best hitters
        # in 2024".
        if run and (end == len(tokens) or not tokens[end].text[0].isalnum()):
            return " ".join(run), start, end - 1
    return None
