"""Foundry's `cast`, unmodified, against a running node: deploy, send, call, receipt, logs, block."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from scripts.harness.chains import Backend, foundry_binary, load_contracts

TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()


class Cast:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.binary = foundry_binary("cast")
        account = backend.accounts[3 % len(backend.accounts)]
        self.account = account
        key = account.key.hex()
        self.key = key if key.startswith("0x") else "0x" + key

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "FOUNDRY_DISABLE_NIGHTLY_WARNING": "1", "NO_COLOR": "1"}
        env.pop("ETH_RPC_URL", None)
        completed = subprocess.run([self.binary, *args], capture_output=True, text=True, timeout=90, env=env)
        if check:
            assert completed.returncode == 0, (
                f"cast {' '.join(args)} exited {completed.returncode}:\n{completed.stderr}\n"
                f"node log:\n{self.backend.log_tail()}"
            )
        return completed

    def rpc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command, rest = args[0], args[1:]
        return self.run(command, "--rpc-url", self.backend.http_url, *rest, check=check)

    def json(self, *args: str) -> Any:
        return json.loads(self.rpc(*args, "--json").stdout)

    def send(self, *args: str) -> dict[str, Any]:
        receipt: dict[str, Any] = self.json("send", "--private-key", self.key, *args)
        return receipt


@pytest.fixture
def cast(any_backend: Backend) -> Cast:
    return Cast(any_backend)


@pytest.fixture
def token(cast: Cast) -> str:
    bytecode = load_contracts()["TestToken"]["bytecode"]
    receipt = cast.send("--create", bytecode + abi_encode(["uint256"], [10**24]).hex())
    assert receipt["status"] in ("0x1", 1, "1")
    return to_checksum_address(receipt["contractAddress"])


def test_chain_id_block_number_and_balance(cast: Cast, any_backend: Backend) -> None:
    assert int(cast.rpc("chain-id").stdout) == any_backend.chain_id
    assert int(cast.rpc("block-number").stdout) >= 0
    assert int(cast.rpc("balance", cast.account.address).stdout.split()[0]) > 0


def test_send_call_receipt_logs_and_block(cast: Cast, token: str, any_backend: Backend) -> None:
    recipient = any_backend.extra_accounts[0].address
    before = int(cast.rpc("call", token, "balanceOf(address)(uint256)", recipient).stdout.split()[0])
    nonce_before = int(cast.rpc("nonce", cast.account.address).stdout)

    sent = cast.send(token, "transfer(address,uint256)", recipient, "123")
    assert sent["status"] in ("0x1", 1, "1")
    tx_hash = sent["transactionHash"]
    assert int(cast.rpc("nonce", cast.account.address).stdout) == nonce_before + 1

    after = int(cast.rpc("call", token, "balanceOf(address)(uint256)", recipient).stdout.split()[0])
    assert after == before + 123
    block_number = int(sent["blockNumber"], 16) if isinstance(sent["blockNumber"], str) else sent["blockNumber"]
    historical = cast.rpc("call", token, "balanceOf(address)(uint256)", recipient, "--block", str(block_number - 1))
    assert int(historical.stdout.split()[0]) == before

    receipt = cast.json("receipt", tx_hash)
    assert receipt["transactionHash"] == tx_hash
    assert receipt["blockHash"] == sent["blockHash"]
    assert len(receipt["logs"]) == 1 and receipt["logs"][0]["topics"][0] == TRANSFER_TOPIC
    status_only = cast.rpc("receipt", tx_hash, "status").stdout.strip()
    assert status_only.split()[0] in ("1", "0x1", "true")

    logs = cast.json(
        "logs",
        "--from-block",
        str(block_number),
        "--to-block",
        str(block_number),
        "--address",
        token,
        "Transfer(address indexed,address indexed,uint256)",
        "",
        recipient,
    )
    assert [log["transactionHash"] for log in logs] == [tx_hash]
    assert int(logs[0]["data"], 16) == 123

    block = cast.json("block", str(block_number))
    assert block["hash"] == sent["blockHash"]
    assert tx_hash in block["transactions"]
    latest = cast.json("block", "latest")
    assert int(str(latest["number"]), 0) >= block_number
    tx = cast.json("tx", tx_hash)
    assert tx["hash"] == tx_hash and tx["from"].lower() == cast.account.address.lower()


def test_call_that_reverts_reports_the_custom_error(cast: Cast) -> None:
    bytecode = load_contracts()["Reverter"]["bytecode"]
    receipt = cast.send("--create", bytecode)
    reverter = to_checksum_address(receipt["contractAddress"])
    assert cast.rpc("call", reverter, "stored()(uint256)").stdout.split()[0] == "7"
    failed = cast.rpc("call", reverter, "failCustom(uint256)", "4", check=False)
    assert failed.returncode != 0
    selector = keccak(text="ReverterUnauthorized(address,uint256)")[:4].hex()
    assert "execution reverted" in failed.stderr
    assert selector in failed.stderr.lower()


def test_run_estimate_access_list_storage_code_base_fee(cast: Cast, token: str, any_backend: Backend) -> None:
    recipient = any_backend.extra_accounts[1].address
    sent = cast.send(token, "transfer(address,uint256)", recipient, "5")
    # `cast run` replays the block locally from historical state fetched over RPC.
    replay = cast.rpc("run", sent["transactionHash"]).stdout
    assert "transfer(" in replay and token.lower() in replay.lower()

    estimate = int(
        cast.rpc("estimate", token, "transfer(address,uint256)", recipient, "1", "--from", cast.account.address).stdout
    )
    assert 21_000 < estimate < 100_000
    access_list = cast.rpc(
        "access-list", token, "transfer(address,uint256)", recipient, "1", "--from", cast.account.address
    ).stdout
    assert token.lower() in access_list.lower() and "gas used" in access_list

    supply_slot = cast.rpc("storage", token, "0").stdout.strip()  # slot 0: totalSupply
    assert int(supply_slot, 16) == 10**24
    assert cast.rpc("code", token).stdout.strip() == load_contracts()["TestToken"]["deployedBytecode"]
    base_fee = int(cast.rpc("base-fee").stdout.split()[0])
    if any_backend.profile.zero_base_fee:
        assert base_fee == 0 and int(cast.rpc("gas-price").stdout.split()[0]) == 0
    else:
        assert base_fee > 0
