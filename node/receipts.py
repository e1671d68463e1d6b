"""A receipt's RLP made directly: byte for byte ``receipt.encode()``, without pyrlp's sedes machinery.

Every node encodes every receipt of every block it executes (the receipt root, then the store); through py-evm's
``Serializable`` that cost as much as a tenth of executing a plain transfer.
"""

from __future__ import annotations

from eth.abc import ReceiptAPI
from rlp.codec import length_prefix

BLOOM_PREFIX = b"\xb9\x01\x00"  # a 256-byte string


def _string(data: bytes) -> bytes:
    if len(data) == 1 and data[0] < 0x80:
        return data
    return bytes(length_prefix(len(data), 0x80)) + data


def _uint(value: int) -> bytes:
    return _string(value.to_bytes((value.bit_length() + 7) // 8, "big")) if value else b"\x80"


def _list(body: bytes) -> bytes:
    return bytes(length_prefix(len(body), 0xC0)) + body


def encode_receipt(receipt: ReceiptAPI) -> bytes:
    """``receipt.encode()``: ``[status or state root, cumulative gas, bloom, logs]``, behind its type byte if typed."""
    logs = b"".join(
        _list(
            b"\x94"
            + bytes(log.address)
            + _list(b"".join(b"\xa0" + topic.to_bytes(32, "big") for topic in log.topics))
            + _string(bytes(log.data))
        )
        for log in receipt.logs
    )
    body = _list(
        _string(bytes(receipt.state_root))
        + _uint(receipt.gas_used)
        + BLOOM_PREFIX
        + receipt.bloom.to_bytes(256, "big")
        + _list(logs)
    )
    type_id = getattr(receipt, "type_id", None)
    return body if type_id is None else bytes([type_id]) + body
