"""State overrides on eth_call and eth_estimateGas (balance, nonce, code, state, stateDiff), and eth_simulateV1:
calls in simulated blocks whose state carries from call to call, nothing kept."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils.crypto import keccak

from scripts.harness.node_process import DEV_KEYS, NodeProcess, RpcFailure, address_of, calldata, deploy
from tests.node.unit.contracts import TOKEN_BYTECODE

KEY = DEV_KEYS[0]
OWNER = address_of(KEY)
POOR = "0x" + "99" * 20
# returns its 32-byte storage slot 1: PUSH1 1 SLOAD PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
SLOT1_READER = "0x600154600052602060" + "00f3"
TRANSFER = "Transfer(address,address,uint256)"


def word(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


@pytest.fixture(scope="module")
def token(dev_node: NodeProcess) -> str:
    return deploy(dev_node, KEY, TOKEN_BYTECODE, (10**6).to_bytes(32, "big"))


def test_balance_override_lets_a_poor_account_pay(dev_node: NodeProcess) -> None:
    call = {"from": POOR, "to": OWNER, "value": hex(10**18)}
    with pytest.raises(RpcFailure):
        dev_node.call("eth_call", call)
    assert dev_node.call("eth_call", call, "latest", {POOR: {"balance": hex(2 * 10**18)}}) == "0x"
    assert dev_node.call("eth_estimateGas", call, "latest", {POOR: {"balance": hex(2 * 10**18)}}) == "0x5208"
    assert int(dev_node.call("eth_getBalance", POOR, "latest"), 16) == 0  # nothing kept


def test_code_state_and_state_diff(dev_node: NodeProcess) -> None:
    target = "0x" + "c0" * 20
    with_code = {"code": SLOT1_READER}
    assert dev_node.call("eth_call", {"to": target}, "latest", {target: with_code}) == word(0)
    full = {**with_code, "state": {word(1): word(7)}}
    assert dev_node.call("eth_call", {"to": target}, "latest", {target: full}) == word(7)
    diff = {**with_code, "stateDiff": {word(1): word(9)}}
    assert dev_node.call("eth_call", {"to": target}, "latest", {target: diff}) == word(9)
    assert dev_node.call("eth_getCode", target, "latest") == "0x"


def test_state_replaces_all_storage_but_state_diff_keeps_the_rest(dev_node: NodeProcess, token: str) -> None:
    balance_of = calldata("balanceOf(address)", ["address"], [OWNER])
    slot = "0x" + keccak(bytes.fromhex(OWNER[2:].rjust(64, "0")) + b"\x00" * 32).hex()
    other = word(12345)
    assert dev_node.call("eth_call", {"to": token, "data": balance_of}) == word(10**6)
    assert dev_node.call(
        "eth_call", {"to": token, "data": balance_of}, "latest", {token: {"state": {other: word(1)}}}
    ) == word(0)
    kept = {token: {"stateDiff": {other: word(1)}}}
    assert dev_node.call("eth_call", {"to": token, "data": balance_of}, "latest", kept) == word(10**6)
    changed = {token: {"stateDiff": {slot: word(5)}}}
    assert dev_node.call("eth_call", {"to": token, "data": balance_of}, "latest", changed) == word(5)


def test_nonce_override_moves_the_created_address(dev_node: NodeProcess) -> None:
    create = {"from": POOR, "data": "0x600a600c600039600a6000f3602a60005260206000f3"}
    assert dev_node.call("eth_estimateGas", create, "latest", {POOR: {"nonce": "0x5"}})


@pytest.mark.parametrize(
    "overrides",
    [
        {"0x" + "01" * 20: {"state": {}, "stateDiff": {}}},
        {"0x" + "01" * 20: {"balance": "nope"}},
        {"0x" + "01" * 20: {"movePrecompileToAddress": "0x" + "02" * 20}},
        {"not-an-address": {}},
        [1, 2],
    ],
)
def test_bad_overrides_are_refused(dev_node: NodeProcess, overrides: Any) -> None:
    with pytest.raises(RpcFailure) as refused:
        dev_node.call("eth_call", {"to": OWNER}, "latest", overrides)
    assert refused.value.code == -32602


def test_simulate_carries_state_across_calls_and_blocks(dev_node: NodeProcess, token: str) -> None:
    payee = "0x" + "e2" * 20
    send = calldata("transfer(address,uint256)", ["address", "uint256"], [payee, 400])
    balance = calldata("balanceOf(address)", ["address"], [payee])
    head = int(dev_node.call("eth_blockNumber"), 16)
    blocks = dev_node.call(
        "eth_simulateV1",
        {
            "blockStateCalls": [
                {"calls": [{"from": OWNER, "to": token, "data": send}, {"from": OWNER, "to": token, "data": send}]},
                {
                    "stateOverrides": {POOR: {"balance": hex(10**18)}},
                    "calls": [{"to": token, "data": balance}, {"from": POOR, "to": token, "data": send}],
                },
            ],
            "validation": False,
        },
        "latest",
    )
    assert [int(b["number"], 16) for b in blocks] == [head + 1, head + 2]
    first, second = blocks[0]["calls"], blocks[1]["calls"]
    assert [c["status"] for c in first] == ["0x1", "0x1"]
    log = first[1]["logs"][0]
    assert log["topics"][0] == "0x" + keccak(text=TRANSFER).hex() and log["logIndex"] == "0x1"
    assert log["blockHash"] == blocks[0]["hash"] and log["transactionHash"] == blocks[0]["transactions"][1]
    assert second[0]["returnData"] == word(800)
    assert second[1]["status"] == "0x0" and second[1]["error"]["code"] == 3  # POOR holds no tokens: reverted
    assert int(first[0]["gasUsed"], 16) > 21_000
    assert dev_node.call("eth_call", {"to": token, "data": balance}) == word(0)  # nothing kept


def test_simulate_validation_checks_the_nonce(dev_node: NodeProcess) -> None:
    nonce = int(dev_node.call("eth_getTransactionCount", OWNER, "latest"), 16)
    call = {"from": OWNER, "to": POOR, "nonce": hex(nonce + 3)}
    loose = dev_node.call("eth_simulateV1", {"blockStateCalls": [{"calls": [call]}]}, "latest")
    assert loose[0]["calls"][0]["status"] == "0x1"
    with pytest.raises(RpcFailure) as refused:
        dev_node.call("eth_simulateV1", {"blockStateCalls": [{"calls": [call]}], "validation": True}, "latest")
    assert "nonce too high" in refused.value.error["message"]
