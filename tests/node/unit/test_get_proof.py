"""eth_getProof (EIP-1186), checked against each block's stateRoot with the ``trie`` library's own proof verifier
(``HexaryTrie.get_from_proof``), from nothing but the proof, the root and keccak of the key: not the node's code."""

from __future__ import annotations

from typing import Any

import pytest
import rlp
from eth.rlp.accounts import Account
from eth_utils.crypto import keccak
from rlp.sedes import big_endian_int
from trie.hexary import HexaryTrie

from scripts.harness.node_process import DEV_KEYS, NodeProcess, address_of, calldata, deploy, sign
from tests.node.unit.contracts import TOKEN_BYTECODE

KEY = DEV_KEYS[0]
OWNER = address_of(KEY)
EMPTY_ROOT = keccak(rlp.encode(b""))
EMPTY_CODE = keccak(b"")


def proven(root: bytes, key: bytes, proof: list[str]) -> bytes:
    """The value the proof shows under ``key`` in the trie of ``root`` (b"" when it shows the key absent)."""
    nodes = [rlp.decode(bytes.fromhex(node[2:])) for node in proof]
    value: bytes = HexaryTrie.get_from_proof(root, key, nodes)  # type: ignore[no-untyped-call]
    return value


def balance_slot(holder: str) -> str:
    """Slot of ``balanceOf[holder]`` in the test token (mapping at slot 0)."""
    return "0x" + keccak(bytes.fromhex(holder[2:].rjust(64, "0")) + b"\x00" * 32).hex()


def check(node: NodeProcess, address: str, slots: list[str], block: str) -> dict[str, Any]:
    header = node.call("eth_getBlockByNumber", block, False)
    state_root = bytes.fromhex(header["stateRoot"][2:])
    result: dict[str, Any] = node.call("eth_getProof", address, slots, header["number"])
    leaf = proven(state_root, keccak(bytes.fromhex(address[2:])), result["accountProof"])
    if leaf:
        account = rlp.decode(leaf, sedes=Account)
        assert (account.nonce, account.balance) == (int(result["nonce"], 16), int(result["balance"], 16))
        assert account.storage_root.hex() == result["storageHash"][2:]
        assert account.code_hash.hex() == result["codeHash"][2:]
    else:
        assert (result["balance"], result["nonce"]) == ("0x0", "0x0")
        assert result["storageHash"] == "0x" + EMPTY_ROOT.hex() and result["codeHash"] == "0x" + EMPTY_CODE.hex()
    storage_root = bytes.fromhex(result["storageHash"][2:])
    assert [entry["key"] for entry in result["storageProof"]] == slots
    for entry in result["storageProof"]:
        slot = bytes.fromhex(entry["key"][2:].rjust(64, "0"))
        raw = proven(storage_root, keccak(slot), entry["proof"]) if storage_root != EMPTY_ROOT else b""
        assert int(entry["value"], 16) == (rlp.decode(raw, sedes=big_endian_int) if raw else 0)
    return result


@pytest.fixture(scope="module")
def token(dev_node: NodeProcess) -> str:
    return deploy(dev_node, KEY, TOKEN_BYTECODE, (10**6).to_bytes(32, "big"))


def test_an_account_proof_verifies_against_the_state_root(dev_node: NodeProcess) -> None:
    result = check(dev_node, OWNER, [], "latest")
    assert int(result["balance"], 16) > 0 and result["accountProof"]


def test_an_absent_account_is_proven_absent(dev_node: NodeProcess) -> None:
    result = check(dev_node, "0x" + "5a" * 20, ["0x0"], "latest")
    assert result["storageProof"][0]["proof"] == []


def test_storage_proofs_at_every_retained_block(dev_node: NodeProcess, token: str) -> None:
    payee = "0x" + "e1" * 20
    slots = [balance_slot(OWNER), balance_slot(payee), "0x0"]
    before = check(dev_node, token, slots, "latest")
    assert [int(e["value"], 16) for e in before["storageProof"]] == [10**6, 0, 0]
    number_before = dev_node.call("eth_blockNumber")
    nonce = int(dev_node.call("eth_getTransactionCount", OWNER, "pending"), 16)
    data = calldata("transfer(address,uint256)", ["address", "uint256"], [payee, 250])
    receipt = dev_node.wait_receipt(
        dev_node.call("eth_sendRawTransaction", sign(KEY, nonce=nonce, to=token, data=data))
    )
    assert receipt["status"] == "0x1"
    after = check(dev_node, token, slots, receipt["blockNumber"])
    assert [int(e["value"], 16) for e in after["storageProof"]] == [10**6 - 250, 250, 0]
    again = check(dev_node, token, slots, number_before)  # an older block still proves its own state
    assert again["storageProof"] == before["storageProof"] and again["storageHash"] != after["storageHash"]


def test_bad_keys_are_refused(dev_node: NodeProcess) -> None:
    from scripts.harness.node_process import RpcFailure

    for slots in ("0x0", ["0x" + "00" * 33], [5]):
        with pytest.raises(RpcFailure) as refused:
            dev_node.call("eth_getProof", OWNER, slots, "latest")
        assert refused.value.code == -32602
