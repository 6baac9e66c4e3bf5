"""`powerstrip.store`'s public face: everything in `__all__` exists and is documented."""

from __future__ import annotations

import inspect

import powerstrip.store


def test_all_names_exist_and_classes_and_functions_have_docstrings() -> None:
    for name in powerstrip.store.__all__:
        member = getattr(powerstrip.store, name)
        if inspect.isclass(member) or inspect.isfunction(member):
            assert inspect.getdoc(member), name
