"""Adversarial bodies against a real node: none may crash it, each gets a JSON-RPC error, blocks keep coming.

Before the bounded decoder, 100,000 nested brackets (200 KB) ended the process with SIGSEGV over HTTP and over
WebSocket: py_ecc raises the recursion limit, so the standard library's C scanner overflowed the C stack."""

from __future__ import annotations

import json

import pytest
from websockets.sync.client import connect

from scripts.harness.node_process import NodeProcess

DEEP = 100_000
ADVERSARIAL: list[tuple[str, bytes]] = [
    ("deep arrays", b"[" * DEEP + b"]" * DEEP),
    ("deep objects", b'{"a":' * DEEP + b"1" + b"}" * DEEP),
    ("deep params", b'{"jsonrpc":"2.0","id":1,"method":"eth_call","params":' + b"[" * DEEP + b"]" * DEEP + b"}"),
    ("deep in a batch", b'[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},' + b"[" * DEEP + b"]" * DEEP + b"]"),
    ("unclosed", b"[" * DEEP),
    ("huge number", b'{"jsonrpc":"2.0","id":' + b"9" * 200_000 + b',"method":"eth_chainId"}'),
    ("huge exponent", b'{"jsonrpc":"2.0","id":1e999999,"method":"eth_chainId"}'),
    ("lone surrogate", b'{"jsonrpc":"2.0","id":"\\ud800","method":"eth_chainId"}'),
    ("long array", b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[' + b"0," * 50_000 + b"0]}"),
    ("many keys", b"{" + b",".join(b'"k%d":1' % i for i in range(5_000)) + b"}"),
]


def _head(node: NodeProcess) -> int:
    return int(node.call("eth_blockNumber"), 16)


@pytest.mark.parametrize(("name", "body"), ADVERSARIAL, ids=[name for name, _ in ADVERSARIAL])
def test_http_body_gets_an_error_and_the_node_lives(bounded_node: NodeProcess, name: str, body: bytes) -> None:
    answer = bounded_node.post(None, raw=body)
    assert isinstance(answer, dict), answer
    assert answer["error"]["code"] in (-32700, -32600), answer
    assert bounded_node.proc.poll() is None
    assert bounded_node.call("eth_chainId") == "0x539"


def test_websocket_message_gets_an_error_and_the_node_lives(bounded_node: NodeProcess) -> None:
    with connect(f"ws://127.0.0.1:{bounded_node.port}", open_timeout=10, max_size=None) as ws:
        for _name, body in ADVERSARIAL:
            ws.send(body)
            answer = json.loads(ws.recv(timeout=30))
            assert answer["error"]["code"] in (-32700, -32600), answer
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 7, "method": "eth_chainId"}))
        assert json.loads(ws.recv(timeout=30)) == {"jsonrpc": "2.0", "id": 7, "result": "0x539"}
    assert bounded_node.proc.poll() is None


def test_blocks_keep_coming_after_the_attack(bounded_node: NodeProcess) -> None:
    import time

    before = _head(bounded_node)
    for _name, body in ADVERSARIAL:
        bounded_node.post(None, raw=body)
    deadline = time.monotonic() + 30
    while _head(bounded_node) <= before + 2:
        assert time.monotonic() < deadline, "no new blocks after adversarial input"
        time.sleep(0.05)


def test_ordinary_nesting_still_works(bounded_node: NodeProcess) -> None:
    topics = [["0x" + "00" * 32, None], None]
    logs = bounded_node.call("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest", "topics": topics})
    assert logs == []
