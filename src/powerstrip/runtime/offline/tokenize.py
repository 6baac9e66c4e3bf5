"""Words for matching: split identifiers, lower-case, drop filler, stem, fold synonyms.

The same function turns a user's message and a tool's name, description and parameters into
terms, so "show alice's todos" and `list_todos` meet on `list` and `todo`. The stemmer is a few
suffix rules, not Porter: it only has to map both sides of a match to the same term.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["GENERIC_TERMS", "STOPWORDS", "identifier_words", "stem", "terms", "word_set", "words"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD = re.compile(r"[A-Za-z]+|\d+(?:\.\d+)?")


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of `text`: word lists stay readable in the source."""
    return frozenset(text.split())


# Function words: they say nothing about which operation is meant.
STOPWORDS = word_set(
    """
    a an the and or but if of to in on at by for with from as into onto about over under than
    then so too very is are was were be been being am do does did doing have has had having i me
    my mine we us our you your yours he him his she her it its they them their this that these
    those there here what which who whom whose when where why how can could would should will
    shall may might must please kindly want wanna need let lets like also just some any all each
    every both either neither not no yes ok okay hi hello hey thanks thank up out off using use
    via per within without given based provide provided tell know e g eg ie etc one ones s t
    """
)

# Request verbs that ask for "some operation" rather than a particular one: folded together,
# and treated as weak evidence when deciding whether an operation fits at all.
_SYNONYMS = {
    "show": "list",
    "display": "list",
    "view": "list",
    "see": "list",
    "enumerate": "list",
    "fetch": "get",
    "retrieve": "get",
    "obtain": "get",
    "lookup": "get",
    "look": "get",
    "find": "get",
    "search": "get",
    "give": "get",
    "remove": "delete",
    "erase": "delete",
    "drop": "delete",
    "cancel": "delete",
    "del": "delete",
    "create": "add",
    "append": "add",
    "insert": "add",
    "remember": "add",
    "compute": "calculate",
    "determine": "calculate",
    "estimate": "calculate",
    "calc": "calculate",
    "modify": "update",
    "change": "update",
    "edit": "update",
}


def words(text: str) -> list[str]:
    """The words and numbers of `text`, split at camelCase and punctuation, lower-cased."""
    return [w.lower() for w in _WORD.findall(_CAMEL.sub(" ", text))]


def identifier_words(name: str) -> list[str]:
    """`todo_none__addTodo` → `["todo", "none", "add", "todo"]`; dots and dashes split too."""
    return words(name.replace("_", " ").replace(".", " ").replace("-", " "))


def stem(word: str) -> str:
    """Strip common English suffixes so that inflections of a word meet."""
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif word.endswith("ed") and len(word) > 4:
        word = word[:-2]
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


GENERIC_TERMS = frozenset(
    stem(word)
    for word in ("get", "list", "calculate", "make", "info", "information", "detail", "data")
)


def terms(text: str | Iterable[str]) -> list[str]:
    """Matching terms: words without filler or numbers, synonyms folded, stemmed."""
    tokens = words(text) if isinstance(text, str) else list(text)
    out: list[str] = []
    for token in tokens:
        if token in STOPWORDS or not token.isalpha():
            continue
        out.append(stem(_SYNONYMS.get(token, token)))
    return out
