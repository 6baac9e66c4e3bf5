"""Fill a tool's arguments from the user's words, guided by its JSON Schema.

Every parameter gets offers: a value from the message and a score for how sure the fit is (an
enum member the user named, a number right after the parameter's name, a capitalised name after
"in" for a place). Offers are taken best first, each message value going to one parameter only.
Required parameters then take what is left in order (the third number for the third number
parameter), then their schema default; what is still missing is reported, so the router can
ask for exactly that. Optional parameters are only filled on real evidence: a wrong optional
argument is worse than none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from powerstrip.runtime.offline.dates import DateMention
from powerstrip.runtime.offline.params import Param, params_of
from powerstrip.runtime.offline.scan import Number, Phrase, Scan, bracketed_lists
from powerstrip.runtime.offline.semantic import embed
from powerstrip.runtime.offline.tokenize import (
    REQUEST_VERBS,
    STOPWORDS,
    another_form,
    identifier_words,
    is_function_word,
    stem,
    terms,
    word_set,
)

__all__ = ["Filled", "answer_value", "coerce", "fill_arguments", "is_identifier", "shape"]

# Offers below this score need a required parameter to be taken; optional ones need evidence.
_REQUIRED_MIN = 1.4
_OPTIONAL_MIN = 2.5
_NEGATIONS = frozenset({"no", "not", "without", "exclude", "excluding", "don't", "dont", "never"})
_NEGATIONS |= {"skip", "disable", "false", "off", "nor"}
_PLACE_CUES = frozenset({"in", "at", "near", "from", "to", "of", "for", "around", "visit"})
_WHERE = frozenset({"in", "near", "around", "at"})
_PERSON_CUES = frozenset({"named", "called", "by", "for", "user", "player", "of", "owner", "to"})
# A lower-case word after these is a person: "for bob", "remind bob", "does bob have".
_PERSON_BEFORE = frozenset({"for", "by", "remind", "tell", "ask", "does", "did", "do", "has"})
# A lower-case word that opens a sentence before one of these is its subject, a person:
# "bob needs to renew the passport", "alice wants to call mom".
_PERSON_AFTER = frozenset({"needs", "wants", "has", "must", "should", "gotta", "forgot"})
_COUNT_CUES = frozenset({"top", "first", "last", "best", "limit", "max", "maximum", "most"})
_COUNT_CUES |= {"show", "list", "give", "get", "fetch", "return"}
_LINKS = frozenset({"is", "=", ":", "of", "to", "as", "at", "named", "called", "be", "equals"})
_LIST_JOINERS = frozenset({",", "and", "&", "or", ";"})
_LEADING_FILLER = word_set(
    """
    please can could you would will i want need to a an the new my our add create put remember
    note make set up remind me todo item task entry also and then plus find search look
    for show get
    """
)
_TRAILING_FILLER = word_set("to on in onto for my the list todo todos please . ! ?")
_DESTINATION = re.compile(
    r"\s+(?:on|to|onto|in|into|for)\s+(?:my|our|the|your|his|her|their|[\w-]+['’]s)"
    r"(?:\s+[\w-]+)?(?:\s+(?:list|todos?|todo\s+list))?\s*$",
    re.IGNORECASE,
)
_ENDS_WITH_LIST = re.compile(r"\b(?:list|todos?)\W*$", re.IGNORECASE)
_ANSWER_LEAD = re.compile(
    r"^\s*(?:(?:it'?s|it is|use|try|call it|my \w+ is|the \w+ is|\w+ is|that'?s)\s+)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Filled:
    """The arguments found, and the required parameters that could not be filled."""

    # Any: argument values are JSON.
    arguments: dict[str, Any]
    missing: tuple[Param, ...]
    # The message's tokens that values were read from on evidence (an enum member named, a
    # number after its parameter's name, a name after "for"), not as what was left over.
    evidence: frozenset[int] = frozenset()
    # Every token a value was read from, on evidence or as what was left (free text too).
    read: frozenset[int] = frozenset()
    # Parameters filled with the word closest in meaning, a guess rather than a reading.
    guessed: frozenset[str] = frozenset()
    # Parameters whose value was read on evidence (not a default, not what was left over).
    offered: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class _Offer:
    param: str
    value: Any  # Any: JSON
    score: float
    claims: frozenset[int]
    order: int


def _mentions(
    param: Param, scan: Scan, shared: frozenset[str] = frozenset()
) -> tuple[list[int], list[int]]:
    """The tokens that name the parameter (`strong`) and that its description uses (`weak`).
    A word of the name that another parameter's name also has (`value` in `initial_value`
    and `final_value`) tells them apart no better than the description does: weak."""
    # (A name that is all shared words, `years` beside `compounds_per_year`, keeps them.)
    own = (param.name_terms - shared) or param.name_terms
    strong: list[int] = []
    weak: list[int] = []
    for i, s in enumerate(scan.stems):
        # A word of the parameter's name counts in another form: "accelerating at 2" for
        # `acceleration`, "investing 500" for `investment`.
        if s in own or any(another_form(s, term) or _compound_of(s, term) for term in own):
            strong.append(i)
        elif s in param.description_terms or s in param.name_terms:
            weak.append(i)
    return strong, weak


_SEPARATORS = frozenset({",", ";", "(", ")"})
# What a name written as one word adds to the thing it names: `username`, `fileid`.
_COMPOUND_ENDS = ("nam", "name", "id", "ids")


def _compound_of(word: str, term: str) -> bool:
    """Whether `term` is `word` and a naming suffix run together: "user" of `username`."""
    return len(word) >= 3 and term.startswith(word) and term[len(word) :] in _COMPOUND_ENDS


def _nearness(scan: Scan, first: int, last: int, strong: list[int], weak: list[int]) -> float:
    """How close a value at tokens `first..last` is to a mention of its parameter. A mention
    after the value counts only before any comma: in "bought at $20, sold at $25" "sold" is
    the next value's."""
    if first > 0 and scan.tokens[first - 1].text in _MONEY:
        first -= 1  # "$20" starts at its sign
    best = 0.0
    for mentions, before_max, after_max in ((strong, 3.0, 2.4), (weak, 1.2, 1.0)):
        for m in mentions:
            if m < first and first - m <= 4:
                best = max(best, before_max - 0.4 * (first - m - 1))
            elif m > last and m - last <= 2:
                if any(scan.tokens[k].text in _SEPARATORS for k in range(last + 1, m)):
                    continue
                best = max(best, after_max - 0.4 * (m - last - 1))
    return best


_MONEY = frozenset("$€£¥")


def _previous(scan: Scan, index: int) -> str:
    return scan.tokens[index - 1].lower if index > 0 else ""


def _following(scan: Scan, index: int) -> str:
    return scan.tokens[index + 1].lower if index + 1 < len(scan.tokens) else ""


def _number_value(param: Param, number: Number, kind: str) -> float | int | None:
    if kind == "integer":
        if not (number.is_integer or number.value == int(number.value)):
            return None
        value: float | int = number.as_int
    else:
        value = number.value
        mentions_percent = "percent" in param.description.lower() or "percent" in param.name
        if number.percent and not mentions_percent:
            value = value / 100
        elif value == int(value) and abs(value) < 1e15:
            value = int(value)
    if param.minimum is not None and value < param.minimum:
        return None
    if param.maximum is not None and value > param.maximum:
        return None
    return value


def _number_offers(param: Param, scan: Scan, strong: list[int], weak: list[int]) -> list[_Offer]:
    kind = param.item_type if param.type == "array" else param.type
    offers: list[_Offer] = []
    for number in scan.numbers:
        value = _number_value(param, number, kind or "number")
        if value is None:
            continue
        score = 1.0 + _nearness(scan, number.index, number.index, strong, weak)
        unit = scan.stems[number.index + 1] if number.index + 1 < len(scan.stems) else ""
        claims = frozenset({number.index})
        if _measured_in(param, scan, number.index):
            # "within 10 miles" for "distance in miles", "under 30 minutes" for a time "in
            # minutes": the unit the parameter is measured in. A compound unit is read whole:
            # "10 meters/second" is a velocity "in meters/second", "2 meters/second^2" an
            # acceleration, and "5 seconds" neither.
            score += 2.0
        elif unit and scan.tokens[number.index + 1].lower in param.rate_units:
            # "25 MPG" for "in miles per gallon", "120 bpm" for "in beats per minute": the
            # unit written short is read with the number.
            score += 2.0
            claims = frozenset({number.index, number.index + 1})
        bound = _bound_cue(scan, number.index)
        if bound and (param.is_a("start") or param.is_a("end")):
            # "from x = -2 to x = 3", "from 20.5 to 30.0": the bound after "from" is a
            # start, the one after "to" an end.
            fits = param.is_a("start") if bound == "from" else param.is_a("end")
            score += 1.0 if fits else -0.5
        if param.is_a("year") and number.is_integer and 1800 <= number.value <= 2100:
            score += 2.5
        if param.is_a("count") and _previous(scan, number.index) in _COUNT_CUES:
            score += 2.5
        offers.append(_Offer(param.name, value, score, claims, number.index))
    unit_days = _time_unit(param) if kind == "integer" else None
    if unit_days is not None:
        # "the next 3 days" for `days`, "the next week" for `days` (7), "the past decade"
        # for a duration "in years" (10): a date range to a date parameter, its length to a
        # length. A period named without a count is one of it.
        for match in _LENGTH.finditer(scan.text):
            days = (int(match[2]) if match[2] else 1) * _UNIT_DAYS[stem(match[3].lower())]
            if days % unit_days and days < 5 * unit_days:
                continue  # "the next 10 days" is no whole number of weeks
            first = scan.token_at(match.start())
            last = scan.token_at(match.end() - 1)
            value = round(days / unit_days)
            offers.append(_Offer(param.name, value, 4.0, frozenset(range(first, last + 1)), first))
    if param.type != "array":
        return offers
    # A list parameter takes a run of numbers ("1, 2 and 3"), or one number it was shown.
    singles = [_Offer(o.param, [o.value], o.score, o.claims, o.order) for o in offers]
    runs: list[list[_Offer]] = []
    for offer in offers:
        index = offer.order
        if runs and all(
            scan.tokens[k].lower in _LIST_JOINERS for k in range(runs[-1][-1].order + 1, index)
        ):
            runs[-1].append(offer)
        else:
            runs.append([offer])
    lists = [
        _Offer(
            param.name,
            [o.value for o in run],
            2.5 + max(o.score for o in run) - 1.0,
            frozenset().union(*(o.claims for o in run)),
            run[0].order,
        )
        for run in runs
        if len(run) >= 2
    ]
    return lists + singles


def _bound_cue(scan: Scan, index: int) -> str:
    """ "from" or "to" when the number at `index` is after one ("from $5", "to x = 3")."""
    k = index - 1
    while k >= 0 and (scan.tokens[k].text in "=$€£¥-" or len(scan.tokens[k].text) == 1):
        k -= 1  # "x =", "$": the number's own notation
    cue = scan.tokens[k].lower if k >= 0 else ""
    return "from" if cue in ("from", "between") else "to" if cue in ("to", "until", "and") else ""


_UNIT_OPERATORS = frozenset({"/", "^", "per"})
_UNIT_WORD = re.compile(r"[a-z]+|[0-9]+|[/^]")


def _unit_of(scan: Scan, index: int) -> str | None:
    """The unit written after the number at token `index`, stemmed, a compound whole:
    "meters/second^2" → `meter/second^2`, "miles per hour" → `mile/hour`; None for none."""
    tokens = scan.tokens
    k = index + 1
    if k >= len(tokens) or not tokens[k].text.isalpha() or is_function_word(tokens[k].text):
        return None
    parts = [stem(tokens[k].lower)]
    while k + 2 < len(tokens):
        operator, operand = tokens[k + 1], tokens[k + 2]
        glued = operator.lower != "per" and operator.start == tokens[k].end
        if operator.lower not in _UNIT_OPERATORS or not (glued or operator.lower == "per"):
            break
        if not operand.text.isalnum():
            break
        parts += ["^" if operator.text == "^" else "/", stem(operand.lower)]
        k += 2
    return "".join(parts)


@lru_cache(maxsize=4096)
def _units_in(text: str) -> str:
    """A description with its words stemmed and its compound units closed up, to find a
    unit in: "in meters / second^2" → "in meter/second^2"."""
    parts = _UNIT_WORD.findall(text.lower().replace(" per ", "/"))
    out = ""
    for part in parts:
        joined = part in "/^" or (out[-1:] in "/^" and out != "")
        out += ("" if joined or not out else " ") + (stem(part) if part.isalpha() else part)
    return f" {out} "


def _measured_in(param: Param, scan: Scan, index: int) -> bool:
    """Whether the number at `index` is written in the unit the parameter is measured in."""
    unit = _unit_of(scan, index)
    if unit is None or len(unit) <= 2:
        return False
    if unit.isalpha() and unit in param.name_terms:
        return True
    found = _units_in(param.description)
    start = found.find(unit)
    while start >= 0:
        before, after = found[start - 1], found[start + len(unit) : start + len(unit) + 1]
        if before == " " and after not in "/^" and not after.isalnum():
            return True
        start = found.find(unit, start + 1)
    return False


_LENGTH = re.compile(
    r"\b(last|past|previous|next|coming|following)\s+(?:(\d{1,3})\s+)?"
    r"(days?|weeks?|months?|years?|decades?)\b",
    re.IGNORECASE,
)
# Days in each unit of time (a month and a year as a model would count them).
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365, "decad": 3650}
_UNIT_DAYS |= {stem(unit): days for unit, days in tuple(_UNIT_DAYS.items())}


# Words of a parameter's name that make it a count (`num_year`, `duration`), not a date.
_COUNT_NAMES = word_set("num number count duration length period term span horizon n")


def _time_unit(param: Param) -> int | None:
    """The days in the unit of time an integer parameter counts: `days`, `num_weeks`, or a
    `duration` whose description says "in years"; None when it counts no time. A `year` or
    a `day` is a date, not a length: a unit in the name is plural, or the name says it
    counts (`num_year`)."""
    named = [w.lower() for w in identifier_words(param.name)]
    counts = bool(set(named) & _COUNT_NAMES)
    units = [
        _UNIT_DAYS[stem(w)] for w in named if stem(w) in _UNIT_DAYS and (counts or w.endswith("s"))
    ]
    if not units and any(stem(w) in _UNIT_DAYS for w in named):
        return None
    if not units:
        # `timeframe`, "The number of days ...": the unit the description counts in.
        units = [days for unit, days in _UNIT_DAYS.items() if unit in param.description_terms]
    distinct = set(units)
    return distinct.pop() if len(distinct) == 1 else None


def _format_date(param: Param, mention: DateMention, which: str) -> str:
    day = mention.last if which == "end" else mention.first
    hint = param.description.upper()
    relative = not any(ch.isdigit() for ch in mention.text)
    if param.format == "date-time":
        return f"{day.isoformat()}T00:00:00" if which != "end" else f"{day.isoformat()}T23:59:59"
    if param.format == "date" or "YYYY-MM-DD" in hint or relative:
        return day.isoformat()
    if "MM/DD/YYYY" in hint:
        return day.strftime("%m/%d/%Y")
    if "DD/MM/YYYY" in hint:
        return day.strftime("%d/%m/%Y")
    # No format given: keep what the user wrote, as a model would.
    return mention.text


def _date_offers(param: Param, scan: Scan, strong: list[int], weak: list[int]) -> list[_Offer]:
    which = "start" if param.is_a("start") else "end" if param.is_a("end") else "one"
    offers: list[_Offer] = []
    for mention in scan.dates:
        first, last = scan.token_at(mention.start), scan.token_at(mention.end - 1)
        score = 3.0 + _nearness(scan, first, last, strong, weak)
        # A range ("last week") feeds both a start and an end parameter: no claims.
        claims = frozenset() if mention.is_range else frozenset(range(first, last + 1))
        offers.append(_Offer(param.name, _format_date(param, mention, which), score, claims, first))
    return offers


def _find_phrase(scan: Scan, phrase: str, *, exact_case: bool) -> tuple[int, int] | None:
    """Token span of `phrase` (as whole words) in the message."""
    pattern = r"(?<![\w-])" + re.escape(phrase).replace(r"\ ", r"[\s_-]+") + r"(?![\w-])"
    flags = 0 if exact_case else re.IGNORECASE
    match = re.search(pattern, scan.text, flags)
    if match is None:
        return None
    return scan.token_at(match.start()), scan.token_at(match.end() - 1)


def _initials(scan: Scan, code: str) -> tuple[int, int] | None:
    """The span of capitalised words whose initials spell `code`: "American League" → AL."""
    size = len(code)
    if not 2 <= size <= 4 or not code.isalpha() or not code.isupper():
        return None
    tokens = scan.tokens
    for i in range(len(tokens) - size + 1):
        run = tokens[i : i + size]
        # "American League" or "world series": content words, whatever their case.
        words = all(t.text.isalpha() and not is_function_word(t.text) for t in run)
        if words and "".join(t.text[0] for t in run).upper() == code:
            return i, i + size - 1
    return None


def _member_span(scan: Scan, member: str) -> tuple[int, int] | None:
    if not member.strip():
        return None
    words = member.replace("_", " ").strip()
    # Short codes are matched case-sensitively, or "in" would match the enum member "IN";
    # a longer one is a code however it is typed ("nlds").
    span = _find_phrase(scan, words, exact_case=len(words) <= 3 and not words.islower())
    return span or _initials(scan, member) or _inflected(scan, member) or _agent(scan, member)


_PARTICIPLE_COMPOUND = re.compile(r"^([A-Za-z]+)-([A-Za-z]{3,}ed)$")


@lru_cache(maxsize=256)
def _agents(scan: Scan) -> tuple[tuple[int, str, str], ...]:
    """The nouns of compounds with a past participle, with the participle's stem: "a
    gas-powered vehicle" is powered by gas, "a gas-fueled car" fueled by gas, so `gas` is a
    value ("gas", "fuel" for "gas-fueled")."""
    out = []
    for index, token in enumerate(scan.tokens):
        match = _PARTICIPLE_COMPOUND.match(token.text)
        if match and not is_function_word(match[1]):
            out.append((index, match[1], stem(match[2].lower())))
    return tuple(out)


def _agent(scan: Scan, member: str) -> tuple[int, int] | None:
    """A member named as the noun of such a compound: 'gas' in "gas-powered"."""
    for index, noun, _ in _agents(scan):
        if noun.casefold() == member.casefold():
            return index, index
    return None


def _inflected(scan: Scan, member: str) -> tuple[int, int] | None:
    """A member written as another form of its words, or as a synonym of its verb: "detail"
    for `detailed`, "remove" for `delete`, "opening hours" for `opening_hours`."""
    if len(member) < 4 or not member.replace("_", "").isalpha():
        return None
    wanted = _member_terms(member)
    if not wanted:
        return None
    folded = _token_terms(scan)
    size = len(wanted)
    for i in range(len(folded) - size + 1):
        if all(folded[i + k] == wanted[k] for k in range(size)):
            return i, i + size - 1
    return None


@lru_cache(maxsize=4096)
def _member_terms(member: str) -> tuple[str, ...]:
    return tuple(terms(identifier_words(member)))


@lru_cache(maxsize=256)
def _token_terms(scan: Scan) -> tuple[str | None, ...]:
    """Each token's one matching term (None for none or several), computed once a message."""
    out: list[str | None] = []
    for token in scan.tokens:
        found = terms(token.text)
        out.append(found[0] if len(found) == 1 else None)
    return tuple(out)


def _choice_offers(param: Param, scan: Scan, members: Sequence[Any], score: float) -> list[_Offer]:
    found: list[tuple[int, int, Any]] = []
    for member in members:
        if isinstance(member, str):
            span = _member_span(scan, member)
            # Two members on the same words ("delete" and "remove" both read as delete): the
            # one written as the user wrote it.
            if span is not None and not any(f[:2] == span for f in found):
                found.append((span[0], span[1], member))
    if not found:
        return []
    found.sort(key=lambda item: item[0])
    if param.type == "array":
        claims = frozenset(k for first, last, _ in found for k in range(first, last + 1))
        return [_Offer(param.name, [m for _, _, m in found], score, claims, found[0][0])]
    return [
        _Offer(param.name, member, score, frozenset(range(first, last + 1)), first)
        for first, last, member in found
    ]


_BE = frozenset({"is", "are", "was", "were", "be", "should", "must", "will", "does", "do"})


def _boolean_offer(param: Param, scan: Scan, strong: list[int]) -> list[_Offer]:
    specific = {t for t in param.name_terms if t not in ("includ", "is", "use", "get", "show")}
    seen = {scan.stems[i] for i in strong}
    # "apply standardization" names `standardize`: a word counts in another form.
    found = {t for t in specific if t in seen or any(another_form(t, s) for s in seen)}
    if not specific or len(found) * 2 < len(specific):
        return []
    first, last = min(strong), max(strong)
    window = {scan.tokens[k].lower for k in range(max(0, first - 3), first)}
    # "history is not kept", "the content is not within a CDATA section": a negation
    # right after the flag's words, through its verb.
    after = [scan.tokens[k].lower for k in range(last + 1, min(len(scan.tokens), last + 3))]
    negated_after = bool(after) and (
        after[0] in _NEGATIONS or (after[0] in _BE and len(after) > 1 and after[1] in _NEGATIONS)
    )
    value = not (window & _NEGATIONS) and not negated_after
    return [_Offer(param.name, value, 3.0, frozenset(), first)]


def _looks_like_value(text: str) -> bool:
    """Not a plain lower-case word: a name, a code, an id ("Alice", "NYA", "judgeaa01")."""
    return not (text.isalpha() and text.islower()) and not is_function_word(text)


def shape(text: str) -> str:
    """The letter/digit pattern of an identifier: `judgeaa01` → `a9`, `NYA` → `A`."""
    out = ""
    for ch in text:
        kind = "A" if ch.isupper() else "a" if ch.isalpha() else "9" if ch.isdigit() else ch
        if not out or out[-1] != kind:
            out += kind
    return out


_EXAMPLE = re.compile(r"\b(?=[A-Za-z0-9_]*[0-9_])(?=[A-Za-z0-9_]*[A-Za-z])[A-Za-z0-9_]{3,}\b")


_ID_WORDS = frozenset({"id", "ids", "code", "codes", "key", "keys", "symbol", "ticker", "uuid"})


def is_identifier(param: Param) -> bool:
    """Whether the parameter holds identifiers (`player_ids`, `teamId`, `symbol`)."""
    return bool(set(identifier_words(param.name)) & _ID_WORDS)


def _example_shapes(param: Param) -> frozenset[str]:
    """Shapes of the example ids the description gives ("e.g. judgeaa01", "NYA")."""
    examples = [*_EXAMPLE.findall(param.description), *param.options]
    return frozenset(shape(e) for e in examples if len(e) >= 2)


def _string_offers(
    param: Param,
    scan: Scan,
    strong: list[int],
    weak: list[int],
    rivals: frozenset[str] = frozenset(),
) -> list[_Offer]:
    """Offers for a string: quoted text, names, ids, words after the parameter's name.
    `rivals` are the words of the other parameters' names."""
    offers: list[_Offer] = []
    person, place = param.is_a("person"), param.is_a("place")
    free_text = param.is_a("free_text")
    role = _route_role(param)
    for phrase in scan.quoted:
        score = 2.5 + _nearness(scan, phrase.first, phrase.last, strong, weak) / 2
        if phrase.kind == "code" and not param.literal:
            # Code in backticks (`userProfile`) names a variable: the value of a parameter
            # of any type or an object's, where a quoted string is a string's.
            score += 0.5
        if _previous(scan, phrase.first) in ("named", "called"):
            score += 1.0
        elif phrase.last + 1 in strong:
            # "the 'CustomerInfo' database": a quoted name right before what it names.
            score += 0.5
        elif _names_next(scan, phrase.last):
            # "an `ObjectParser` instance named `hitParser`": the kind of thing, whose
            # value is the name after it.
            score -= 1.0
        fit = _literal_fit(param, phrase.text)
        if fit is not None:
            # An email address to an `email` or a `to` "address", a path to a `path`, a
            # domain to a `website`.
            score += 1.5 if fit else 0.0
        elif free_text:
            score += 1.5
        offers.append(_phrase_offer(param, phrase, score))
    if param.type == "array" and not param.options and not is_identifier(param):
        listed = _word_list(scan, set())
        if listed is not None:
            # Words joined by "and" are a list, more surely than one name is the whole of it.
            first, last = min(listed[1]), max(listed[1])
            score = 2.0 + _nearness(scan, first, last, strong, weak)
            offers.append(_Offer(param.name, listed[0], score, frozenset(listed[1]), first))
    if free_text:
        # Free text is what is left of the message once everything else is placed.
        return offers
    if param.is_a("year") and param.type == "string":
        offers += _year_offers(param, scan)
    identifier_shapes = _example_shapes(param) if is_identifier(param) else frozenset()
    if param.type == "array" and not identifier_shapes:
        offers += _name_lists(param, scan, strong, weak)
    fitting_literal = _asks_literal(param) and any(
        _literal_fit(param, quoted.text) for quoted in scan.quoted
    )
    for phrase in scan.names:
        if identifier_shapes and shape(phrase.text) not in identifier_shapes:
            # "Aaron Judge" is a name, not an id like judgeaa01: the id is looked up instead.
            continue
        if all(k in strong for k in range(phrase.first, phrase.last + 1)):
            # "the ID 'loginForm'" for `formId`: "ID" names the parameter, it is no value.
            continue
        # A mention inside another name ("Hotel" of "Hotel Paradise, Las Vegas") is that
        # name's, not a cue for the next one.
        outside = [k for k in strong if not _in_other_name(scan, k, phrase)]
        score = 1.5 + _nearness(scan, phrase.first, phrase.last, outside, weak)
        # "the Metropolitan Museum of Art" for `museum_name`, "in Hotel Paradise" for
        # `hotel_name`: the kind of thing named is part of its name.
        names_kind = any(phrase.first <= k <= phrase.last for k in strong)
        if names_kind:
            score += 1.1
        if fitting_literal:
            score -= 1.5  # "John Doe" for "the email address to send to", with one given
        elif any(scan.stems[k] in rivals for k in range(phrase.first, phrase.last + 1)):
            # "Hotel Paradise" beside `hotel_name` is the hotel, not the `location`.
            score -= 1.5
        cue = _previous(scan, phrase.first)
        if (place and cue in _PLACE_CUES) or (person and cue in _PERSON_CUES):
            score += 1.5
        if place and role:
            # "from London to Edinburgh", "between Boston and Denver": the first is where
            # the route starts, the one after "to" where it ends.
            starts, ends = cue in _FROM, cue in _TO
            if starts or ends:
                score += 1.0 if (starts and role == "origin") or (ends and role == "end") else -1.0
        elif not (place or person or names_kind) and cue in _WHERE:
            # "Chinese cuisine in Seattle": a name after "in" is where, not what kind.
            score -= 1.5
        offers.append(_phrase_offer(param, phrase, score))
    for index, noun, participle in _agents(scan):
        if participle in param.name_terms:
            # "a gas-fueled car" for `fuel_type`: what it is fueled by.
            offers.append(_Offer(param.name, noun, 3.0, frozenset({index}), index))
    identifier = is_identifier(param)
    shapes = _example_shapes(param) if identifier else frozenset()
    for i, token in enumerate(scan.tokens):
        text, previous = token.text, _previous(scan, i)
        # A lower-case name still counts where people are named: "alice's list", "for bob".
        possessive = token.lower.endswith(("'s", "’s")) and len(text) > 2
        named = possessive and (person or place) and not is_function_word(text)
        if named and (not shapes or shape(text[:-2]) in shapes):
            offers.append(_Offer(param.name, text[:-2], 3.0, frozenset({i}), i))
            continue
        word = text.replace("_", "").replace("-", "")
        if not word.isalnum() or token.lower in STOPWORDS or is_function_word(text):
            continue
        if i in strong and text.isupper():
            continue  # "the ID 'loginForm'": the parameter's own word, written as a code
        # An id written the way the description's example is ("judgeaa01" like judgeaa01).
        plain = text.isdigit() or (text.isalpha() and text.islower())
        if shapes and shape(text) in shapes and len(text) >= 2 and not plain:
            value = _as_listed(param, text)
            offers.append(_Offer(param.name, value, 2.8, frozenset({i}), i))
            continue
        if shapes:
            # An id parameter with an example takes only values written like it.
            continue
        if _in_longer_name(scan, i):
            continue  # "Art" of "Museum of Art": the name is offered whole, above
        linked = i - 2 in strong and previous in _LINKS
        adjacent = i - 1 in strong and (person or place or _looks_like_value(text))
        if previous in ("named", "called") or linked or adjacent:
            offers.append(_Offer(param.name, text, 2.6, frozenset({i}), i))
        elif person and previous in _PERSON_BEFORE:
            offers.append(_Offer(param.name, text, 1.6, frozenset({i}), i))
        elif (
            person
            and previous in ("", ".", "!", "?", ",", ";")
            and _following(scan, i) in (_PERSON_AFTER)
        ):
            offers.append(_Offer(param.name, text, 2.6, frozenset({i}), i))
        elif (
            identifier and not shapes and text.isupper() and text.isalpha() and 2 <= len(text) <= 5
        ):
            offers.append(_Offer(param.name, _as_listed(param, text), 2.6, frozenset({i}), i))
    return offers


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.\w+")
_PATH = re.compile(r"(?:[A-Za-z]:|~|\.{1,2})?/\S+")
_WEB = re.compile(r"https?://\S+|[\w.-]+\.(?:com|org|net|io|edu|gov|dev|ai|co)(?:/\S*)?")
_LITERAL_WORDS = {
    "email": frozenset({"email", "mail", "address", "recipient", "to", "cc", "bcc", "sender"}),
    "path": frozenset({"path", "file", "filenam", "directori", "folder", "sourc", "dir"}),
    "web": frozenset({"websit", "site", "url", "domain", "link", "sourc", "web", "page"}),
}


def _literal_fit(param: Param, text: str) -> bool | None:
    """Whether the parameter asks for the kind of literal `text` is (an email address, a
    path, a web address); None when `text` is none of them."""
    kind = "email" if _EMAIL.fullmatch(text) else "path" if _PATH.fullmatch(text) else None
    if kind is None and _WEB.fullmatch(text):
        kind = "web"
    if kind is None:
        return None
    named = param.name_terms | _described_terms(param.description)
    return bool(named & _LITERAL_WORDS[kind])


# Words that say a parameter asks for an email address, a path or a web address.
_ASKS_LITERAL = frozenset({"email", "path", "url", "websit", "domain", "filenam", "file"})


def _asks_literal(param: Param) -> bool:
    """Whether the parameter's name or description says it takes an email address, a path
    or a web address."""
    return bool((param.name_terms | _described_terms(param.description)) & _ASKS_LITERAL)


def _in_other_name(scan: Scan, index: int, phrase: Phrase) -> bool:
    """Whether the token at `index` is a word of a name of several other than `phrase`."""
    return any(
        p.first <= index <= p.last and p.last > p.first and p is not phrase for p in scan.names
    )


def _in_longer_name(scan: Scan, index: int) -> bool:
    """Whether the token at `index` is one word of a name of several."""
    return any(p.first <= index <= p.last and p.last > p.first for p in scan.names)


_YEARS = re.compile(r"(?<![\w.-])((?:1[89]|20)\d\d)(?:\s*[-/–]\s*((?:1[89]|20)?\d\d))?(?![\w.-])")


def _year_offers(param: Param, scan: Scan) -> list[_Offer]:
    """A year, or a season of two ("the 2019-2020 season", "2022/23"), for a `season` or
    `year` written as a string: as the user wrote it."""
    offers = []
    for match in _YEARS.finditer(scan.text):
        if match[2] and int(match[2][-2:]) != (int(match[1]) + 1) % 100:
            continue  # "2015-2021" is a span of years, not one season
        first, last = scan.token_at(match.start()), scan.token_at(match.end() - 1)
        text = match[0].replace(" ", "")
        offers.append(_Offer(param.name, text, 3.5, frozenset(range(first, last + 1)), first))
    return offers


_FROM = frozenset({"from", "between"})
_TO = frozenset({"to", "into", "towards"})
_ORIGIN_WORDS = frozenset({"start", "origin", "source", "from", "departure", "begin", "pickup"})
_END_WORDS = frozenset({"end", "destination", "dest", "to", "arrival", "target", "dropoff"})


def _route_role(param: Param) -> str:
    """Whether the parameter is where a route starts (`origin`, `start_city`), where it
    ends (`destination`), or neither ("")."""
    named = {w.lower() for w in identifier_words(param.name)}
    if named & _ORIGIN_WORDS:
        return "origin"
    if named & _END_WORDS:
        return "end"
    return ""


def _names_next(scan: Scan, last: int) -> bool:
    """Whether "named"/"called" follows token `last`, at most one word later."""
    after = [scan.tokens[k].lower for k in range(last + 1, min(len(scan.tokens), last + 3))]
    return bool(after) and (
        after[0] in ("named", "called") or (len(after) > 1 and after[1] in ("named", "called"))
    )


def _name_lists(param: Param, scan: Scan, strong: list[int], weak: list[int]) -> list[_Offer]:
    """Names joined by commas and "and" for a list parameter: "Microsoft and Google",
    "'Age', 'Income' and 'Education'", "between John and Alice"."""
    phrases = sorted([*scan.names, *scan.quoted], key=lambda p: p.first)
    runs: list[list[Phrase]] = []
    for phrase in phrases:
        if runs and all(
            scan.tokens[k].lower in _LIST_JOINERS or scan.tokens[k].text in "'\""
            for k in range(runs[-1][-1].last + 1, phrase.first)
        ):
            runs[-1].append(phrase)
        else:
            runs.append([phrase])
    offers = []
    for run in runs:
        if len(run) < 2:
            continue
        first, last = run[0].first, run[-1].last
        score = 3.0 + _nearness(scan, first, last, strong, weak)
        claims = frozenset(range(first, last + 1))
        offers.append(_Offer(param.name, [p.text for p in run], score, claims, first))
    return offers


def _as_listed(param: Param, text: str) -> Any:  # Any: JSON
    return [text] if param.type == "array" and not _names_variable(param, text) else text


_VARIABLE = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def _names_variable(param: Param, value: Any) -> bool:  # Any: JSON
    """Whether `value` is the name of a variable given for a list typed in a language's own
    way (an `Array` given as `durations`): it is passed as that name, not as a list of it."""
    return param.foreign and isinstance(value, str) and bool(_VARIABLE.fullmatch(value))


def _phrase_offer(param: Param, phrase: Phrase, score: float) -> _Offer:
    claims = frozenset(range(phrase.first, phrase.last + 1))
    return _Offer(param.name, _as_listed(param, phrase.text), score, claims, phrase.first)


def _bracketed_offers(param: Param, scan: Scan) -> list[_Offer]:
    offers: list[_Offer] = []
    for match, items in bracketed_lists(scan.text):
        first, last = scan.token_at(match.start()), scan.token_at(match.end() - 1)
        claims = frozenset(range(first, last + 1))
        offers.append(_Offer(param.name, items, 4.0, claims, first))
    if param.item_type not in ("number", "integer"):
        return offers
    for match in _PARENTHESISED.finditer(scan.text):
        # "(40.71, -74.01)", "(33.45 N, 112.07 W)": a point is a list of numbers; a compass
        # letter after a coordinate gives its sign.
        numbers = []
        for part in match[1].split(","):
            found = _COORDINATE.fullmatch(part.strip())
            if found is None:
                break
            sign = -1 if found[2] and found[2].upper() in "SW" else 1
            numbers.append(sign * json.loads(found[1]))
        else:
            if len(numbers) >= 2:
                first, last = scan.token_at(match.start()), scan.token_at(match.end() - 1)
                claims = frozenset(range(first, last + 1))
                offers.append(_Offer(param.name, numbers, 4.0, claims, first))
    return offers


_PARENTHESISED = re.compile(r"\(([^()]{1,200})\)")
_COORDINATE = re.compile(r"(-?\d+(?:\.\d+)?)\s*°?\s*([NSEWnsew])?")


# Words of a currency parameter's name that say it is the one converted from, or to.
_SOURCE = word_set("from base source original sell have input src")
_TARGET = word_set("to target into dest destination output buy quote desired")
_AFTER_TARGET = word_set("to into in for")


def _currency_offers(param: Param, scan: Scan) -> list[_Offer]:
    """Currencies named for a currency parameter, as codes ("US dollars" → `USD`). With
    two currency parameters, the one converted from is the one an amount is in ("500 US
    dollars", "$20") or after "from"; the one converted to comes after "to", "into", "in"."""
    named = set(identifier_words(param.name))
    role = "source" if named & _SOURCE else "target" if named & _TARGET else ""
    numbers = {n.index for n in scan.numbers}
    offers = []
    members = {str(m).casefold(): m for m in param.enum}
    for mention in scan.currencies:
        # An enum lists codes its own way ("usd"): the member as written.
        value = members.get(mention.code.casefold()) if members else mention.code
        if value is None:
            continue
        before = _previous(scan, mention.first)
        priced = mention.first - 1 in numbers or mention.last + 1 in numbers
        fits_role = (role == "source" and (priced or before == "from")) or (
            role == "target" and before in _AFTER_TARGET and not priced
        )
        score = 4.5 if fits_role else 3.5
        claims = frozenset(range(mention.first, mention.last + 1))
        offers.append(_Offer(param.name, value, score, claims, mention.first))
    return offers


def _offers(
    param: Param,
    scan: Scan,
    shared: frozenset[str] = frozenset(),
    rivals: frozenset[str] = frozenset(),
) -> list[_Offer]:
    strong, weak = _mentions(param, scan, shared)
    kind = param.item_type if param.type == "array" else param.type
    if param.enum:
        currencies = _currency_offers(param, scan) if param.is_a("currency") else []
        return _choice_offers(param, scan, param.enum, 5.0) + currencies
    offers: list[_Offer] = []
    if param.type == "array":
        offers += _bracketed_offers(param, scan)
    if kind == "boolean":
        # Every word of its name tells a flag apart (`include_x` beside `include_y`).
        named = _mentions(param, scan)[0] if shared & param.name_terms else strong
        offers += _boolean_offer(param, scan, named) if named else []
    elif kind in ("integer", "number"):
        offers += _number_offers(param, scan, strong, weak)
    elif kind == "string" or kind is None:
        if param.is_date:
            offers += _date_offers(param, scan, strong, weak)
        else:
            if param.is_a("currency"):
                offers += _currency_offers(param, scan)
            offers += _choice_offers(param, scan, param.options, 4.0)
            offers += _string_offers(param, scan, strong, weak, rivals)
    return offers


def _claimed_text(scan: Scan, offer: _Offer) -> str:
    index = next(iter(offer.claims))
    return scan.tokens[index].text if index < len(scan.tokens) else ""


def _remainder(scan: Scan, claimed: set[int]) -> tuple[str, set[int]] | None:
    """Free text left once the other arguments and the request's own words are taken out,
    and the tokens it was read from."""
    text = scan.text
    if ":" in text:
        after = text.split(":", 1)[1].strip().strip(".!?").strip()
        if after:
            colon = scan.token_at(text.index(":"))
            return after, set(range(colon + 1, len(scan.tokens)))
    runs: list[list[int]] = [[]]
    for i in range(len(scan.tokens)):
        structural = i in claimed or (i + 1 in claimed and scan.tokens[i].lower in _PLACE_CUES)
        if structural:
            runs.append([])
        else:
            runs[-1].append(i)
    best: list[int] = []
    for run in runs:
        while run and scan.tokens[run[0]].lower in _LEADING_FILLER:
            run = run[1:]
        while run and scan.tokens[run[-1]].lower in _TRAILING_FILLER:
            run = run[:-1]
        if len(run) >= len(best):
            best = run
    if not best:
        return None
    found = text[scan.tokens[best[0]].start : scan.tokens[best[-1]].end]
    span = set(range(best[0], best[-1] + 1))
    # "eggs and flour on my shopping list": where it goes is not part of what it is.
    if not _ENDS_WITH_LIST.search(text):
        return found, span
    return (_DESTINATION.sub("", found).strip() or found), span


def _leftover(
    param: Param,
    scan: Scan,
    claimed: set[int],
    vocabulary: frozenset[str],
    rivals: frozenset[str] = frozenset(),
) -> tuple[Any, set[int]] | tuple[Any, set[int], bool] | None:
    """A value for a required parameter that no offer filled: what is left, in order (with
    a third item when it is a guess by meaning, see `_kind_word`)."""
    kind = param.item_type if param.type == "array" else param.type
    if kind in ("integer", "number"):
        values = []
        indexes: set[int] = set()
        for number in scan.numbers:
            if number.index in claimed:
                continue
            value = _number_value(param, number, kind)
            if value is not None:
                values.append(value)
                indexes.add(number.index)
                if param.type != "array":
                    return value, indexes
        return (values, indexes) if values else None
    if kind != "string" or param.enum:
        return None
    if param.type == "array":
        listed = _word_list(scan, claimed)
        if listed is not None:
            return listed
    if param.is_a("free_text"):
        return _remainder(scan, claimed)
    if param.is_date:
        for mention in scan.dates:
            first, last = scan.token_at(mention.start), scan.token_at(mention.end - 1)
            span = set(range(first, last + 1))
            if not span & claimed:
                return _format_date(param, mention, "one"), span
        return None
    shapes = _example_shapes(param) if is_identifier(param) else frozenset()
    for phrase in scan.names:
        span = set(range(phrase.first, phrase.last + 1))
        if shapes and shape(phrase.text) not in shapes:
            continue
        if not span & claimed:
            return ([phrase.text] if param.type == "array" else phrase.text), span
    if param.type == "string" and not (is_identifier(param) or param.is_a("person")):
        return _kind_word(param, scan, claimed, vocabulary, rivals)
    return None


_JOINERS = frozenset({",", "and", "or", "&"})


def _word_list(scan: Scan, claimed: set[int]) -> tuple[list[str], set[int]] | None:
    """Words written as a list, for a list of strings: "the price of tomatoes and lettuce",
    "I am calm, tidy, easy going and kind" → each item a run of at most three content words,
    a count before one left out ("three pears and two dozen eggs" → pears, eggs). The longest
    such list with "and" or "or" in it; None for none."""
    tokens = scan.tokens

    def content(k: int) -> bool:
        text = tokens[k].text
        return (
            k not in claimed
            and text.replace("-", "").isalpha()
            and not is_function_word(text)
            and tokens[k].lower not in STOPWORDS
            and tokens[k].lower not in _LEADING_FILLER
            and not _is_count(scan, k)
        )

    def run_from(k: int) -> int:
        while k + 1 < len(tokens) and content(k + 1):
            k += 1
        return k

    best: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        if not content(i):
            i += 1
            continue
        items = [(i, run_from(i))]
        joined = False
        k = items[-1][1] + 1
        while True:
            m = k
            words: set[str] = set()
            while m < len(tokens) and (tokens[m].lower in _JOINERS or _is_count(scan, m)):
                words.add(tokens[m].lower)
                m += 1
            if not words & _JOINERS or m >= len(tokens) or not content(m):
                break
            joined = joined or bool(words & {"and", "or", "&"})
            items.append((m, run_from(m)))
            k = items[-1][1] + 1
        if len(items) >= 2 and joined and len(items) > len(best):
            best = items
        i = k
    if not best:
        return None
    longest_other = max(last - first for first, last in best[1:])
    # The first run may begin with the request's verb ("buy apples, rice and tea"): it is as
    # long as the longest of the others.
    best[0] = (max(best[0][0], best[0][1] - longest_other), best[0][1])
    if any(last - first > 2 for first, last in best):
        return None
    values = [" ".join(tokens[k].text for k in range(first, last + 1)) for first, last in best]
    span = {k for first, last in best for k in range(first, last + 1)}
    return values, span


def _is_count(scan: Scan, index: int) -> bool:
    return any(number.index == index for number in scan.numbers) or (
        scan.tokens[index].lower in ("dozen", "a", "an")
    )


def _kind_word(
    param: Param,
    scan: Scan,
    claimed: set[int],
    vocabulary: frozenset[str],
    rivals: frozenset[str] = frozenset(),
) -> tuple[Any, set[int], bool] | None:
    """The word of the message that is what a required `genre`, `habitat`, `cell_type` asks
    for: of the content words no other argument took and that are not the operation's own
    words, the one closest in meaning to the parameter (WordLlama), preferring the word just
    before one of the operation's own nouns ("jazz concerts", "a human cell")."""
    own = {stem(word.lower()) for word in vocabulary}
    candidates: list[int] = []
    for i, token in enumerate(scan.tokens):
        text = token.text
        if i in claimed or not text.isalpha() or len(text) < 3 or is_function_word(text):
            continue
        if token.lower in _LEADING_FILLER or scan.stems[i] in own:
            continue
        if scan.stems[i] in param.name_terms or _describes(param, scan.stems[i]):
            continue  # "jazz music" for a genre "of music": the description's word
        if token.lower in REQUEST_VERBS and _previous(scan, i) in ("", ".", "!", "?"):
            continue  # "Mix yellow and blue": the request's verb
        if scan.stems[i] in rivals or _is_unit(scan, i):
            continue  # "detailed" for a flag `detailed`; "3 months", "Joules per Kelvin"
        candidates.append(i)
    if not candidates:
        return None
    words = [scan.tokens[i].lower for i in candidates]
    label = " ".join(identifier_words(param.name))
    vectors = embed([f"{label}. {param.description}", *words])
    if vectors is None:
        return None
    similarity = vectors[1:] @ vectors[0]
    scores = []
    for position, i in enumerate(candidates):
        modifies = i + 1 < len(scan.tokens) and scan.stems[i + 1] in own
        scores.append(float(similarity[position]) + (0.15 if modifies else 0.0))
    top = max(scores)
    # A numbered parameter (`color1` beside `color2`) is told apart by order, not meaning:
    # the first of the words about as close as the best.
    margin = 0.1 if param.name[-1:].isdigit() else 0.0
    best = next(i for i, score in zip(candidates, scores, strict=True) if score >= top - margin)
    return scan.tokens[best].text, {best}, True


def _is_unit(scan: Scan, index: int) -> bool:
    """Whether the word at `index` is a unit: after a number ("3 months") or "per", or a
    capitalised word after "in" ("in Joules") where a kind would not be."""
    previous = _previous(scan, index)
    after_number = any(number.index == index - 1 for number in scan.numbers)
    capital_in = previous == "in" and scan.tokens[index].text[:1].isupper()
    return after_number or previous == "per" or capital_in


def _describes(param: Param, word_stem: str) -> bool:
    """Whether the parameter's description uses the word, in this or another form ("mixed"
    for "mix"), before any examples: "genre of music" describes, "e.g. jazz" does not."""
    return len(word_stem) >= 3 and any(
        word_stem == term or another_form(word_stem, term) or term.startswith(word_stem)
        for term in _described_terms(param.description)
    )


_EXAMPLES = re.compile(r"\b(?:e\.?g\.?|i\.?e\.?|such as|for example|like|including)\b|[(:]")


@lru_cache(maxsize=4096)
def _described_terms(description: str) -> frozenset[str]:
    """The stems of a description's words before its first example."""
    lead = _EXAMPLES.split(description, maxsplit=1)[0]
    return frozenset(terms(lead))


def fill_arguments(
    parameters: Mapping[str, Any],
    scan: Scan,
    *,
    preset: Mapping[str, Any] | None = None,
    vocabulary: frozenset[str] = frozenset(),
    taken: frozenset[int] = frozenset(),
    read_only: bool = False,
) -> Filled:
    """The arguments `scan` gives for a tool with these JSON Schema `parameters`.

    `preset` values (an answer to a question, a record the user pointed at) win over the
    message and are not looked for again; tokens in `taken` are another argument's already.
    An object parameter is filled from its own properties, with the same rules. With
    `read_only`, only values read on evidence are given (no leftovers, defaults or guesses):
    what a part of a message says by itself, cheaply.
    """
    params = params_of(parameters)
    chosen: dict[str, Any] = dict(preset or {})
    shared = _shared_terms(params)
    offers = [
        offer
        for param in params
        if param.name not in chosen
        for offer in _offers(param, scan, shared, _rivals(params, param))
        # A word the operation's own description uses ("ERA") is vocabulary, not a value.
        if not (len(offer.claims) == 1 and _claimed_text(scan, offer) in vocabulary)
    ]
    required = {param.name for param in params if param.required}
    free = {p.name for p in params if p.is_a("free_text") and p.type == "string"}
    if free and ":" in scan.text:
        # "new todo for alice: book flights to Chicago, IL": after the colon is the text.
        colon = scan.token_at(scan.text.index(":"))
        offers = [o for o in offers if o.param in free or not o.claims or min(o.claims) < colon]
    offers.sort(key=lambda o: (-o.score, o.order))
    claimed: set[int] = set(taken)
    for offer in offers:
        floor = _REQUIRED_MIN if offer.param in required else _OPTIONAL_MIN
        if offer.param in chosen or offer.score < floor or offer.claims & claimed:
            continue
        chosen[offer.param] = offer.value
        claimed |= offer.claims
    _qualify_places(params, scan, chosen, claimed)
    _split_qualified(params, chosen)
    offered = frozenset(name for name in chosen if name not in (preset or {}))
    if read_only:
        return Filled(dict(chosen), (), frozenset(claimed - taken), offered=offered)
    missing: list[Param] = []
    evidence = frozenset(claimed - taken)
    read: set[int] = set()
    guessed: set[str] = set()
    for param in params:
        if param.name in chosen or param.properties is None:
            continue
        # A nested object ("a wall with width of 20ft and height of 12ft" → `area`): its
        # own properties, from what the other arguments left; only when something was found
        # for it and nothing it requires is missing.
        inner = fill_arguments(
            param.properties, scan, vocabulary=vocabulary, taken=frozenset(claimed)
        )
        given = {k: v for k, v in inner.arguments.items() if not _is_default(param, k, v)}
        if given and not inner.missing and (param.required or len(given) >= 2):
            chosen[param.name] = inner.arguments
            claimed |= _claims_of(scan, inner.arguments)
    for param in params:
        if param.name in chosen or not param.required:
            continue
        found = _leftover(param, scan, claimed, vocabulary, _rivals(params, param))
        if found is not None:
            chosen[param.name] = found[0]
            if len(found) > 2:
                guessed.add(param.name)
            if param.is_a("free_text") and param.type == "string":
                # Free text claims nothing: it is what the other arguments leave.
                read |= found[1]
            else:
                claimed |= found[1]
        elif param.has_default:
            chosen[param.name] = param.default
        else:
            missing.append(param)
    order = {param.name: index for index, param in enumerate(params)}
    arguments = dict(sorted(chosen.items(), key=lambda kv: order.get(kv[0], len(order))))
    return Filled(
        arguments,
        tuple(missing),
        evidence,
        frozenset((claimed | read) - taken),
        frozenset(guessed),
        offered,
    )


def _rivals(params: Sequence[Param], param: Param) -> frozenset[str]:
    """The words of the other parameters' names that this one's name does not have."""
    others: set[str] = set()
    for other in params:
        if other is not param:
            others |= other.name_terms
    return frozenset(others - param.name_terms)


def _shared_terms(params: Sequence[Param]) -> frozenset[str]:
    """The words of more than one parameter's name (`value` of `initial_value` and
    `final_value`)."""
    seen: set[str] = set()
    shared: set[str] = set()
    for param in params:
        shared |= seen & param.name_terms
        seen |= param.name_terms
    return frozenset(shared)


def _qualify_places(
    params: Sequence[Param], scan: Scan, chosen: dict[str, Any], claimed: set[int]
) -> None:
    """ "London, United Kingdom", "Lyon, France": a place and the name after its comma are one
    place, as "Chicago, IL" is, unless that name starts a list ("Paris, Rome and Oslo") or
    is another argument's."""
    by_start = {p.first: p for p in scan.names}
    for param in params:
        value = chosen.get(param.name)
        if not isinstance(value, str) or not param.is_a("place") or param.type != "string":
            continue
        phrase = next((p for p in scan.names if p.text == value and p.first in claimed), None)
        if phrase is None or phrase.last + 2 >= len(scan.tokens):
            continue
        after = by_start.get(phrase.last + 2)
        if scan.tokens[phrase.last + 1].text != "," or after is None:
            continue
        if set(range(after.first, after.last + 1)) & claimed:
            continue
        following = scan.tokens[after.last + 1].lower if after.last + 1 < len(scan.tokens) else ""
        if following in _LIST_JOINERS:
            continue
        chosen[param.name] = f"{value}, {after.text}"
        claimed |= set(range(phrase.first, after.last + 1))


_QUALIFIER_PARAMS = frozenset({"country", "state", "region", "province", "countri"})


def _split_qualified(params: Sequence[Param], chosen: dict[str, Any]) -> None:
    """ "London, UK" for `city` beside an empty `country`: the city, and the country."""
    empty = [
        p
        for p in params
        if p.name not in chosen and p.type == "string" and p.name_terms & _QUALIFIER_PARAMS
    ]
    if not empty:
        return
    for param in params:
        value = chosen.get(param.name)
        if not isinstance(value, str) or ", " not in value or not param.is_a("place"):
            continue
        if param.name_terms & _QUALIFIER_PARAMS:
            continue
        place, _, qualifier = value.rpartition(", ")
        chosen[param.name] = place
        chosen[empty[0].name] = qualifier
        return


def _is_default(param: Param, key: str, value: Any) -> bool:  # Any: JSON
    """Whether `value` is the nested property's schema default (not found in the message)."""
    properties = (param.properties or {}).get("properties")
    schema = properties.get(key) if isinstance(properties, Mapping) else None
    return isinstance(schema, Mapping) and "default" in schema and schema["default"] == value


def _claims_of(scan: Scan, arguments: Mapping[str, Any]) -> set[int]:
    """The tokens of the message that the values of `arguments` were read from."""
    values = {str(v).casefold() for v in arguments.values() if not isinstance(v, Mapping)}
    return {i for i, t in enumerate(scan.tokens) if t.lower in values or t.text in values}


def coerce(param: Param, value: Any) -> Any:  # Any: JSON in, JSON out
    """`value` in the parameter's type when it converts cleanly ("7" → 7), else as given."""
    if param.type in ("integer", "number") and isinstance(value, str):
        try:
            number = float(value.replace(",", ""))
        except ValueError:
            return value
        if param.type == "integer" and number == int(number):
            return int(number)
        return number
    if param.type == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if param.type == "array" and not isinstance(value, list) and not _names_variable(param, value):
        return [value]
    return value


def answer_value(param: Param, answer: Scan) -> Any | None:  # Any: JSON
    """The value a short answer to "what is PARAM?" gives, or None."""
    schema = {"properties": {param.name: _schema_of(param)}, "required": [param.name]}
    filled = fill_arguments(schema, answer)
    if param.name in filled.arguments and param.type != "string":
        return filled.arguments[param.name]
    if param.type == "boolean":
        lowered = answer.text.strip().lower()
        if lowered.startswith(("yes", "true", "sure", "ok", "please do")):
            return True
        if lowered.startswith(("no", "false", "don't", "dont")):
            return False
        return None
    if param.type != "string" or param.enum:
        return filled.arguments.get(param.name)
    if answer.quoted:
        return answer.quoted[0].text
    text = _ANSWER_LEAD.sub("", answer.text.strip()).strip().strip(".!?").strip()
    return text or None


def _schema_of(param: Param) -> dict[str, Any]:  # Any: JSON Schema
    schema: dict[str, Any] = {"type": param.type, "description": param.description}
    if param.enum:
        schema["enum"] = list(param.enum)
    if param.item_type:
        schema["items"] = {"type": param.item_type}
    if param.format:
        schema["format"] = param.format
    return schema
