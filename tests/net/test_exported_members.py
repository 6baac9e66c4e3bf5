"""`powerstrip.net`'s public face: everything in `__all__` exists and is documented."""

from __future__ import annotations

import inspect

import powerstrip.net


def test_all_names_exist_and_classes_and_functions_have_docstrings() -> None:
    for name in powerstrip.net.__all__:
        member = getattr(powerstrip.net, name)
        # Type aliases (IPAddress, RedirectPolicy) carry no docstring of their own.
        if inspect.isclass(member) or inspect.isfunction(member):
            assert inspect.getdoc(member), name


def test_public_face_is_what_other_packages_code_against() -> None:
    assert {
        "AllowList",
        "FetchedResponse",
        "GuardedClient",
        "NetPolicy",
        "ResolveRule",
        "RetryPolicy",
    } <= set(powerstrip.net.__all__)
