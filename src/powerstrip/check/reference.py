"""Run the OpenAPI reference validator (`openapi-spec-validator`) on a spec; report in findings.

The host reads specs leniently (spec §5), so a plugin can convert and still be refused by every
other OpenAPI tool. `check` runs the reference validator on the document as its author wrote it
and turns each complaint into a PS33x finding: one field, its location, plain words, one fix.

The reference validator works in two stages: the document against the OpenAPI JSON Schema, then
per-object rules (schemas against their dialect, unique operationIds, path parameters, defaults).
The first stage runs on its fast backend; only when it fails is it run again on `jsonschema`,
whose errors keep the `oneOf` branches needed to name the real cause. Dangling local `$ref`s are
found here first, because the second stage stops at the first one it meets.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator
from openapi_spec_validator.schemas import schema_v30, schema_v31
from openapi_spec_validator.validation.exceptions import (
    DuplicateOperationIDError,
    ExtraParametersError,
    ParameterDuplicateError,
    UnresolvableParameterError,
)
from openapi_spec_validator.validation.validators import SpecValidator

from powerstrip.check.reference_explain import Issue, IssueKind, explain, first_line
from powerstrip.check.spec_tree import (
    JsonPath,
    RequestReach,
    iter_nodes,
    iter_refs,
    pointer_path,
    resolve_pointer,
    spec_location,
)
from powerstrip.findings import RULES, Finding, Severity, quote_value
from powerstrip.openapi import LoadedSpec

__all__ = ["GROUP_AT", "REFERENCE_CODES", "drop_covered", "reference_findings"]

# Each kind of problem has a warning code, and an error code when it sits in a request part.
_CODES: dict[IssueKind, tuple[str, str | None]] = {
    "other": ("PS330", None),
    "missing": ("PS331", None),
    "unknown": ("PS332", None),
    "wrong-type": ("PS333", None),
    "bad-value": ("PS334", None),
    "type-name": ("PS335", "PS336"),
    "ref": ("PS337", "PS338"),
    "stopped": ("PS339", None),
}
REFERENCE_CODES = frozenset(c for pair in _CODES.values() for c in pair if c is not None)

# Repeats of one kind of problem become one finding from this many on; it names this many places.
GROUP_AT = 3
_SHOWN = 3
# A bad object that repeats verbatim is located everywhere it repeats, up to this many times.
_MAX_PLACES = 50


# No resolver handlers: `check` reads what it was given and never fetches, so an external
# `$ref` (another file or URL, PS310) stops the second stage instead of reading a file or URL.
class _Offline30(OpenAPIV30SpecValidator):
    resolver_handlers = {}  # noqa: RUF012 (overrides the library's class attribute as it is)


class _Offline31(OpenAPIV31SpecValidator):
    resolver_handlers = {}  # noqa: RUF012 (as above)


def _validator_class(major_minor: str) -> type[SpecValidator]:
    return _Offline30 if major_minor == "3.0" else _Offline31


@functools.cache
def _detail_validator(major_minor: str) -> Validator:
    """The first stage on `jsonschema`, for its detailed errors (built once: it is costly)."""
    schema = dict(schema_v30 if major_minor == "3.0" else schema_v31)
    validator: Validator = validator_for(schema)(schema)
    return validator


def _prepared(loaded: LoadedSpec) -> dict[str, Any]:
    """The document as the reference validator's own reader would see it, as a private copy.

    Its reader round-trips YAML through JSON, so `200:` keys become `"200"`. The version is set
    to a released one of the sniffed line: version mistakes are PS303–PS306's to report.
    """
    document: dict[str, Any] = json.loads(json.dumps(loaded.document, default=str))
    document["openapi"] = "3.0.3" if loaded.major_minor == "3.0" else "3.1.0"
    return document


def _stand_in(document: dict[str, Any], target: JsonPath) -> None:
    """Define a missing `components.schemas.X` as the empty schema in the private copy.

    The second stage stops at the first dangling `$ref`; with a stand-in it checks the rest of
    the document. Only a schema has a neutral stand-in (`{}` accepts anything); other targets
    (responses, parameters) would raise complaints of their own, so they are left missing.
    """
    if len(target) != 3 or target[:2] != ("components", "schemas"):
        return
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {}) if isinstance(components, dict) else None
    if isinstance(schemas, dict):
        schemas.setdefault(str(target[2]), {})


def _dangling_refs(document: dict[str, Any]) -> list[Issue]:
    issues: list[Issue] = []
    for found in iter_refs(document):
        if not found.ref.startswith("#"):
            continue  # another file or URL: PS310 reports it, and nothing is fetched
        target = pointer_path(found.ref)
        if target is not None:
            try:
                resolve_pointer(document, target)
                continue
            except KeyError:
                pass
        if target is not None:
            _stand_in(document, target)
        where = spec_location(target) if target is not None else None
        detail = (
            f"$ref {found.ref!r} points to {where}, which does not exist"
            if where
            else f"$ref {found.ref!r} is not a JSON pointer (it must start with '#/')"
        )
        issues.append(
            Issue(
                "ref",
                (*found.holder, "$ref"),
                "a $ref points to nothing in the document",
                detail,
                f"define {where} or point the $ref at a definition that exists"
                if where
                else f"write it as {'#/' + found.ref[1:].lstrip('/')!r}",
                found.ref,
            )
        )
    return issues


def _schema_issues(document: dict[str, Any], major_minor: str) -> list[Issue]:
    fast = _validator_class(major_minor).schema_validator
    if next(iter(fast.iter_errors(document)), None) is None:
        return []
    return [i for e in _detail_validator(major_minor).iter_errors(document) for i in explain(e)]


_OPERATION_ID = re.compile(r"Operation ID '(.*)' for '(\w+)' in '(.*)' is not unique")
_PATH_PARAMETER = re.compile(r"Path parameter '(.*)' for '(\w+)' operation in '(.*)' was not")


def _rule_issue(error: ValidationError, document: dict[str, Any]) -> list[Issue]:
    """The OpenAPI rules beyond its JSON Schema, whose errors name no location but say it."""
    message = first_line(error.message)
    if isinstance(error, DuplicateOperationIDError) and (m := _OPERATION_ID.match(message)):
        return [
            Issue(
                "other",
                ("paths", m[3], m[2], "operationId"),
                "two operations share an operationId",
                f"operationId {m[1]!r} of {m[2].upper()} {m[3]} is used by another operation too",
                "give every operation its own operationId",
                m[1],
            )
        ]
    if isinstance(error, UnresolvableParameterError) and (m := _PATH_PARAMETER.match(message)):
        return [
            Issue(
                "other",
                ("paths", m[3], m[2]),
                "a path parameter and the path template disagree",
                f"path parameter {m[1]!r} of {m[2].upper()} {m[3]} is not a {{{m[1]}}} "
                "in the path template",
                f"put {{{m[1]}}} in the path, or declare the parameter `in: query`",
                m[1],
            )
        ]
    if isinstance(error, ExtraParametersError):
        names = re.findall(r"'([^']*)'", message)
        places = [
            (*path, "required")
            for path, node in iter_nodes(document)
            if isinstance(node, dict)
            and "allOf" in node
            and isinstance(node.get("required"), list)
            and set(names) <= {str(n) for n in node["required"]}
        ]
        return [
            Issue(
                "other",
                place,
                "`required` names a property the schema does not define",
                f"`required` names {', '.join(map(repr, names))}, which no `properties` "
                "(here or in `allOf`) defines",
                "define the property, or remove its name from `required`",
                ", ".join(names),
            )
            for place in places[:_MAX_PLACES] or [()]
        ]
    if isinstance(error, ParameterDuplicateError):
        return [
            Issue(
                "other",
                (),
                "two parameters share a name and location",
                f"{message}: two parameters of one operation have the same `name` and `in`",
                "remove or rename one of them",
            )
        ]
    return []


def _places(error: ValidationError, document: dict[str, Any]) -> list[JsonPath]:
    """Where in the document an error of the second stage is: it only knows its own subtree.

    Each object whose subtree holds `error.instance` at `error.path` is a place; a scalar default
    that breaks its schema is found as the `default` it is.
    """
    relative = tuple(error.path)
    found: list[JsonPath] = []
    if not relative and not isinstance(error.instance, dict | list):
        for path, node in iter_nodes(document):
            if not isinstance(node, dict) or "default" not in node:
                continue
            value = node["default"]
            # The schema must say what the default breaks (`type: string` for a `0`): another
            # schema with the same default may well accept it.
            said = node.get(str(error.validator), error.validator_value)
            same = value == error.instance and type(value) is type(error.instance)
            if same and said == error.validator_value:
                found.append((*path, "default"))
        return found[:_MAX_PLACES]
    for path, node in iter_nodes(document):
        if not relative and not error.instance:
            break  # an empty object matches everywhere: no place can be named
        try:
            if resolve_pointer(node, relative) == error.instance:
                found.append((*path, *relative))
        except KeyError:
            continue
        if len(found) >= _MAX_PLACES:
            break
    return found


def _keyword_issues(document: dict[str, Any], major_minor: str) -> tuple[list[Issue], str | None]:
    """The second stage's issues, and what stopped it when it could not finish."""
    validator = _validator_class(major_minor)(document)
    issues: list[Issue] = []
    try:
        for error in validator.root_validator(validator.schema_path):
            rule = _rule_issue(error, document)
            if rule:
                issues.extend(rule)
                continue
            places = _places(error, document)
            for place in places:
                issues.extend(explain(error, place[: len(place) - len(error.path)]))
            if not places:
                explained = explain(error)
                # Nowhere to point at: say where inside its object, at the document's level.
                inside = spec_location(tuple(error.path)).removeprefix("spec")
                issues.extend(
                    replace(
                        i,
                        path=(),
                        detail=f"{i.detail} (at {inside or 'the top'} of a "
                        "schema or value the validator could not place)",
                    )
                    for i in explained
                )
    # The reference validator raises whatever its resolver or walk meets (PointerToNowhere,
    # KeyError on a missing key, ...): any of them only means it could not finish.
    except Exception as exc:
        return issues, f"{type(exc).__name__}: {quote_value(str(exc), 160)}"
    return issues, None


def _stopped(why: str) -> Issue:
    return Issue(
        "stopped",
        (),
        "the reference validator could not finish",
        f"the reference validator stopped before the end of the document ({why}); problems "
        "after that point are not listed",
        "fix the findings listed, then run `powerstrip check` again",
    )


def _unique(issues: Iterable[Issue]) -> Iterator[Issue]:
    seen: set[tuple[str, JsonPath, str]] = set()
    for issue in issues:
        key = (issue.kind, issue.path, issue.what)
        if key not in seen:
            seen.add(key)
            yield issue


def _grouped(issues: list[Issue], reach: RequestReach) -> list[Finding]:
    groups: dict[tuple[str, str], list[Issue]] = {}
    for issue in issues:
        warning, error = _CODES[issue.kind]
        code = error if error is not None and reach.contains(issue.path) else warning
        groups.setdefault((code, issue.what), []).append(issue)
    findings: list[Finding] = []
    for (code, what), members in groups.items():
        rule = RULES[code]
        if len(members) < GROUP_AT:
            findings.extend(
                Finding(
                    rule,
                    spec_location(i.path),
                    i.detail,
                    i.fix,
                    None if i.value is None else quote_value(i.value),
                )
                for i in members
            )
            continue
        first = members[0]
        others = [spec_location(i.path) for i in members[1:_SHOWN]]
        more = len(members) - _SHOWN
        also = f"; also at {', '.join(others)}" + (f" and {more} more" if more > 0 else "")
        findings.append(
            Finding(
                rule,
                spec_location(first.path),
                f"{what}, in {len(members)} places: here {first.detail}{also}",
                f"{first.fix} (in every place)",
                None if first.value is None else quote_value(first.value),
            )
        )
    return findings


def reference_findings(loaded: LoadedSpec) -> list[Finding]:
    """Every complaint of the OpenAPI reference validator about a spec, as grouped findings."""
    document = _prepared(loaded)
    dangling = _dangling_refs(document)
    issues = [*dangling, *_schema_issues(document, loaded.major_minor)]
    keyword, stopped = _keyword_issues(document, loaded.major_minor)
    issues += keyword
    if stopped is not None and not dangling:
        issues.append(_stopped(stopped))
    return _grouped(list(_unique(issues)), RequestReach(document))


_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def drop_covered(found: list[Finding], existing: Iterable[Finding]) -> list[Finding]:
    """Drop the reference findings that an existing finding at the same place already says.

    One problem, one finding: the host's own rules speak first (PS308 for a dangling request
    `$ref`, PS323 for a repaired type), and the reference finding stays only when it is more
    severe than everything already reported there.
    """
    strongest: dict[str, int] = {}
    for finding in existing:
        rank = _ORDER[finding.severity]
        strongest[finding.location] = min(rank, strongest.get(finding.location, rank))
    return [f for f in found if _ORDER[f.severity] < strongest.get(f.location, len(_ORDER))]
