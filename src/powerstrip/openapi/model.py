"""The values the openapi package hands out: a loaded spec, tools and tool sets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from powerstrip.errors import PowerstripError
from powerstrip.findings import Finding

__all__ = [
    "ArgumentBinding",
    "LoadedSpec",
    "Tool",
    "ToolSet",
    "UnknownFunctionError",
]

ArgumentLocation = Literal["path", "query", "header", "body"]


class UnknownFunctionError(PowerstripError, KeyError):
    """The model called a function name that no tool of the tool set has.

    A `KeyError` too, so `toolset.lookup(name)` behaves like a mapping lookup.
    """


@dataclass(frozen=True, slots=True)
class LoadedSpec:
    """A parsed OpenAPI document, its version sniffed and normalised."""

    # Any: a parsed JSON/YAML document is arbitrary data until convert() walks it.
    document: dict[str, Any]
    version: str
    major_minor: Literal["3.0", "3.1"]
    source_format: Literal["json", "yaml"]
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True, slots=True)
class ArgumentBinding:
    """Where one argument of a function call goes in the HTTP request."""

    argument: str
    name: str
    location: ArgumentLocation
    required: bool


@dataclass(frozen=True, slots=True)
class Tool:
    """One operation of the spec as one function the model may call.

    `parameters` is a JSON Schema (Any: JSON values). Parts of it may be shared between tools of
    the same tool set (resolved `$ref`s are memoised): treat it as read-only.
    """

    function_name: str
    operation_id: str
    method: str
    path: str
    summary: str
    description: str
    parameters: dict[str, Any]
    bindings: tuple[ArgumentBinding, ...]
    body_media_type: str | None
    body_is_wrapped: bool
    consequential: bool
    consequential_declared: bool | None
    location: str

    # The one rule for approvals (spec §5), which every edge reads from here.
    @property
    def asks_approval(self) -> bool:
        """Whether a call waits for the user: consequential ones always, and those declared
        `x-openai-isConsequential: false` until the user "always allows" them."""
        return self.consequential or self.consequential_declared is False

    @property
    def may_always_allow(self) -> bool:
        """Whether "always allow" may be offered: only for operations declared not consequential.

        Without a declaration the method decides (a POST is consequential), and a consequential
        operation asks every time.
        """
        return self.consequential_declared is False

    def as_openai_tool(self) -> dict[str, Any]:
        """The tool in the OpenAI chat-completions `tools` format."""
        return {
            "type": "function",
            "function": {
                "name": self.function_name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def binding(self, argument: str) -> ArgumentBinding | None:
        """The binding of one schema argument, or None when the schema has no such argument."""
        for item in self.bindings:
            if item.argument == argument:
                return item
        return None


@dataclass(frozen=True, slots=True)
class ToolSet:
    """Every operation of one spec as tools, under one namespace (`name_for_model`)."""

    namespace: str
    tools: tuple[Tool, ...]
    findings: tuple[Finding, ...] = ()
    servers: tuple[str, ...] = ()
    title: str = ""
    description: str = ""
    _by_name: dict[str, Tool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {t.function_name: t for t in self.tools})

    def lookup(self, function_name: str) -> Tool:
        """The tool the model meant by `function_name`.

        Raises `UnknownFunctionError` (a `PowerstripError` and a `KeyError`) for an unknown name.
        """
        try:
            return self._by_name[function_name]
        except KeyError:
            raise UnknownFunctionError(
                f"no function {function_name!r} in plugin {self.namespace!r}",
                where=f"namespace {self.namespace}",
                fix="call one of the functions the tool list offers",
            ) from None

    def __contains__(self, function_name: object) -> bool:
        return function_name in self._by_name
