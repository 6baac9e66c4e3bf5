"""Words for matching: split identifiers, lower-case, drop filler, stem, fold synonyms.

The same function turns a user's message and a tool's name, description and parameters into
terms, so "show alice's todos" and `list_todos` meet on `list` and `todo`. The stemmer is a few
suffix rules, not Porter: it only has to map both sides of a match to the same term.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

__all__ = [
    "FUNCTION_WORDS",
    "GENERIC_TERMS",
    "REQUEST_VERBS",
    "STOPWORDS",
    "fold_phrases",
    "identifier_words",
    "is_function_word",
    "stem",
    "terms",
    "word_set",
    "words",
]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
# A hyphenated word ("to-do", "one-way") is one word as well as its parts.
_WORD = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*|\d+(?:\.\d+)?")


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

# English's closed word classes: pronouns, determiners, quantifiers, prepositions,
# conjunctions, auxiliaries and modals, wh-words, their contractions, and interjections. They
# are a finite list (new ones do not appear), which is all the part-of-speech knowledge the
# argument filler needs: a value (a name, an id, a place) is never one of them. A tagger
# (spaCy's small English model) would give the same answer for these words at ~5 ms a message
# and a 13 MB dependency; open-class words it could tag are not refused here either way.
# Verbs a request opens with: capitalised there, they start the sentence, not a name ("Mix
# yellow and blue", "Convert 3pm", "Analyze the review").
REQUEST_VERBS = word_set(
    """
    mix convert analyze analyse determine estimate predict generate plot draw sort book order
    send check identify provide compare translate summarize summarise play schedule cancel
    update set locate recommend suggest evaluate measure count merge split solve simulate
    perform run buy sell reserve transfer post share upload download open close start stop
    rank rate review track monitor plan design build combine adjust change apply integrate
    differentiate multiply divide add subtract round scan test verify validate explain
    describe research discover display print record register report return save select
    """
)

FUNCTION_WORDS = STOPWORDS | word_set(
    """
    myself yourself himself herself itself ourselves themselves anything something nothing
    everything anyone someone everyone nobody anybody somebody everybody none another other
    others such same own much many more most less least few several whatever whoever whichever
    i'm i've i'd i'll you're you've you'd you'll he's he'd she's she'd it's it'd we're we've
    we'd we'll they're they've they'd they'll that's there's here's what's who's where's when's
    why's how's let's isn't aren't wasn't weren't don't doesn't didn't can't cannot couldn't
    won't wouldn't shouldn't haven't hasn't hadn't mustn't im ive whats thats theres lets dont
    doesnt didnt cant wont isnt yeah yep nope sure oh ah um uh please pls thx cheers bye
    now today tonight tomorrow yesterday again still already ever never always sometimes often
    soon later maybe perhaps really actually anyway anyways else just only even back down
    upon across after before since until till while whether though although because unless
    among between through during toward towards around near behind beside besides beyond
    """
)


def is_function_word(word: str) -> bool:
    """Whether `word` belongs to a closed class (so can never be a value): "what", "I'm"."""
    lowered = word.lower().replace("’", "'")
    return lowered in FUNCTION_WORDS or lowered.replace("'", "") in FUNCTION_WORDS


# Everyday phrasings of the request verbs, folded before words are split: "remind me to X" and
# "put X on my list" add, "take X off", "cross X off", "I'm done with X" delete, "to do" is the
# noun "todo".
_PHRASES = (
    (re.compile(r"\bto[\s-]do(?:s)?\b", re.IGNORECASE), " todo "),
    (
        re.compile(
            r"\b(?:remind\s+(?:me|us|\w+)\s+to|don'?t\s+let\s+me\s+forget(?:\s+to)?|"
            r"remember\s+to|jot\s+down|note\s+down|put|stick)\b",
            re.IGNORECASE,
        ),
        " add ",
    ),
    (re.compile(r"(?<![A-Za-z])new(?=\s+[a-z])"), " add "),
    # The first person is the user: "my list" is what a description calls "the user's list".
    (re.compile(r"\b(?:my|mine)\b", re.IGNORECASE), " user "),
    (
        re.compile(
            r"\b(?:take|cross|tick|strike|scratch|knock)\b(?=(?:\s+[\w'’]+){0,4}\s+off\b)|"
            r"\b(?:done\s+with|finished|completed|forget\s+about|get\s+rid\s+of)\b",
            re.IGNORECASE,
        ),
        " delete ",
    ),
)


def fold_phrases(text: str) -> str:
    """`text` with everyday phrasings of request verbs replaced by the verbs themselves."""
    for pattern, replacement in _PHRASES:
        text = pattern.sub(replacement, text)
    return text


# Request verbs that ask for "some operation" rather than a particular one: folded together,
# and treated as weak evidence when deciding whether an operation fits at all.
_SYNONYMS = {
    # Reading verbs are one request: "find the players" asks `list_players`, "show the
    # forecast" `get_forecast`.
    "list": "get",
    "show": "get",
    "display": "get",
    "view": "get",
    "see": "get",
    "enumerate": "get",
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
    "remind": "add",
    "put": "add",
    "register": "add",
    "task": "todo",
    "chore": "todo",
    "errand": "todo",
    "reminder": "todo",
    "compute": "calculate",
    "determine": "calculate",
    "estimate": "calculate",
    "calc": "calculate",
    "modify": "update",
    "change": "update",
    "edit": "update",
}


def words(text: str) -> list[str]:
    """The words and numbers of `text`, split at camelCase and punctuation, lower-cased.

    A hyphenated word gives itself joined ("todo" for "to-do") and then its parts.
    """
    out: list[str] = []
    for word in _WORD.findall(_CAMEL.sub(" ", text)):
        lowered = word.lower()
        if "-" in lowered:
            out.append(lowered.replace("-", ""))
            out.extend(lowered.split("-"))
        else:
            out.append(lowered)
    return out


def identifier_words(name: str) -> list[str]:
    """`todo_none__addTodo` → `["todo", "none", "add", "todo"]`; dots and dashes split too."""
    return words(name.replace("_", " ").replace(".", " ").replace("-", " "))


@lru_cache(maxsize=16384)
def stem(word: str) -> str:
    """Strip common English suffixes so that inflections of a word meet."""
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "i"
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
    # "city" and "cities", "movie" and "movies" meet on "citi" and "movi".
    if word.endswith("y") and len(word) > 3 and word[-2] not in "aeiou":
        word = word[:-1] + "i"
    return word


def another_form(term: str, other: str) -> bool:
    """Whether two stems are forms of one word the suffix stemmer leaves apart:
    "accelerating" and `acceleration`, "invented" and `invention` (a common start of six
    letters or more, two thirds of the shorter word)."""
    shorter = min(len(term), len(other))
    if shorter < 6 or term[:6] != other[:6]:
        return False
    common = 6
    while common < shorter and term[common] == other[common]:
        common += 1
    return 3 * common >= 2 * shorter


GENERIC_TERMS = frozenset(
    stem(word)
    for word in ("get", "list", "calculate", "make", "info", "information", "detail", "data")
)


def terms(text: str | Iterable[str]) -> list[str]:
    """Matching terms: words without filler or numbers, synonyms folded, stemmed."""
    tokens = words(fold_phrases(text)) if isinstance(text, str) else list(text)
    out: list[str] = []
    for token in tokens:
        if token in FUNCTION_WORDS or not token.isalpha():
            continue
        folded = _SYNONYMS.get(token) or _SYNONYMS.get(stem(token), token)
        out.append(stem(folded))
    return out
