"""Addresses as clients see them: EIP-55 checksummed, in every REST response, WebSocket event and webhook payload.

The database keeps addresses lower-case (they are compared there); the ways out checksum them here, once, so no
field can answer ``0xabc…`` while another answers ``0xAbC…`` for the same account. A string is an address when it
is ``0x`` and exactly 40 hex digits: hashes (64 digits), signatures and calldata never match."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Any

from eth_utils.address import to_checksum_address
from pydantic import Field, PlainSerializer, WithJsonSchema

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
# an address that is a whole string value of compact JSON (a key is followed by ':'; inside a string a quote is
# escaped, so the two quotes can only be the value's own)
_QUOTED_ADDRESS = re.compile(rb'"(0x[0-9a-fA-F]{40})"(?!:)')


@lru_cache(maxsize=1 << 16)
def _checksummed_address(value: str) -> str:
    """A Keccak hash per call (tens of microseconds): a page of answers names the same few wallets and tokens over
    and over, each checksummed twice on the way out (the model's serializer, then the response's walk)."""
    return to_checksum_address(value)


def checksum(value: str) -> str:
    """``value`` checksummed if it is an address, else unchanged."""
    return _checksummed_address(value) if _ADDRESS.fullmatch(value) else value


def checksummed(value: Any) -> Any:
    """``value`` with every address inside it (dict values, list items, nested) checksummed."""
    if isinstance(value, str):
        return checksum(value)
    if isinstance(value, dict):
        return {key: checksummed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [checksummed(item) for item in value]
    return value


def checksummed_json(body: bytes) -> bytes:
    """Compact JSON (``separators=(",", ":")``) with every address value checksummed, as ``checksummed`` would give
    before encoding, keys untouched: one regular-expression pass over the bytes instead of a walk through every
    value of the page in Python (a fifth of a settlements page's CPU)."""
    return _QUOTED_ADDRESS.sub(lambda m: b'"' + _checksummed_address(m.group(1).decode()).encode() + b'"', body)


ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
ADDRESS_FORMAT = "eth-address"  # the mark a client generator can map to one address type
# the schema of every address field in the OpenAPI document, requests and responses alike
ADDRESS_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": ADDRESS_PATTERN,
    "format": ADDRESS_FORMAT,
    "title": "Address",
    "description": "An account or contract address: 0x and 40 hex digits; answers are EIP-55 checksummed, requests "
    "accept any case.",
    "examples": ["0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6"],
}

# every address field of a request or response model: validated by the pattern on the way in, checksummed on the
# way out, declared with ADDRESS_SCHEMA in both directions (a serializer alone would drop the pattern from answers)
Address = Annotated[
    str,
    Field(pattern=ADDRESS_PATTERN),
    WithJsonSchema(ADDRESS_SCHEMA),
    PlainSerializer(checksum, return_type=str),
]
