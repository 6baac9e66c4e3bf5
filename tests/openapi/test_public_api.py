"""The public face of powerstrip.openapi stays what others code against."""

from __future__ import annotations

import powerstrip.openapi as openapi


def test_exported_members() -> None:
    assert sorted(openapi.__all__) == [
        "ArgumentBinding",
        "FunctionNamer",
        "JSON_TYPES",
        "LoadedSpec",
        "TYPE_ALIASES",
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
    for name in openapi.__all__:
        member = getattr(openapi, name)
        assert member.__doc__, f"{name} has no docstring"
