"""An AST-style checker for one BFCL call, written from the rules of BFCL's `ast_checker.py`.

A call passes when: the function name is the expected one; every required parameter is there;
every given parameter is declared and appears in the possible answer; each value has the
declared Python type (an int is accepted for a float; a value of the possible answers' own type
is accepted as a "variable"); and each value is one of the accepted values. Strings compare
after BFCL's normalisation (no spaces or `,./-_*^`, lower case, `'` as `"`); lists compare item
by item with strings normalised; dicts key by key. Optional parameters whose accepted values do
not include "" (meaning "may be left out") must be given.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["check_call", "normalise_string"]

_PYTHON_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
_NESTED = ("array", "tuple")
_PUNCTUATION = re.compile(r"[ ,./\-_*^]")


def normalise_string(text: str) -> str:
    return _PUNCTUATION.sub("", text).lower().replace("'", '"')


def _answer_type(accepted: list[Any]) -> type | None:
    for answer in accepted:
        if answer != "":
            return type(answer)
    return None


def _type_ok(value: Any, accepted: list[Any], expected: type, nested: type | None) -> bool:
    answer_type = _answer_type(accepted)
    if type(value) is expected:
        if nested is None:
            return True
        for answer in accepted:
            if isinstance(answer, list) and all(
                _type_ok(item, answer, nested, None) for item in value
            ):
                return True
            if not isinstance(answer, list):
                # BFCL counts a non-list accepted value ("" for "may be left out") as a match.
                return True
        return False
    return answer_type is not None and type(value) is answer_type


def _normalise(value: Any) -> Any:
    return normalise_string(value) if isinstance(value, str) else value


def _dict_ok(value: dict[str, Any], accepted: list[Any]) -> bool:
    for answer in accepted:
        if answer == "":
            continue
        if not isinstance(answer, dict):
            continue
        good = all(
            key in answer and _normalise(item) in [_normalise(a) for a in answer[key]]
            for key, item in value.items()
        )
        good = good and all(key in value or "" in options for key, options in answer.items())
        if good:
            return True
    return False


def check_call(
    function: dict[str, Any], name: str, arguments: dict[str, Any], answer: dict[str, Any]
) -> tuple[bool, str]:
    """Whether `name(arguments)` passes for `function` and one possible answer `{name: {...}}`."""
    expected_name, accepted = next(iter(answer.items()))
    if name != expected_name:
        return False, "wrong function name"
    declared = function["parameters"].get("properties", {})
    for param in function["parameters"].get("required", []):
        if param not in arguments:
            return False, f"missing required {param}"
    for param, value in arguments.items():
        if param not in declared or param not in accepted:
            return False, f"unexpected {param}"
        type_name = declared[param].get("type", "any")
        expected = _PYTHON_TYPES.get(type_name, str)
        nested = None
        if type_name in _NESTED:
            item_type = declared[param].get("items", {}).get("type", "any")
            nested = _PYTHON_TYPES.get(item_type, str)
        if type_name == "float" and type(value) is int:
            value = float(value)
        options = accepted[param]
        if not _type_ok(value, options, expected, nested):
            return False, f"type of {param}"
        if _answer_type(options) not in (None, expected):
            # A "variable" answer: compared as a plain value below.
            pass
        elif expected is dict:
            if not _dict_ok(value, options):
                return False, f"value of {param}"
            continue
        elif expected is list and nested is dict:
            if not any(
                isinstance(option, list)
                and len(option) == len(value)
                and all(_dict_ok(v, [o]) for v, o in zip(value, option, strict=True))
                for option in options
            ):
                return False, f"value of {param}"
            continue
        elif expected is str:
            if normalise_string(value) not in [
                normalise_string(o) for o in options if isinstance(o, str)
            ]:
                return False, f"value of {param}"
            continue
        elif expected is list:
            mine = [_normalise(item) for item in value]
            if mine not in [[_normalise(i) for i in o] for o in options if isinstance(o, list)]:
                return False, f"value of {param}"
            continue
        if value not in options:
            return False, f"value of {param}"
    for param, options in accepted.items():
        if param not in arguments and "" not in options:
            return False, f"missing optional {param}"
    return True, ""
