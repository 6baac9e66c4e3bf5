"""Say in plain words what one error of the OpenAPI reference validator means, and how to fix it.

The reference validator checks the document against the OpenAPI JSON Schema, so its raw messages
dump whole objects ("{...} is not valid under any of the given schemas"). Here each error is
narrowed to the deepest cause (the `oneOf` branch the author meant) and rewritten as one short
sentence about one field, with the repair the host applies when it reads past the mistake.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Literal

from jsonschema.exceptions import ValidationError

from powerstrip.check.spec_tree import JsonPath
from powerstrip.findings import quote_value
from powerstrip.openapi import JSON_TYPES, TYPE_ALIASES

__all__ = ["Issue", "IssueKind", "explain", "first_line", "leaves", "object_kind"]

IssueKind = Literal[
    "missing", "unknown", "wrong-type", "bad-value", "type-name", "ref", "other", "stopped"
]

_JSON_TYPES = JSON_TYPES
# What the host reads a misspelt type name as: the converter's own reading.
_TYPE_READINGS = {**{name: name for name in JSON_TYPES}, **TYPE_ALIASES}
_OBJECT_LEVEL = frozenset({"required", "additionalProperties", "unevaluatedProperties", "not"})
_UNEXPECTED = re.compile(r"\((.*) (?:was|were) unexpected\)")
_QUOTED = re.compile(r"'([^']*)'")


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem the reference validator found, explained.

    `what` names the kind of problem without its place, so repeats can be grouped; `detail` is
    the sentence for this one place.
    """

    kind: IssueKind
    path: JsonPath
    what: str
    detail: str
    fix: str
    value: object = None


def first_line(text: str) -> str:
    """The first line of a validator message (the rest repeats the schema and the instance)."""
    return text.strip().splitlines()[0] if text.strip() else text


_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
# The object a path's last parts name: `(..., "responses", "200")` is a response object.
_KIND_BY_PARENT = {
    "responses": "response",
    "content": "media type",
    "parameters": "parameter",
    "headers": "header",
    "properties": "schema",
    "schemas": "schema",
    "securitySchemes": "security scheme",
    "servers": "server",
    "examples": "example",
    "requestBodies": "request body",
    "tags": "tag",
    "variables": "server variable",
}
_KIND_BY_KEY = {
    "schema": "schema",
    "items": "schema",
    "additionalProperties": "schema",
    "not": "schema",
    "requestBody": "request body",
    "info": "info",
    "contact": "contact",
    "license": "license",
    "components": "components",
    "paths": "paths",
    "externalDocs": "external documentation",
}


def object_kind(path: JsonPath) -> str:
    """The OpenAPI object at a JSON path, in words: `response object`, `schema object`."""
    if not path:
        return "OpenAPI document"
    *parents, last = path
    parent = parents[-1] if parents else None
    if parent in ("allOf", "anyOf", "oneOf"):
        kind = "schema"
    elif parent == "paths" and len(parents) == 1:
        kind = "path item"
    elif len(parents) == 2 and parents[0] == "paths" and str(last) in _METHODS:
        kind = "operation"
    elif isinstance(parent, str) and parent in _KIND_BY_PARENT:
        kind = _KIND_BY_PARENT[parent]
    else:
        kind = _KIND_BY_KEY.get(str(last), "")
    return f"{kind} object" if kind else f"`{last}` object"


def _field(path: JsonPath) -> str:
    return str(path[-1]) if path else "the document"


def _json(value: object) -> str:
    if value is True or value is False:
        return str(value).lower()
    if value is None:
        return "null"
    return repr(quote_value(value, 60)) if isinstance(value, str) else quote_value(value, 60)


def _branch_cost(errors: list[ValidationError]) -> tuple[int, int, int]:
    """How unlikely it is that the author meant this `oneOf`/`anyOf` branch (lower: meant)."""
    wrong = 0
    for error in errors:
        if error.validator == "required" and "'$ref'" in error.message:
            wrong = 1  # the `Reference` branch, on an object that has no `$ref`
        if error.validator == "type" and not error.relative_path:
            wrong = 1  # the branch wants another JSON type altogether
    depth = max((len(e.relative_path) for e in errors), default=0)
    return wrong, len(errors), -depth


def _discriminator(branches: list[list[ValidationError]]) -> ValidationError | None:
    """One `enum` error with every branch's values, when all branches refuse the same field.

    OpenAPI 3.0 picks a parameter's branch by `in`: `in: body` fails each branch on `in`, and
    the useful message lists the values of all of them, not those of one branch.
    """
    fields: list[ValidationError] = []
    for errors in branches:
        found = [e for e in errors if e.validator in ("enum", "const") and e.relative_path]
        if not found:
            return None
        fields.append(found[0])
    if len({tuple(e.absolute_path) for e in fields}) != 1:
        return None
    allowed: list[object] = []
    for e in fields:
        raw = e.validator_value
        for value in raw if e.validator == "enum" and isinstance(raw, list) else [raw]:
            if value not in allowed:
                allowed.append(value)
    first = fields[0]
    return ValidationError(
        f"{first.instance!r} is not one of {allowed!r}",
        validator="enum",
        validator_value=allowed,
        instance=first.instance,
        path=first.absolute_path,
        schema_path=first.absolute_schema_path,
    )


def leaves(error: ValidationError) -> list[ValidationError]:
    """The errors that explain `error`: itself, or the causes inside the branch meant."""
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        return [error]
    branches: dict[object, list[ValidationError]] = defaultdict(list)
    for sub in error.context:
        branches[sub.relative_schema_path[0] if sub.relative_schema_path else 0].append(sub)
    merged = _discriminator(list(branches.values())) if len(branches) > 1 else None
    if merged is not None:
        return [merged]
    meant = min(branches.values(), key=_branch_cost)
    return [leaf for sub in meant for leaf in leaves(sub)]


def _unexpected_keys(error: ValidationError) -> list[str]:
    """The keys an `additionalProperties: false` (or `unevaluatedProperties`) error is about."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance if isinstance(error.instance, dict) else {}
    if error.validator == "additionalProperties":
        known = schema.get("properties", {})
        patterns = list(schema.get("patternProperties", {}))
        return [
            str(k)
            for k in instance
            if k not in known and not any(re.search(p, str(k)) for p in patterns)
        ]
    match = _UNEXPECTED.search(error.message)
    return _QUOTED.findall(match[1]) if match else []


def _type_name(path: JsonPath, value: object) -> Issue:
    names = value if isinstance(value, list) else [value]
    bad = [n for n in names if not (isinstance(n, str) and n in _JSON_TYPES)]
    shown = _json(bad[0] if len(bad) == 1 else value)
    readings = [_TYPE_READINGS.get(n.lower()) if isinstance(n, str) else None for n in bad]
    if readings and all(readings):
        repair = f"the host reads it as {', '.join(repr(r) for r in readings)}"
        fix = f"write `type: {readings[0]}`"
    else:
        repair = "the host ignores it, so any value is accepted"
        fix = f"use one of {', '.join(_JSON_TYPES[:-1])}"
    if isinstance(value, list):
        fix += " (a list of types needs OpenAPI 3.1; in 3.0 use one type and `nullable: true`)"
    return Issue(
        "type-name",
        path,
        "a schema's `type` is not a JSON Schema type name",
        f"`type: {shown}` is not a JSON Schema type name; {repair}",
        fix,
        value,
    )


def _required_flag(path: JsonPath, value: object) -> Issue:
    repair = (
        "the host reads it as listing the property in its parent's `required`"
        if value is True
        else "the host ignores it"
    )
    return Issue(
        "wrong-type",
        path,
        "a schema's `required` is a boolean instead of a list of property names",
        f"`required: {_json(value)}` in a schema must be a list of property names; {repair}",
        "remove it and list the required property names in the parent schema: "
        "`required: [name, ...]`",
        value,
    )


def _from_leaf(error: ValidationError, base: JsonPath) -> Issue:
    path: JsonPath = (*base, *error.absolute_path)
    validator = error.validator
    value: Any = error.instance
    field = _field(path)
    # A missing or unknown key is about the object itself; a bad value about its parent object.
    kind_of = object_kind(path if validator in _OBJECT_LEVEL else path[:-1])
    a_kind = f"{'an' if kind_of[:1] in ('a', 'e', 'i', 'o', 'O') else 'a'} {kind_of}"
    if validator == "required":
        wanted = error.validator_value if isinstance(error.validator_value, list) else []
        have = value if isinstance(value, dict) else {}
        missing = [str(k) for k in wanted if k not in have] or _QUOTED.findall(error.message)
        name = missing[0] if missing else "a field"
        fix = (
            f"add `{name}: ...` (a short sentence, e.g. `{name}: OK`)"
            if name == "description"
            else f"add `{name}` to it"
        )
        return Issue(
            "missing",
            path,
            f"{a_kind} has no `{name}`, which OpenAPI requires",
            f"this {kind_of} has no `{name}`, which OpenAPI requires",
            fix,
        )
    if validator in ("additionalProperties", "unevaluatedProperties"):
        keys = _unexpected_keys(error)
        shown = ", ".join(f"`{k}`" for k in keys) or "a key"
        first = keys[0] if keys else "name"
        return Issue(
            "unknown",
            path,
            f"{a_kind} has a key OpenAPI does not define there",
            f"{shown} {'is' if len(keys) < 2 else 'are'} not defined for {a_kind}; "
            "the reference validator refuses it",
            f"remove it, move it where OpenAPI defines it, or rename it `x-{first}` to keep it "
            "as an extension",
            ", ".join(keys) or None,
        )
    excluded = error.validator_value if validator == "not" else None
    if isinstance(excluded, dict) and list(excluded) == ["required"]:
        both = " and ".join(f"`{k}`" for k in excluded["required"])
        return Issue(
            "other",
            path,
            f"{a_kind} has keys that exclude each other",
            f"this {kind_of} has both {both}; OpenAPI allows only one of them",
            "keep one of them",
        )
    if field == "type" and validator in ("enum", "type", "anyOf", "oneOf"):
        return _type_name(path, value)
    if validator == "type":
        if field == "required" and isinstance(value, bool):
            return _required_flag(path, value)
        expected = error.validator_value
        want = " or ".join(map(str, expected)) if isinstance(expected, list) else str(expected)
        article = "an" if want[:1] in ("a", "e", "i", "o") else "a"
        return Issue(
            "wrong-type",
            path,
            f"a field has the wrong JSON type for {a_kind}",
            f"`{field}` is {_json(value)}, but OpenAPI wants {article} {want} here",
            f"write `{field}` as {want}" + (", or remove it" if value is None else ""),
            value,
        )
    if validator in ("enum", "const"):
        raw = error.validator_value
        allowed = list(raw) if validator == "enum" and isinstance(raw, list) else [raw]
        options = ", ".join(_json(a) for a in allowed)
        return Issue(
            "bad-value",
            path,
            f"`{field}` has a value OpenAPI does not allow",
            f"`{field}` is {_json(value)}; OpenAPI allows {options}",
            f"use one of {options}",
            value,
        )
    if validator in ("pattern", "format", "propertyNames", "minItems", "minLength", "uniqueItems"):
        return Issue(
            "bad-value",
            path,
            f"`{field}` has a value OpenAPI does not allow ({validator})",
            f"`{field}`: {first_line(error.message)}",
            f"correct `{field}` as the {kind_of} requires",
            value,
        )
    return Issue(
        "other",
        path,
        f"{a_kind} breaks the OpenAPI schema ({validator})",
        f"this {kind_of} breaks the OpenAPI schema: {quote_value(first_line(error.message), 160)}",
        f"correct it as the OpenAPI specification describes the {kind_of}",
        None,
    )


def explain(error: ValidationError, base: JsonPath = ()) -> list[Issue]:
    """The issues behind one validator error, deepest cause first.

    `base` is where the validated object sits when the error only knows paths inside it.
    """
    return [_from_leaf(leaf, base) for leaf in leaves(error)]
