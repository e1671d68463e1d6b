"""A fake node behind web3: answers the JSON-RPC the relayer uses, can be taken down (transport errors, as the
real transport raises them) or made to refuse transactions with a JSON-RPC error, as a node does. Like the real
transport it refuses a call made inside a database write transaction where the guard is on (gateway.chain.guard)."""

from __future__ import annotations

import threading
from typing import Any

from eth_utils.crypto import keccak
from web3 import Web3
from web3.providers import BaseProvider
from web3.types import RPCEndpoint, RPCResponse

from gateway.chain import guard
from gateway.chain.outage import reachability
from gateway.chain.transport import NodeUnreachable


class FakeNode(BaseProvider):
    def __init__(self, chain_id: int = 1337) -> None:
        super().__init__()
        self.chain_id = chain_id
        self.down = False  # every call fails in transport (connection refused)
        self.send_down = False  # only eth_sendRawTransaction fails in transport (the node died mid-send)
        self.refusal: dict[str, Any] | None = None  # eth_sendRawTransaction answers this JSON-RPC error
        self.block = 1
        self.received: list[str] = []  # raw transactions accepted, in order
        self.mined: dict[str, int] = {}  # tx hash -> block
        self.logs: dict[str, list[dict[str, Any]]] = {}  # tx hash -> the logs its receipt carries
        self._lock = threading.Lock()

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        guard.check(f"fake {method}")  # as the real transport: no call inside a database write transaction
        with self._lock:
            if self.down or (self.send_down and method == "eth_sendRawTransaction"):
                reachability.failed()
                raise NodeUnreachable("JSON-RPC http://127.0.0.1:1: ConnectionRefusedError(111, 'Connection refused')")
            reachability.answered()
            return {"jsonrpc": "2.0", "id": 1, **self._answer(str(method), params)}  # type: ignore[typeddict-item]

    def _answer(self, method: str, params: Any) -> dict[str, Any]:
        if method == "eth_chainId":
            return {"result": hex(self.chain_id)}
        if method == "eth_blockNumber":
            return {"result": hex(self.block)}
        if method == "eth_gasPrice":
            return {"result": "0x0"}
        if method == "eth_getTransactionCount":
            return {"result": hex(len(self.received))}
        if method == "eth_sendRawTransaction":
            if self.refusal is not None:
                return {"error": self.refusal}
            raw = str(params[0])
            tx_hash = "0x" + keccak(hexstr=raw).hex()
            if raw not in self.received:
                self.received.append(raw)
                self.block += 1
                self.mined[tx_hash] = self.block
            return {"result": tx_hash}
        if method == "eth_getTransactionReceipt":
            block = self.mined.get(str(params[0]))
            tx_hash = str(params[0])
            return {"result": None if block is None else _receipt(tx_hash, block, self.logs.get(tx_hash, []))}
        if method == "eth_getTransactionByHash":
            return {"result": None}
        return {"error": {"code": -32601, "message": f"the fake node does not serve {method}"}}

    def is_connected(self, show_traceback: bool = False) -> bool:
        return not self.down


def _receipt(tx_hash: str, block: int, logs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "transactionHash": tx_hash,
        "blockHash": "0x" + "11" * 32,
        "blockNumber": hex(block),
        "transactionIndex": "0x0",
        "from": "0x" + "00" * 20,
        "to": "0x" + "00" * 20,
        "gasUsed": "0x5208",
        "cumulativeGasUsed": "0x5208",
        "effectiveGasPrice": "0x0",
        "contractAddress": None,
        "logs": logs,
        "logsBloom": "0x" + "00" * 256,
        "status": "0x1",
        "type": "0x0",
    }


def fake_web3(node: FakeNode) -> Web3:
    w3 = Web3(node)
    w3.middleware_onion.remove("validation")
    return w3
