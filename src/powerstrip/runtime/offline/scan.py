"""One pass over a message: its tokens, and the values in it that arguments can be made of.

Values are found once, without knowing the schema: numbers (with `%`, scale words and number
words), quoted strings, dates, and capitalised phrases (names of people and places). The
argument filler then decides which value goes to which parameter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from powerstrip.runtime.offline.currencies import CurrencyMention, find_currencies
from powerstrip.runtime.offline.dates import DateMention, find_dates
from powerstrip.runtime.offline.tokenize import REQUEST_VERBS, is_function_word, stem, word_set

__all__ = ["Number", "Phrase", "Scan", "Token", "bracketed_lists", "scan"]

# A list written in brackets with no bracket inside it: "[12, 15, 11]", "['a', 'b']".
_BRACKETED = re.compile(r"\[([^\[\]]{1,2000})\]")


def bracketed_lists(text: str) -> Iterator[tuple[re.Match[str], list[Any]]]:  # Any: JSON
    """Each list written in brackets in `text`, with its items: read as JSON where they are
    JSON (numbers), as text without quotes otherwise."""
    for match in _BRACKETED.finditer(text):
        items: list[Any] = []
        for part in match[1].split(","):
            item = part.strip().strip("'\"")
            try:
                items.append(json.loads(item))
            except ValueError:
                items.append(item)
        yield match, items


# An identifier stays one token: `judgeaa01`, `YOUR_API_KEY`, `user-42`; so does a hyphenated
# word ("to-do", "one-way"), a word with an apostrophe ("alice's", "I'm") and an abbreviation
# ("D.C.", "U.S", "Mr.").
_TOKEN = re.compile(
    r"(?:[A-Za-z]\.){2,}(?![A-Za-z])|[A-Z]\.[A-Z](?![A-Za-z.])|(?:Mr|Mrs|Ms|Dr|St|Mt|Jr|Sr)\."
    r"|[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+|_[A-Za-z0-9_]+"
    r"|[A-Za-z]+[0-9][A-Za-z0-9]*"
    r"|[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?"
    r"|[A-Za-z]+(?:-[A-Za-z]+)*(?:['’][A-Za-z]+)*|\S"
)
# Quoted strings, and code in backticks (`mapController`, `CALL totalSales(?)`): a value
# written exactly, as a quoted string is.
_QUOTED = re.compile(
    r"\"([^\"\n]{1,500})\"|“([^”\n]{1,500})”"
    # In single quotes, an apostrophe inside a word ("It's") does not close the quote.
    r"|(?<!\w)'((?:[^'\n]|(?<=\w)'(?=\w)){1,500})'(?!\w)|`([^`\n]{1,500})`"
)
# Values written exactly without quotes: an email address, a file path ("~/data/a.csv",
# "C:/logs"), a web address or a domain ("example.org"). Each is read whole, as if quoted.
_LITERAL = re.compile(
    r"(?<![\w@/.~-])(?:"
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|(?:[A-Za-z]:|~|\.{1,2})?(?:/[\w.-]+){2,}|(?:[A-Za-z]:|~|\.{1,2})/[\w.-]+"
    r"|https?://[^\s'\"]+"
    r"|[A-Za-z][\w-]*(?:\.[\w-]+)*\.(?:com|org|net|io|edu|gov|dev|ai|co)(?:/[^\s'\"]*)?"
    r")(?<![.,;:!?])"
)
_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
)
_NUMBER_WORDS = {word: value for value, word in enumerate(_UNITS.split(" "))} | {
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
}
_NUMBER_WORDS |= {"ninety": 90, "hundred": 100, "thousand": 1000, "dozen": 12, "twice": 2}
_SCALES = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9}
_ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd", "th"})
# "the second one", "this one": `one` is a pronoun there, not a number.
_ONE_AS_PRONOUN = frozenset({"the", "that", "this", "which", "each", "every", "no", "any", "last"})
# Capitalised words that start requests or sentences and name nothing.
_NOT_NAMES = word_set(
    """
    i a an the what whats which who how when where why can could would will should please find
    get show list give tell calculate compute retrieve fetch search look add create delete
    remove make help is are do does did let my me we our you your it this that these those and
    or but for in on at of to from by with about and also then now hi hello hey ok okay yes no
    """
)
# Words inside a name: "Statue of Liberty", "S&P". Not "and": "New York and Los Angeles" are
# two places, "Apple and Samsung" two companies.
_PHRASE_GLUE = frozenset({"of", "de", "la", "del", "von", "van", "the", "&"})
# A capitalised first word followed by one of these starts a sentence, not a name: "Estimate
# the population", "Book a room", "Check if any hotel".
_AFTER_VERB = word_set(
    """
    the a an me my us our your his her their its this that these those if whether all any
    some how what which who where when
    """
)
_CURRENCY = frozenset("$€£¥")
# A place's qualifier: "IL", "NY", "D.C.", "U.K.".
_QUALIFIER = re.compile(r"[A-Z]{2,3}|(?:[A-Z]\.){2,3}")


@dataclass(frozen=True, slots=True)
class Token:
    """A word, number or punctuation mark at `start:end` of the message."""

    text: str
    start: int
    end: int

    @property
    def lower(self) -> str:
        return self.text.lower()


@dataclass(frozen=True, slots=True)
class Number:
    """A number the user wrote; `index` is its token's position."""

    value: float
    index: int
    is_integer: bool
    percent: bool = False

    @property
    def as_int(self) -> int:
        return round(self.value)


@dataclass(frozen=True, slots=True)
class Phrase:
    """A run of text usable as a string value, tokens `first..last` inclusive."""

    text: str
    first: int
    last: int
    kind: str  # "quoted" | "code" (in backticks) | "name"


@dataclass(frozen=True, slots=True)
class Scan:
    """Everything the argument filler needs to know about one message."""

    text: str
    tokens: tuple[Token, ...]
    stems: tuple[str, ...]
    numbers: tuple[Number, ...]
    quoted: tuple[Phrase, ...]
    names: tuple[Phrase, ...]
    dates: tuple[DateMention, ...]
    currencies: tuple[CurrencyMention, ...] = ()

    def token_at(self, offset: int) -> int:
        """The index of the first token that ends after character `offset`."""
        for index, token in enumerate(self.tokens):
            if token.end > offset:
                return index
        return len(self.tokens)


def _plural(word: str) -> bool:
    return len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is"))


def _inside(token: Token, spans: list[tuple[int, int]]) -> bool:
    return any(start <= token.start < end for start, end in spans)


def _number_at(tokens: list[Token], i: int) -> Number | None:
    token = tokens[i]
    following = tokens[i + 1] if i + 1 < len(tokens) else None
    previous = tokens[i - 1] if i > 0 else None
    glued = following is not None and following.start == token.end
    if token.text[0] in "0123456789":
        if glued and following is not None and following.lower in _ORDINAL_SUFFIXES:
            # "the 19th century", "2nd, 3rd and 4th floors": the number itself. (A position
            # in a list shown, "the 2nd one", is read by the follow-up rules first.)
            return Number(float(token.text.replace(",", "")), i, True)
        value = float(token.text.replace(",", ""))
        is_integer = "." not in token.text
        if previous is not None and previous.text == "-" and previous.end == token.start:
            before = tokens[i - 2] if i > 1 else None
            # "-5" is negative; "3-5" is a range and "x-5" a subtraction, both left alone.
            if before is None or not (before.text[0].isalnum() and before.end == previous.start):
                value = -value
    else:
        word = token.lower
        if word not in _NUMBER_WORDS:
            return None
        if word == "one" and (
            (previous is not None and previous.lower in _ONE_AS_PRONOUN)
            or following is None
            or not following.text.isalpha()
            or following.lower in ("of", "one")
        ):
            return None
        value, is_integer = float(_NUMBER_WORDS[word]), True
    percent = following is not None and following.text == "%"
    scale = following.lower if following is not None else ""
    # "5 million" always; "5m" and "5k" only for money ("$5m"): "5000m" is a height.
    money = previous is not None and previous.text in _CURRENCY
    if scale in _SCALES and not percent and (len(scale) > 2 or money):
        value *= _SCALES[scale]
        is_integer = value == int(value)
    return Number(value, i, is_integer, percent)


def _keeps_article(words: list[Token], sentence_start: bool) -> bool:
    """Whether a name's leading "The" is its own: written with a capital mid-sentence ("at
    The Plaza", "by The Weeknd"), where a plain article would be lower-case."""
    return not sentence_start and len(words) > 1 and words[0].text == "The"


def _names(tokens: list[Token], taken: list[tuple[int, int]]) -> list[Phrase]:
    """Runs of capitalised words (with "of", "de" ... inside): "Statue of Liberty"."""
    phrases: list[Phrase] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not (token.text[0].isupper() and token.text[0].isalpha()) or _inside(token, taken):
            i += 1
            continue
        j = i
        while j + 1 < len(tokens):
            nxt = tokens[j + 1]
            if nxt.text[0].isupper() and nxt.text[0].isalpha():
                j += 1
            elif (
                nxt.lower in _PHRASE_GLUE
                and j + 2 < len(tokens)
                and tokens[j + 2].text[:1].isupper()
            ):
                j += 2
            else:
                break
        # "Chicago, IL", "Springfield, MO": a place and its qualifier are one value.
        if (
            j + 2 < len(tokens)
            and tokens[j + 1].text == ","
            and _QUALIFIER.fullmatch(tokens[j + 2].text)
            and not _inside(tokens[j + 2], taken)
        ):
            j += 2
        words = tokens[i : j + 1]
        starts = i == 0 or tokens[i - 1].text in (".", "?", "!", ":", "'", '"')
        if starts and token.lower in REQUEST_VERBS:
            words = words[1:]
        while words and (words[0].lower in _NOT_NAMES or is_function_word(words[0].text)):
            if _keeps_article(words, starts and words[0] is token):
                break
            words = words[1:]
        if (
            starts
            and len(words) == 1
            and words[0] is token
            and j + 1 < len(tokens)
            and tokens[j + 1].lower in _AFTER_VERB
        ):
            words = []
        if words:
            first = i + (j + 1 - i - len(words))
            text = " ".join(w.text for w in words).replace(" ,", ",")
            if text.endswith(("'s", "’s")):
                text = text[:-2]
            phrases.append(Phrase(text, first, j, "name"))
        i = j + 1
    return phrases


@lru_cache(maxsize=256)
def scan(text: str, today: date) -> Scan:
    """Tokens and candidate values of `text`; relative dates count from `today`.

    Cached: selection, argument filling and lookups read the same message, and a `Scan` is
    immutable.
    """
    tokens = [Token(m[0], m.start(), m.end()) for m in _TOKEN.finditer(text)]
    dates = find_dates(text, today)
    date_spans = [(d.start, d.end) for d in dates]
    quoted: list[Phrase] = []
    quote_spans: list[tuple[int, int]] = []
    for match in _QUOTED.finditer(text):
        inner = next(group for group in match.groups() if group is not None)
        first = next((k for k, t in enumerate(tokens) if t.start >= match.start()), 0)
        last = max(first, next((k for k, t in enumerate(tokens) if t.end >= match.end()), first))
        kind = "code" if match[0].startswith("`") else "quoted"
        quoted.append(Phrase(inner.strip(), first, last, kind))
        quote_spans.append((match.start(), match.end()))
    for match in _LITERAL.finditer(text):
        if any(start <= match.start() < end for start, end in quote_spans):
            continue
        first = next((k for k, t in enumerate(tokens) if t.start >= match.start()), 0)
        last = max(first, next((k for k, t in enumerate(tokens) if t.end >= match.end()), first))
        quoted.append(Phrase(match[0], first, last, "quoted"))
        quote_spans.append((match.start(), match.end()))
    quoted.sort(key=lambda phrase: phrase.first)
    numbers: list[Number] = []
    for i, token in enumerate(tokens):
        if _inside(token, date_spans) or _inside(token, quote_spans):
            continue
        if i and tokens[i - 1].text == "^":
            continue  # an exponent: "meters/second^2", "x^2"
        number = _number_at(tokens, i)
        if number is not None:
            numbers.append(number)
    written = sum(1 for n in numbers if tokens[n.index].text[0].isdigit())
    # "two numbers: 40 and 50", "two charges of 5C and 7C": a spelt number before a plural
    # noun counts the values written after it in figures; it is not one of them.
    numbers = [
        n
        for n in numbers
        if not (
            tokens[n.index].text.isalpha()
            and n.value >= 2
            and written >= n.value
            and n.index + 1 < len(tokens)
            and _plural(tokens[n.index + 1].lower)
        )
    ]
    names = _names(tokens, date_spans + quote_spans)
    stems = tuple(stem(t.lower.removesuffix("'s").removesuffix("’s")) for t in tokens)
    return Scan(
        text,
        tuple(tokens),
        stems,
        tuple(numbers),
        tuple(quoted),
        tuple(names),
        tuple(dates),
        find_currencies(tokens),
    )
