"""kill -9 a node while it accepts transactions, restart it: the head is a whole block and every receipt the
node ever returned is still there."""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path

import pytest

from scripts.harness.node_process import DEV_KEYS, NodeProcess, address_of, sign, start_node

RECIPIENT = "0x" + "42" * 20


class Load(threading.Thread):
    """Sends batches of transfers and polls receipts until the node dies; records every receipt seen."""

    def __init__(self, node: NodeProcess) -> None:
        super().__init__(daemon=True)
        self.node = node
        self.receipts: dict[str, dict[str, str]] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        node = self.node
        try:
            nonces = {k: int(node.call("eth_getTransactionCount", address_of(k), "pending"), 16) for k in DEV_KEYS}
            outstanding: list[str] = []
            while not self.stop.is_set():
                batch = []
                for i in range(30):
                    key = DEV_KEYS[i % len(DEV_KEYS)]
                    batch.append(
                        {
                            "jsonrpc": "2.0",
                            "id": i,
                            "method": "eth_sendRawTransaction",
                            "params": [sign(key, nonce=nonces[key], to=RECIPIENT, gas=21000, value=1)],
                        }
                    )
                    nonces[key] += 1
                outstanding += [r["result"] for r in node.post(batch) if "result" in r]
                polls = [
                    {"jsonrpc": "2.0", "id": i, "method": "eth_getTransactionReceipt", "params": [h]}
                    for i, h in enumerate(outstanding)
                ]
                still = []
                for tx_hash, response in zip(outstanding, node.post(polls), strict=True):
                    receipt = response.get("result")
                    if receipt is None:
                        still.append(tx_hash)
                    else:
                        self.receipts[tx_hash] = receipt
                outstanding = still
        except OSError:
            return  # the node was killed


def check_chain(node: NodeProcess, seen: dict[str, dict[str, str]]) -> None:
    for tx_hash, receipt in seen.items():
        again = node.call("eth_getTransactionReceipt", tx_hash)
        assert again is not None, f"acknowledged receipt {tx_hash} lost"
        assert again["blockHash"] == receipt["blockHash"]
        assert again["status"] == receipt["status"]
    head = node.call("eth_getBlockByNumber", "latest", False)
    block = head
    for _ in range(min(30, int(head["number"], 16))):
        receipts = node.call("eth_getBlockReceipts", block["hash"])
        assert [r["transactionHash"] for r in receipts] == block["transactions"]
        parent = node.call("eth_getBlockByNumber", hex(int(block["number"], 16) - 1), False)
        assert parent["hash"] == block["parentHash"]
        block = parent


@pytest.mark.slow
def test_kill_9_under_load_loses_no_acknowledged_receipt(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    rng = random.Random(7)
    seen: dict[str, dict[str, str]] = {}
    port = None
    for _round in range(3):
        node = start_node(data_dir, "--block-time", "0.05", port=port)
        port = node.port
        check_chain(node, seen)
        load = Load(node)
        load.start()
        time.sleep(1.5 + rng.random() * 2)
        node.proc.send_signal(signal.SIGKILL)
        node.proc.wait()
        load.stop.set()
        load.join(timeout=30)
        assert load.receipts, "the load saw no receipts before the kill"
        seen.update(load.receipts)
    node = start_node(data_dir, port=port)
    try:
        check_chain(node, seen)
        # the chain goes on from the restored head
        key = DEV_KEYS[0]
        nonce = int(node.call("eth_getTransactionCount", address_of(key), "latest"), 16)
        receipt = node.wait_receipt(
            node.call("eth_sendRawTransaction", sign(key, nonce=nonce, to=RECIPIENT, gas=21000))
        )
        assert receipt["status"] == "0x1"
        print(f"{len(seen)} acknowledged receipts survived 3 kill -9 cycles")
    finally:
        node.stop()
