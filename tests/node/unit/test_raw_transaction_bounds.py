"""Raw transactions are bounded before pyrlp decodes them (node.rlp_depth, node.txpool).

Before, a 98 KB ``eth_sendRawTransaction`` body of 30,000 nested RLP lists held the event loop for about 3 s in
pyrlp's recursive decoder (and a flat list of 100,000 items about 1 s): now nesting deeper than a transaction can
(4 lists) or more than 8,192 items is refused after a scan of the list headers.
"""

from __future__ import annotations

import pytest

from scripts.harness.node_process import NodeProcess, RpcFailure


def nested(depth: int) -> bytes:
    body = b"\xc0"
    for _ in range(depth):
        n = len(body)
        if n < 56:
            body = bytes([0xC0 + n]) + body
        else:
            size = n.to_bytes((n.bit_length() + 7) // 8, "big")
            body = bytes([0xF7 + len(size)]) + size + body
    return body


def refusal(node: NodeProcess, raw: bytes) -> str:
    with pytest.raises(RpcFailure) as failure:
        node.call("eth_sendRawTransaction", "0x" + raw.hex())
    assert failure.value.code == -32602
    return str(failure.value.error["message"])


def test_deeply_nested_rlp_is_refused_before_decoding(dev_node: NodeProcess) -> None:
    message = refusal(dev_node, b"\x02" + nested(30_000))
    assert message == "transaction could not be decoded: RLP nested deeper than 4 lists"
    assert dev_node.call("eth_chainId") == "0x539"


def test_rlp_of_too_many_items_is_refused_before_decoding(dev_node: NodeProcess) -> None:
    items = b"\x80" * 100_000
    size = len(items).to_bytes(3, "big")
    raw = b"\x02" + bytes([0xF7 + 3]) + size + items
    message = refusal(dev_node, raw)
    assert message == "transaction could not be decoded: RLP with more than 8192 items"
