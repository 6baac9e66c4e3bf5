"""Request fidelity: arguments that fit a tool's schema build a request the plugin's spec accepts.

For every operation of the real corpus, arguments are drawn from the tool's JSON Schema (and kept
only when a draft 2020-12 validator, formats included, says they fit), the request builder turns
them into an HTTP request, and openapi-core, a validator independent of Powerstrip, checks that
request's path, query, headers and body against the operation in the plugin's own spec.
Security is not checked: credentials are the host's business, not the builder's.

The operations that cannot pass are named in `KNOWN_REJECTED` with the reason; a named operation
that starts to pass fails the test too, so the list stays true.

Figures for notes, in one line:
    .venv/bin/python -c "from tests.openapi.test_request_fidelity import summary as s; print(s())"
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from jsonschema_path import SchemaPath
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.request import (
    V30RequestBodyValidator,
    V30RequestParametersValidator,
    V31RequestBodyValidator,
    V31RequestParametersValidator,
)
from werkzeug.datastructures import Headers, ImmutableMultiDict

from powerstrip.errors import SpecError
from powerstrip.openapi import LoadedSpec, Tool, convert, load_spec
from powerstrip.runtime.request_builder import UnsafeArgumentError, build_request

from .json_values import values_for
from .test_corpus import _files, namespace_for

pytestmark = [
    # openapi-core warns on every read of a spec's `allowEmptyValue`; the spec is not ours.
    pytest.mark.filterwarnings("ignore:Use of allowEmptyValue:DeprecationWarning"),
]

HOST = "https://plugin.test"
BASE_PATH = "/api"
# Draws per operation: enough to reach the boundary values json_values offers first.
EXAMPLES = 12
GOAL = 0.98

# (spec file, "METHOD /path") → why no request of that operation can pass its own spec.
KNOWN_REJECTED: dict[tuple[str, str], str] = {
    ("ZeoRoutePlanner.yaml", "POST /api/v7/create_and_optimize_route"): (
        "its body is a Swagger 2 `in: body` parameter, which OpenAPI 3 does not have "
        "(3.x uses requestBody): the spec's own validator cannot read the operation"
    ),
    ("Singapore_Places_Of_Interest.yaml", "GET /experiential_route"): (
        "the pattern of `waypoints` is not a regular expression (a group is never closed), "
        "so the spec's validator cannot check any value of it"
    ),
    ("article_writer.yaml", "GET /article-generator/{title}"): (
        "path parameter `title` has both `schema` and an empty `content`; OpenAPI allows "
        "exactly one, and the empty one describes no value"
    ),
    ("VBOUT_v50.yaml", "POST /EmailMarketing/AddActivity"): (
        "`datetime` is `format: date-time` with a pattern `YYYY-MM-DD HH:MM`, which no RFC 3339 "
        "date-time matches (they have seconds and an offset): no value fits both"
    ),
    ("data_interpreter.yaml", "POST /query_db"): (
        "`plotKwargs` has `type: 'dict || null'`, which is not a type: the spec's validator "
        "refuses every value of it"
    ),
    ("golden_data_plugin.yaml", "POST /web2/disambiguate_triples"): (
        "the body refers to #/components/schemas/BaseTripleModel, which the spec does not define"
    ),
    (
        "edmunds_cars.yaml",
        "GET /aiplugin/editorial/v3/makes/{make}/models/{model}/years/{year}/expertcontent",
    ): "path parameter `year` has `type: int`, which is not a type (integer is)",
    ("forex_gpt.yaml", "POST /generate"): (
        "`temperature` has `type: float`, which is not a type (number is)"
    ),
    ("litmaps.yaml", "GET /search"): (
        "it declares a required path parameter `searchId` but its path has no {searchId}: "
        "no request can carry it"
    ),
    ("litmaps.yaml", "GET /searchResult"): (
        "it declares a required path parameter `searchResultId` but its path has no "
        "{searchResultId}: no request can carry it"
    ),
    ("typescript_analyzer.yaml", "GET /twoslash"): (
        "query objects `options` and `option` explode (form style) into the keys `code` and "
        "`extension`, which are also its own query parameters: one query cannot say both"
    ),
    ("VBOUT_v50.yaml", "POST /SocialMedia/AddPost"): (
        "`scheduledhours` is `format: time`, which OpenAPI 3.0 does not define: JSON Schema reads "
        "it as an RFC 3339 time (with an offset), openapi-core as hh:mm:ss, and no value is both"
    ),
    # Not a spec fault: the request builder writes JSON and form-urlencoded bodies only.
    ("web_dev.yaml", "POST /upload"): (
        "its body is multipart/form-data only, which the request builder sends as JSON"
    ),
}

_TEMPLATE_VAR = re.compile(r"\{([^{}]+)\}")
# Arguments fit a schema when its formats hold too: a model reads `format: date` as a rule.
_FORMATS = Draft202012Validator.FORMAT_CHECKER


@dataclass(frozen=True)
class _WireRequest:
    """A request as the plugin's server sees it, in the shape openapi-core reads."""

    host_url: str
    path: str
    path_pattern: str
    method: str
    parameters: RequestParameters
    content_type: str
    body: bytes | None


@dataclass
class Outcome:
    """What the draws of one operation showed."""

    fitting: int = 0  # argument sets that fit the tool's schema
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Operation:
    tool: Tool
    fits: Draft202012Validator
    validators: tuple[Any, Any]  # Any: openapi-core's parameters and body validators


@cache
def _loaded(spec: Path) -> tuple[LoadedSpec, tuple[Tool, ...]]:
    loaded = load_spec(spec.read_bytes(), source=spec.name)
    try:
        return loaded, convert(loaded, namespace=namespace_for(spec)).tools
    except SpecError:
        # Refused whole (every path could leave the API base, PS327): the host offers none of
        # its operations, so it builds no request to check.
        return loaded, ()


def _spec_for(document: dict[str, Any], template: str, version: str) -> tuple[Any, Any]:
    """openapi-core's validators for one path item, served at HOST + BASE_PATH.

    Only the one path item is kept (openapi-core walks every path on every request), and the
    servers are replaced: which server a request goes to is not the builder's choice.
    """
    raw = next(v for k, v in document["paths"].items() if str(k) == template)
    item = {k: v for k, v in raw.items() if k != "servers"}
    for method, op in item.items():
        if isinstance(op, dict) and "servers" in op:
            item[method] = {k: v for k, v in op.items() if k != "servers"}
    pruned = {**document, "paths": {template: item}, "servers": [{"url": HOST + BASE_PATH}]}
    path = SchemaPath.from_dict(pruned)
    if version == "3.0":
        return V30RequestParametersValidator(path), V30RequestBodyValidator(path)
    return V31RequestParametersValidator(path), V31RequestBodyValidator(path)


def _wire_request(tool: Tool, arguments: dict[str, Any]) -> _WireRequest | str:
    """The request the builder makes, read back the way a server routes it; or why it cannot."""
    try:
        built = build_request(tool, arguments, HOST + BASE_PATH)
    except UnsafeArgumentError as error:
        return f"the builder refused arguments that fit the schema: {error}"
    url = urlsplit(built.url)
    # A few specs put a query in the path key (`/services?f=1`, `/info?q={place}`): the builder
    # keeps it, and adds the query parameters after it.
    path_part, has_query, query_part = tool.path.partition("?")
    pattern = _template_pattern(path_part, "[^/]*")
    if has_query:
        pattern += r"\?" + _template_pattern(query_part, "[^&#]*") + "(?:&.*)?"
    target = url.path + (f"?{url.query}" if has_query else "")
    matched = re.fullmatch(re.escape(BASE_PATH) + pattern, target)
    if matched is None:
        return f"the URL {target!r} does not fit the template {tool.path!r}"
    names = _TEMPLATE_VAR.findall(tool.path)
    values = zip(names, matched.groups(), strict=True)
    path_values = {name: unquote(value) for name, value in values}
    headers = Headers(built.headers)
    if built.content_type:
        headers["Content-Type"] = built.content_type
    parameters = RequestParameters(
        query=ImmutableMultiDict(parse_qsl(url.query, keep_blank_values=True)),
        header=headers,
        path=path_values,
    )
    return _WireRequest(
        host_url=HOST,
        path=url.path,
        path_pattern=BASE_PATH + tool.path,
        method=tool.method.lower(),
        parameters=parameters,
        content_type=built.content_type or "",
        body=built.body,
    )


def _template_pattern(template: str, value: str) -> str:
    """A regular expression for `template` with a group of `value` characters per variable."""
    pieces = _TEMPLATE_VAR.split(template)
    return f"({value})".join(re.escape(p) for p in pieces[::2])


def _describe(error: BaseException) -> str:
    """An openapi-core error with the causes that say which value broke which rule."""
    parts = [f"{type(error).__name__}: {error}"]
    cause = error.__cause__ or error.__context__
    while cause is not None and len(parts) < 4:
        details = getattr(cause, "schema_errors", None)
        text = "; ".join(e.message for e in details) if details else str(cause)
        parts.append(f"{type(cause).__name__}: {text}")
        cause = cause.__cause__ or cause.__context__
    return " <- ".join(p[:400] for p in parts)


def _spec_errors(validators: tuple[Any, Any], request: _WireRequest) -> Iterator[str]:
    for validator in validators:
        try:
            errors = list(validator.iter_errors(request))
        except Exception as error:  # openapi-core cannot read this part of the spec
            errors = [error]
        yield from (_describe(e) for e in errors)


def _name(tool: Tool) -> str:
    return f"{tool.method} {tool.path}"


def check_spec(spec: Path, examples: int = EXAMPLES) -> dict[str, Outcome]:
    """Each operation's "METHOD /path" → what its draws showed."""
    loaded, tools = _loaded(spec)
    operations = [
        _Operation(
            tool,
            Draft202012Validator(tool.parameters, format_checker=_FORMATS),
            _spec_for(loaded.document, tool.path, loaded.major_minor),
        )
        for tool in tools
    ]
    outcomes = {_name(op.tool): Outcome() for op in operations}
    seen: list[set[str]] = [set() for _ in operations]

    # One draw is an argument set for every operation of the spec: one hypothesis run per spec
    # instead of one per operation (its setup costs more than most operations' checks).
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
    )
    @given(st.tuples(*(values_for(op.tool.parameters) for op in operations)))
    def draw(all_arguments: tuple[Any, ...]) -> None:
        for index, (op, arguments) in enumerate(zip(operations, all_arguments, strict=True)):
            if not op.fits.is_valid(arguments):
                continue
            outcome = outcomes[_name(op.tool)]
            outcome.fitting += 1
            key = json.dumps(arguments, sort_keys=True)
            if key in seen[index] or len(outcome.problems) >= 3:
                continue
            seen[index].add(key)
            request = _wire_request(op.tool, arguments)
            errors = [request] if isinstance(request, str) else _spec_errors(op.validators, request)
            outcome.problems.extend(f"{key[:300]}: {e}" for e in errors)

    draw()
    return outcomes


def summary() -> dict[str, Any]:
    """Operations tested, the share whose requests the spec accepted, and the ones it did not."""
    rejected: dict[str, str] = {}
    total = 0
    for spec in _files("specs"):
        for operation, outcome in check_spec(spec).items():
            total += 1
            if outcome.problems or not outcome.fitting:
                rejected[f"{spec.name} {operation}"] = (outcome.problems or ["no draw fit"])[0]
    return {
        "operations": total,
        "accepted_percent": round(100 * (total - len(rejected)) / max(total, 1), 2),
        "rejected": rejected,
    }


@pytest.mark.parametrize("spec", _files("specs"), ids=lambda p: p.name)
def test_requests_from_fitting_arguments_pass_the_plugins_spec(spec: Path) -> None:
    assert spec.is_file(), f"corpus missing at {spec.parent}"
    outcomes = check_spec(spec)
    expected = {op for name, op in KNOWN_REJECTED if name == spec.name}
    rejected = {
        op: outcome.problems or ["no drawn arguments fit the schema"]
        for op, outcome in outcomes.items()
        if outcome.problems or not outcome.fitting
    }
    unexpected = {op: problems for op, problems in rejected.items() if op not in expected}
    assert not unexpected, "\n".join(
        f"{op}:\n  " + "\n  ".join(problems) for op, problems in unexpected.items()
    )
    assert not expected - rejected.keys(), "these pass now: drop them from KNOWN_REJECTED"


def test_the_named_exceptions_stay_within_the_goal() -> None:
    operations = sum(len(_loaded(spec)[1]) for spec in _files("specs"))
    assert len(KNOWN_REJECTED) <= (1 - GOAL) * operations
    specs = {spec.name for spec in _files("specs")}
    assert {name for name, _ in KNOWN_REJECTED} <= specs
    assert all(reason for reason in KNOWN_REJECTED.values())
