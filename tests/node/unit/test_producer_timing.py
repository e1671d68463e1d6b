"""The block time runs from the start of one build to the start of the next: a build that takes longer than the
block time is followed at once (as a QBFT period runs from the parent's timestamp), never sooner than the block
time after the previous start."""

from __future__ import annotations

import asyncio
import itertools
import time
from types import SimpleNamespace
from typing import Any

from node.producer import BlockProducer

BLOCK_TIME = 0.5


class SlowChain:
    def __init__(self, build_seconds: float) -> None:
        self.build_seconds = build_seconds
        self.starts: list[float] = []
        self.head = SimpleNamespace(block_number=0)
        self.consensus = SimpleNamespace(is_local_proposer=lambda head: True)

    def build_block(self, txs: list[Any], timestamp: int) -> Any:
        self.starts.append(time.monotonic())
        time.sleep(self.build_seconds)
        return SimpleNamespace(
            transactions=list(txs), dropped=[], header=SimpleNamespace(block_number=len(self.starts), gas_used=0)
        )


class BusyPool:
    """Always has a transaction pending (a saturated node)."""

    def pending_for_block(self) -> list[Any]:
        return [object()]

    def on_block(self, included: list[Any], dropped: list[Any]) -> None:
        pass

    def has_pending(self) -> bool:
        return True


def starts_under(block_time: float, build_seconds: float, blocks: int) -> list[float]:
    chain = SlowChain(build_seconds)

    async def run() -> None:
        producer = BlockProducer(chain, BusyPool(), block_time, False, lambda built: None)  # type: ignore[arg-type]
        producer.start()
        producer.notify()
        while len(chain.starts) < blocks:
            await asyncio.sleep(0.02)
        await producer.stop()

    asyncio.run(run())
    return chain.starts


def test_a_slow_build_is_followed_at_once() -> None:
    starts = starts_under(BLOCK_TIME, 0.6, 4)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # from the end of the last build the gap would be 0.6 + 0.5 = 1.1 s
    assert all(gap < 0.95 for gap in gaps), gaps


def test_a_fast_build_still_waits_the_block_time_from_its_start() -> None:
    starts = starts_under(BLOCK_TIME, 0.05, 4)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(gap >= BLOCK_TIME - 0.01 for gap in gaps), gaps
