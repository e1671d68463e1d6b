"""JSON from clients, bounded before the application parses it: nesting depth, string, number, array and object
sizes (HTTP bodies and WebSocket messages).

Why: py_ecc (imported through eth-account) raises Python's recursion limit to 100,000, so the standard library's
C scanner, which recurses once per nesting level, can overflow the C stack on a deeply nested document and kill
the process instead of raising. The decoder here never recurses in Python or C beyond a fixed depth:

1. Number tokens are measured on the raw text, with strings blanked out first (a regular expression, linear):
   a number longer than ``max_number_chars`` is refused before anything is parsed.
2. orjson parses: it refuses nesting beyond its own fixed limit (1024, without depending on Python's recursion
   limit), invalid UTF-8, lone surrogates, NaN and infinities, and builds at most what the body-size cap allows.
3. An iterative walk (an explicit stack) enforces our depth, string, array and object limits.

Only then does FastAPI parse the body (again, with ``json``: the depth is now at most ``max_depth``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.exceptions import InvalidRequest

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


class InvalidJson(InvalidRequest):
    title = "Invalid JSON"
    type_slug = "invalid-json"


@dataclass(frozen=True)
class JsonLimits:
    max_depth: int = 32
    max_string_chars: int = 16_384
    max_number_chars: int = 80  # a uint256 in decimal is 78 digits
    max_array_items: int = 2_000
    max_object_members: int = 256


DEFAULT_LIMITS = JsonLimits()


def decode(raw: bytes | str, limits: JsonLimits = DEFAULT_LIMITS) -> Any:
    """Parse ``raw`` within ``limits``; ``InvalidJson`` (400) names the first limit exceeded."""
    data = raw.encode() if isinstance(raw, str) else raw
    longest = re.compile(rb"[-+0-9.eE]{%d,}" % (limits.max_number_chars + 1))
    if longest.search(_STRING.sub(b'""', data)):
        raise InvalidJson(f"a number is longer than {limits.max_number_chars} characters")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidJson(f"not valid JSON: {exc}") from None
    _check(value, limits)
    return value


def _check(value: Any, limits: JsonLimits) -> None:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if len(item) > limits.max_string_chars:
                raise InvalidJson(f"a string is longer than {limits.max_string_chars} characters")
        elif isinstance(item, list):
            if depth > limits.max_depth:
                raise InvalidJson(f"nested deeper than {limits.max_depth} levels")
            if len(item) > limits.max_array_items:
                raise InvalidJson(f"an array has more than {limits.max_array_items} items")
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, dict):
            if depth > limits.max_depth:
                raise InvalidJson(f"nested deeper than {limits.max_depth} levels")
            if len(item) > limits.max_object_members:
                raise InvalidJson(f"an object has more than {limits.max_object_members} members")
            for key, child in item.items():
                if len(key) > limits.max_string_chars:
                    raise InvalidJson(f"a key is longer than {limits.max_string_chars} characters")
                stack.append((child, depth + 1))


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def parsed_as_json(content_type: str | None) -> bool:
    """Whether a body with this Content-Type may reach a JSON parser: everything but forms (FastAPI parses a body
    without a Content-Type as JSON, and hands other bodies to the validators as they are)."""
    if content_type is None:
        return True
    return not content_type.split(";", 1)[0].strip().lower().startswith(FORM_TYPES)
