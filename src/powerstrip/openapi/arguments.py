"""One operation's parameters and request body → one JSON Schema object and its bindings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

from powerstrip.findings import quote_value
from powerstrip.openapi.finding_sink import FindingSink, at
from powerstrip.openapi.location_rules import constrain_parameter
from powerstrip.openapi.model import ArgumentBinding, ArgumentLocation
from powerstrip.openapi.refs import RefResolver
from powerstrip.openapi.schema import SchemaCleaner

__all__ = ["Arguments", "build_arguments"]

MAX_PARAMETER_DESCRIPTION = 700
_LOCATIONS = ("path", "query", "header", "cookie")
# The host sets these headers itself; OpenAPI says such header parameters are ignored.
_HOST_HEADERS = frozenset({"accept", "content-type", "authorization"})
_TEMPLATE_VAR = re.compile(r"\{([^{}]+)\}")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True, slots=True)
class Arguments:
    schema: dict[str, Any]
    bindings: tuple[ArgumentBinding, ...]
    body_media_type: str | None
    body_is_wrapped: bool


def _is_json(media_type: str) -> bool:
    base = media_type.split(";", 1)[0].strip().lower()
    return base in ("application/json", "*/*", "application/*") or base.endswith("+json")


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Builder:
    def __init__(self, resolver: RefResolver, cleaner: SchemaCleaner, sink: FindingSink) -> None:
        self.resolver = resolver
        self.cleaner = cleaner
        self.sink = sink
        self.properties: dict[str, Any] = {}
        self.required: list[str] = []
        self.bindings: list[ArgumentBinding] = []

    def add(
        self,
        name: str,
        location: ArgumentLocation,
        schema: dict[str, Any],
        required: bool,
        where: str,
    ) -> None:
        argument = name
        if argument in self.properties:
            argument = f"{location}_{name}"
            counter = 1
            while argument in self.properties:
                counter += 1
                argument = f"{location}_{name}_{counter}"
            first = next(b for b in self.bindings if b.argument == name)
            self.sink.add(
                "PS322",
                where,
                f"{location} parameter {name!r} has the same name as the {first.location} "
                f"parameter; the model sees it as {argument!r}",
                "give the parameters distinct names",
                name,
            )
        self.properties[argument] = schema
        if required:
            self.required.append(argument)
        self.bindings.append(ArgumentBinding(argument, name, location, required))

    def parameter(self, raw: Any, where: str) -> None:
        param, where = self.resolver.deref(raw, where)
        if not isinstance(param, dict) or not param:
            if param != {}:  # {} means a broken $ref, already reported
                self.sink.add(
                    "PS315",
                    where,
                    f"a parameter must be an object, found {quote_value(param)!r}",
                    "write the parameter as an object with `name`, `in` and `schema`",
                    param,
                )
            return
        name, place = param.get("name"), param.get("in")
        if not isinstance(name, str) or not name or place not in _LOCATIONS:
            self.sink.add(
                "PS315",
                where,
                f"a parameter needs a `name` and an `in` of path, query, header or cookie; "
                f"found name={quote_value(name)!r}, in={quote_value(place)!r}",
                "give the parameter a `name` and `in: query` (or path/header)",
            )
            return
        if place == "cookie" or (place == "header" and name.lower() in _HOST_HEADERS):
            self.sink.add(
                "PS325",
                where,
                f"{place} parameter {name!r} is not offered to the model"
                + (" (the host sets this header itself)" if place == "header" else ""),
                "drop the parameter, or make it a query or header parameter the model may fill",
                name,
            )
            return
        schema = self._parameter_schema(param, where)
        description = param.get("description")
        if not isinstance(description, str):
            description = schema.get("description")
        if isinstance(description, str) and description:
            if len(description) > MAX_PARAMETER_DESCRIPTION:
                self.sink.add(
                    "PS314",
                    at(where, "description"),
                    f"the description of parameter {name!r} is {len(description)} characters; "
                    f"the model sees the first {MAX_PARAMETER_DESCRIPTION}",
                    f"shorten it to at most {MAX_PARAMETER_DESCRIPTION} characters",
                )
            schema = {**schema, "description": _truncate(description, MAX_PARAMETER_DESCRIPTION)}
        required = param.get("required") is True or place == "path"
        schema = constrain_parameter(
            schema,
            place=place,
            required=required,
            allow_empty=param.get("allowEmptyValue") is True,
        )
        self.add(name, cast(ArgumentLocation, place), schema, required, where)

    def _parameter_schema(self, param: dict[str, Any], where: str) -> dict[str, Any]:
        if "schema" in param:
            return self.cleaner.clean(param["schema"], at(where, "schema"))
        content = param.get("content")
        if isinstance(content, dict):
            for media_type, media in content.items():
                if isinstance(media, dict) and "schema" in media:
                    return self.cleaner.clean(
                        media["schema"], at(where, "content", str(media_type), "schema")
                    )
        # No schema: query strings are strings, which is what the model should send.
        return {"type": "string"}

    def request_body(self, raw: Any, where: str) -> tuple[str | None, bool]:
        body, where = self.resolver.deref(raw, where)
        if not isinstance(body, dict) or not body:
            return None, False
        content = body.get("content")
        if not isinstance(content, dict) or not content:
            self.sink.add(
                "PS320",
                where,
                "the request body has no `content` map of media types",
                "add `content: {application/json: {schema: ...}}`",
            )
            return None, False
        media_types = [str(m) for m in content]
        chosen = next((m for m in media_types if _is_json(m)), None)
        if chosen is None:
            chosen = next((m for m in media_types if m.lower() in _FORM_TYPES), media_types[0])
            self.sink.add(
                "PS317",
                at(where, "content"),
                f"the request body has no JSON media type (only {', '.join(media_types)}); "
                f"the model fills it as {chosen}",
                "offer application/json for the request body",
            )
        media = content[content_key(content, chosen)]
        raw_schema = media.get("schema", {}) if isinstance(media, dict) else {}
        schema = self.cleaner.clean(raw_schema, at(where, "content", chosen, "schema"))
        schema = _merge_all_of(schema)
        required = body.get("required") is True
        properties = schema.get("properties")
        object_like = schema.get("type", "object") == "object"
        if object_like and isinstance(properties, dict) and properties:
            body_required = list(schema.get("required", ()))
            for name, prop in properties.items():
                self.add(name, "body", prop, name in body_required, where)
            # `required` may name a property `properties` does not describe: it must still be
            # sent, with whatever value additionalProperties allows.
            extra = schema.get("additionalProperties", True)
            for name in body_required:
                if name not in properties and extra is not False:
                    self.add(name, "body", extra if isinstance(extra, dict) else {}, True, where)
            return chosen, False
        self.add("body", "body", schema, required, where)
        return chosen, True

    def check_path(self, template: str, where: str) -> None:
        declared = {b.name for b in self.bindings if b.location == "path"}
        in_template = _TEMPLATE_VAR.findall(template)
        for name in in_template:
            if name not in declared:
                self.sink.add(
                    "PS316",
                    where,
                    f"the path template has {{{name}}} but no path parameter {name!r} is declared; "
                    "the model sees it as a required string",
                    f"declare `- name: {name}` with `in: path` and `required: true`",
                    name,
                )
                schema = constrain_parameter(
                    {"type": "string"}, place="path", required=True, allow_empty=False
                )
                self.add(name, "path", schema, True, where)
        for name in declared - set(in_template):
            self.sink.add(
                "PS316",
                where,
                f"path parameter {name!r} is declared but the path {template!r} has no {{{name}}}",
                f"add {{{name}}} to the path or make the parameter a query parameter",
                name,
            )


def content_key(content: dict[Any, Any], media_type: str) -> Any:
    """The original key (YAML may give non-string keys) of a media type in a content map."""
    return next(k for k in content if str(k) == media_type)


def _merge_all_of(schema: dict[str, Any]) -> dict[str, Any]:
    """Flatten `allOf` of object schemas (a common body pattern) into one object schema."""
    parts = schema.get("allOf")
    if not isinstance(parts, list) or not all(
        isinstance(p, dict) and isinstance(p.get("properties"), dict) for p in parts
    ):
        return schema
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    properties = dict(merged.get("properties", {}))
    required = list(merged.get("required", []))
    for part in parts:
        for name, prop in part["properties"].items():
            # Every part holds: a property two parts describe must fit both descriptions.
            earlier = properties.get(name)
            properties[name] = (
                prop if earlier is None or earlier == prop else {"allOf": [earlier, prop]}
            )
        required.extend(part.get("required", []))
    merged["type"] = "object"
    merged["properties"] = properties
    if required:
        merged["required"] = list(dict.fromkeys(required))
    return merged


def build_arguments(
    *,
    resolver: RefResolver,
    cleaner: SchemaCleaner,
    sink: FindingSink,
    parameters: list[tuple[Any, str]],
    request_body: tuple[Any, str] | None,
    template: str,
    where: str,
) -> Arguments:
    """The JSON Schema of a function and how each argument maps onto the request."""
    builder = _Builder(resolver, cleaner, sink)
    for raw, param_where in parameters:
        builder.parameter(raw, param_where)
    builder.check_path(template, where)
    media_type: str | None = None
    wrapped = False
    if request_body is not None:
        media_type, wrapped = builder.request_body(*request_body)
    schema: dict[str, Any] = {"type": "object", "properties": builder.properties}
    if builder.required:
        schema["required"] = list(dict.fromkeys(builder.required))
    return Arguments(schema, tuple(builder.bindings), media_type, wrapped)
