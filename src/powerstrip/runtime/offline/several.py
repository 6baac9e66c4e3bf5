"""Several calls for one message: the requests a message makes, and the values it lists.

Two shapes of message ask for more than one call:

- a *list of values* for one scalar parameter: "the factorial of 5, 10 and 15", "the weather
  in Tokyo and London", "for 10, 20 and 30 years". Each value is one call; the other
  arguments are shared. Two parameters listing as many values each are read in step
  ("3 and 4, 5 and 12" for `a` and `b`). A parameter that takes an array takes the whole list
  in one call instead, which the argument filler already does.
- *clauses* that each make a request: "Find X. Also find Y", "book a flight ... and book a
  hotel ...", "then repeat with a change in time of 10 seconds". A clause is its own call only
  when it selects an operation and gives it values of its own; a clause that only adds a
  detail ("The id is 42.") belongs to the request before it.

This module reads the text; the router decides with what each part selects and fills.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from powerstrip.runtime.offline.params import Param
from powerstrip.runtime.offline.scan import Scan, bracketed_lists
from powerstrip.runtime.offline.tokenize import identifier_words, is_function_word, stem, word_set

__all__ = [
    "MAX_CALLS",
    "blank_opening",
    "clause_spans",
    "enumerated_spans",
    "value_sets",
    "without_enumerator",
]

# More calls than this from one message is a misreading, not a request.
MAX_CALLS = 8
_JOINERS = frozenset({",", "and", "&"})
_AND = frozenset({"and", "&"})
_CURRENCY = frozenset("$€£¥")
# Words that start a new request after "and" or a comma: "and book a hotel", ", then find".
_REQUEST_VERBS = word_set(
    """
    find get calculate compute determine show list give tell fetch retrieve book buy order
    search look check predict estimate convert make create add delete remove play send
    schedule reserve invest withdraw generate provide identify suggest recommend analyze
    analyse plot evaluate count sort measure compare display return perform solve locate
    how what which who where when
    """
)
# Words that open another noun phrase after "and": "and the LCM of ...".
_DETERMINERS = frozenset({"the", "a", "an", "his", "her", "its", "their"})
# "Also", "then" and the like open a request of their own wherever they stand; "and" only
# before a request verb.
_OPENERS = re.compile(
    r"(?:[,;]\s*|\s)(?:and\s+)?(?:also|additionally|then|afterwards|after\s+that|as\s+well\s+as)"
    r"\b,?",
    re.IGNORECASE,
)
_AND_VERB = re.compile(r"(?:,\s*|\s)(?:and\s+|&\s+)?(?=([A-Za-z]+)\b)", re.IGNORECASE)
# A sentence ends at . ? ! or ; before the next one starts (not in "5.5", "Inc. shares").
_SENTENCE_END = re.compile(r"(?<=[?!;])\s+|(?<=[a-z0-9)\]%\"'])\.\s+(?=[A-Z\"'])")
# Two lists matched item by item: "20 and 15 minutes respectively", "in that order".
_RESPECTIVELY = re.compile(r"\b(?:respectively|in\s+that\s+order|correspondingly)\b", re.I)
_QUOTED = re.compile(r"\"[^\"\n]*\"|“[^”\n]*”|(?<!\w)'[^'\n]*'(?!\w)")


def clause_spans(text: str, names: frozenset[str] = frozenset()) -> list[tuple[int, int]]:
    """Where the requests of `text` start and end: sentences, and the parts after "also",
    "then" or "and <verb>" (never inside quotes), and after "and the <word of `names`>":
    "the GCD of 96 and 128, and the LCM of 15 and 25", when the LCM names an operation that
    not every operation's name has."""
    quoted = [(m.start(), m.end()) for m in _QUOTED.finditer(text)]

    def free(at: int) -> bool:
        return not any(start < at < end for start, end in quoted)

    cuts = {m.end() for m in _SENTENCE_END.finditer(text) if free(m.start())}
    cuts |= {m.start() for m in _OPENERS.finditer(text) if free(m.start()) and m.start() > 0}
    for match in _AND_VERB.finditer(text):
        joined = match.group(0).strip(" ,")
        if not joined or not free(match.start()):
            continue
        word = match.group(1).lower()
        if word in _REQUEST_VERBS and (joined.startswith(("and", "&")) or "," in match.group(0)):
            cuts.add(match.start())
        elif names and word in _DETERMINERS and joined.startswith(("and", "&")):
            following = re.findall(r"[A-Za-z]+", text[match.end() : match.end() + 60])[1:7]
            if any(stem(w.lower()) in names for w in following):
                cuts.add(match.start())
    spans: list[tuple[int, int]] = []
    start = 0
    for cut in sorted(cuts):
        if cut - start >= 3:
            spans.append((start, cut))
            start = cut
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip(" ,.;")]


# A sentence that describes the next of several things: "The second car starts ...", "In
# the third round, ...", "Lastly, the fourth one was ...".
_ENUMERATED = re.compile(
    r"^\W*(?:(?:in|for|on|at|with|and)\s+)?(?:the\s+)?"
    r"(?:first|second|third|fourth|fifth|sixth|1st|2nd|3rd|4th|5th|6th|last|final"
    r"|firstly|secondly|thirdly|lastly|finally)\b",
    re.IGNORECASE,
)


# Where a sentence of an enumeration may start: after a sentence, or after a colon that
# introduces the items ("with the following characteristics: The first person ...").
_ITEM_START = re.compile(rf"{_SENTENCE_END.pattern}|(?<=:)\s+(?=[A-Z])")


def enumerated_spans(text: str) -> list[tuple[int, int]]:
    """The sentences of `text` that each describe one of several things in turn ("The
    first object is dropped at 0 m/s. The second object ... at 5 m/s."): two or more, or
    none. Each is one call's values. The enumeration runs from its first such sentence to
    its last, so a sentence between them ("Then, you train another one with ...") is an
    item too."""
    starts = [0, *(m.end() for m in _ITEM_START.finditer(text))]
    sentences = [(a, b) for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]
    marked = [i for i, (a, b) in enumerate(sentences) if _ENUMERATED.match(text[a:b])]
    if len(marked) < 2:
        return []
    return sentences[marked[0] : marked[-1] + 1]


def without_enumerator(part: str) -> str:
    """The sentence with the words that number it blanked out ("First, you train ..."): a
    capitalised ordinal is no name to fill an argument with."""
    return blank_opening(_ENUMERATED, part)


def blank_opening(opening: re.Pattern[str], part: str) -> str:
    """`part` with what `opening` matches at its start blanked out: the words keep their
    places (the scan's offsets), and the opener is read as no value."""
    found = opening.match(part)
    if found is None:
        return part
    return " " * found.end() + part[found.end() :]


# -- lists of values -------------------------------------------------------------------------


_Item = tuple[int, int, Any]  # first token, last token, value


def _runs(
    scan: Scan, items: Sequence[_Item], *, units: bool = False, pairs: bool = False
) -> list[list[_Item]]:
    """The items written as a list: "A, B and C", each run of two or more.

    Only "and" (or "&") makes a list; "A or B" offers a choice, "A, B" is one thing
    ("Seattle, Washington"). "Chicago, IL, and Boston, MA" lists two places of two words.
    """
    runs: list[list[_Item]] = []
    joins: list[list[bool]] = []
    for item in items:
        if runs:
            last = runs[-1][-1][1]
            unit = scan.tokens[last + 1].lower if units and last + 1 < len(scan.tokens) else ""
            unit = unit if unit.isalpha() and unit not in _JOINERS else ""
            between = [scan.tokens[k] for k in range(last + 1, item[0])]
            if (
                between
                and all(
                    t.lower in _JOINERS
                    or t.text in _CURRENCY
                    or t.text in "'\""
                    or t.lower == unit
                    or (units and t.text in "()")
                    for t in between
                )
                and any(t.lower in _JOINERS for t in between)
            ) or _repeats_lead(scan, runs[-1][0][0], between):
                runs[-1].append(item)
                joins[-1].append(any(t.lower in _AND for t in between))
                continue
        runs.append([item])
        joins.append([])
    out: list[list[_Item]] = []
    for run, joined in zip(runs, joins, strict=True):
        if len(run) < 2:
            continue
        if joined[-1]:
            out.append(run)
        elif pairs and len(run) % 2 == 0 and all(j == (i % 2 == 1) for i, j in enumerate(joined)):
            if units:
                # "(45, 60) and (81, 27)": pairs of numbers, read in step by two parameters.
                out.append(run)
                continue
            paired = [
                (a[0], b[1], f"{a[2]}, {b[2]}") for a, b in zip(run[::2], run[1::2], strict=True)
            ]
            out.append(paired)
    return out


def _repeats_lead(scan: Scan, first: int, between: Sequence[Any]) -> bool:
    """Whether the words between two items are "and" and the words that lead the first one:
    "the number 4567 and the number 7890", "for 5 years and for 10 years"."""
    words = [t.lower for t in between]
    if not words or words[0] not in _AND:
        return False
    lead = words[1:]
    if not lead or len(lead) > 3 or first < len(lead):
        return False
    before = [scan.tokens[k].lower for k in range(first - len(lead), first)]
    return before == lead and any(w.isalpha() and not is_function_word(w) for w in lead)


def _after_plural(scan: Scan, first: int, param: Param) -> bool:
    """Whether a list follows a plural noun other than the parameter's own: "the keys 'a'
    and 'b'", "directories '/usr' and '/opt'" are the members of one thing, while "seasons
    2017, 2018 and 2019" for `season` are one value each."""
    k = first - 1
    while k >= 0 and scan.tokens[k].text in ":'\"":
        k -= 1
    if k < 0:
        return False
    word = scan.tokens[k].text
    return (
        word.isalpha()
        and not is_function_word(word)
        and (len(word) > 3 or word[:-1].isupper())
        and _plural_word(word)
        and (stem(word.lower()) not in _name_stems(param.name) or _is_plural(param.name))
    )


def _name_stems(name: str) -> frozenset[str]:
    """The stems of every word of a parameter's name, generic ones included: the `number`
    of "the numbers 45, 100 and 150" is the parameter's own plural."""
    return frozenset(stem(word.lower()) for word in identifier_words(name))


def _is_plural(name: str) -> bool:
    """Whether a parameter's name ends in a plural: `ids`, `user_names`, `otherDependents`."""
    words = identifier_words(name)
    return bool(words) and _plural_word(words[-1])


def _plural_word(word: str) -> bool:
    return len(word) > 2 and word.endswith("s") and not word.endswith(("ss", "us", "is"))


def _number_runs(scan: Scan) -> list[list[_Item]]:
    # The numbers of a list in brackets are one value together ("[3, 2]" is a point), never
    # a list of scalars.
    inside = [m.span() for m in re.finditer(r"\[[^\[\]]*\]", scan.text)]
    items = [
        (n.index, n.index, n.value)
        for n in scan.numbers
        if not any(a < scan.tokens[n.index].start < b for a, b in inside)
    ]
    return _runs(scan, items, units=True, pairs=True)


def _phrase_runs(scan: Scan) -> list[list[_Item]]:
    phrases = sorted([*scan.names, *scan.quoted], key=lambda p: p.first)
    return _runs(scan, [(p.first, p.last, p.text) for p in phrases], pairs=True)


def _word_runs(scan: Scan, param: Param, names: frozenset[str]) -> list[list[_Item]]:
    """Plain words listed: "copper and aluminum"; members of the parameter's enum, or words
    that end the clause and name no parameter ("heights and widths" are not values)."""

    def plain(k: int) -> bool:
        text = scan.tokens[k].text
        return text.isalpha() and text.islower() and not is_function_word(text)

    items = [
        (k, k, scan.tokens[k].text)
        for k in range(len(scan.tokens))
        if plain(k)
        and not (k + 1 < len(scan.tokens) and plain(k + 1))
        and not (k > 0 and plain(k - 1))
    ]
    out = []
    for run in _runs(scan, items):
        words = [w for _, _, w in run]
        if param.enum:
            if all(w in param.enum for w in words):
                out.append(run)
            continue
        end = run[-1][1] + 1
        if end < len(scan.tokens) and scan.tokens[end].text not in ".?!;,":
            continue
        if any(stem(w.lower()) in names for w in words):
            continue
        out.append(run)
    return out


def _alternatives(
    param: Param, value: Any, scan: Scan, names: frozenset[str], arrays: list[Any]
) -> list[Any] | None:  # Any: JSON
    """The values listed with `value` for `param`, or None: one value per call."""
    if isinstance(value, bool) or param.type in ("array", "object", "boolean"):
        return None
    if _is_plural(param.name):
        return None  # `ids`, `values`: a list of them is one value, however it is typed
    if isinstance(value, int | float):
        for run in _number_runs(scan):
            if _after_plural(scan, run[0][0], param):
                continue
            hits = [v for _, _, v in run if _same_number(v, value)]
            if hits:
                # "5%" read as 0.05: every value of the list is read the same way.
                scale = value / hits[0] if hits[0] else 1.0
                return [_as_type(param, v * scale) for _, _, v in run]
        return None
    if not isinstance(value, str) or not value:
        return None
    head = value.split(", ")[0]
    for run in [*_phrase_runs(scan), *_word_runs(scan, param, names)]:
        if _after_plural(scan, run[0][0], param):
            continue
        texts = [str(text) for _, _, text in run]
        if value in texts or head in texts or head in [t.split(", ")[0] for t in texts]:
            # A list an array parameter took part of is that parameter's.
            if any(text in arrays for text in texts):
                return None
            return texts
    return None


def _bracketed_lists(text: str) -> list[list[Any]]:  # Any: JSON items
    """The lists written in brackets at the top level of `text`, items read as JSON where
    they are JSON (numbers) and as text otherwise; the rows of a matrix are not lists of
    their own."""
    out: list[list[Any]] = []
    for match, items in bracketed_lists(text):
        before = text[: match.start()]
        if before.count("[") > before.count("]"):
            continue  # a row of "[[1, 2], [3, 4]]"
        out.append(items)
    return out


def _same_kind(a: list[Any], b: list[Any]) -> bool:  # Any: JSON items
    """Whether two lists hold items of one kind: numbers, or text."""

    def numeric(items: list[Any]) -> bool:
        return all(isinstance(i, int | float) and not isinstance(i, bool) for i in items)

    return numeric(a) == numeric(b)


def _list_alternatives(
    param: Param, value: Any, params: Sequence[Param], arguments: Mapping[str, Any], text: str
) -> list[Any] | None:  # Any: JSON
    """The lists written in brackets beside the one an array parameter took, or None: "the
    first set is [1, 2, 3] and the second set is [4, 5, 6]" is one call per set. Lists of
    another kind are another parameter's; an array parameter left empty could be the one a
    second list is for, so then nothing is listed."""
    if param.type != "array" or not isinstance(value, list):
        return None
    if any(p.type == "array" and p.name not in arguments for p in params):
        return None
    written = [items for items in _bracketed_lists(text) if _same_kind(items, value)]
    if len(written) < 2 or value not in written:
        return None
    return written


def _same_number(a: float, b: float) -> bool:
    return abs(a - b) < 1e-9 or (b != 0 and abs(a * 100 - b) < 1e-9) or abs(a - b * 100) < 1e-9


def _as_type(param: Param, number: float) -> Any:  # Any: JSON number
    number = round(number, 10)
    if param.type == "integer" and number == int(number):
        return int(number)
    return number


def value_sets(
    params: Sequence[Param], arguments: Mapping[str, Any], scan: Scan
) -> list[dict[str, Any]]:
    """The argument sets `arguments` stands for: one per value listed for a scalar parameter.

    Parameters listing as many values each go in step; a single list is spread over the
    parameters that took its leading values ("3 and 4, 5 and 12" for `a` and `b`). Returns
    `[arguments]` when nothing is listed.
    """
    lists: dict[str, list[Any]] = {}
    param_terms = frozenset(t for p in params for t in p.name_terms)
    arrays = [
        item
        for p in params
        if p.type == "array" and isinstance(arguments.get(p.name), list)
        for item in arguments[p.name]
    ]
    for param in params:
        if param.name not in arguments:
            continue
        value = arguments[param.name]
        found = _list_alternatives(param, value, params, arguments, scan.text)
        if found is None:
            found = _alternatives(param, value, scan, param_terms, arrays)
        if found is not None:
            lists[param.name] = found
    if not lists:
        return [dict(arguments)]
    # The same list read by several parameters: they took its leading values in turn.
    groups: dict[str, list[str]] = {}
    listed_as: dict[str, list[Any]] = {}
    for name, values in lists.items():
        key = json.dumps(values, sort_keys=True, default=str)
        groups.setdefault(key, []).append(name)
        listed_as[key] = values
    columns: dict[str, list[Any]] = {}
    # Parameters that read one list go in step; lists of their own combine (below).
    bundles: list[list[str]] = []
    for key, readers in groups.items():
        values = listed_as[key]
        width = len(readers)
        if width == 1:
            columns[readers[0]] = values
            bundles.append([readers[0]])
            continue
        # Ordered as the list has them: each parameter takes every width-th value.
        ordered = sorted(readers, key=lambda n: _position(values, arguments[n]) or 0)
        positions = [_position(values, arguments[n]) for n in ordered]
        start = positions[0]
        if start is None or len(values) % width or start % width:
            continue
        if positions != list(range(start, start + width)):
            continue
        for offset, name in enumerate(ordered):
            columns[name] = values[offset::width]
        bundles.append(ordered)
    columns = {name: values for name, values in columns.items() if len(values) >= 2}
    bundles = [[n for n in bundle if n in columns] for bundle in bundles]
    bundles = [bundle for bundle in bundles if bundle]
    if not columns:
        return [dict(arguments)]
    lengths = {len(values) for values in columns.values()}
    rows: list[dict[str, Any]]
    if len(lengths) == 1 and (len(bundles) == 1 or _RESPECTIVELY.search(scan.text)):
        # "Taylor Swift and Maroon 5 ... 20 and 15 minutes respectively": in step.
        spread = list(columns)
        rows = [
            dict(zip(spread, row, strict=True))
            for row in zip(*(columns[n] for n in spread), strict=True)
        ]
    else:
        # "the Lakers and the Bulls in seasons 2018 and 2020": every combination.
        per_bundle = [
            [
                dict(zip(bundle, row, strict=True))
                for row in zip(*(columns[n] for n in bundle), strict=False)
            ]
            for bundle in bundles
        ]
        rows = [
            {k: v for part in combination for k, v in part.items()}
            for combination in itertools.product(*per_bundle)
        ]
    if len(rows) > MAX_CALLS:
        return [dict(arguments)]
    return [{**arguments, **row} for row in rows]


def _position(values: list[Any], value: Any) -> int | None:  # Any: JSON
    for index, item in enumerate(values):
        if item == value or (
            isinstance(item, int | float)
            and isinstance(value, int | float)
            and not isinstance(value, bool)
            and _same_number(item, value)
        ):
            return index
    return None


# -- repeated frames -------------------------------------------------------------------------

# Words between the parts of a message that each may give one call's values: "stage 7 in easy
# mode and stage 3 in hard mode", "for a person who is 6 feet tall, also for a person ...".
_SEGMENT_BREAKS = frozenset({",", ";", "and", "&", "also", "then", "another", "plus", "."})


def segment_spans(scan: Scan) -> list[tuple[int, int]]:
    """Where the parts of a request start and end (character offsets into `scan.text`): cut
    at commas, "and", "also", "another" and the like, never inside a name or a quoted
    string, nor between a place and its qualifier ("Chicago, Illinois")."""
    inside: set[int] = set()
    for phrase in (*scan.names, *scan.quoted):
        inside.update(range(phrase.first, phrase.last + 1))
    name_ends = {p.last for p in scan.names}
    name_starts = {p.first for p in scan.names}
    cuts: list[int] = []
    for index, token in enumerate(scan.tokens):
        if token.lower not in _SEGMENT_BREAKS or index in inside:
            continue
        if token.text == "," and index - 1 in name_ends and index + 1 in name_starts:
            continue
        if token.text == "." and (
            index + 1 >= len(scan.tokens) or token.end == scan.tokens[index + 1].start
        ):
            continue
        cuts.append(index)
    spans: list[tuple[int, int]] = []
    start = 0
    for cut in cuts:
        end = scan.tokens[cut].start
        if scan.text[start:end].strip():
            spans.append((start, end))
        start = scan.tokens[cut].end
    if scan.text[start:].strip():
        spans.append((start, len(scan.text)))
    return spans


def value_context(scan: Scan, value: Any) -> frozenset[str]:  # Any: JSON
    """The words on either side of where `value` is written: "<of", ">mode". Two parts say
    the same thing with other values when a value of each stands between the same words."""
    text = scan.text
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        return frozenset()
    if isinstance(value, int | float):
        spots = [(n.index, n.index) for n in scan.numbers if _same_number(n.value, value)]
    else:
        at = text.find(str(value))
        if at < 0:
            return frozenset()
        spots = [(scan.token_at(at), scan.token_at(at + len(str(value)) - 1))]
    out: set[str] = set()
    for first, last in spots:
        k = first - 1
        while k >= 0 and scan.tokens[k].text in "'\"$":
            k -= 1
        if k >= 0 and scan.tokens[k].lower not in _SEGMENT_BREAKS:
            out.add("<" + stem(scan.tokens[k].lower))
        k = last + 1
        while k < len(scan.tokens) and scan.tokens[k].text in "'\"%":
            k += 1
        if k < len(scan.tokens) and scan.tokens[k].lower not in _SEGMENT_BREAKS:
            out.add(">" + stem(scan.tokens[k].lower))
    return frozenset(out)
