"""Each package's `__all__` is exactly what it exports, and every name in it is documented.

A package re-exports its public face from private modules (httpx's way); the list must neither
promise a name that is missing nor hide one that others import.
"""

from __future__ import annotations
import __future__

import importlib
import inspect
import pkgutil
import types

import pytest

import powerstrip

PACKAGES = sorted(
    info.name
    for info in pkgutil.walk_packages(powerstrip.__path__, prefix="powerstrip.")
    if info.ispkg
)


def _public_names(package: types.ModuleType) -> set[str]:
    """Names bound in the package's namespace that are not private, submodules or imports of
    `__future__`."""
    names = set()
    for name, value in vars(package).items():
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        if value is __future__.annotations:
            continue
        names.add(name)
    return names


def test_the_packages_are_found() -> None:
    assert {"powerstrip.net", "powerstrip.host", "powerstrip.store"} <= set(PACKAGES)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_exactly_what_the_package_exports(name: str) -> None:
    package = importlib.import_module(name)
    declared = getattr(package, "__all__", None)
    assert declared is not None, f"{name} has no __all__"
    assert len(declared) == len(set(declared)), f"{name}.__all__ lists a name twice"
    assert set(declared) == _public_names(package), name


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_class_and_function_has_a_docstring(name: str) -> None:
    package = importlib.import_module(name)
    for member_name in package.__all__:
        member = getattr(package, member_name)
        if inspect.isclass(member) or inspect.isfunction(member):
            assert inspect.getdoc(member), f"{name}.{member_name}"
