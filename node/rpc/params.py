"""Parsing of JSON-RPC parameters: every malformed value is an ``InvalidParams`` (-32602), never a crash."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from eth_utils.address import is_hex_address, to_canonical_address

from node.exceptions import InvalidParams

_QUANTITY = re.compile(r"^0x(0|[1-9a-fA-F][0-9a-fA-F]*)$")
_DATA = re.compile(r"^0x([0-9a-fA-F]{2})*$")
BLOCK_TAGS = ("latest", "earliest", "pending", "safe", "finalized")
MAX_UINT256 = 2**256 - 1


def quantity(value: Any, what: str = "quantity", lenient: bool = True) -> int:
    """A hex quantity; ``lenient`` also takes leading zeros and plain ints as many clients send them."""
    if isinstance(value, int) and not isinstance(value, bool) and lenient:
        result = value
    elif isinstance(value, str) and (_QUANTITY.match(value) or (lenient and re.match(r"^0x[0-9a-fA-F]+$", value))):
        result = int(value, 16)
    else:
        raise InvalidParams(f"invalid argument: {what}: hex string without 0x prefix or invalid: {value!r}"[:200])
    if result < 0 or result > MAX_UINT256:
        raise InvalidParams(f"invalid argument: {what}: out of range")
    return result


def data(value: Any, what: str = "data") -> bytes:
    if not isinstance(value, str) or not value.startswith(("0x", "0X")):
        raise InvalidParams(f"invalid argument: {what}: hex string without 0x prefix")
    if len(value) % 2:
        raise InvalidParams(f"invalid argument: {what}: hex string of odd length")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise InvalidParams(f"invalid argument: {what}: invalid hex string") from None


def address(value: Any, what: str = "address") -> bytes:
    if not isinstance(value, str) or not is_hex_address(value):
        raise InvalidParams(f"invalid argument: {what}: not a 20-byte hex address")
    return bytes(to_canonical_address(value))


def hash32(value: Any, what: str = "hash") -> bytes:
    raw = data(value, what)
    if len(raw) != 32:
        raise InvalidParams(f"invalid argument: {what}: hex string has length {len(raw) * 2}, want 64 for common.Hash")
    return raw


def boolean(value: Any, what: str = "flag") -> bool:
    if not isinstance(value, bool):
        raise InvalidParams(f"invalid argument: {what}: expected a boolean")
    return value


@dataclass(frozen=True)
class BlockRef:
    """A block by tag, number or hash (EIP-1898 ``requireCanonical`` is always true: QBFT never forks)."""

    tag: str | None = None
    number: int | None = None
    hash: bytes | None = None


def block_ref(value: Any, allow_hash: bool = True) -> BlockRef:
    if value is None:
        return BlockRef(tag="latest")
    if isinstance(value, str):
        if value in BLOCK_TAGS:
            return BlockRef(tag=value)
        if value.startswith("0x") and len(value) == 66 and allow_hash:
            return BlockRef(hash=hash32(value, "block hash"))
        return BlockRef(number=quantity(value, "block number"))
    if isinstance(value, int) and not isinstance(value, bool):
        return BlockRef(number=quantity(value, "block number"))
    if isinstance(value, dict) and allow_hash:
        if "blockHash" in value and "blockNumber" in value:
            raise InvalidParams("invalid argument: cannot specify both blockHash and blockNumber")
        if "blockHash" in value:
            return BlockRef(hash=hash32(value["blockHash"], "blockHash"))
        if "blockNumber" in value:
            return block_ref(value["blockNumber"], allow_hash=False)
    raise InvalidParams("invalid argument: block number or tag expected")


@dataclass(frozen=True)
class CallObject:
    sender: bytes | None
    to: bytes | None
    gas: int | None
    value: int
    data: bytes
    nonce: int | None
    access_list: tuple[tuple[bytes, tuple[int, ...]], ...]


def call_object(value: Any) -> CallObject:
    if not isinstance(value, dict):
        raise InvalidParams("invalid argument 0: transaction object expected")
    if "data" in value and "input" in value and value["data"] != value["input"]:
        raise InvalidParams(
            'both "data" and "input" are set and not equal. Please use "input" to pass transaction call data'
        )
    raw_input = value.get("input", value.get("data"))
    access: list[tuple[bytes, tuple[int, ...]]] = []
    if value.get("accessList") is not None:
        if not isinstance(value["accessList"], list):
            raise InvalidParams("invalid argument: accessList must be a list")
        for entry in value["accessList"]:
            if not isinstance(entry, dict):
                raise InvalidParams("invalid argument: accessList entry must be an object")
            keys = entry.get("storageKeys") or []
            if not isinstance(keys, list):
                raise InvalidParams("invalid argument: storageKeys must be a list")
            access.append((address(entry.get("address")), tuple(int.from_bytes(hash32(k), "big") for k in keys)))
    return CallObject(
        sender=address(value["from"], "from") if value.get("from") is not None else None,
        to=address(value["to"], "to") if value.get("to") is not None else None,
        gas=quantity(value["gas"], "gas") if value.get("gas") is not None else None,
        value=quantity(value["value"], "value") if value.get("value") is not None else 0,
        data=data(raw_input, "input") if raw_input is not None else b"",
        nonce=quantity(value["nonce"], "nonce") if value.get("nonce") is not None else None,
        access_list=tuple(access),
    )


@dataclass(frozen=True)
class LogFilter:
    from_block: BlockRef
    to_block: BlockRef
    block_hash: bytes | None
    addresses: tuple[bytes, ...]
    topics: tuple[tuple[bytes, ...] | None, ...]


def log_filter(value: Any) -> LogFilter:
    if not isinstance(value, dict):
        raise InvalidParams("invalid argument 0: filter object expected")
    block_hash = hash32(value["blockHash"], "blockHash") if value.get("blockHash") is not None else None
    if block_hash is not None and (value.get("fromBlock") is not None or value.get("toBlock") is not None):
        raise InvalidParams(
            "invalid argument 0: cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other"
        )
    raw_address = value.get("address")
    if raw_address is None:
        addresses: tuple[bytes, ...] = ()
    elif isinstance(raw_address, list):
        addresses = tuple(address(a) for a in raw_address)
    else:
        addresses = (address(raw_address),)
    raw_topics = value.get("topics") or []
    if not isinstance(raw_topics, list):
        raise InvalidParams("invalid argument 0: topics must be a list")
    if len(raw_topics) > 4:
        raise InvalidParams("invalid argument 0: exceed max topics")
    topics: list[tuple[bytes, ...] | None] = []
    for position in raw_topics:
        if position is None:
            topics.append(None)
        elif isinstance(position, list):
            options = tuple(hash32(t, "topic") for t in position if t is not None)
            topics.append(options if options and None not in position else None)
        else:
            topics.append((hash32(position, "topic"),))
    return LogFilter(
        from_block=block_ref(value.get("fromBlock", "latest"), allow_hash=False),
        to_block=block_ref(value.get("toBlock", "latest"), allow_hash=False),
        block_hash=block_hash,
        addresses=addresses,
        topics=tuple(topics),
    )
