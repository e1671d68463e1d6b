"""Intrinsic gas is one computation (node.intrinsic) for the pool, the block builder and eth_estimateGas: an
estimate covers the access list, init code and the EIP-7623 floor, and a transaction sent with it is accepted.

Before, a transfer with an access list of one address and one key was estimated at 21,000 (Anvil: 25,300) and the
pool then refused the transaction built with that estimate: "intrinsic gas too low".
"""

from __future__ import annotations

from typing import Any

import pytest
from eth.vm.forks.prague.transactions import PragueTransactionBuilder

from node.intrinsic import intrinsic_gas, transaction_intrinsic_gas
from scripts.harness.node_process import DEV_KEYS, NodeProcess, RpcFailure, address_of, sign
from tests.node.unit.contracts import TOKEN_BYTECODE

KEY = DEV_KEYS[1]
SENDER = address_of(KEY)
RECIPIENT = "0x" + "ab" * 20
ACCESS_LIST = [{"address": "0x" + "22" * 20, "storageKeys": ["0x" + "00" * 32]}]


def nonce_of(node: NodeProcess) -> int:
    return int(node.call("eth_getTransactionCount", SENDER, "pending"), 16)


def send_with_estimate(node: NodeProcess, call: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Estimate as a client does, sign with exactly that gas, and wait for the receipt."""
    gas = int(node.call("eth_estimateGas", {"from": SENDER, **call}), 16)
    tx = {k: v for k, v in call.items() if k not in ("input", "accessList")}
    if "accessList" in call:
        tx["accessList"] = call["accessList"]
    if "input" in call:
        tx["data"] = call["input"]
    raw = sign(KEY, nonce=nonce_of(node), gas=gas, **tx, **fields)
    receipt = node.wait_receipt(node.call("eth_sendRawTransaction", raw))
    assert receipt["status"] == "0x1", receipt
    assert int(receipt["gasUsed"], 16) <= gas
    return receipt


def test_a_transfer_with_an_access_list_estimates_its_intrinsic_gas(dev_node: NodeProcess) -> None:
    call = {"from": SENDER, "to": RECIPIENT, "value": "0x1", "accessList": ACCESS_LIST}
    assert dev_node.call("eth_estimateGas", call) == hex(21_000 + 2_400 + 1_900) == "0x62d4"
    assert dev_node.call("eth_estimateGas", {"from": SENDER, "to": RECIPIENT, "value": "0x1"}) == "0x5208"


@pytest.mark.parametrize("kind", ["type-1", "type-2"])
def test_a_transaction_sent_with_the_estimate_is_accepted(dev_node: NodeProcess, kind: str) -> None:
    fields: dict[str, Any] = {"gasPrice": 0, "type": 1} if kind == "type-1" else {}
    receipt = send_with_estimate(dev_node, {"to": RECIPIENT, "value": 1, "accessList": ACCESS_LIST}, **fields)
    assert receipt["gasUsed"] == "0x62d4"
    assert receipt["type"] == ("0x1" if kind == "type-1" else "0x2")


def test_contract_creation_counts_init_code_words(dev_node: NodeProcess) -> None:
    init = TOKEN_BYTECODE + (10**6).to_bytes(32, "big").hex()
    estimate = int(dev_node.call("eth_estimateGas", {"from": SENDER, "input": init}), 16)
    assert estimate >= intrinsic_gas(bytes.fromhex(init[2:]), create=True).minimum
    receipt = send_with_estimate(dev_node, {"input": init, "to": None})
    assert receipt["contractAddress"]


def test_calldata_heavy_transfer_estimates_the_eip7623_floor(dev_node: NodeProcess) -> None:
    data = "0x" + "ff" * 2_000  # 8,000 tokens: floor 101,000 above the 53,000 of standard calldata pricing
    need = intrinsic_gas(b"\xff" * 2_000, create=False)
    assert need.floor > need.gas
    assert dev_node.call("eth_estimateGas", {"from": SENDER, "to": RECIPIENT, "input": data}) == hex(need.floor)
    receipt = send_with_estimate(dev_node, {"to": RECIPIENT, "input": data})
    assert receipt["gasUsed"] == hex(need.floor)


def test_the_pool_refuses_one_gas_below_the_access_list_cost(dev_node: NodeProcess) -> None:
    raw = sign(KEY, nonce=nonce_of(dev_node), gas=25_299, to=RECIPIENT, accessList=ACCESS_LIST)
    with pytest.raises(RpcFailure) as refused:
        dev_node.call("eth_sendRawTransaction", raw)
    assert refused.value.error["message"] == "intrinsic gas too low"


def test_a_call_below_its_intrinsic_gas_says_so(dev_node: NodeProcess) -> None:
    """As geth words it, with both numbers (py-evm failed building the message: "Message.gas cannot be negative")."""
    with pytest.raises(RpcFailure) as refused:
        dev_node.call("eth_call", {"from": SENDER, "to": RECIPIENT, "gas": "0x5208", "accessList": ACCESS_LIST})
    assert refused.value.error["message"] == "intrinsic gas too low: have 21000, want 25300"


@pytest.mark.parametrize(
    "fields",
    [
        {"to": RECIPIENT},
        {"to": RECIPIENT, "data": "0x" + "00ff00ff" * 40},
        {"to": None, "data": TOKEN_BYTECODE},
        {"to": RECIPIENT, "accessList": ACCESS_LIST * 3, "type": 1, "gasPrice": 0},
    ],
)
def test_the_same_total_as_py_evm_charges(fields: dict[str, Any]) -> None:
    """py-evm takes init-code words during execution instead of up front; the sum is the same."""
    raw = bytes.fromhex(sign(KEY, nonce=0, gas=1_000_000, **fields)[2:])
    tx = PragueTransactionBuilder.decode(raw)
    words = 2 * ((len(tx.data) + 31) // 32) if not tx.to else 0
    assert transaction_intrinsic_gas(tx).gas == tx.intrinsic_gas + words
