"""The running node: chain, pool, permissioning, producer and the event fan-out to filters and
subscriptions. Everything here runs on the event-loop thread except block execution."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth.abc import SignedTransactionAPI

from node.chain import Chain
from node.execution import BuiltBlock
from node.permissioning import AccountPermissioner, write_allowlist
from node.producer import BlockProducer
from node.rpc.budget import CallLimits
from node.rpc.filters import FilterManager, log_matches
from node.rpc.formatting import d, format_header, format_logs
from node.rpc.types import LogObject
from node.storage import BlockRecord
from node.threads import dedicate_chain_executor
from node.txpool import PoolLimits, TxPool

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RpcLimits:
    max_body_bytes: int = 5 * 1024 * 1024
    max_batch: int = 1000
    max_log_range: int = 10_000
    max_logs: int = 10_000
    call_gas_cap: int = 50_000_000
    max_ws_subscriptions: int = 100
    calls: CallLimits = field(default_factory=CallLimits)


BlockListener = Callable[[dict[str, Any], list[LogObject]], None]
TxListener = Callable[[SignedTransactionAPI], None]


class NodeService:
    def __init__(
        self,
        chain: Chain,
        permissioner: AccountPermissioner,
        data_dir: Path,
        block_time: float,
        empty_blocks: bool = False,
        limits: RpcLimits | None = None,
        pool_limits: PoolLimits | None = None,
        trailing_block: bool = True,
    ) -> None:
        self.chain = chain
        self.permissioner = permissioner
        self.data_dir = data_dir
        self.limits = limits or RpcLimits()
        self.pool = TxPool(
            chain.chain_id,
            lambda: chain.head.gas_limit,
            self._pool_state,
            permissioner,
            pool_limits,
        )
        self.filters = FilterManager()
        self.producer = BlockProducer(chain, self.pool, block_time, empty_blocks, self._on_block, trailing_block)
        self.block_listeners: set[BlockListener] = set()
        self.tx_listeners: set[TxListener] = set()
        self._pool_state_cache: tuple[bytes, Any] | None = None
        # address -> private key of the accounts this node signs for: the dev chain's test accounts, else none
        self.dev_keys: dict[bytes, bytes] = {}
        self._housekeeping: asyncio.Task[None] | None = None
        if chain.consensus.local_address is not None:
            self.pool.add_system_sender(chain.consensus.local_address)

    def _pool_state(self) -> Any:
        head = self.chain.head
        if self._pool_state_cache is None or self._pool_state_cache[0] != head.hash:
            self._pool_state_cache = (head.hash, self.chain.state_for_next_block())
        return self._pool_state_cache[1]

    def start(self) -> None:
        self.start_housekeeping()
        self.producer.start()

    def start_housekeeping(self) -> None:
        """The chain's own executor, and the pool's expiry of stale queued transactions once a second."""
        dedicate_chain_executor()
        self._housekeeping = asyncio.create_task(self._expire_queued(), name="txpool-expiry")

    async def _expire_queued(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                self.pool.expire()
            except Exception:  # housekeeping must never stop; the next round tries again
                logger.exception("txpool expiry failed")

    async def stop(self) -> None:
        if self._housekeeping is not None:
            self._housekeeping.cancel()
        await self.producer.stop()

    # transactions ----------------------------------------------------------------------------------
    def submit(self, tx: SignedTransactionAPI) -> bytes:
        """Validate and pool a transaction; raises RpcError with geth's wording when refused."""
        sender = self.pool.validate(tx)
        self.pool.add(tx, sender)
        self.producer.notify()
        for flt in self.filters.of_kind("pending"):
            self.filters.push(flt, [d(tx.hash)])
        for listener in list(self.tx_listeners):
            listener(tx)
        return bytes(tx.hash)

    # operator --------------------------------------------------------------------------------------
    def set_account_rules(self, address: bytes | None) -> None:
        self.permissioner.set_rules_address(address)
        self.chain.store.set_meta("account_rules", address or b"")

    def add_to_allowlist(self, address: bytes) -> None:
        self.permissioner.add_to_allowlist(address)
        write_allowlist(self.data_dir / "allowlist.txt", set(self.permissioner.allowlist))

    # blocks ----------------------------------------------------------------------------------------
    def _on_block(self, built: BuiltBlock) -> None:
        self._pool_state_cache = None
        log_filters = self.filters.of_kind("logs")
        block_filters = self.filters.of_kind("block")
        if not (self.block_listeners or log_filters or block_filters):
            return  # nobody listens: skip formatting thousands of logs
        record = BlockRecord(built.header, built.transactions, built.receipts)
        header_json = format_header(built.header)
        logs: list[LogObject] = []
        first = 0
        for i, receipt in enumerate(record.receipts):
            logs.extend(format_logs(record, i, first))
            first += len(receipt.logs)
        for flt in block_filters:
            self.filters.push(flt, [header_json["hash"]])
        for flt in log_filters:
            criteria = flt.criteria
            if criteria is None:
                continue
            matched = [
                log
                for log in logs
                if log_matches(
                    criteria, bytes.fromhex(log["address"][2:]), [bytes.fromhex(t[2:]) for t in log["topics"]]
                )
            ]
            if matched:
                self.filters.push(flt, matched)
        for listener in list(self.block_listeners):
            try:
                listener(header_json, logs)
            except Exception:  # one broken subscriber must not stop the others
                logger.exception("block listener failed")
