"""The block builder drops a transaction that fails validation and goes on: one member cannot halt the chain.

Before, a block holding a storage write and then a transaction that failed validation (here the second of two
transfers that each fit the sender's balance alone, but not together) failed as a whole: the revert of the
failing transaction looked for a checkpoint that ``lock_changes`` had already flattened. The producer retried the
same transactions forever and no block was produced again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from eth_abi.abi import encode

from scripts.harness.node_process import DEV_KEYS, NodeProcess, address_of, calldata, deploy, sign, start_node
from tests.node.unit.contracts import TOKEN_BYTECODE

RECIPIENT = "0x" + "42" * 20
OVERSPENDER = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"  # dev account 5


@pytest.fixture
def slow_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """Blocks at most every 4 s, so one batch of transactions lands in one block."""
    node = start_node(tmp_path_factory.mktemp("builder") / "data", "--block-time", "4", "--no-trailing-block")
    yield node
    node.stop()


def nonce_of(node: NodeProcess, key: str) -> int:
    return int(node.call("eth_getTransactionCount", address_of(key), "latest"), 16)


def send_batch(node: NodeProcess, raws: list[str]) -> list[str]:
    batch = [
        {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [raw]} for i, raw in enumerate(raws)
    ]
    responses = sorted(node.post(batch), key=lambda r: r["id"])
    assert all("result" in r for r in responses), responses
    return [str(r["result"]) for r in responses]


def wait_gone(node: NodeProcess, tx_hash: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.call("eth_getTransactionByHash", tx_hash) is None:
            return
        time.sleep(0.1)
    raise TimeoutError(tx_hash)


def test_a_transaction_failing_validation_is_dropped_and_the_block_still_built(slow_node: NodeProcess) -> None:
    node = slow_node
    writer, good = DEV_KEYS[0], DEV_KEYS[2]
    token = deploy(node, writer, TOKEN_BYTECODE, encode(["uint256"], [10**6]))
    balance = int(node.call("eth_getBalance", address_of(OVERSPENDER), "latest"), 16)
    over = nonce_of(node, OVERSPENDER)
    transfer = calldata("transfer(address,uint256)", ["address", "uint256"], [RECIPIENT, 5])
    write, spend_all, overspend, clean = send_batch(
        node,
        [
            sign(writer, nonce=nonce_of(node, writer), to=token, data=transfer),  # a storage write first
            sign(OVERSPENDER, nonce=over, to=RECIPIENT, gas=21_000, value=balance),  # each fits alone ...
            sign(OVERSPENDER, nonce=over + 1, to=RECIPIENT, gas=21_000, value=1),  # ... not both
            sign(good, nonce=nonce_of(node, good), to=RECIPIENT, gas=21_000, value=1),
        ],
    )
    for tx_hash in (write, spend_all, clean):
        assert node.wait_receipt(tx_hash, timeout=30)["status"] == "0x1"
    wait_gone(node, overspend)  # dropped from the pool, never included
    assert node.call("eth_getTransactionReceipt", overspend) is None
    # production goes on: the overspender's next transaction (nothing to pay at a zero fee) is included
    after = node.call("eth_sendRawTransaction", sign(OVERSPENDER, nonce=over + 1, to=RECIPIENT, gas=21_000))
    assert node.wait_receipt(after, timeout=30)["status"] == "0x1"
