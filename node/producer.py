"""Block production: a block as soon as transactions are pending, never closer than the block time (start to
start).

Execution runs in a worker thread so the event loop keeps admitting transactions and answering RPC
while a block is built; the pool is only touched on the loop thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from node.chain import Chain
from node.execution import BuiltBlock
from node.txpool import TxPool

logger = logging.getLogger(__name__)


TRAILING_DELAY = 1.0  # seconds from a block with transactions to the empty block that follows it


class BlockProducer:
    def __init__(
        self,
        chain: Chain,
        pool: TxPool,
        block_time: float,
        empty_blocks: bool,
        on_block: Callable[[BuiltBlock], None],
        trailing_block: bool = True,
    ) -> None:
        self.chain = chain
        self.pool = pool
        self.block_time = block_time
        self.empty_blocks = empty_blocks
        self._on_block = on_block
        self._wake = asyncio.Event()
        self._last_block = 0.0
        self._task: asyncio.Task[None] | None = None
        self.trailing_block = trailing_block
        self._trailing_at: float | None = None  # when the trailing empty block is due (monotonic), if one is

    def notify(self) -> None:
        """A transaction arrived: build soon."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="block-producer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        while True:
            if self.empty_blocks:
                timeout: float | None = self.block_time
            elif self._trailing_at is not None:
                timeout = max(0.0, self._trailing_at - time.monotonic())
            else:
                timeout = None
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)
            except TimeoutError:
                pass
            self._wake.clear()
            delay = self._last_block + self.block_time - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            trailing = self._trailing_at is not None and time.monotonic() >= self._trailing_at
            try:
                await self.produce_once(allow_empty=trailing)
            except Exception:  # a failed block must not stop production; the pool keeps its txs
                logger.exception("block production failed")
                await asyncio.sleep(self.block_time)
            if self.pool.has_pending():
                self._wake.set()

    async def produce_once(self, allow_empty: bool = False) -> BuiltBlock | None:
        """Build the next block from the pool. With ``allow_empty`` (the trailing block) or ``--empty-blocks``
        a block is sealed even without transactions."""
        txs = self.pool.pending_for_block()
        if not txs and not (self.empty_blocks or allow_empty):
            return None
        if not self.chain.consensus.is_local_proposer(self.chain.head):
            return None
        started = time.monotonic()
        built = await asyncio.to_thread(self.chain.build_block, txs, int(time.time()))
        # The block time runs from the start of the last build, as a QBFT period runs from the parent's timestamp:
        # a build that takes longer than the block time is followed at once, not after another full block time.
        self._last_block = started
        self.pool.on_block(built.transactions, [tx for tx, _ in built.dropped])
        for tx, reason in built.dropped:
            logger.info("dropped tx 0x%s: %s", tx.hash.hex(), reason)
        logger.info(
            "block %d sealed: %d txs, %d gas, %.0f ms",
            built.header.block_number,
            len(built.transactions),
            built.header.gas_used,
            (time.monotonic() - started) * 1000,
        )
        # One empty block follows a burst of transactions, TRAILING_DELAY later: polling clients (ethers' tx.wait)
        # take the first block number they see as a baseline and wait for the NEXT block; on a chain that is
        # otherwise idle they would wait forever if our block landed just before that first poll. Sealed one block
        # time later, the trailing block too could land before a client's first poll (seen with ethers at 0.1 s
        # blocks on a busy machine); a second later, it comes after it. The chain still never grows while idle.
        if self.trailing_block and built.transactions:
            self._trailing_at = time.monotonic() + max(self.block_time, TRAILING_DELAY)
        else:
            self._trailing_at = None
        self._on_block(built)
        return built
