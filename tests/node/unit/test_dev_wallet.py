"""The dev chain's accounts as a wallet (eth_accounts, eth_sign, eth_signTransaction, eth_signTypedData_v4,
eth_sendTransaction), only in ``dev`` mode; raw transactions by hash and position; the pending block as head + 1."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data

from scripts.harness.node_process import DEV_KEYS, NodeProcess, RpcFailure, address_of, start_node
from tests.node.unit.test_cli import GENESIS, run_cli, write

DEV = [address_of(key).lower() for key in DEV_KEYS]
RECIPIENT = "0x" + "ee" * 20
TYPED = {
    "types": {
        "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}],
        "Order": [{"name": "amount", "type": "uint256"}, {"name": "to", "type": "address"}],
    },
    "primaryType": "Order",
    "domain": {"name": "RepoNet", "chainId": 1337},
    "message": {"amount": 7, "to": RECIPIENT},
}


def test_eth_accounts_lists_the_dev_accounts(dev_node: NodeProcess) -> None:
    accounts = dev_node.call("eth_accounts")
    assert accounts[:3] == DEV and len(accounts) == 10


def test_eth_sign_and_typed_data_recover_to_the_account(dev_node: NodeProcess) -> None:
    signature = dev_node.call("eth_sign", DEV[1], "0x68656c6c6f")
    assert Account.recover_message(encode_defunct(b"hello"), signature=signature).lower() == DEV[1]
    for payload in (TYPED, json.dumps(TYPED)):  # clients send the object or its JSON text
        signature = dev_node.call("eth_signTypedData_v4", DEV[2], payload)
        assert Account.recover_message(encode_typed_data(full_message=TYPED), signature=signature).lower() == DEV[2]


def test_sign_then_send_transaction(dev_node: NodeProcess) -> None:
    raw = dev_node.call("eth_signTransaction", {"from": DEV[0], "to": RECIPIENT, "value": "0x3"})
    tx_hash = dev_node.call("eth_sendRawTransaction", raw)
    receipt = dev_node.wait_receipt(tx_hash)
    assert receipt["status"] == "0x1" and receipt["from"] == DEV[0]
    assert dev_node.call("eth_getRawTransactionByHash", tx_hash) == raw
    block, index = receipt["blockNumber"], receipt["transactionIndex"]
    assert dev_node.call("eth_getRawTransactionByBlockNumberAndIndex", block, index) == raw
    assert dev_node.call("eth_getRawTransactionByBlockHashAndIndex", receipt["blockHash"], index) == raw
    assert dev_node.call("eth_getRawTransactionByBlockNumberAndIndex", block, "0x99") is None
    assert dev_node.call("eth_getRawTransactionByHash", "0x" + "00" * 32) is None
    sent = dev_node.call("eth_sendTransaction", {"from": DEV[0], "to": RECIPIENT, "value": "0x4"})
    receipt = dev_node.wait_receipt(sent)
    assert receipt["status"] == "0x1" and int(dev_node.call("eth_getBalance", RECIPIENT, "latest"), 16) == 7


def test_an_unknown_account_is_refused(dev_node: NodeProcess) -> None:
    for method, params in (
        ("eth_sign", ["0x" + "12" * 20, "0x00"]),
        ("eth_sendTransaction", [{"from": "0x" + "12" * 20, "to": RECIPIENT}]),
    ):
        with pytest.raises(RpcFailure) as refused:
            dev_node.call(method, *params)
        assert refused.value.error["message"] == "unknown account"


def test_the_pending_block_is_head_plus_one(dev_node: NodeProcess) -> None:
    head = int(dev_node.call("eth_blockNumber"), 16)
    pending = dev_node.call("eth_getBlockByNumber", "pending", False)
    assert int(pending["number"], 16) in (head + 1, head + 2)  # a block may be sealed between the two reads
    assert pending["hash"] is None and pending["miner"] is None
    assert (
        pending["parentHash"]
        == dev_node.call("eth_getBlockByNumber", hex(int(pending["number"], 16) - 1), False)["hash"]
    )


@pytest.fixture(scope="module")
def run_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    tmp = tmp_path_factory.mktemp("wallet-run")
    data_dir = tmp / "data"
    genesis, password = write(tmp / "genesis.json", json.dumps(GENESIS)), write(tmp / "pw", "s3cret\n")
    result = run_cli("init", "--data-dir", str(data_dir), "--genesis", str(genesis), "--password-file", str(password))
    assert result.returncode == 0, result.stderr
    node = start_node(data_dir, "--block-time", "0.2", command="run", env={"REPONET_NODE_PASSWORD": "s3cret"})
    yield node
    node.stop()


def test_run_mode_holds_no_wallet(run_node: NodeProcess) -> None:
    assert run_node.call("eth_accounts") == []
    signer = address_of(DEV_KEYS[0])
    for method, params in (
        ("eth_sign", [signer, "0x00"]),
        ("eth_signTypedData_v4", [signer, TYPED]),
        ("eth_signTransaction", [{"from": signer, "to": RECIPIENT}]),
        ("eth_sendTransaction", [{"from": signer, "to": RECIPIENT}]),
    ):
        with pytest.raises(RpcFailure) as refused:
            run_node.call(method, *params)
        assert refused.value.error["message"] == "unknown account"
