"""What the argument filler needs to know about each parameter of a JSON Schema object.

OpenAPI-converted schemas say "string or null" in two ways (`type: [string, "null"]` and
`anyOf`); both become `type="string", nullable=True` here, so the filler has one shape to read.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from powerstrip.runtime.offline.tokenize import identifier_words, stem, word_set, words

__all__ = ["Param", "params_of"]

_WEAK = word_set(
    """
    a an the of to in on at by for with from as is are be or and this that it its which number
    value values default optional parameter specified specify given if not none e g eg ie etc
    only these those must should can will used use when whether
    """
)


def _stems(text: str) -> frozenset[str]:
    return frozenset(stem(word) for word in text.split())


_PERSON = _stems(
    "name username user owner person author player artist customer employee student patient "
    "member contact recipient sender athlete actor director"
)
_ID = _stems("id ids key")
# Words that make `name` a person's still: `full_name`, `first_name`, `display_name`.
_NAME_PARTS = _stems("full first last given family nick display real sur middle legal")
_PLACE = _stems(
    "location city place country state region area destination origin address venue town site "
    "park county province"
)
_FREE_TEXT = _stems(
    "todo text content query message note title task description question prompt body comment "
    "keyword item subject topic phrase sentence search"
)
_COUNT = _stems("limit count top max size num")
_CURRENCY = _stems("currency currencies")
_YEAR = _stems("year season")
_START = _stems("start from begin since after min earliest")
_END = _stems("end to until till before max latest")
_QUOTED_OPTION = re.compile(r"'([^'\s][^']{0,40})'|\"([^\"\s][^\"]{0,40})\"")
_CODE_OPTION = re.compile(r"\b[A-Z][A-Z0-9]{1,5}\b")

_TYPE_NAMES = {
    "string",
    "integer",
    "number",
    "boolean",
    "array",
    "object",
}
# Type names of the languages tools are written in, as some schemas give them (BFCL's Java
# and JavaScript functions: `String`, `int`, `HashMap`, `ArrayList`; Python's `dict`,
# `float`, `tuple`): the JSON Schema type their values have.
_TYPE_ALIASES = {
    "str": "string",
    "char": "string",
    "character": "string",
    "int": "integer",
    "long": "integer",
    "short": "integer",
    "byte": "integer",
    "bigint": "integer",
    "float": "number",
    "double": "number",
    "decimal": "number",
    "bool": "boolean",
    "list": "array",
    "arraylist": "array",
    "linkedlist": "array",
    "tuple": "array",
    "set": "array",
    "hashset": "array",
    "dict": "object",
    "map": "object",
    "hashmap": "object",
    "treemap": "object",
    "linkedhashmap": "object",
}


def _type_name(declared: str) -> str | None:
    """The JSON Schema type a declared type name means, or None for none known ("any")."""
    lowered = declared.lower()
    if lowered in _TYPE_NAMES:
        return lowered
    return _TYPE_ALIASES.get(lowered.split("<", 1)[0].strip())


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter: its type, constraints, and the words that mention it."""

    name: str
    type: str
    item_type: str | None
    required: bool
    nullable: bool
    # Any: enum members and defaults are arbitrary JSON values.
    enum: tuple[Any, ...]
    default: Any
    has_default: bool
    format: str | None
    description: str
    minimum: float | None
    maximum: float | None
    name_terms: frozenset[str]
    description_terms: frozenset[str]
    options: tuple[str, ...]  # values the description lists: 'summary' or 'full', NYA, WS
    # The object's own schema when the parameter is an object with properties (nested
    # arguments are filled from it), else None.
    properties: Mapping[str, Any] | None = None
    # Short forms of the rates the description measures in: "mpg" for "miles per gallon",
    # "bpm" for "beats per minute".
    rate_units: frozenset[str] = frozenset()
    # Whether the schema declares the value a string literal (`string`, Java's `String`),
    # rather than leaving its type open (no type, "any") or naming another.
    literal: bool = False
    # Whether the type is a language's own (`Array`, `ArrayList`, `HashMap`), not JSON
    # Schema's: such a parameter can be given a variable's name instead of a value.
    foreign: bool = False

    # The kinds the parameter is (see `is_a`), found once when the schema is parsed: the
    # filler asks about them for every value it considers.
    kinds: frozenset[str] | None = None

    def is_a(self, kind: str) -> bool:
        """Whether the parameter is a person, place, free text, count, year, start, end or
        currency."""
        if self.kinds is not None:
            return kind in self.kinds
        return self._is_a(kind)

    def _is_a(self, kind: str) -> bool:
        vocabulary = {
            "person": _PERSON,
            "place": _PLACE,
            "free_text": _FREE_TEXT,
            "count": _COUNT,
            "year": _YEAR,
            "start": _START,
            "end": _END,
            "currency": _CURRENCY,
        }[kind]
        named = self.name_terms | {stem(word) for word in identifier_words(self.name)}
        if kind == "person" and named & _PERSON <= {"name"} and named - _PERSON - _ID - _NAME_PARTS:
            # `hotel_name`, `museum_name`, `recipeName`: the name of a thing, not a person.
            return False
        if named & vocabulary:
            return True
        # The description's first words say what a vaguely named parameter is ("The city ...").
        lead = {stem(w) for w in words(self.description)[:4]}
        return kind in ("person", "place", "free_text", "currency") and bool(lead & vocabulary)

    @property
    def about_person(self) -> bool:
        """Whether the description says the value is about a person ("Words of the player's
        name"), whatever the parameter is called (`search`, `q`)."""
        return self.is_a("person") or bool({stem(w) for w in words(self.description)[:4]} & _PERSON)

    @property
    def is_date(self) -> bool:
        if self.format in ("date", "date-time"):
            return True
        return self.type == "string" and bool(self.name_terms & {"date", "day", "dat"})


def _main_type(schema: Mapping[str, Any]) -> tuple[str, bool, Mapping[str, Any]]:
    """The non-null type, whether null is allowed, and the schema that has the details."""
    nullable = False
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list):
            concrete = [o for o in options if isinstance(o, Mapping) and o.get("type") != "null"]
            nullable = len(concrete) < len(options)
            if concrete:
                inner_type, inner_null, inner = _main_type(concrete[0])
                return inner_type, nullable or inner_null, {**schema, **inner}
    declared = schema.get("type")
    if isinstance(declared, list):
        nullable = "null" in declared
        concrete_types = [
            _type_name(t) for t in declared if isinstance(t, str) and _type_name(t) is not None
        ]
        declared = concrete_types[0] if concrete_types else None
    if isinstance(declared, str) and (known := _type_name(declared)) is not None:
        if known == "object" and declared not in _TYPE_NAMES and "properties" not in schema:
            # A `HashMap` with no properties says nothing of its keys: nothing could fill
            # it, so it is read as a value of no declared type, as "any" is.
            return "string", nullable, schema
        return known, nullable, schema
    if isinstance(schema.get("enum"), list):
        return "string", nullable, schema
    return "string", nullable, schema


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


# A code that qualifies a name in an example ("e.g. New York, NY", "Central Park, NY") is
# part of the example's format, not one of a list of codes ("WS, ALCS, NLCS").
_QUALIFIER = re.compile(r"[A-Z][a-z]+,\s+$")
# Nor is a code that starts a longer name ("e.g. UEFA Champions League").
_NAME_GOES_ON = re.compile(r"\s+[A-Z][a-z]")


def _options(description: str, name: str = "") -> tuple[str, ...]:
    quoted = [a or b for a, b in _QUOTED_OPTION.findall(description)]
    # "The ID of the form" for `formId`: a word of the parameter's own name is no code.
    own = {word.lower() for word in identifier_words(name)}
    codes = [
        m[0]
        for m in _CODE_OPTION.finditer(description)
        if not _QUALIFIER.search(description[: m.start()])
        and not _NAME_GOES_ON.match(description, m.end())
        and m[0].lower() not in own
    ]
    return tuple(dict.fromkeys([*quoted, *codes]))


_RATE = re.compile(r"\b([A-Za-z])[A-Za-z]*\s+(p)er\s+([A-Za-z])[A-Za-z]*", re.IGNORECASE)


def _rate_units(description: str) -> frozenset[str]:
    """ "in miles per gallon" → `mpg`, "beats per minute" → `bpm`: how a rate is written short."""
    return frozenset("".join(m.groups()).lower() for m in _RATE.finditer(description))


def _terms(text_words: list[str]) -> frozenset[str]:
    return frozenset(stem(w) for w in text_words if w not in _WEAK and w.isalpha())


# Parsed parameters of the schemas seen lately, by the schema object itself: a turn reads the
# same tool schemas many times (selection, filling, lookups), and so do the turns after it
# (the host hands over the same parsed tool set while the spec is unchanged). Each entry keeps
# its schema alive, so an id is never reused while it is a key; tool schemas are read-only.
_PARSED: OrderedDict[int, tuple[Mapping[str, Any], tuple[Param, ...]]] = OrderedDict()
_PARSED_SIZE = 1024


def params_of(schema: Mapping[str, Any]) -> list[Param]:
    """The top-level parameters of an object schema, in declaration order."""
    entry = _PARSED.get(id(schema))
    if entry is not None and entry[0] is schema:
        _PARSED.move_to_end(id(schema))
        return list(entry[1])
    parsed = _parse(schema)
    _PARSED[id(schema)] = (schema, tuple(parsed))
    if len(_PARSED) > _PARSED_SIZE:
        _PARSED.popitem(last=False)
    return parsed


def _parse(schema: Mapping[str, Any]) -> list[Param]:
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return []
    required_list = schema.get("required")
    required = set(required_list) if isinstance(required_list, list) else set()
    out: list[Param] = []
    for name, raw in properties.items():
        if not isinstance(raw, Mapping):
            raw = {}
        kind, nullable, details = _main_type(raw)
        items = details.get("items")
        item_type = _main_type(items)[0] if isinstance(items, Mapping) else None
        enum = details.get("enum")
        item_enum = items.get("enum") if isinstance(items, Mapping) else None
        members = (
            enum if isinstance(enum, list) else item_enum if isinstance(item_enum, list) else []
        )
        description = details.get("description")
        text = description if isinstance(description, str) else ""
        fmt = details.get("format")
        param = Param(
            name=str(name),
            type=kind,
            item_type=item_type,
            required=name in required,
            nullable=nullable,
            enum=tuple(m for m in members if m is not None),
            default=details.get("default"),
            has_default="default" in details,
            format=fmt if isinstance(fmt, str) else None,
            description=text,
            minimum=_number(details.get("minimum")),
            maximum=_number(details.get("maximum")),
            name_terms=_terms(identifier_words(str(name))),
            description_terms=_terms(words(text)[:16]),
            options=_options(text, str(name)),
            properties=details
            if kind == "object" and isinstance(details.get("properties"), Mapping)
            else None,
            rate_units=_rate_units(text),
            literal=isinstance(raw.get("type"), str)
            and _type_name(str(raw.get("type"))) == "string",
            foreign=isinstance(raw.get("type"), str) and raw.get("type") not in _TYPE_NAMES,
        )
        kinds = frozenset(kind for kind in _KINDS if param.is_a(kind))
        out.append(replace(param, kinds=kinds))
    return out


_KINDS = ("person", "place", "free_text", "count", "year", "start", "end", "currency")
