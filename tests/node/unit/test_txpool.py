"""Transaction pool admission rules, through eth_sendRawTransaction on a running node."""

from __future__ import annotations

import time

import pytest
from eth_account import Account

from scripts.harness.node_process import (
    CHAIN_ID,
    DEV_KEYS,
    NodeProcess,
    RpcFailure,
    address_of,
    sign,
    start_node,
)

RECIPIENT = "0x" + "42" * 20


def nonce_of(node: NodeProcess, key: str, tag: str = "pending") -> int:
    return int(node.call("eth_getTransactionCount", address_of(key), tag), 16)


def refused(node: NodeProcess, raw: str) -> dict[str, object]:
    with pytest.raises(RpcFailure) as failure:
        node.call("eth_sendRawTransaction", raw)
    return failure.value.error


def test_wrong_chain_id(dev_node: NodeProcess) -> None:
    raw = sign(DEV_KEYS[0], nonce=nonce_of(dev_node, DEV_KEYS[0]), to=RECIPIENT, gas=21000, chainId=CHAIN_ID + 1)
    error = refused(dev_node, raw)
    assert error["code"] == -32000
    assert "invalid chain id" in str(error["message"])


def test_pre_eip155_legacy_is_refused(dev_node: NodeProcess) -> None:
    tx = {"nonce": nonce_of(dev_node, DEV_KEYS[0]), "gasPrice": 0, "gas": 21000, "to": RECIPIENT, "value": 0}
    raw = "0x" + bytes(Account.sign_transaction(tx, DEV_KEYS[0]).raw_transaction).hex()
    assert "EIP-155" in str(refused(dev_node, raw)["message"])


def test_all_three_types_are_accepted(dev_node: NodeProcess) -> None:
    key = DEV_KEYS[2]
    nonce = nonce_of(dev_node, key)
    legacy = sign(key, nonce=nonce, to=RECIPIENT, gas=21000, gasPrice=0)
    access_list = sign(
        key,
        nonce=nonce + 1,
        to=RECIPIENT,
        gas=30000,
        gasPrice=0,
        accessList=[{"address": RECIPIENT, "storageKeys": ["0x" + "00" * 32]}],
    )
    dynamic = sign(key, nonce=nonce + 2, to=RECIPIENT, gas=21000)
    hashes = [dev_node.call("eth_sendRawTransaction", raw) for raw in (legacy, access_list, dynamic)]
    receipts = [dev_node.wait_receipt(h) for h in hashes]
    assert [r["type"] for r in receipts] == ["0x0", "0x1", "0x2"]
    assert all(r["status"] == "0x1" for r in receipts)


def test_nonce_too_low_and_already_known(dev_node: NodeProcess) -> None:
    key = DEV_KEYS[0]
    nonce = nonce_of(dev_node, key)
    raw = sign(key, nonce=nonce, to=RECIPIENT, gas=21000)
    tx_hash = dev_node.call("eth_sendRawTransaction", raw)
    error = refused(dev_node, raw)
    assert error["message"] in (
        "already known",
        f"nonce too low: address {address_of(key).lower()}, tx: {nonce} state: {nonce + 1}",
    )
    dev_node.wait_receipt(tx_hash)
    error = refused(dev_node, sign(key, nonce=nonce, to=RECIPIENT, gas=21000, value=1))
    assert error["message"] == f"nonce too low: address {address_of(key).lower()}, tx: {nonce} state: {nonce + 1}"


def test_intrinsic_gas_and_block_gas_limit(dev_node: NodeProcess) -> None:
    key = DEV_KEYS[0]
    nonce = nonce_of(dev_node, key)
    assert refused(dev_node, sign(key, nonce=nonce, to=RECIPIENT, gas=20999))["message"] == "intrinsic gas too low"
    assert refused(dev_node, sign(key, nonce=nonce, to=RECIPIENT, gas=10**9))["message"] == "exceeds block gas limit"


def test_oversized_transaction(dev_node: NodeProcess) -> None:
    key = DEV_KEYS[0]
    raw = sign(key, nonce=nonce_of(dev_node, key), to=RECIPIENT, gas=5_000_000, data="0x" + "01" * 140_000)
    assert refused(dev_node, raw)["message"] == "oversized data"


def test_insufficient_funds(dev_node: NodeProcess) -> None:
    key = DEV_KEYS[0]
    raw = sign(key, nonce=nonce_of(dev_node, key), to=RECIPIENT, gas=21000, value=10**30)
    assert str(refused(dev_node, raw)["message"]).startswith("insufficient funds for gas * price + value")


def test_future_nonce_is_queued_then_promoted(tmp_path: object) -> None:
    from pathlib import Path

    node = start_node(Path(str(tmp_path)) / "data", "--block-time", "0.1")
    try:
        key = DEV_KEYS[1]
        nonce = nonce_of(node, key)
        later = node.call("eth_sendRawTransaction", sign(key, nonce=nonce + 1, to=RECIPIENT, gas=21000))
        status = node.call("txpool_status")
        assert status == {"pending": "0x0", "queued": "0x1"}
        content = node.call("txpool_content")
        assert str(nonce + 1) in content["queued"][address_of(key).lower()]
        assert node.call("eth_getTransactionCount", address_of(key), "pending") == hex(nonce)
        assert node.call("eth_getTransactionByHash", later)["blockHash"] is None
        time.sleep(0.3)
        assert node.call("eth_getTransactionReceipt", later) is None
        first = node.call("eth_sendRawTransaction", sign(key, nonce=nonce, to=RECIPIENT, gas=21000))
        assert node.wait_receipt(first)["status"] == "0x1"
        assert node.wait_receipt(later)["status"] == "0x1"
        assert node.call("txpool_status") == {"pending": "0x0", "queued": "0x0"}
    finally:
        node.stop()


def test_replacement_needs_a_price_bump(tmp_path: object) -> None:
    from pathlib import Path

    node = start_node(Path(str(tmp_path)) / "data", "--block-time", "2")
    try:
        key = DEV_KEYS[1]
        nonce = nonce_of(node, key)
        # a gapped nonce stays in the pool, so replacement can be tested without racing the producer
        target = nonce + 5
        fees = {"maxFeePerGas": 100, "maxPriorityFeePerGas": 100}
        node.call("eth_sendRawTransaction", sign(key, nonce=target, to=RECIPIENT, gas=21000, **fees))
        same_price = sign(key, nonce=target, to=RECIPIENT, gas=21000, value=1, **fees)
        assert refused(node, same_price)["message"] == "replacement transaction underpriced"
        small_bump = sign(
            key, nonce=target, to=RECIPIENT, gas=21000, value=1, maxFeePerGas=105, maxPriorityFeePerGas=105
        )
        assert refused(node, small_bump)["message"] == "replacement transaction underpriced"
        bumped = sign(key, nonce=target, to=RECIPIENT, gas=21000, value=1, maxFeePerGas=110, maxPriorityFeePerGas=110)
        new_hash = node.call("eth_sendRawTransaction", bumped)
        assert node.call("txpool_status")["queued"] == "0x1"
        assert node.call("eth_getTransactionByHash", new_hash)["value"] == "0x1"
    finally:
        node.stop()


def test_per_sender_limit(tmp_path: object) -> None:
    from pathlib import Path

    node = start_node(Path(str(tmp_path)) / "data", "--block-time", "5", "--txpool-account-slots", "3")
    try:
        key = DEV_KEYS[0]
        nonce = nonce_of(node, key)
        for i in range(1, 4):
            node.call("eth_sendRawTransaction", sign(key, nonce=nonce + i, to=RECIPIENT, gas=21000))
        error = refused(node, sign(key, nonce=nonce + 4, to=RECIPIENT, gas=21000))
        assert str(error["message"]).startswith("txpool is full")
    finally:
        node.stop()
