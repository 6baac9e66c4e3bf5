"""A loaded spec → a `ToolSet`: one function tool per operation."""

from __future__ import annotations

from typing import Any

from powerstrip.errors import SpecError
from powerstrip.findings import quote_value
from powerstrip.openapi.arguments import build_arguments
from powerstrip.openapi.budget import MAX_SCHEMA_NODES, fit_schema
from powerstrip.openapi.finding_sink import FindingSink, at
from powerstrip.openapi.model import LoadedSpec, Tool, ToolSet
from powerstrip.openapi.naming import FunctionNamer, derive_operation_name
from powerstrip.openapi.path_template import path_template_problem
from powerstrip.openapi.refs import RefResolver
from powerstrip.openapi.schema import SchemaCleaner
from powerstrip.openapi.servers import read_servers

__all__ = ["METHODS", "convert"]

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
MAX_OPERATION_DESCRIPTION = 300
# The rulebook (spec §5): without a declaration only GET is not consequential; every other
# method, HEAD and OPTIONS included, asks the user.
_SAFE_METHODS = frozenset({"GET"})


class _Converter:
    def __init__(self, spec: LoadedSpec, namespace: str) -> None:
        self.document = spec.document
        self.sink = FindingSink()
        self.sink.extend(spec.findings)
        self.resolver = RefResolver(self.document, self.sink)
        self.cleaner = SchemaCleaner(self.resolver, self.sink, spec.major_minor)
        self.namer = FunctionNamer(namespace)
        self.operation_ids: dict[str, str] = {}  # operationId → location of its first use

    def paths(self) -> dict[Any, Any]:
        paths = self.document.get("paths")
        if isinstance(paths, dict):
            return paths
        if paths is not None:
            self.sink.add(
                "PS320",
                "spec.paths",
                f"`paths` must be an object, found {type(paths).__name__}",
                "make `paths` a map from '/path' to path items",
                paths,
            )
        return {}

    def run(self) -> list[Tool]:
        tools: list[Tool] = []
        for template, raw_item in self.paths().items():
            where = at("spec.paths", str(template))
            problem = path_template_problem(str(template))
            if problem is not None:
                # An error, and the operations are not offered: appended to the API base, such a
                # path would choose the host the user's credentials go to.
                self.sink.add(
                    "PS327",
                    where,
                    f"path {quote_value(template)!r} {problem}; its operations are not offered",
                    "write the path as an absolute path under the API base: '/items/{id}'",
                    template,
                )
                continue
            item, item_where = self.resolver.deref(raw_item, where)
            if not isinstance(item, dict):
                self.sink.add(
                    "PS320",
                    where,
                    f"a path item must be an object, found {quote_value(item)!r}",
                    "map the path to an object of operations (get, post, ...)",
                    item,
                )
                continue
            shared = self._parameter_list(item.get("parameters"), at(item_where, "parameters"))
            for method in METHODS:
                if method in item:
                    tool = self.operation(str(template), method, item[method], shared, where)
                    if tool is not None:
                        tools.append(tool)
        return tools

    def _parameter_list(self, raw: Any, where: str) -> list[tuple[Any, str]]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.sink.add("PS320", where, "`parameters` must be a list", "make it a list", raw)
            return []
        return [(p, at(where, i)) for i, p in enumerate(raw)]

    def _merged_parameters(
        self, shared: list[tuple[Any, str]], own: list[tuple[Any, str]]
    ) -> list[tuple[Any, str]]:
        """Path-level parameters, overridden by operation-level ones with the same (name, in)."""

        def key(entry: tuple[Any, str]) -> tuple[str, str] | None:
            param = self.resolver.peek(entry[0]["$ref"]) if _is_ref(entry[0]) else entry[0]
            if isinstance(param, dict):
                return (str(param.get("name")), str(param.get("in")))
            return None

        own_keys = {key(e) for e in own} - {None}
        return [e for e in shared if key(e) not in own_keys] + own

    def operation(
        self, template: str, method: str, op: Any, shared: list[tuple[Any, str]], path_where: str
    ) -> Tool | None:
        where = at(path_where, method)
        if not isinstance(op, dict):
            self.sink.add(
                "PS320",
                where,
                f"an operation must be an object, found {quote_value(op)!r}",
                "describe the operation as an object with operationId, responses, ...",
                op,
            )
            return None
        if "responses" not in op:
            self.sink.add(
                "PS320",
                where,
                "the operation has no `responses`",
                "add `responses: {'200': {description: OK}}`",
            )
        operation_id = self._operation_id(op, method, template, where)
        function_name, _, shortened = self.namer.name(operation_id)
        if shortened:
            self.sink.add(
                "PS318",
                at(where, "operationId"),
                f"the function name for {operation_id!r} is longer than 64 characters; "
                f"the model sees {function_name!r}",
                "use a shorter operationId (or name_for_model)",
            )
        own = self._parameter_list(op.get("parameters"), at(where, "parameters"))
        body = op.get("requestBody")
        arguments = build_arguments(
            resolver=self.resolver,
            cleaner=self.cleaner,
            sink=self.sink,
            parameters=self._merged_parameters(shared, own),
            request_body=None if body is None else (body, at(where, "requestBody")),
            template=template,
            where=where,
        )
        fitted = fit_schema(arguments.schema)
        if fitted.cut_depth is not None:
            self.sink.add(
                "PS326",
                where,
                f"the parameters schema of {operation_id!r} expands to more than "
                f"{MAX_SCHEMA_NODES:,} JSON values once $refs are inlined; the model sees it cut "
                f"below nesting level {fitted.cut_depth}",
                "flatten the request schemas: fewer levels of objects that $ref the same schema "
                "many times, or split the operation",
            )
        summary = op.get("summary") if isinstance(op.get("summary"), str) else ""
        declared = op.get("x-openai-isConsequential")
        if declared is not None and not isinstance(declared, bool):
            self.sink.add(
                "PS320",
                at(where, "x-openai-isConsequential"),
                f"x-openai-isConsequential must be true or false, found {quote_value(declared)!r}",
                "write `x-openai-isConsequential: true` or `false`",
                declared,
            )
            declared = None
        upper = method.upper()
        return Tool(
            function_name=function_name,
            operation_id=operation_id,
            method=upper,
            path=template,
            summary=summary or "",
            description=self._description(op, where),
            parameters=fitted.schema,
            bindings=arguments.bindings,
            body_media_type=arguments.body_media_type,
            body_is_wrapped=arguments.body_is_wrapped,
            consequential=declared if declared is not None else upper not in _SAFE_METHODS,
            consequential_declared=declared,
            location=where,
        )

    def _operation_id(self, op: dict[str, Any], method: str, template: str, where: str) -> str:
        raw = op.get("operationId")
        if not isinstance(raw, str) or not raw.strip():
            derived = derive_operation_name(method, template)
            self.sink.add(
                "PS311",
                where,
                f"{method.upper()} {template} has no operationId; the model sees {derived!r}",
                "give every operation a unique operationId",
            )
            return derived
        operation_id = raw.strip()
        first = self.operation_ids.setdefault(operation_id, where)
        if first != where:
            self.sink.add(
                "PS312",
                at(where, "operationId"),
                f"operationId {operation_id!r} is also used at {first}; this one gets a suffix",
                "give every operation a unique operationId",
                operation_id,
            )
        return operation_id

    def _description(self, op: dict[str, Any], where: str) -> str:
        summary = op.get("summary") if isinstance(op.get("summary"), str) else ""
        description = op.get("description") if isinstance(op.get("description"), str) else ""
        summary, description = (summary or "").strip(), (description or "").strip()
        if not summary and not description:
            self.sink.add(
                "PS321",
                where,
                "the operation has neither summary nor description; the model sees only its name",
                "add a one-line summary saying what the operation does",
            )
            return ""
        if not summary or description.startswith(summary):
            text = description
        elif not description or summary.startswith(description):
            text = summary
        else:
            text = f"{summary}{'' if summary[-1] in '.!?:' else '.'} {description}"
        if len(text) <= MAX_OPERATION_DESCRIPTION:
            return text
        longest = "description" if len(description) >= len(summary) else "summary"
        self.sink.add(
            "PS313",
            at(where, longest),
            f"summary and description are {len(text)} characters; the model sees the first "
            f"{MAX_OPERATION_DESCRIPTION}",
            f"keep summary and description within {MAX_OPERATION_DESCRIPTION} characters",
        )
        return text[: MAX_OPERATION_DESCRIPTION - 1] + "…"


def _is_ref(node: Any) -> bool:
    return isinstance(node, dict) and isinstance(node.get("$ref"), str)


def convert(spec: LoadedSpec, *, namespace: str) -> ToolSet:
    """Turn every operation of a loaded spec into a function tool named `namespace__operation`.

    Raises `SpecError` (PS307) only when the document has no operation at all; every other
    problem is a finding on the returned `ToolSet`.
    """
    converter = _Converter(spec, namespace)
    tools = converter.run()
    sink = converter.sink
    if not tools:
        sink.add(
            "PS307",
            "spec.paths",
            "the spec has no operations"
            + ("" if "paths" in spec.document else " (there is no `paths` object)"),
            "describe at least one operation under `paths`",
        )
        raise SpecError(
            "the spec has no operations the model could call",
            findings=[f for f in sink.findings if f.code in ("PS307", "PS320", "PS327")],
            where="spec.paths",
        )
    servers = read_servers(spec.document, sink)
    info = spec.document.get("info")
    info = info if isinstance(info, dict) else {}
    title, description = info.get("title"), info.get("description")
    return ToolSet(
        namespace=converter.namer.namespace,
        tools=tuple(tools),
        findings=sink.findings,
        servers=servers,
        title=title if isinstance(title, str) else "",
        description=description if isinstance(description, str) else "",
    )
