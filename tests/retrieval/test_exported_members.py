"""`powerstrip.retrieval`'s public face: everything in `__all__` exists and is documented."""

from __future__ import annotations

import inspect

import powerstrip.retrieval


def test_all_names_exist_and_classes_and_functions_have_docstrings() -> None:
    for name in powerstrip.retrieval.__all__:
        member = getattr(powerstrip.retrieval, name)
        if inspect.isclass(member) or inspect.isfunction(member):
            assert inspect.getdoc(member), name
