"""Blocks, transactions, receipts and logs as execution-apis JSON (lower-case hex, quantities without
leading zeros)."""

from __future__ import annotations

from typing import Any

import rlp
from eth._utils.address import generate_contract_address
from eth.abc import ReceiptAPI, SignedTransactionAPI
from eth.constants import EMPTY_UNCLE_HASH
from eth_typing import Address

from node.headers import QbftHeader, encode_header
from node.rpc.types import LogObject
from node.senders import tx_type
from node.storage import BlockRecord


def q(value: int) -> str:
    return hex(value)


def d(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def a(value: bytes | None) -> str | None:
    return None if not value else "0x" + bytes(value).hex()


def h256(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


def format_header(header: QbftHeader, size: int | None = None) -> dict[str, Any]:
    return {
        "number": q(header.block_number),
        "hash": d(header.hash),
        "parentHash": d(header.parent_hash),
        "nonce": d(header.nonce),
        "sha3Uncles": d(EMPTY_UNCLE_HASH),
        "logsBloom": d(header.bloom.to_bytes(256, "big")),
        "transactionsRoot": d(header.transaction_root),
        "stateRoot": d(header.state_root),
        "receiptsRoot": d(header.receipt_root),
        "miner": a(header.coinbase) or "0x" + "00" * 20,
        "difficulty": q(header.difficulty),
        "totalDifficulty": q(header.block_number + 1),
        "extraData": d(header.extra_data),
        "size": q(size if size is not None else len(encode_header(header))),
        "gasLimit": q(header.gas_limit),
        "gasUsed": q(header.gas_used),
        "timestamp": q(header.timestamp),
        "mixHash": d(header.mix_hash),
        "baseFeePerGas": q(header.base_fee_per_gas or 0),
        "withdrawalsRoot": d(header.withdrawals_root or b""),
        "blobGasUsed": q(header.blob_gas_used or 0),
        "excessBlobGas": q(header.excess_blob_gas or 0),
        "parentBeaconBlockRoot": d(header.parent_beacon_block_root or b""),
        "requestsHash": d(header.requests_hash or b""),
    }


def format_block(record: BlockRecord, full: bool) -> dict[str, Any]:
    header = record.header
    body_size = len(rlp.encode([[tx.encode() for tx in record.transactions]]))
    block = format_header(header, len(encode_header(header)) + body_size + 2)
    if full:
        block["transactions"] = [format_tx(tx, header, i) for i, tx in enumerate(record.transactions)]
    else:
        block["transactions"] = [d(tx.hash) for tx in record.transactions]
    block["uncles"] = []
    block["withdrawals"] = []
    return block


def format_tx(tx: SignedTransactionAPI, header: QbftHeader | None, index: int | None) -> dict[str, Any]:
    kind = tx_type(tx)
    out: dict[str, Any] = {
        "blockHash": d(header.hash) if header is not None else None,
        "blockNumber": q(header.block_number) if header is not None else None,
        "from": a(tx.sender),
        "gas": q(tx.gas),
        "hash": d(tx.hash),
        "input": d(tx.data),
        "nonce": q(tx.nonce),
        "to": a(tx.to),
        "transactionIndex": q(index) if index is not None else None,
        "value": q(tx.value),
        "type": q(kind),
        "r": q(tx.r),
        "s": q(tx.s),
    }
    if kind == 0:
        out["gasPrice"] = q(tx.gas_price)
        out["v"] = q(getattr(tx, "v", 0))
        chain_id = getattr(tx, "chain_id", None)
        if chain_id is not None:
            out["chainId"] = q(chain_id)
    else:
        out["chainId"] = q(tx.chain_id or 0)
        out["v"] = q(tx.y_parity)
        out["yParity"] = q(tx.y_parity)
        out["accessList"] = [
            {"address": a(addr), "storageKeys": [h256(s) for s in slots]} for addr, slots in tx.access_list
        ]
        if kind == 1:
            out["gasPrice"] = q(tx.gas_price)
        else:
            base_fee = (header.base_fee_per_gas or 0) if header is not None else 0
            out["maxFeePerGas"] = q(tx.max_fee_per_gas)
            out["maxPriorityFeePerGas"] = q(tx.max_priority_fee_per_gas)
            out["gasPrice"] = q(
                min(tx.max_fee_per_gas, tx.max_priority_fee_per_gas + base_fee)
                if header is not None
                else tx.max_fee_per_gas
            )
    return out


def effective_price(tx: SignedTransactionAPI, base_fee: int) -> int:
    if tx_type(tx) == 2:
        return int(min(tx.max_fee_per_gas, tx.max_priority_fee_per_gas + base_fee))
    return int(tx.gas_price)


def format_logs(record: BlockRecord, tx_index: int, first_log_index: int) -> list[LogObject]:
    header = record.header
    tx = record.transactions[tx_index]
    return [
        format_log(header, tx, tx_index, first_log_index + i, log.address, log.topics, log.data)
        for i, log in enumerate(record.receipts[tx_index].logs)
    ]


def format_log(
    header: QbftHeader,
    tx: SignedTransactionAPI,
    tx_index: int,
    log_index: int,
    address: bytes,
    topics: Any,
    data: bytes,
) -> LogObject:
    return {
        "address": "0x" + bytes(address).hex(),
        "topics": [h256(t) for t in topics],
        "data": d(data),
        "blockNumber": q(header.block_number),
        "blockHash": d(header.hash),
        "blockTimestamp": q(header.timestamp),
        "transactionHash": d(tx.hash),
        "transactionIndex": q(tx_index),
        "logIndex": q(log_index),
        "removed": False,
    }


def first_log_index(receipts: list[ReceiptAPI], tx_index: int) -> int:
    return sum(len(r.logs) for r in receipts[:tx_index])


def format_receipt(record: BlockRecord, tx_index: int, log_offset: int | None = None) -> dict[str, Any]:
    """``log_offset``: the block-wide index of this receipt's first log, when the caller already knows it."""
    header = record.header
    tx = record.transactions[tx_index]
    receipt = record.receipts[tx_index]
    previous = record.receipts[tx_index - 1].gas_used if tx_index else 0
    contract = None
    if not tx.to:
        contract = a(generate_contract_address(Address(bytes(tx.sender)), tx.nonce))
    return {
        "transactionHash": d(tx.hash),
        "transactionIndex": q(tx_index),
        "blockHash": d(header.hash),
        "blockNumber": q(header.block_number),
        "from": a(tx.sender),
        "to": a(tx.to),
        "cumulativeGasUsed": q(receipt.gas_used),
        "gasUsed": q(receipt.gas_used - previous),
        "contractAddress": contract,
        "logs": format_logs(
            record, tx_index, first_log_index(record.receipts, tx_index) if log_offset is None else log_offset
        ),
        "logsBloom": d(receipt.bloom.to_bytes(256, "big")),
        "type": q(tx_type(tx)),
        "status": q(1 if receipt.state_root == b"\x01" else 0),
        "effectiveGasPrice": q(effective_price(tx, header.base_fee_per_gas or 0)),
    }


def format_block_receipts(record: BlockRecord) -> list[dict[str, Any]]:
    """All receipts of a block in one pass (log indices accumulate instead of being recounted per receipt)."""
    out = []
    offset = 0
    for i, receipt in enumerate(record.receipts):
        out.append(format_receipt(record, i, offset))
        offset += len(receipt.logs)
    return out
