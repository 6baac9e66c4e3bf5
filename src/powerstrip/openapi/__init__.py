"""OpenAPI documents → the function tools the model sees. No I/O: this package gets text.

load_spec(text)              parse JSON/YAML, reject what is not a spec, sniff the version
convert(spec, namespace=)    every operation → one `Tool` (JSON Schema parameters, bindings)
render_namespace_prompt()    the TypeScript-like prompt for models without function calling
iter_descriptions(document)  every description/summary with its location, for the checker
namespaces_clash(a, b)       whether two plugins' function names could collide
FunctionNamer(namespace)     unique function names `namespace__operation` (also for MCP tools)
path_template_problem(path)  why a path template could leave the API base (None when safe)
JSON_TYPES, TYPE_ALIASES     the type names, and the misspellings the converter reads as them
"""

from powerstrip.openapi.convert import convert
from powerstrip.openapi.descriptions import iter_descriptions
from powerstrip.openapi.load import load_spec
from powerstrip.openapi.model import (
    ArgumentBinding,
    LoadedSpec,
    Tool,
    ToolSet,
    UnknownFunctionError,
)
from powerstrip.openapi.naming import FunctionNamer, namespaces_clash
from powerstrip.openapi.path_template import path_template_problem
from powerstrip.openapi.prompt import render_namespace_prompt
from powerstrip.openapi.schema import JSON_TYPES, TYPE_ALIASES

__all__ = [
    "JSON_TYPES",
    "TYPE_ALIASES",
    "ArgumentBinding",
    "FunctionNamer",
    "LoadedSpec",
    "Tool",
    "ToolSet",
    "UnknownFunctionError",
    "convert",
    "iter_descriptions",
    "load_spec",
    "namespaces_clash",
    "path_template_problem",
    "render_namespace_prompt",
]
