"""Expectation patterns: a scenario's `expect` object matches a message when every field it names matches.

Plain values must be equal (numbers within 1e-9); an object value is either a nested pattern or a comparison
such as `{">": 0}`, `{"<=": 1.5}` or `{"approx": 2.1, "tol": 0.05}`.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec

from messages import Message

_COMPARISONS = {
    ">": lambda actual, bound: actual > bound,
    ">=": lambda actual, bound: actual >= bound,
    "<": lambda actual, bound: actual < bound,
    "<=": lambda actual, bound: actual <= bound,
}


def _is_comparison(pattern: dict[str, Any]) -> bool:
    return bool(pattern) and set(pattern) <= {*_COMPARISONS, "approx", "tol"}


def _value_matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        if _is_comparison(expected):
            if not isinstance(actual, (int, float)) or isinstance(actual, bool):
                return False
            if "approx" in expected and not math.isclose(actual, expected["approx"], abs_tol=expected.get("tol", 1e-6)):
                return False
            return all(check(actual, expected[op]) for op, check in _COMPARISONS.items() if op in expected)
        return isinstance(actual, dict) and all(
            key in actual and _value_matches(value, actual[key]) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, (list, tuple))  # msgspec.to_builtins keeps a message's tuples
            and len(expected) == len(actual)
            and all(_value_matches(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, float) or isinstance(actual, float):
        return (
            isinstance(actual, (int, float))
            and not isinstance(actual, bool)
            and math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)
        )
    return bool(expected == actual)


def matches(pattern: dict[str, Any], message: Message) -> bool:
    if type(message).__name__ != pattern["type"]:
        return False
    fields = msgspec.to_builtins(message)
    return all(key in fields and _value_matches(value, fields[key]) for key, value in pattern.items() if key != "type")


def unknown_fields(pattern: dict[str, Any], message_type: type[Message]) -> list[str]:
    """Pattern keys the message type does not have: a typo would otherwise make an expectation silently vacuous."""
    return [key for key in pattern if key not in ("type", *message_type.__struct_fields__)]
