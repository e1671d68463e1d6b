"""WebSocket subscriptions, polling filters, traces, access lists and historical state on a running node."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_utils.crypto import keccak
from websockets.sync.client import connect

from scripts.harness.node_process import DEV_KEYS, NodeProcess, address_of, calldata, deploy, sign
from tests.node.unit.contracts import TOKEN_BYTECODE

TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()


def send(node: NodeProcess, key: str, **fields: Any) -> str:
    nonce = int(node.call("eth_getTransactionCount", address_of(key), "pending"), 16)
    return str(node.call("eth_sendRawTransaction", sign(key, nonce=nonce, **fields)))


class Ws:
    def __init__(self, node: NodeProcess) -> None:
        self.conn = connect(f"ws://127.0.0.1:{node.port}", open_timeout=10)
        self.next_id = 0
        self.notifications: list[dict[str, Any]] = []

    def call(self, method: str, *params: Any) -> Any:
        self.next_id += 1
        self.conn.send(json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": list(params)}))
        while True:
            message = json.loads(self.conn.recv(timeout=10))
            if message.get("id") == self.next_id:
                return message
            self.notifications.append(message)

    def notification(self, sid: str) -> Any:
        for i, message in enumerate(self.notifications):
            if message["params"]["subscription"] == sid:
                return self.notifications.pop(i)["params"]["result"]
        while True:
            message = json.loads(self.conn.recv(timeout=10))
            if message["params"]["subscription"] == sid:
                return message["params"]["result"]
            self.notifications.append(message)


@pytest.fixture(scope="module")
def token(dev_node: NodeProcess) -> str:
    return deploy(dev_node, DEV_KEYS[0], TOKEN_BYTECODE, encode(["uint256"], [10**24]))


def test_subscriptions_over_websocket(dev_node: NodeProcess, token: str) -> None:
    ws = Ws(dev_node)
    heads = ws.call("eth_subscribe", "newHeads")["result"]
    logs = ws.call("eth_subscribe", "logs", {"address": token, "topics": [TRANSFER_TOPIC]})["result"]
    pending = ws.call("eth_subscribe", "newPendingTransactions")["result"]
    assert ws.call("eth_chainId")["result"] == "0x539"  # plain calls work on the same socket
    data = calldata("transfer(address,uint256)", ["address", "uint256"], [address_of(DEV_KEYS[1]), 5])
    tx_hash = send(dev_node, DEV_KEYS[0], to=token, data=data)
    assert ws.notification(pending) == tx_hash
    log = ws.notification(logs)
    assert log["transactionHash"] == tx_hash
    assert log["topics"][0] == TRANSFER_TOPIC
    head = ws.notification(heads)
    receipt = dev_node.wait_receipt(tx_hash)
    while head["hash"] != receipt["blockHash"]:
        head = ws.notification(heads)
    assert ws.call("eth_unsubscribe", heads)["result"] is True
    assert ws.call("eth_subscribe", "bogus")["error"]["code"] == -32602
    ws.conn.close()


def test_polling_filters(dev_node: NodeProcess, token: str) -> None:
    blocks = dev_node.call("eth_newBlockFilter")
    logs = dev_node.call("eth_newFilter", {"address": token})
    pending = dev_node.call("eth_newPendingTransactionFilter")
    data = calldata("transfer(address,uint256)", ["address", "uint256"], [address_of(DEV_KEYS[2]), 7])
    tx_hash = send(dev_node, DEV_KEYS[0], to=token, data=data)
    receipt = dev_node.wait_receipt(tx_hash)
    assert receipt["blockHash"] in dev_node.call("eth_getFilterChanges", blocks)
    assert [entry["transactionHash"] for entry in dev_node.call("eth_getFilterChanges", logs)] == [tx_hash]
    assert dev_node.call("eth_getFilterChanges", logs) == []
    assert tx_hash in dev_node.call("eth_getFilterChanges", pending)
    all_logs = dev_node.call("eth_getFilterLogs", logs)
    assert tx_hash in [entry["transactionHash"] for entry in all_logs]
    assert dev_node.call("eth_uninstallFilter", logs) is True
    assert dev_node.call("eth_uninstallFilter", logs) is False
    with pytest.raises(Exception, match="filter not found"):
        dev_node.call("eth_getFilterChanges", logs)


def test_get_logs_by_topic_and_block_hash(dev_node: NodeProcess, token: str) -> None:
    recipient = address_of(DEV_KEYS[1])
    data = calldata("transfer(address,uint256)", ["address", "uint256"], [recipient, 3])
    receipt = dev_node.wait_receipt(send(dev_node, DEV_KEYS[0], to=token, data=data))
    to_topic = "0x" + "00" * 12 + recipient[2:].lower()
    found = dev_node.call(
        "eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest", "topics": [TRANSFER_TOPIC, None, [to_topic]]}
    )
    assert receipt["transactionHash"] in [entry["transactionHash"] for entry in found]
    assert all(entry["topics"][2] == to_topic for entry in found)
    by_hash = dev_node.call("eth_getLogs", {"blockHash": receipt["blockHash"]})
    assert by_hash == receipt["logs"]


def test_historical_state_and_block_tags(dev_node: NodeProcess, token: str) -> None:
    sender = address_of(DEV_KEYS[0])
    before = dev_node.call("eth_blockNumber")
    balance_before = dev_node.call("eth_getBalance", "0x" + "99" * 20, before)
    dev_node.wait_receipt(send(dev_node, DEV_KEYS[0], to="0x" + "99" * 20, value=12345, gas=21000))
    assert dev_node.call("eth_getBalance", "0x" + "99" * 20, before) == balance_before
    assert int(dev_node.call("eth_getBalance", "0x" + "99" * 20, "latest"), 16) == int(balance_before, 16) + 12345
    block = dev_node.call("eth_getBlockByNumber", before, False)
    assert dev_node.call("eth_getBalance", "0x" + "99" * 20, {"blockHash": block["hash"]}) == balance_before
    assert dev_node.call("eth_getBalance", "0x" + "99" * 20, {"blockNumber": before}) == balance_before
    for tag in ("earliest", "latest", "safe", "finalized", "pending"):
        assert dev_node.call("eth_getTransactionCount", sender, tag).startswith("0x")
    assert dev_node.call("eth_getBlockByNumber", "earliest", False)["number"] == "0x0"
    assert dev_node.call("eth_getCode", token, "earliest") == "0x"
    assert len(dev_node.call("eth_getCode", token, "latest")) > 100


def test_trace_access_list_and_estimate(dev_node: NodeProcess, token: str) -> None:
    sender = address_of(DEV_KEYS[0])
    data = calldata("transfer(address,uint256)", ["address", "uint256"], [address_of(DEV_KEYS[1]), 1])
    tx_hash = send(dev_node, DEV_KEYS[0], to=token, data=data)
    receipt = dev_node.wait_receipt(tx_hash)
    trace = dev_node.call("debug_traceTransaction", tx_hash, {"tracer": "callTracer"})
    assert trace["type"] == "CALL"
    assert trace["from"] == sender.lower()
    assert trace["to"] == token.lower()
    assert trace["gasUsed"] == receipt["gasUsed"]
    assert trace["output"] == "0x" + "00" * 31 + "01"
    access = dev_node.call("eth_createAccessList", {"from": sender, "to": token, "data": data})
    assert [entry["address"] for entry in access["accessList"]] == [token.lower()]
    assert len(access["accessList"][0]["storageKeys"]) == 2
    estimate = int(dev_node.call("eth_estimateGas", {"from": sender, "to": token, "data": data}), 16)
    assert 21000 < estimate <= 100_000
    fees = dev_node.call("eth_feeHistory", "0x4", "latest", [50])
    assert fees["baseFeePerGas"][-1] == "0x0" and len(fees["reward"]) == len(fees["gasUsedRatio"])


def test_estimate_is_within_geths_error_ratio(dev_node: NodeProcess, token: str) -> None:
    """The search stops within 1.5% of the minimum: the estimate runs, 1.5% less does not."""
    sender = address_of(DEV_KEYS[0])
    data = calldata("transfer(address,uint256)", ["address", "uint256"], [address_of(DEV_KEYS[2]), 1])
    call = {"from": sender, "to": token, "data": data}
    estimate = int(dev_node.call("eth_estimateGas", call), 16)
    dev_node.call("eth_call", {**call, "gas": hex(estimate)})
    short = dev_node.post(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_call",
            "params": [{**call, "gas": hex(int(estimate * 0.985))}, "latest"],
        }
    )
    assert "gas" in short["error"]["message"], short
