"""Transactions as their signed bytes (``eth_getRawTransactionBy*``), as geth answers them: the EIP-2718 envelope
that ``eth_sendRawTransaction`` took, for pooled transactions too; null when there is no such transaction."""

from __future__ import annotations

from typing import Any

from node.rpc import params as p
from node.rpc.base import MethodsBase
from node.rpc.formatting import d
from node.rpc.registry import rpc_method
from node.storage import BlockRecord


class RawTransactionMethods(MethodsBase):
    @rpc_method("eth_getRawTransactionByHash")
    def eth_get_raw_transaction_by_hash(self, tx_hash: Any) -> str | None:
        raw = p.hash32(tx_hash, "transaction hash")
        location = self.node.chain.store.tx_location(raw)
        if location is None:
            pending = self.node.pool.get(raw)
            return None if pending is None else d(pending.encode())
        record = self.node.chain.store.block(location[0])
        return None if record is None else d(record.transactions[location[1]].encode())

    def _raw_at(self, record: BlockRecord | None, index: Any) -> str | None:
        i = p.quantity(index, "index")
        if record is None or i >= len(record.transactions):
            return None
        return d(record.transactions[i].encode())

    @rpc_method("eth_getRawTransactionByBlockNumberAndIndex")
    def eth_get_raw_tx_by_number_and_index(self, block: Any, index: Any) -> str | None:
        return self._raw_at(self._block_record(block, allow_hash=False), index)

    @rpc_method("eth_getRawTransactionByBlockHashAndIndex")
    def eth_get_raw_tx_by_hash_and_index(self, block_hash: Any, index: Any) -> str | None:
        return self._raw_at(self._record(self._header(p.BlockRef(hash=p.hash32(block_hash, "block hash")))), index)
