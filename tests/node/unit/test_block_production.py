"""Block production: packing, block time, no idle blocks, Besu QBFT header format."""

from __future__ import annotations

import time
from pathlib import Path

import rlp
from eth_utils.crypto import keccak

from node import qbft_extra
from node.consensus import seal_signer
from node.headers import QbftHeader
from scripts.harness.node_process import DEV_KEYS, NodeProcess, address_of, sign, start_node

RECIPIENT = "0x" + "42" * 20


def header_from_json(block: dict[str, str]) -> QbftHeader:
    def b(key: str) -> bytes:
        return bytes.fromhex(block[key][2:])

    def i(key: str) -> int:
        return int(block[key], 16)

    return QbftHeader(
        parent_hash=b("parentHash"),
        uncles_hash=b("sha3Uncles"),
        coinbase=b("miner"),
        state_root=b("stateRoot"),
        transaction_root=b("transactionsRoot"),
        receipt_root=b("receiptsRoot"),
        bloom=int.from_bytes(b("logsBloom"), "big"),
        difficulty=i("difficulty"),
        block_number=i("number"),
        gas_limit=i("gasLimit"),
        gas_used=i("gasUsed"),
        timestamp=i("timestamp"),
        extra_data=b("extraData"),
        mix_hash=b("mixHash"),
        nonce=b("nonce"),
        base_fee_per_gas=i("baseFeePerGas"),
        withdrawals_root=b("withdrawalsRoot"),
        blob_gas_used=i("blobGasUsed"),
        excess_blob_gas=i("excessBlobGas"),
        parent_beacon_block_root=b("parentBeaconBlockRoot"),
        requests_hash=b("requestsHash"),
    )


def test_pending_transactions_are_packed_into_one_block(dev_node: NodeProcess) -> None:
    key = DEV_KEYS[1]
    nonce = int(dev_node.call("eth_getTransactionCount", address_of(key), "pending"), 16)
    batch = [
        {
            "jsonrpc": "2.0",
            "id": i,
            "method": "eth_sendRawTransaction",
            "params": [sign(key, nonce=nonce + i, to=RECIPIENT, gas=21000, value=1)],
        }
        for i in range(40)
    ]
    hashes = [r["result"] for r in dev_node.post(batch)]
    receipts = [dev_node.wait_receipt(h) for h in hashes]
    assert len({r["blockNumber"] for r in receipts}) == 1
    block = dev_node.call("eth_getBlockByNumber", receipts[0]["blockNumber"], False)
    assert block["transactions"] == hashes
    assert int(block["gasUsed"], 16) == 40 * 21000


def test_qbft_extra_data_seal_and_hash(dev_node: NodeProcess) -> None:
    key = DEV_KEYS[0]
    nonce = int(dev_node.call("eth_getTransactionCount", address_of(key), "pending"), 16)
    receipt = dev_node.wait_receipt(
        dev_node.call("eth_sendRawTransaction", sign(key, nonce=nonce, to=RECIPIENT, gas=21000))
    )
    block = dev_node.call("eth_getBlockByNumber", receipt["blockNumber"], False)
    extra = qbft_extra.decode(bytes.fromhex(block["extraData"][2:]))
    validator = bytes.fromhex(block["miner"][2:])
    assert extra.validators == (validator,)
    assert extra.round == 0
    assert len(extra.seals) == 1
    header = header_from_json(block)
    # Besu's on-chain hash: the header RLP with the committed seals left out of the extra-data
    unsealed = header.copy(extra_data=qbft_extra.QbftExtraData(validators=extra.validators).encode())
    assert "0x" + keccak(rlp.encode(unsealed)).hex() == block["hash"]
    assert seal_signer(header, extra.seals[0]) == validator
    assert block["mixHash"] == "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
    assert block["difficulty"] == "0x1"
    assert block["baseFeePerGas"] == "0x0"
    parent = dev_node.call("eth_getBlockByNumber", hex(int(block["number"], 16) - 1), False)
    assert block["parentHash"] == parent["hash"]


def test_block_time_and_no_empty_blocks(tmp_path: Path) -> None:
    node = start_node(tmp_path / "data", "--block-time", "1")
    try:
        key = DEV_KEYS[0]
        start = int(node.call("eth_blockNumber"), 16)
        time.sleep(1.5)
        assert int(node.call("eth_blockNumber"), 16) == start  # idle: no blocks
        first = node.wait_receipt(node.call("eth_sendRawTransaction", sign(key, nonce=0, to=RECIPIENT, gas=21000)))
        sent = time.monotonic()
        second_hash = node.call("eth_sendRawTransaction", sign(key, nonce=1, to=RECIPIENT, gas=21000))
        second = node.wait_receipt(second_hash)
        waited = time.monotonic() - sent
        assert int(second["blockNumber"], 16) == int(first["blockNumber"], 16) + 1
        assert 0.7 < waited < 2.0, waited
    finally:
        node.stop()


def test_empty_blocks_when_asked(tmp_path: Path) -> None:
    node = start_node(tmp_path / "data", "--block-time", "0.2", "--empty-blocks")
    try:
        start = int(node.call("eth_blockNumber"), 16)
        time.sleep(1.2)
        assert int(node.call("eth_blockNumber"), 16) >= start + 3
    finally:
        node.stop()


def test_one_trailing_empty_block_then_idle(tmp_path: Path) -> None:
    node = start_node(tmp_path / "data", "--block-time", "0.3")
    try:
        receipt = node.wait_receipt(
            node.call("eth_sendRawTransaction", sign(DEV_KEYS[0], nonce=0, to=RECIPIENT, gas=21000))
        )
        mined = int(receipt["blockNumber"], 16)
        deadline = time.monotonic() + 30
        while int(node.call("eth_blockNumber"), 16) == mined and time.monotonic() < deadline:
            time.sleep(0.05)
        head = int(node.call("eth_blockNumber"), 16)
        assert head == mined + 1
        trailing = node.call("eth_getBlockByNumber", hex(head), False)
        assert trailing["transactions"] == []
        time.sleep(1)
        assert int(node.call("eth_blockNumber"), 16) == head
    finally:
        node.stop()
    quiet = start_node(tmp_path / "data", "--block-time", "0.3", "--no-trailing-block", port=node.port)
    try:
        receipt = quiet.wait_receipt(
            quiet.call("eth_sendRawTransaction", sign(DEV_KEYS[0], nonce=1, to=RECIPIENT, gas=21000))
        )
        time.sleep(1)
        assert quiet.call("eth_blockNumber") == receipt["blockNumber"]
    finally:
        quiet.stop()
