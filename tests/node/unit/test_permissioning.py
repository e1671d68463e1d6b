"""Account permissioning: local allowlist, on-chain rules contract, the operator-only admin method."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_abi.abi import encode
from eth_account import Account

from scripts.harness.node_process import (
    DEV_KEYS,
    NodeProcess,
    RpcFailure,
    address_of,
    calldata,
    deploy,
    sign,
    start_node,
)
from tests.node.unit.contracts import RULES_BYTECODE

OUTSIDER = Account.create()
SECOND = Account.create()
RECIPIENT = "0x" + "42" * 20


@pytest.fixture
def node(tmp_path: Path) -> Iterator[NodeProcess]:
    node = start_node(tmp_path / "data", "--block-time", "0.1")
    yield node
    node.stop()


def admin_headers(node: NodeProcess) -> dict[str, str]:
    token = (node.data_dir / "admin.token").read_text().strip()
    return {"Authorization": f"Bearer {token}"}


def send(node: NodeProcess, key: str, **fields: object) -> str:
    nonce = int(node.call("eth_getTransactionCount", address_of(key), "pending"), 16)
    return str(node.call("eth_sendRawTransaction", sign(key, nonce=nonce, **fields)))


def test_unknown_sender_is_refused_with_32007(node: NodeProcess) -> None:
    with pytest.raises(RpcFailure) as failure:
        send(node, OUTSIDER.key.hex(), to=RECIPIENT, gas=21000)
    assert failure.value.error == {"code": -32007, "message": "sender account not authorized"}


def test_admin_method_is_refused_to_normal_callers(node: NodeProcess) -> None:
    for headers in (None, {"Authorization": "Bearer wrong"}):
        with pytest.raises(RpcFailure) as failure:
            node.call("reponet_setAccountRules", "0x" + "11" * 20, headers=headers)
        assert failure.value.code == -40100
    assert (node.data_dir / "admin.token").stat().st_mode & 0o077 == 0
    result = node.call("reponet_setAccountRules", "0x" + "11" * 20, headers=admin_headers(node))
    assert result["accountRules"] == "0x" + "11" * 20


def test_rules_contract_decides_and_can_be_switched_without_restart(node: NodeProcess) -> None:
    operator = DEV_KEYS[0]
    outsider = "0x" + OUTSIDER.key.hex().removeprefix("0x")
    rules = deploy(node, operator, RULES_BYTECODE, encode(["address"], [OUTSIDER.address]))
    # before the node points at the contract, the outsider is refused
    with pytest.raises(RpcFailure):
        send(node, outsider, to=RECIPIENT, gas=21000)
    node.call("reponet_setAccountRules", rules, headers=admin_headers(node))
    receipt = node.wait_receipt(send(node, outsider, to=RECIPIENT, gas=21000))
    assert receipt["status"] == "0x1"
    # another account is refused by the contract...
    with pytest.raises(RpcFailure) as failure:
        send(node, SECOND.key.hex(), to=RECIPIENT, gas=21000)
    assert failure.value.code == -32007
    # ...until the contract allows it (no restart, no admin call)
    allow = calldata("allow(address)", ["address"], [SECOND.address])
    node.wait_receipt(send(node, operator, to=rules, data=allow, gas=100_000))
    assert node.wait_receipt(send(node, SECOND.key.hex(), to=RECIPIENT, gas=21000))["status"] == "0x1"
    assert node.call("reponet_permissioning", headers=admin_headers(node))["accountRules"] == rules.lower()


def test_rules_setting_survives_restart(tmp_path: Path) -> None:
    node = start_node(tmp_path / "data")
    try:
        node.call("reponet_setAccountRules", "0x" + "22" * 20, headers=admin_headers(node))
    finally:
        node.stop()
    node = start_node(tmp_path / "data", port=node.port)
    try:
        assert node.call("reponet_permissioning", headers=admin_headers(node))["accountRules"] == "0x" + "22" * 20
    finally:
        node.stop()


def test_sender_is_checked_again_when_the_block_is_built(tmp_path: Path) -> None:
    node = start_node(tmp_path / "data", "--block-time", "3")
    try:
        operator = DEV_KEYS[0]
        outsider = "0x" + OUTSIDER.key.hex().removeprefix("0x")
        rules = deploy(node, operator, RULES_BYTECODE, encode(["address"], [OUTSIDER.address]))
        node.call("reponet_setAccountRules", rules, headers=admin_headers(node))
        # admitted now; the next block is at least 3 s after the deployment's block
        tx_hash = send(node, outsider, to=RECIPIENT, gas=21000)
        node.call("reponet_setAccountRules", "0x" + "33" * 20, headers=admin_headers(node))
        time.sleep(4)
        assert node.call("eth_getTransactionReceipt", tx_hash) is None
        assert node.call("txpool_status") == {"pending": "0x0", "queued": "0x0"}
    finally:
        node.stop()


def test_dev_allow_flag_adds_to_the_allowlist(tmp_path: Path) -> None:
    node = start_node(tmp_path / "data", "--allow", OUTSIDER.address)
    try:
        assert OUTSIDER.address.lower() in node.call("reponet_permissioning", headers=admin_headers(node))["allowlist"]
        # allowed but unfunded: zero-fee transactions still go through (members need no native coin)
        receipt = node.wait_receipt(send(node, OUTSIDER.key.hex(), to=RECIPIENT, gas=21000))
        assert receipt["status"] == "0x1"
    finally:
        node.stop()
