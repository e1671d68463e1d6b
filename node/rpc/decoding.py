"""Bounded JSON decoding for everything a client sends (HTTP bodies, WebSocket messages).

Why not ``json.loads``: importing py_ecc raises Python's recursion limit to 100,000, and the standard library's
C scanner recurses on the C stack once per nesting level, so a 200 KB body of ``[[[[…`` overflowed the stack and
killed the process (SIGSEGV) before any Python check could run. orjson parses in Rust, refuses nesting deeper
than 1,024 with an ordinary exception, and never touches Python's recursion limit. After it, one iterative walk
(no recursion) enforces the limits a JSON-RPC request actually needs: a shallow depth, bounded strings and arrays.
A request over a bound is refused as a whole, before any handler sees it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson

from node.exceptions import InvalidRequest, ParseError


@dataclass(frozen=True)
class JsonBounds:
    """What one request may contain. JSON-RPC objects are a few levels deep (batch → request → params → call
    object → access list → keys): 16 leaves ample room; a raw transaction is at most 128 KiB, hence 2^18 hex
    characters, and call data of an ``eth_call`` rarely more, so strings stop at 1 MiB."""

    max_depth: int = 16
    max_string_chars: int = 1024 * 1024
    max_array_items: int = 10_000
    max_object_keys: int = 256


DEFAULT_BOUNDS = JsonBounds()

# an integer literal beyond 64 bits, as a value: orjson reads it as a float, which would change an id like 2**70
_BIG_INT = re.compile(rb"[:\[,]\s*-?[0-9]{20,}")


def decode(raw: bytes | str, bounds: JsonBounds = DEFAULT_BOUNDS) -> Any:
    """The decoded value, or :class:`ParseError` (not JSON) / :class:`InvalidRequest` (over a bound)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ParseError("parse error") from exc
    check(value, bounds)
    data = raw.encode() if isinstance(raw, str) else raw
    if _BIG_INT.search(data):
        # exact integers: the standard library's parser, safe here because the depth is already bounded
        value = json.loads(data)
    return value


def check(value: Any, bounds: JsonBounds = DEFAULT_BOUNDS) -> None:
    """Walk ``value`` without recursion; raise :class:`InvalidRequest` at the first bound it exceeds.

    Leaves are checked where they are found and only containers are pushed: a batch of raw transactions is
    mostly strings, and this walk runs on every body the node reads."""
    max_chars = bounds.max_string_chars
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, list):
            if len(item) > bounds.max_array_items:
                raise InvalidRequest(f"array longer than {bounds.max_array_items} items")
            children: Any = item
        elif isinstance(item, dict):
            if len(item) > bounds.max_object_keys:
                raise InvalidRequest(f"object with more than {bounds.max_object_keys} keys")
            for key in item:
                if len(key) > max_chars:
                    raise InvalidRequest(f"string longer than {max_chars} characters")
            children = item.values()
        else:
            if isinstance(item, str) and len(item) > max_chars:
                raise InvalidRequest(f"string longer than {max_chars} characters")
            continue
        if not item:
            continue
        if depth >= bounds.max_depth:
            raise InvalidRequest(f"nesting deeper than {bounds.max_depth} levels")
        for child in children:
            if isinstance(child, str):
                if len(child) > max_chars:
                    raise InvalidRequest(f"string longer than {max_chars} characters")
            elif isinstance(child, list | dict):
                stack.append((child, depth + 1))
