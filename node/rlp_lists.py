"""RLP of a flat list of byte strings (a block's transactions, a gossip batch, a block's receipts), made and split
directly: pyrlp's generic encoder infers a sedes for every item, which costs several times the copying itself, and
every validator does this for every transaction it gossips, stores or reads back.

Byte for byte what ``rlp.encode`` / ``rlp.decode`` give for such a list; anything else is refused as pyrlp refuses
it (non-canonical lengths, trailing bytes, a nested list).
"""

from __future__ import annotations

from collections.abc import Iterable

from rlp.codec import consume_length_prefix, length_prefix
from rlp.exceptions import DecodingError


def encode_bytes_list(items: Iterable[bytes]) -> bytes:
    """``rlp.encode(list(items))`` for byte strings."""
    parts = []
    for item in items:
        if len(item) == 1 and item[0] < 0x80:
            parts.append(item)
        else:
            parts.append(bytes(length_prefix(len(item), 0x80)) + item)
    body = b"".join(parts)
    return bytes(length_prefix(len(body), 0xC0)) + body


def decode_bytes_list(data: bytes) -> list[bytes]:
    """``rlp.decode(data)`` when it is one list of byte strings; raises ``DecodingError`` otherwise."""
    try:
        _, kind, length, pos = consume_length_prefix(data, 0)
        end = pos + length
        if kind is not list or end != len(data):
            raise DecodingError("not one RLP list", data)
        items = []
        while pos < end:
            _, item_kind, item_length, start = consume_length_prefix(data, pos)
            pos = start + item_length
            if item_kind is not bytes or pos > end:
                raise DecodingError("not a list of byte strings", data)
            items.append(data[start:pos])
    except IndexError as exc:  # truncated input
        raise DecodingError("truncated RLP", data) from exc
    return items
