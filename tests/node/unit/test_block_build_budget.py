"""One transaction, or a mix of them, cannot hold a block build for long (node.txpool, node.execution).

Before, a transaction calling the BLAKE2F precompile (0x09) with as many rounds as the block gas limit allows (one
gas per round) stalled a block build for about 55 s in py-evm's pure-Python compression: now the pool caps a
transaction's gas (EIP-7825's 2^24 by default, ``--txpool-max-tx-gas``), py-evm runs BLAKE2F natively
(blake2b-py), and a build stops adding transactions once its budget (``--block-build-seconds`` of the building
thread's CPU time, node.build_budget) is spent, leaving the rest in the pool for the next block.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scripts.harness.node_process import DEV_KEYS, NodeProcess, RpcFailure, address_of, sign, start_node

BLAKE2F = "0x" + "00" * 19 + "09"
RECIPIENT = "0x" + "42" * 20


def blake2f_input(rounds: int) -> str:
    return "0x" + (rounds.to_bytes(4, "big") + b"\x00" * (64 + 128 + 16) + b"\x01").hex()


def nonce_of(node: NodeProcess, key: str) -> int:
    return int(node.call("eth_getTransactionCount", address_of(key), "pending"), 16)


@pytest.fixture
def hurried_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """A build budget so small that every block holds only its first transaction."""
    node = start_node(
        tmp_path_factory.mktemp("budget") / "data", "--block-time", "0.2", "--block-build-seconds", "0.000001"
    )
    yield node
    node.stop()


def test_a_transaction_asking_for_more_than_the_cap_is_refused(dev_node: NodeProcess) -> None:
    key = DEV_KEYS[1]
    raw = sign(key, nonce=nonce_of(dev_node, key), to=BLAKE2F, gas=29_000_000, data=blake2f_input(28_000_000))
    with pytest.raises(RpcFailure) as failure:
        dev_node.call("eth_sendRawTransaction", raw)
    assert failure.value.error["message"] == "transaction gas limit too high (cap: 16777216, tx: 29000000)"


def test_blake2f_runs_natively() -> None:
    from eth.precompiles import blake2

    assert blake2.blake2b_compress.__module__ != "eth._utils.blake2.compression"


def test_a_capped_blake2f_transaction_is_included(dev_node: NodeProcess) -> None:
    key = DEV_KEYS[1]
    raw = sign(key, nonce=nonce_of(dev_node, key), to=BLAKE2F, gas=16_777_216, data=blake2f_input(16_000_000))
    receipt = dev_node.wait_receipt(dev_node.call("eth_sendRawTransaction", raw), timeout=60)
    assert receipt["status"] == "0x1"


def test_a_build_over_its_budget_leaves_the_rest_for_the_next_block(hurried_node: NodeProcess) -> None:
    node = hurried_node
    raws = [sign(key, nonce=nonce_of(node, key), to=RECIPIENT, gas=21_000, value=1) for key in DEV_KEYS]
    batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [r]} for i, r in enumerate(raws)]
    hashes = [r["result"] for r in sorted(node.post(batch), key=lambda r: r["id"])]
    receipts = [node.wait_receipt(h, timeout=30) for h in hashes]
    assert all(r["status"] == "0x1" for r in receipts)
    assert len({r["blockNumber"] for r in receipts}) == len(receipts)  # one transaction per block
