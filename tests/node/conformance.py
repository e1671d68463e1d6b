"""A reusable Ethereum JSON-RPC conformance suite (in the spirit of web3.py's EthModuleTest).

Subclass `EthConformance` in a test module and provide a class- or session-scoped fixture named `backend`
returning a running `harness.Backend`. Every test talks to a real node process over raw JSON-RPC (`Rpc`) or
web3.py. Where a backend legitimately differs, the test reads `backend.profile` and asserts that backend's own
expectation, so the difference shows in the test's code and name rather than in a skip.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_bloom import BloomFilter
from eth_utils import keccak, to_checksum_address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware
from websockets.sync.client import connect as ws_connect

from scripts.harness.chains import STRANGER, Backend, Chain, Rpc, load_contracts

ZERO_HASH = "0x" + "00" * 32
TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
STORED_TOPIC = "0x" + keccak(text="Stored(address,uint256)").hex()
ERROR_STRING_SELECTOR = keccak(text="Error(string)")[:4]
CUSTOM_ERROR_SELECTOR = keccak(text="ReverterUnauthorized(address,uint256)")[:4]
TOKEN_SUPPLY = 10**24
BLOCK_FIELDS = {
    "number", "hash", "parentHash", "nonce", "sha3Uncles", "logsBloom", "transactionsRoot", "stateRoot",
    "receiptsRoot", "miner", "difficulty", "extraData", "size", "gasLimit", "gasUsed", "timestamp",
    "transactions", "uncles", "baseFeePerGas", "mixHash",
}  # fmt: skip
TX_FIELDS = {
    "hash", "nonce", "blockHash", "blockNumber", "transactionIndex", "from", "to", "value", "gas", "gasPrice",
    "input", "v", "r", "s", "type", "chainId", "maxFeePerGas", "maxPriorityFeePerGas", "accessList", "yParity",
}  # fmt: skip
RECEIPT_FIELDS = {
    "transactionHash", "transactionIndex", "blockHash", "blockNumber", "from", "to", "cumulativeGasUsed",
    "gasUsed", "contractAddress", "logs", "logsBloom", "status", "effectiveGasPrice", "type",
}  # fmt: skip
LOG_FIELDS = {
    "address", "topics", "data", "blockNumber", "blockHash", "transactionHash", "transactionIndex", "logIndex",
    "removed",
}  # fmt: skip

FUZZED_METHODS = [
    "eth_getBalance", "eth_getCode", "eth_getStorageAt", "eth_getTransactionCount", "eth_getBlockByNumber",
    "eth_getBlockByHash", "eth_getTransactionByHash", "eth_getTransactionReceipt", "eth_getBlockReceipts",
    "eth_call", "eth_estimateGas", "eth_getLogs", "eth_newFilter", "eth_getFilterChanges", "eth_uninstallFilter",
    "eth_sendRawTransaction", "eth_feeHistory", "eth_getTransactionByBlockNumberAndIndex", "debug_traceTransaction",
    "eth_createAccessList", "eth_getBlockTransactionCountByNumber",
]  # fmt: skip
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from(["latest", "pending", "earliest", "safe", "finalized", "0x", "0x0", "0x00", "0xzz", "-0x1"])
    | st.from_regex(r"\A0x[0-9a-f]{0,70}\Z")
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["to", "from", "data", "input", "gas", "value", "blockHash", "address", "topics", "fromBlock"]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=8,
)

# The world fixture is class-scoped (not reset between examples), and the same test runs from each subclass.
SUPPRESSED = [HealthCheck.function_scoped_fixture, HealthCheck.differing_executors]


def qty(value: str) -> int:
    assert isinstance(value, str) and value.startswith("0x"), value
    assert value == "0x0" or not value.startswith("0x0"), f"quantity with leading zeros: {value}"
    return int(value, 16)


def topic_of(address: str) -> str:
    return "0x" + "00" * 12 + address[2:].lower()


def same_address(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.lower() == b.lower()


@dataclass
class World:
    """What the suite deployed and did once per backend; tests read it and add their own transactions."""

    backend: Backend
    rpc: Rpc
    chain: Chain
    w3: Web3
    token: Any  # web3 Contract bound to the deployed TestToken
    reverter: Any
    deploy_receipt: dict[str, Any]
    transfer_receipt: dict[str, Any]
    store_receipt: dict[str, Any]
    failed_receipt: dict[str, Any]
    forward_receipt: dict[str, Any]
    value_receipt: dict[str, Any]
    payee: str  # a fresh address that received exactly `paid` wei
    paid: int

    @property
    def sender(self) -> Any:
        return self.backend.accounts[0]

    def encode(self, contract: Any, fn: str, *args: Any) -> str:
        data: str = contract.encode_abi(fn, args=list(args))
        return data


class EthConformance:
    """The suite. Tests are grouped by area; each asserts what a client relies on."""

    # ------------------------------------------------------------------ setup

    @pytest.fixture(scope="class")
    @classmethod
    def world(cls, backend: Backend) -> World:
        rpc = backend.rpc()
        chain = Chain(backend, rpc)
        w3 = Web3(Web3.HTTPProvider(backend.http_url, request_kwargs={"timeout": 30}))
        if backend.profile.qbft_extra_data:
            w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        artifacts = load_contracts()
        sender = backend.accounts[0]
        funded, unfunded, queued = backend.extra_accounts[0], backend.extra_accounts[1], backend.extra_accounts[2]
        del unfunded  # stays without native coin: the zero-base-fee test needs it
        for account in (funded, queued):
            chain.transact(sender, to=account.address, value=10**18, gas=21_000)
        if not backend.profile.permissioned:
            # Anvil lets anyone send; give the stranger coin so the permissioning test shows acceptance.
            chain.transact(sender, to=STRANGER.address, value=10**18, gas=21_000)

        ctor = abi_encode(["uint256"], [TOKEN_SUPPLY]).hex()
        deploy_receipt = chain.deploy(sender, artifacts["TestToken"]["bytecode"], ctor)
        token_address = to_checksum_address(deploy_receipt["contractAddress"])
        token = w3.eth.contract(address=token_address, abi=artifacts["TestToken"]["abi"])
        reverter_receipt = chain.deploy(sender, artifacts["Reverter"]["bytecode"])
        reverter_address = to_checksum_address(reverter_receipt["contractAddress"])
        reverter = w3.eth.contract(address=reverter_address, abi=artifacts["Reverter"]["abi"])

        def call_data(contract: Any, fn: str, *args: Any) -> str:
            data: str = contract.encode_abi(fn, args=list(args))
            return data

        transfer_receipt = chain.transact(
            sender, to=token.address, data=call_data(token, "transfer", funded.address, 1000), gas=100_000
        )
        store_receipt = chain.transact(sender, to=reverter.address, data=call_data(reverter, "store", 42), gas=100_000)
        failed_receipt = chain.transact(
            sender, to=reverter.address, data=call_data(reverter, "failIfZero", 0), gas=100_000
        )
        chain.transact(sender, to=token.address, data=call_data(token, "transfer", reverter.address, 100), gas=100_000)
        forward_receipt = chain.transact(
            sender,
            to=reverter.address,
            data=call_data(reverter, "forward", token.address, funded.address, 5),
            gas=200_000,
        )
        payee = "0x" + keccak(text=f"payee-{backend.name}-{time.time()}")[:20].hex()
        value_receipt = chain.transact(sender, to=payee, value=12345, gas=21_000)
        return World(
            backend=backend,
            rpc=rpc,
            chain=chain,
            w3=w3,
            token=token,
            reverter=reverter,
            deploy_receipt=deploy_receipt,
            transfer_receipt=transfer_receipt,
            store_receipt=store_receipt,
            failed_receipt=failed_receipt,
            forward_receipt=forward_receipt,
            value_receipt=value_receipt,
            payee=to_checksum_address(payee),
            paid=12345,
        )

    # ------------------------------------------------------------------ identity and status

    def test_chain_id_and_net_version(self, world: World) -> None:
        assert qty(world.rpc.call("eth_chainId")) == world.backend.chain_id
        assert world.rpc.call("net_version") == str(world.backend.chain_id)
        assert world.w3.eth.chain_id == world.backend.chain_id

    def test_client_version_listening_syncing(self, world: World) -> None:
        version = world.rpc.call("web3_clientVersion")
        assert isinstance(version, str) and version
        assert world.rpc.call("net_listening") is True
        assert world.rpc.call("eth_syncing") is False
        for method in ("net_peerCount",):
            if method in world.backend.profile.missing_methods:
                assert world.rpc.error(method)["code"] == -32601
            else:
                assert qty(world.rpc.call(method)) >= 0

    def test_block_number_advances_with_a_transaction(self, world: World) -> None:
        before = qty(world.rpc.call("eth_blockNumber"))
        receipt = world.chain.transact(world.sender, to=world.payee, value=0, gas=21_000)
        after = qty(world.rpc.call("eth_blockNumber"))
        assert after >= qty(receipt["blockNumber"]) > before

    def test_gas_price_and_fee_history(self, world: World) -> None:
        gas_price = qty(world.rpc.call("eth_gasPrice"))
        tip = qty(world.rpc.call("eth_maxPriorityFeePerGas"))
        latest = world.rpc.call("eth_getBlockByNumber", "latest", False)
        base_fee = qty(latest["baseFeePerGas"])
        assert gas_price >= base_fee
        history = world.rpc.call("eth_feeHistory", "0x2", "latest", [50])
        assert qty(history["oldestBlock"]) == qty(latest["number"]) - 1
        assert len(history["baseFeePerGas"]) == 3  # two blocks plus the next one
        assert len(history["gasUsedRatio"]) == 2
        assert all(0 <= ratio <= 1 for ratio in history["gasUsedRatio"])
        assert len(history["reward"]) == 2 and all(len(r) == 1 for r in history["reward"])
        if world.backend.profile.zero_base_fee:
            assert base_fee == 0 and tip == 0 and gas_price == 0
        else:
            assert base_fee > 0

    def test_accounts_is_a_list(self, world: World) -> None:
        accounts = world.rpc.call("eth_accounts")
        assert isinstance(accounts, list)
        assert all(Web3.is_address(a) for a in accounts)

    # ------------------------------------------------------------------ state

    def test_balance_now_and_before(self, world: World) -> None:
        block = qty(world.value_receipt["blockNumber"])
        assert qty(world.rpc.call("eth_getBalance", world.payee, "latest")) == world.paid
        assert qty(world.rpc.call("eth_getBalance", world.payee, hex(block))) == world.paid
        assert qty(world.rpc.call("eth_getBalance", world.payee, hex(block - 1))) == 0
        assert world.w3.eth.get_balance(world.payee) == world.paid

    def test_code_of_contract_account_and_before_deploy(self, world: World) -> None:
        deployed = load_contracts()["TestToken"]["deployedBytecode"]
        block = qty(world.deploy_receipt["blockNumber"])
        assert world.rpc.call("eth_getCode", world.token.address, "latest") == deployed
        assert world.rpc.call("eth_getCode", world.token.address, hex(block - 1)) == "0x"
        assert world.rpc.call("eth_getCode", world.sender.address, "latest") == "0x"

    def test_storage_at_now_and_historical(self, world: World) -> None:
        block = qty(world.store_receipt["blockNumber"])
        slot = world.rpc.call("eth_getStorageAt", world.reverter.address, "0x0", "latest")
        assert slot == "0x" + (42).to_bytes(32, "big").hex()
        before = world.rpc.call("eth_getStorageAt", world.reverter.address, "0x0", hex(block - 1))
        assert int(before, 16) == 7
        empty = world.rpc.call("eth_getStorageAt", world.reverter.address, "0x5", "latest")
        assert int(empty, 16) == 0

    def test_nonce_latest_and_pending(self, world: World) -> None:
        account = world.backend.extra_accounts[0]
        latest = qty(world.rpc.call("eth_getTransactionCount", account.address, "latest"))
        assert qty(world.rpc.call("eth_getTransactionCount", account.address, "pending")) == latest
        tx_hash = world.chain.send(account, to=world.payee, value=0, gas=21_000, nonce=latest)
        # Right after submission, "pending" counts the pooled transaction on every backend.
        assert qty(world.rpc.call("eth_getTransactionCount", account.address, "pending")) == latest + 1
        seen_latest = qty(world.rpc.call("eth_getTransactionCount", account.address, "latest"))
        if world.backend.profile.instant_blocks:
            assert seen_latest == latest + 1
        else:
            assert seen_latest in (latest, latest + 1)
        receipt = world.chain.wait(tx_hash)
        block = qty(receipt["blockNumber"])
        assert qty(world.rpc.call("eth_getTransactionCount", account.address, "latest")) == latest + 1
        assert qty(world.rpc.call("eth_getTransactionCount", account.address, hex(block - 1))) == latest
        world.chain.forget_nonce(account)

    # ------------------------------------------------------------------ blocks

    def test_block_by_number_shape(self, world: World) -> None:
        number = world.transfer_receipt["blockNumber"]
        block = world.rpc.call("eth_getBlockByNumber", number, False)
        assert BLOCK_FIELDS <= set(block), BLOCK_FIELDS - set(block)
        assert block["number"] == number
        assert block["hash"] == world.transfer_receipt["blockHash"]
        assert world.transfer_receipt["transactionHash"] in block["transactions"]
        assert qty(block["gasUsed"]) <= qty(block["gasLimit"])
        assert qty(block["gasUsed"]) >= qty(world.transfer_receipt["gasUsed"])
        assert len(block["logsBloom"]) == 2 + 512
        extra = bytes.fromhex(block["extraData"][2:])
        if world.backend.profile.qbft_extra_data:
            assert len(extra) > 32  # RLP [vanity, validators, vote, round, seals]: web3.py needs its POA middleware
        else:
            assert len(extra) <= 32
        assert block["uncles"] == []
        assert qty(block["size"]) > 0

    def test_block_by_hash_equals_block_by_number(self, world: World) -> None:
        number = world.transfer_receipt["blockNumber"]
        by_number = world.rpc.call("eth_getBlockByNumber", number, True)
        by_hash = world.rpc.call("eth_getBlockByHash", by_number["hash"], True)
        assert by_hash == by_number
        full = {tx["hash"]: tx for tx in by_hash["transactions"]}
        assert world.transfer_receipt["transactionHash"] in full
        assert world.rpc.call("eth_getBlockByHash", "0x" + "ab" * 32, False) is None
        assert world.rpc.call("eth_getBlockByNumber", hex(10**9), False) is None

    def test_parent_hashes_link_the_chain(self, world: World) -> None:
        head = qty(world.rpc.call("eth_blockNumber"))
        blocks = [world.rpc.call("eth_getBlockByNumber", hex(n), False) for n in range(max(0, head - 5), head + 1)]
        for parent, child in itertools.pairwise(blocks):
            assert child["parentHash"] == parent["hash"]
            assert qty(child["timestamp"]) >= qty(parent["timestamp"])
            assert qty(child["number"]) == qty(parent["number"]) + 1

    def test_block_tags(self, world: World) -> None:
        head = qty(world.rpc.call("eth_blockNumber"))
        earliest = world.rpc.call("eth_getBlockByNumber", "earliest", False)
        assert qty(earliest["number"]) == 0
        assert earliest["parentHash"] == ZERO_HASH
        latest = world.rpc.call("eth_getBlockByNumber", "latest", False)
        assert qty(latest["number"]) >= head
        pending = world.rpc.call("eth_getBlockByNumber", "pending", False)
        assert pending is not None and qty(pending["number"]) >= head
        for tag in ("safe", "finalized"):
            block = world.rpc.call("eth_getBlockByNumber", tag, False)
            # A single validator with instant finality (our node) or a dev chain: both at most the head.
            assert block is not None and 0 <= qty(block["number"]) <= qty(latest["number"]) + 1, tag

    def test_block_transaction_counts(self, world: World) -> None:
        receipt = world.transfer_receipt
        block = world.rpc.call("eth_getBlockByHash", receipt["blockHash"], False)
        count = len(block["transactions"])
        assert count >= 1
        assert qty(world.rpc.call("eth_getBlockTransactionCountByHash", receipt["blockHash"])) == count
        assert qty(world.rpc.call("eth_getBlockTransactionCountByNumber", receipt["blockNumber"])) == count

    def test_eip1898_block_objects(self, world: World) -> None:
        receipt = world.value_receipt
        by_number = {"blockNumber": receipt["blockNumber"]}
        by_hash = {"blockHash": receipt["blockHash"]}
        canonical = {"blockHash": receipt["blockHash"], "requireCanonical": True}
        for selector in (by_number, by_hash, canonical):
            assert qty(world.rpc.call("eth_getBalance", world.payee, selector)) == world.paid
        parent = world.rpc.call("eth_getBlockByNumber", hex(qty(receipt["blockNumber"]) - 1), False)
        assert qty(world.rpc.call("eth_getBalance", world.payee, {"blockHash": parent["hash"]})) == 0
        data = world.encode(world.reverter, "stored")
        call = {"to": world.reverter.address, "data": data}
        stored = world.rpc.call("eth_call", call, {"blockHash": world.store_receipt["blockHash"]})
        assert int(stored, 16) == 42
        error = world.rpc.error("eth_getBalance", world.payee, {"blockHash": "0x" + "ab" * 32})
        assert error["code"] in world.backend.profile.unknown_block_codes

    # ------------------------------------------------------------------ transactions and receipts

    def test_transaction_by_hash(self, world: World) -> None:
        receipt = world.transfer_receipt
        tx = world.rpc.call("eth_getTransactionByHash", receipt["transactionHash"])
        assert TX_FIELDS <= set(tx), TX_FIELDS - set(tx)
        assert tx["hash"] == receipt["transactionHash"]
        assert tx["blockHash"] == receipt["blockHash"]
        assert tx["blockNumber"] == receipt["blockNumber"]
        assert tx["transactionIndex"] == receipt["transactionIndex"]
        assert same_address(tx["from"], world.sender.address)
        assert same_address(tx["to"], world.token.address)
        assert tx["type"] == "0x2"
        assert qty(tx["chainId"]) == world.backend.chain_id
        assert tx["input"] == world.encode(world.token, "transfer", world.backend.extra_accounts[0].address, 1000)
        assert tx["yParity"] in ("0x0", "0x1")
        assert world.rpc.call("eth_getTransactionByHash", "0x" + "cd" * 32) is None

    def test_transaction_by_block_and_index(self, world: World) -> None:
        receipt = world.transfer_receipt
        by_hash = world.rpc.call("eth_getTransactionByHash", receipt["transactionHash"])
        by_block_hash = world.rpc.call(
            "eth_getTransactionByBlockHashAndIndex", receipt["blockHash"], receipt["transactionIndex"]
        )
        by_block_number = world.rpc.call(
            "eth_getTransactionByBlockNumberAndIndex", receipt["blockNumber"], receipt["transactionIndex"]
        )
        assert by_block_hash == by_hash
        assert by_block_number == by_hash
        assert world.rpc.call("eth_getTransactionByBlockNumberAndIndex", receipt["blockNumber"], "0x3e8") is None

    def test_receipt_of_a_transfer(self, world: World) -> None:
        receipt = world.transfer_receipt
        assert RECEIPT_FIELDS <= set(receipt), RECEIPT_FIELDS - set(receipt)
        assert receipt["status"] == "0x1"
        assert receipt["contractAddress"] is None
        assert receipt["type"] == "0x2"
        assert 21_000 < qty(receipt["gasUsed"]) <= qty(receipt["cumulativeGasUsed"])
        assert len(receipt["logs"]) == 1
        log = receipt["logs"][0]
        assert LOG_FIELDS <= set(log), LOG_FIELDS - set(log)
        assert same_address(log["address"], world.token.address)
        recipient = world.backend.extra_accounts[0].address
        assert log["topics"] == [TRANSFER_TOPIC, topic_of(world.sender.address), topic_of(recipient)]
        assert int(log["data"], 16) == 1000
        assert log["transactionHash"] == receipt["transactionHash"]
        assert log["blockHash"] == receipt["blockHash"]
        assert log["removed"] is False
        bloom = BloomFilter(int(receipt["logsBloom"], 16))
        assert bytes.fromhex(world.token.address[2:]) in bloom
        assert bytes.fromhex(TRANSFER_TOPIC[2:]) in bloom
        if world.backend.profile.zero_base_fee:
            assert qty(receipt["effectiveGasPrice"]) == 0

    def test_receipt_of_a_deployment_and_of_a_failure(self, world: World) -> None:
        assert world.deploy_receipt["status"] == "0x1"
        assert Web3.is_address(world.deploy_receipt["contractAddress"])
        assert world.deploy_receipt["to"] is None
        failed = world.failed_receipt
        assert failed["status"] == "0x0"
        assert failed["logs"] == []
        assert 21_000 < qty(failed["gasUsed"]) < 100_000
        assert world.rpc.call("eth_getTransactionReceipt", "0x" + "cd" * 32) is None

    def test_block_receipts(self, world: World) -> None:
        receipt = world.transfer_receipt
        for selector in (receipt["blockNumber"], receipt["blockHash"]):
            receipts = world.rpc.call("eth_getBlockReceipts", selector)
            block = world.rpc.call("eth_getBlockByHash", receipt["blockHash"], False)
            assert [r["transactionHash"] for r in receipts] == block["transactions"]
            by_hash = {r["transactionHash"]: r for r in receipts}
            assert by_hash[receipt["transactionHash"]] == receipt
        assert world.rpc.call("eth_getBlockReceipts", hex(10**9)) is None

    def test_web3py_reads_the_same_data(self, world: World) -> None:
        receipt = world.w3.eth.get_transaction_receipt(world.transfer_receipt["transactionHash"])
        assert receipt["status"] == 1
        events = world.token.events.Transfer().process_receipt(receipt)
        assert events[0]["args"]["value"] == 1000
        block = world.w3.eth.get_block(receipt["blockNumber"], full_transactions=True)
        assert block["hash"] == receipt["blockHash"]
        assert world.token.functions.balanceOf(world.sender.address).call() < TOKEN_SUPPLY

    # ------------------------------------------------------------------ execution: call, estimate, access list

    def test_call_at_historical_blocks(self, world: World) -> None:
        block = qty(world.store_receipt["blockNumber"])
        call = {"to": world.reverter.address, "data": world.encode(world.reverter, "stored")}
        assert int(world.rpc.call("eth_call", call, hex(block - 1)), 16) == 7
        assert int(world.rpc.call("eth_call", call, hex(block)), 16) == 42
        assert int(world.rpc.call("eth_call", call, "latest"), 16) == 42
        assert world.reverter.functions.stored().call(block_identifier=block - 1) == 7
        supply = world.token.functions.totalSupply().call(block_identifier="latest")
        assert supply == TOKEN_SUPPLY

    def test_call_revert_with_custom_error_is_code_3_with_data(self, world: World) -> None:
        call = {
            "from": world.sender.address,
            "to": world.reverter.address,
            "data": world.encode(world.reverter, "failCustom", 99),
        }
        error = world.rpc.error("eth_call", call, "latest")
        assert error["code"] == 3
        assert error["message"].startswith("execution reverted")
        expected = CUSTOM_ERROR_SELECTOR + abi_encode(["address", "uint256"], [world.sender.address, 99])
        assert error["data"] == "0x" + expected.hex()

    def test_call_revert_with_reason_is_code_3_with_message(self, world: World) -> None:
        call = {"to": world.reverter.address, "data": world.encode(world.reverter, "failReason")}
        error = world.rpc.error("eth_call", call, "latest")
        assert error["code"] == 3
        assert "Reverter: always fails" in error["message"]
        data = bytes.fromhex(error["data"][2:])
        assert data[:4] == ERROR_STRING_SELECTOR
        assert abi_decode(["string"], data[4:]) == ("Reverter: always fails",)

    def test_estimate_gas(self, world: World) -> None:
        recipient = world.backend.extra_accounts[0].address
        call = {
            "from": world.sender.address,
            "to": world.token.address,
            "data": world.encode(world.token, "transfer", recipient, 1),
        }
        estimate = qty(world.rpc.call("eth_estimateGas", call))
        assert 21_000 < estimate < 100_000
        assert qty(world.rpc.call("eth_estimateGas", {"from": world.sender.address, "to": world.payee})) == 21_000
        receipt = world.chain.transact(world.sender, to=world.token.address, data=call["data"], gas=estimate)
        assert receipt["status"] == "0x1"
        assert qty(receipt["gasUsed"]) <= estimate
        reverting = {"to": world.reverter.address, "data": world.encode(world.reverter, "failReason")}
        error = world.rpc.error("eth_estimateGas", reverting)
        assert error["code"] == 3
        assert "Reverter: always fails" in error["message"]

    def test_create_access_list(self, world: World) -> None:
        recipient = world.backend.extra_accounts[0].address
        call = {
            "from": world.sender.address,
            "to": world.reverter.address,
            "data": world.encode(world.reverter, "forward", world.token.address, recipient, 1),
            "gas": hex(300_000),
        }
        result = world.rpc.call("eth_createAccessList", call, "latest")
        assert qty(result["gasUsed"]) > 21_000
        entries = {entry["address"].lower(): entry["storageKeys"] for entry in result["accessList"]}
        assert world.token.address.lower() in entries
        assert len(entries[world.token.address.lower()]) >= 2  # both balances
        assert "error" not in result or not result["error"]

    # ------------------------------------------------------------------ logs and filters

    def test_get_logs_by_address_topic_and_range(self, world: World) -> None:
        start = world.deploy_receipt["blockNumber"]
        logs = world.rpc.call("eth_getLogs", {"fromBlock": start, "toBlock": "latest", "address": world.token.address})
        hashes = [log["transactionHash"] for log in logs]
        assert world.deploy_receipt["transactionHash"] in hashes  # the mint in the constructor
        assert world.transfer_receipt["transactionHash"] in hashes
        assert all(same_address(log["address"], world.token.address) for log in logs)
        keys = [(qty(log["blockNumber"]), qty(log["logIndex"])) for log in logs]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)

        recipient = world.backend.extra_accounts[0].address
        to_recipient = world.rpc.call(
            "eth_getLogs",
            {"fromBlock": start, "toBlock": "latest", "topics": [TRANSFER_TOPIC, None, topic_of(recipient)]},
        )
        assert {log["transactionHash"] for log in to_recipient} >= {
            world.transfer_receipt["transactionHash"],
            world.forward_receipt["transactionHash"],
        }
        either = world.rpc.call(
            "eth_getLogs", {"fromBlock": start, "toBlock": "latest", "topics": [[TRANSFER_TOPIC, STORED_TOPIC]]}
        )
        assert {log["topics"][0] for log in either} == {TRANSFER_TOPIC, STORED_TOPIC}
        by_block = world.rpc.call("eth_getLogs", {"blockHash": world.store_receipt["blockHash"]})
        assert [log["topics"][0] for log in by_block if same_address(log["address"], world.reverter.address)] == [
            STORED_TOPIC
        ]
        head = qty(world.rpc.call("eth_blockNumber"))
        beyond = world.rpc.request("eth_getLogs", {"fromBlock": hex(head + 100), "toBlock": hex(head + 200)})
        # Blocks beyond the head: no logs, or (Anvil, newer geth) an invalid-range error; never a crash.
        assert beyond.get("result") == [] or beyond["error"]["code"] in (-32000, -32602), beyond
        single = world.rpc.call(
            "eth_getLogs",
            {"fromBlock": world.transfer_receipt["blockNumber"], "toBlock": world.transfer_receipt["blockNumber"]},
        )
        assert world.transfer_receipt["logs"][0] in single

    def test_get_logs_refuses_block_hash_with_a_range(self, world: World) -> None:
        query = {"blockHash": world.store_receipt["blockHash"], "fromBlock": "0x0"}
        error = world.rpc.error("eth_getLogs", query)
        assert error["code"] == -32602
        assert "cannot specify both blockhash and fromblock/toblock" in error["message"].lower()

    def test_log_filter_changes_then_uninstall(self, world: World) -> None:
        filter_id = world.rpc.call("eth_newFilter", {"address": world.token.address, "topics": [TRANSFER_TOPIC]})
        assert isinstance(filter_id, str) and filter_id.startswith("0x")
        recipient = world.backend.extra_accounts[0].address
        receipt = world.chain.transact(
            world.sender, to=world.token.address, data=world.encode(world.token, "transfer", recipient, 3)
        )
        changes = world.rpc.call("eth_getFilterChanges", filter_id)
        assert [log["transactionHash"] for log in changes] == [receipt["transactionHash"]]
        assert int(changes[0]["data"], 16) == 3
        assert world.rpc.call("eth_getFilterChanges", filter_id) == []
        all_logs = world.rpc.call("eth_getFilterLogs", filter_id)
        assert receipt["transactionHash"] in [log["transactionHash"] for log in all_logs]
        assert world.rpc.call("eth_uninstallFilter", filter_id) is True
        assert world.rpc.call("eth_uninstallFilter", filter_id) is False
        error = world.rpc.error("eth_getFilterChanges", filter_id)
        assert error["code"] in (-32000, -32602)
        assert "filter not found" in error["message"].lower()

    def test_block_filter(self, world: World) -> None:
        filter_id = world.rpc.call("eth_newBlockFilter")
        receipt = world.chain.transact(world.sender, to=world.payee, value=1, gas=21_000)
        hashes = world.rpc.call("eth_getFilterChanges", filter_id)
        assert receipt["blockHash"] in hashes
        assert all(isinstance(h, str) and len(h) == 66 for h in hashes)
        assert world.rpc.call("eth_getFilterChanges", filter_id) == []
        assert world.rpc.call("eth_uninstallFilter", filter_id) is True

    def test_pending_transaction_filter(self, world: World) -> None:
        filter_id = world.rpc.call("eth_newPendingTransactionFilter")
        tx_hash = world.chain.send(world.sender, to=world.payee, value=1, gas=21_000)
        world.chain.wait(tx_hash)
        assert tx_hash in world.rpc.call("eth_getFilterChanges", filter_id)
        assert world.rpc.call("eth_uninstallFilter", filter_id) is True

    # ------------------------------------------------------------------ errors

    def test_bad_json_is_a_parse_error(self, world: World) -> None:
        response = world.rpc.post(b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"')
        body = response.json()
        assert body["id"] is None
        assert body["error"]["code"] == world.backend.profile.parse_error_code

    def test_unknown_method(self, world: World) -> None:
        error = world.rpc.error("eth_noSuchMethod")
        assert error["code"] == -32601
        if world.backend.profile.geth_method_not_found_wording:
            assert error["message"] == "the method eth_noSuchMethod does not exist/is not available"
        else:
            assert error["message"] == "Method not found"

    @pytest.mark.parametrize(
        ("method", "params"),
        [
            ("eth_getBalance", ["0xzz", "latest"]),
            ("eth_getBalance", [123, "latest"]),
            ("eth_getBalance", []),
            ("eth_getBlockByNumber", ["not-a-tag", False]),
            ("eth_getTransactionByHash", ["0x1234"]),
            ("eth_sendRawTransaction", ["0xnothex"]),
            ("eth_call", [{"to": "0x12"}, "latest"]),
        ],
    )
    def test_bad_params(self, world: World, method: str, params: list[Any]) -> None:
        error = world.rpc.error(method, *params)
        assert error["code"] == -32602, error
        assert qty(world.rpc.call("eth_chainId")) == world.backend.chain_id  # still answering

    def test_batch_with_mixed_results(self, world: World) -> None:
        batch = [
            {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
            {"jsonrpc": "2.0", "id": 2, "method": "eth_noSuchMethod", "params": []},
            {"jsonrpc": "2.0", "id": 3, "method": "eth_getBalance", "params": ["0xzz", "latest"]},
            {"jsonrpc": "2.0", "method": "eth_chainId", "params": []},  # a notification: no response
            {"jsonrpc": "2.0", "id": "four", "method": "eth_blockNumber", "params": []},
        ]
        responses = world.rpc.raw(batch)
        assert isinstance(responses, list) and len(responses) == 4
        by_id = {response["id"]: response for response in responses}
        assert qty(by_id[1]["result"]) == world.backend.chain_id
        assert by_id[2]["error"]["code"] == -32601
        assert by_id[3]["error"]["code"] == -32602
        assert qty(by_id["four"]["result"]) >= 1
        assert all(response["jsonrpc"] == "2.0" for response in responses)

    def test_empty_batch_is_an_invalid_request(self, world: World) -> None:
        response = world.rpc.raw([])
        assert response["error"]["code"] == -32600
        assert response["id"] is None

    def test_oversized_batch_and_body_are_refused_or_answered_never_fatal(self, world: World) -> None:
        limit = world.backend.profile.batch_limit
        size = (limit or 1000) + 1
        batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_chainId", "params": []} for i in range(size)]
        response = world.rpc.raw(batch)
        if limit is None:
            assert isinstance(response, list) and len(response) == size
        else:
            assert isinstance(response, dict) and response["error"]["code"] in (-32600, -32005), response
            assert str(limit) in response["error"]["message"]
        huge = '{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"data":"0x' + "00" * 6_000_000 + '"}]}'
        answer = world.rpc.post(huge)
        assert answer.status_code in (200, 400, 413), answer.status_code
        if answer.status_code == 200 and answer.content.strip():
            body = answer.json()
            assert "error" in body or "result" in body
        assert qty(world.rpc.call("eth_chainId")) == world.backend.chain_id

    @settings(
        max_examples=120,
        deadline=None,
        suppress_health_check=SUPPRESSED,
    )
    @given(
        method=st.sampled_from(FUZZED_METHODS),
        params=st.lists(JSON_VALUES, max_size=4) | JSON_VALUES,
    )
    def test_arbitrary_params_never_crash_the_node(self, world: World, method: str, params: Any) -> None:
        """Whatever the params, the answer is a JSON-RPC response and the node keeps serving."""
        response = world.rpc.raw({"jsonrpc": "2.0", "id": 7, "method": method, "params": params})
        assert isinstance(response, dict) and response.get("id") == 7, response
        assert ("result" in response) != ("error" in response), response
        if "error" in response:
            assert isinstance(response["error"]["code"], int)
            assert response["error"]["code"] != -32603, f"internal error for {method}{params!r}: {response}"

    def test_nonce_too_low(self, world: World) -> None:
        fees = world.chain.fees()
        raw = world.chain.sign(world.sender, to=world.payee, value=2, gas=21_000, nonce=0, fees=fees)
        error = world.rpc.error("eth_sendRawTransaction", "0x" + raw.hex())
        assert "nonce too low" in error["message"].lower()
        if world.backend.profile.geth_pool_errors:
            # geth's txpool: "nonce too low: next nonce N, tx nonce 0"; geth's state transition (our node):
            # "nonce too low: address A, tx: 0 state: N". Either is geth's wording.
            latest = qty(world.rpc.call("eth_getTransactionCount", world.sender.address, "latest"))
            assert error["message"] in (
                f"nonce too low: next nonce {latest}, tx nonce 0",
                f"nonce too low: address {world.sender.address.lower()}, tx: 0 state: {latest}",
            ), error

    def test_insufficient_funds(self, world: World) -> None:
        account = world.backend.extra_accounts[0]
        balance = qty(world.rpc.call("eth_getBalance", account.address, "latest"))
        raw = world.chain.sign(account, to=world.payee, value=balance + 1, gas=21_000)
        world.chain.forget_nonce(account)
        error = world.rpc.error("eth_sendRawTransaction", "0x" + raw.hex())
        assert "insufficient funds" in error["message"].lower()
        if world.backend.profile.geth_pool_errors:
            # geth's txpool: "...: balance B, tx cost C, overshot D"; its state transition: "...: address A have B
            # want C".
            prefix = "insufficient funds for gas * price + value: "
            assert error["message"].startswith(prefix), error
            assert f"balance {balance}, tx cost " in error["message"] or f"have {balance} want " in error["message"]

    def test_replacement_needs_a_fee_bump(self, world: World) -> None:
        account = world.backend.extra_accounts[2]
        nonce = qty(world.rpc.call("eth_getTransactionCount", account.address, "pending")) + 20  # stays queued
        fees = {"maxFeePerGas": 10**9, "maxPriorityFeePerGas": 10**9}
        first = world.chain.sign(account, to=world.payee, value=1, gas=21_000, nonce=nonce, fees=fees)
        first_hash = world.rpc.call("eth_sendRawTransaction", "0x" + first.hex())
        again = world.rpc.error("eth_sendRawTransaction", "0x" + first.hex())
        # geth (and our node): "already known"; Anvil: "transaction already imported".
        assert any(w in again["message"].lower() for w in ("already known", "already imported")), again
        same_fee = world.chain.sign(account, to=world.payee, value=2, gas=21_000, nonce=nonce, fees=fees)
        error = world.rpc.error("eth_sendRawTransaction", "0x" + same_fee.hex())
        assert "replacement transaction underpriced" in error["message"].lower(), error
        bumped_fees = {"maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 2 * 10**9}
        bumped = world.chain.sign(account, to=world.payee, value=3, gas=21_000, nonce=nonce, fees=bumped_fees)
        bumped_hash = world.rpc.call("eth_sendRawTransaction", "0x" + bumped.hex())
        assert bumped_hash != first_hash
        assert world.rpc.call("eth_getTransactionByHash", bumped_hash)["blockHash"] is None
        replaced = world.rpc.call("eth_getTransactionByHash", first_hash)
        # geth and our node forget the replaced transaction; Anvil still returns it, unmined.
        assert replaced is None or replaced["blockHash"] is None

    def test_transaction_types_0_1_2_are_mined_and_reported(self, world: World) -> None:
        sender, to = world.sender, world.payee
        gas_price = world.chain.fees()["maxFeePerGas"]
        txs = {
            "0x0": {"gasPrice": gas_price, "gas": 21_000, "chainId": world.backend.chain_id},
            "0x1": {
                "type": 1,
                "gasPrice": gas_price,
                "gas": 30_000,
                "chainId": world.backend.chain_id,
                "accessList": [{"address": world.reverter.address, "storageKeys": ["0x" + "00" * 32]}],
            },
            "0x2": {"type": 2, "gas": 21_000, "chainId": world.backend.chain_id, **world.chain.fees()},
        }
        hashes = {}
        for tx_type, fields in txs.items():
            raw = sender.sign_transaction({"nonce": world.chain.next_nonce(sender), "to": to, "value": 1, **fields})
            tx_hash = world.rpc.call("eth_sendRawTransaction", "0x" + raw.raw_transaction.hex())
            assert tx_hash == "0x" + keccak(raw.raw_transaction).hex()
            hashes[tx_type] = tx_hash
        for tx_type, tx_hash in hashes.items():
            receipt = world.chain.wait(tx_hash)
            assert receipt["status"] == "0x1" and receipt["type"] == tx_type
            tx = world.rpc.call("eth_getTransactionByHash", tx_hash)
            assert tx["type"] == tx_type
            assert qty(tx["chainId"]) == world.backend.chain_id
            if tx_type == "0x0":
                assert qty(tx["v"]) in (2 * world.backend.chain_id + 35, 2 * world.backend.chain_id + 36)
            if tx_type == "0x1":
                assert tx["accessList"][0]["address"].lower() == world.reverter.address.lower()
                assert tx["accessList"][0]["storageKeys"] == ["0x" + "00" * 32]

    @pytest.mark.parametrize(
        ("case", "geth_message", "anvil_outcome"),
        [
            # (case, what geth and our node answer, what Anvil does: its own message, or None = accepts)
            ("unprotected-legacy", "only replay-protected (EIP-155) transactions allowed over RPC", None),
            ("intrinsic-gas", "intrinsic gas too low", "intrinsic gas too low"),
            ("above-block-gas-limit", "exceeds block gas limit", "tx.gas_limit > env.block.gas_limit"),
            ("oversized-data", "oversized data", None),
            ("tip-above-fee-cap", "max priority fee per gas higher than max fee per gas", "max fee per gas"),
        ],
    )
    def test_pool_validation_errors(
        self, world: World, case: str, geth_message: str, anvil_outcome: str | None
    ) -> None:
        account = world.backend.extra_accounts[2]
        # A far-future nonce: anything accepted waits in the queue and never disturbs other tests.
        cases = ["unprotected-legacy", "intrinsic-gas", "above-block-gas-limit", "oversized-data", "tip-above-fee-cap"]
        nonce = qty(world.rpc.call("eth_getTransactionCount", account.address, "pending")) + 40 + cases.index(case)
        fees = {"maxFeePerGas": 10**9, "maxPriorityFeePerGas": 10**9}
        base = {"nonce": nonce, "to": world.payee, "value": 1, "chainId": world.backend.chain_id}
        tx: dict[str, Any] = {
            "unprotected-legacy": {"nonce": nonce, "to": world.payee, "value": 1, "gas": 21_000, "gasPrice": 10**9},
            "intrinsic-gas": {**base, "type": 2, "gas": 20_000, **fees},
            "above-block-gas-limit": {**base, "type": 2, "gas": 10**9, **fees},
            "oversized-data": {**base, "type": 2, "gas": 5_000_000, "data": b"\x01" * 140_000, **fees},
            "tip-above-fee-cap": {**base, "type": 2, "gas": 21_000, "maxFeePerGas": 1, "maxPriorityFeePerGas": 2},
        }[case]
        raw = account.sign_transaction(tx).raw_transaction
        response = world.rpc.request("eth_sendRawTransaction", "0x" + raw.hex())
        if world.backend.profile.geth_pool_errors:
            assert response.get("error", {}).get("message") == geth_message, response
            assert response["error"]["code"] == -32000
        elif anvil_outcome is None:
            assert response.get("result") == "0x" + keccak(raw).hex(), response
        else:
            assert anvil_outcome in response.get("error", {}).get("message", ""), response

    def test_wrong_chain_id_is_refused(self, world: World) -> None:
        tx = {
            "type": 2,
            "chainId": world.backend.chain_id + 1,
            "nonce": 0,
            "gas": 21_000,
            "to": world.payee,
            "value": 0,
            "data": "0x",
            **world.chain.fees(),
        }
        raw = STRANGER.sign_transaction(tx).raw_transaction
        error = world.rpc.error("eth_sendRawTransaction", "0x" + raw.hex())
        assert error["code"] in (-32000, -32602, -32003, -32007)
        assert "chain" in error["message"].lower() or "not authorized" in error["message"].lower()

    # ------------------------------------------------------------------ where backends differ, on purpose

    def test_zero_base_fee_profile(self, world: World) -> None:
        """Our node: a member without native coin transacts at fee 0. Anvil: the fee cap is below base fee."""
        account = world.backend.extra_accounts[1]
        assert qty(world.rpc.call("eth_getBalance", account.address, "latest")) == 0
        raw = world.chain.sign(
            account,
            to=world.payee,
            value=0,
            gas=21_000,
            nonce=0,
            fees={"maxFeePerGas": 0, "maxPriorityFeePerGas": 0},
        )
        response = world.rpc.request("eth_sendRawTransaction", "0x" + raw.hex())
        if world.backend.profile.zero_base_fee:
            assert "result" in response, response
            receipt = world.chain.wait(response["result"])
            assert receipt["status"] == "0x1"
            assert qty(receipt["effectiveGasPrice"]) == 0
            assert qty(world.rpc.call("eth_getBalance", account.address, "latest")) == 0
        else:
            assert "error" in response, response
            assert qty(world.rpc.call("eth_getTransactionCount", account.address, "pending")) == 0

    def test_sender_permissioning_profile(self, world: World) -> None:
        """Our node refuses senders outside its allowlist with -32007; Anvil accepts anyone."""
        raw = world.chain.sign(STRANGER, to=world.payee, value=0, gas=21_000, nonce=0)
        response = world.rpc.request("eth_sendRawTransaction", "0x" + raw.hex())
        if world.backend.profile.permissioned:
            assert response.get("error", {}).get("code") == -32007, response
            assert response["error"]["message"] == "sender account not authorized"
            assert qty(world.rpc.call("eth_getTransactionCount", STRANGER.address, "pending")) == 0
            tx_hash = "0x" + keccak(raw).hex()
            assert world.rpc.call("eth_getTransactionByHash", tx_hash) is None
        else:
            assert "result" in response, response
            assert world.chain.wait(response["result"])["status"] == "0x1"

    # ------------------------------------------------------------------ WebSocket on the same port

    def test_websocket_text_and_binary_frames(self, world: World) -> None:
        """web3.py's WebSocketProvider sends each request as a binary frame; geth and Anvil answer both."""
        request = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
        with ws_connect(world.backend.ws_url, open_timeout=10) as ws:
            ws.send(json.dumps(request))
            assert qty(json.loads(ws.recv(timeout=10))["result"]) == world.backend.chain_id
            ws.send(json.dumps({**request, "id": 2}).encode())
            answer = json.loads(ws.recv(timeout=10))
            assert answer.get("id") == 2 and qty(answer["result"]) == world.backend.chain_id, answer

    def test_websocket_subscriptions_raw(self, world: World) -> None:
        with ws_connect(world.backend.ws_url, open_timeout=10) as ws:

            def call(request_id: int, method: str, *params: Any) -> Any:
                ws.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)}))
                while True:
                    message = json.loads(ws.recv(timeout=10))
                    if message.get("id") == request_id:
                        assert "error" not in message, message
                        return message["result"]

            heads = call(1, "eth_subscribe", "newHeads")
            logs = call(2, "eth_subscribe", "logs", {"address": world.reverter.address, "topics": [STORED_TOPIC]})
            assert heads != logs
            receipt = world.chain.transact(
                world.sender, to=world.reverter.address, data=world.encode(world.reverter, "store", 43)
            )
            got: dict[str, dict[str, Any]] = {}
            deadline = time.monotonic() + 20
            while len(got) < 2 and time.monotonic() < deadline:
                message = json.loads(ws.recv(timeout=20))
                assert message.get("method") == "eth_subscription", message
                params = message["params"]
                result = params["result"]
                if params["subscription"] == heads and result["hash"] == receipt["blockHash"]:
                    got["head"] = result
                if params["subscription"] == logs and result["transactionHash"] == receipt["transactionHash"]:
                    got["log"] = result
            assert set(got) == {"head", "log"}
            assert got["head"]["number"] == receipt["blockNumber"]
            assert got["log"]["topics"] == [STORED_TOPIC, topic_of(world.sender.address)]
            assert int(got["log"]["data"], 16) == 43
            assert call(3, "eth_unsubscribe", logs) is True
            assert call(4, "eth_unsubscribe", logs) is False

    # ------------------------------------------------------------------ debug and txpool

    def test_debug_trace_transaction_call_tracer(self, world: World) -> None:
        receipt = world.forward_receipt
        trace = world.rpc.call("debug_traceTransaction", receipt["transactionHash"], {"tracer": "callTracer"})
        assert trace["type"] == "CALL"
        assert same_address(trace["from"], world.sender.address)
        assert same_address(trace["to"], world.reverter.address)
        assert qty(trace["gasUsed"]) > 0 and qty(trace["gas"]) >= qty(trace["gasUsed"])
        forward_selector = "0x" + keccak(text="forward(address,address,uint256)")[:4].hex()
        assert trace["input"][:10] == forward_selector
        assert int(trace["output"], 16) == 1  # forward returned true
        assert len(trace["calls"]) == 1
        inner = trace["calls"][0]
        assert inner["type"] == "CALL"
        assert same_address(inner["from"], world.reverter.address)
        assert same_address(inner["to"], world.token.address)
        assert inner["input"][:10] == "0x" + keccak(text="transfer(address,uint256)")[:4].hex()
        assert qty(inner["gasUsed"]) > 0

    def test_debug_trace_of_a_failed_transaction(self, world: World) -> None:
        receipt = world.failed_receipt
        trace = world.rpc.call("debug_traceTransaction", receipt["transactionHash"], {"tracer": "callTracer"})
        assert trace["type"] == "CALL"
        assert trace.get("error") == "execution reverted"
        assert "Reverter: zero" in trace.get("revertReason", "Reverter: zero")
        data = bytes.fromhex(trace["output"][2:])
        assert data[:4] == ERROR_STRING_SELECTOR

    def test_txpool_status_counts_a_queued_transaction(self, world: World) -> None:
        account = world.backend.extra_accounts[2]
        nonce = qty(world.rpc.call("eth_getTransactionCount", account.address, "pending"))
        status = world.rpc.call("txpool_status")
        assert set(status) >= {"pending", "queued"}
        queued_before = qty(status["queued"])
        # A nonce gap: the transaction waits in the queue and is never mined.
        tx_hash = world.chain.send(account, to=world.payee, value=0, gas=21_000, nonce=nonce + 5)
        status = world.rpc.call("txpool_status")
        assert qty(status["queued"]) == queued_before + 1
        assert qty(status["pending"]) >= 0
        content = world.rpc.call("txpool_content")
        assert set(content) >= {"pending", "queued"}
        queued = {address.lower(): by_nonce for address, by_nonce in content["queued"].items()}
        entry = queued[account.address.lower()][str(nonce + 5)]
        assert entry["hash"] == tx_hash
        assert qty(entry["nonce"]) == nonce + 5
        assert entry["blockHash"] is None
