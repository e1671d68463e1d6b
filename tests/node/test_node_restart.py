"""Our node as clients see it across a restart and a `kill -9` under load: every transaction whose receipt a
client was ever given is still there, in the same block, and the head is a whole block."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from scripts.harness.chains import Backend, Chain, Rpc, start_node

ZERO_FEES = {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}


def _restart(backend: Backend, hard: bool) -> Backend:
    if hard:
        os.killpg(backend.process.pid, signal.SIGKILL)
        backend.process.wait(10)
    else:
        backend.stop()
    return start_node(backend.workdir)


@pytest.mark.slow
@pytest.mark.parametrize("hard", [False, True], ids=["sigterm", "sigkill-under-load"])
def test_receipts_survive_restart(tmp_path: Path, hard: bool) -> None:
    backend = start_node(tmp_path / "node")
    try:
        chain = Chain(backend)
        sender = backend.accounts[0]
        confirmed: dict[str, dict[str, Any]] = {}
        for _ in range(3):
            receipt = chain.transact(sender, to=backend.extra_accounts[0].address, value=1, gas=21_000)
            confirmed[receipt["transactionHash"]] = receipt

        stop = threading.Event()
        dying = threading.Event()  # set just before the kill: connection errors after it are expected
        errors: list[BaseException] = []

        def load() -> None:
            # Keep transactions flowing, recording every receipt the node hands out, until it dies.
            rpc = Rpc(backend.http_url, timeout=5)
            pending: list[str] = []
            nonce = int(rpc.call("eth_getTransactionCount", sender.address, "pending"), 16)
            try:
                while not stop.is_set():
                    raw = chain.sign(sender, to=sender.address, gas=21_000, nonce=nonce, fees=ZERO_FEES)
                    pending.append(rpc.call("eth_sendRawTransaction", "0x" + raw.hex()))
                    nonce += 1
                    for tx_hash in list(pending):
                        receipt = rpc.call("eth_getTransactionReceipt", tx_hash)
                        if receipt is not None:
                            confirmed[tx_hash] = receipt
                            pending.remove(tx_hash)
            except Exception as exc:
                if not dying.is_set():
                    errors.append(exc)
            finally:
                rpc.close()

        worker = threading.Thread(target=load, daemon=True)
        worker.start()
        time.sleep(1.5)
        before = len(confirmed)
        if hard:
            dying.set()
            backend = _restart(backend, hard=True)
            stop.set()
        else:
            stop.set()
            worker.join(10)
            dying.set()
            backend = _restart(backend, hard=False)
        worker.join(10)
        assert before > 3, "the load produced no receipts before the restart"
        assert not errors, errors

        rpc = backend.rpc()
        head = rpc.call("eth_getBlockByNumber", "latest", True)
        for tx in head["transactions"]:
            assert rpc.call("eth_getTransactionReceipt", tx["hash"])["blockHash"] == head["hash"]
        for tx_hash, receipt in confirmed.items():
            again = rpc.call("eth_getTransactionReceipt", tx_hash)
            assert again is not None, f"receipt of {tx_hash} was returned before the restart and is now gone"
            assert again["blockHash"] == receipt["blockHash"]
            assert again["status"] == "0x1"
        # And the node keeps working: a new transaction after the restart is mined on top.
        chain = Chain(backend)
        receipt = chain.transact(sender, to=backend.extra_accounts[0].address, value=1, gas=21_000)
        assert int(receipt["blockNumber"], 16) > int(head["number"], 16)
    finally:
        backend.stop()
