"""A validator executes a proposal at the normal CPU priority only when it proposes the next height (it builds the
next block on this one, so that execution is on the chain's critical path); otherwise in a thread of lower
priority, so that validators sharing cores leave the next proposer a core of its own. Every proposal is still
executed."""

from __future__ import annotations

import asyncio
import os
import threading
from types import SimpleNamespace
from typing import Any, cast

import pytest

from node.qbft.consensus import proposer_for
from node.qbft.engine import QbftEngine
from node.qbft.scheduling import ExecutionScheduler

pytestmark = pytest.mark.skipif(not hasattr(os, "getpriority"), reason="no per-thread nice values here")

VALIDATORS = tuple(bytes([i]) * 20 for i in range(1, 5))


def nice_of_calling_thread() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_background_executions_run_at_a_higher_nice_value() -> None:
    async def run() -> tuple[int, int]:
        scheduler = ExecutionScheduler(background_nice=3)
        try:
            critical = await scheduler.run(True, nice_of_calling_thread)
            background = await scheduler.run(False, nice_of_calling_thread)
        finally:
            scheduler.shutdown()
        return critical, background

    own = nice_of_calling_thread()
    critical, background = asyncio.run(run())
    assert critical == own
    assert background == min(own + 3, 19)
    assert nice_of_calling_thread() == own  # the caller's thread is untouched


def engine_at(height: int, local: bytes) -> QbftEngine:
    eng = QbftEngine.__new__(QbftEngine)
    eng.chain = cast(Any, SimpleNamespace(head=SimpleNamespace(block_number=height - 1)))
    eng.consensus = cast(Any, SimpleNamespace(validators_after=lambda _head: VALIDATORS, local_address=local))
    return eng


@pytest.mark.parametrize("height", [7, 8, 9, 10])
def test_only_the_next_proposer_validates_on_the_critical_path(height: int) -> None:
    hs = cast(Any, SimpleNamespace(height=height))
    critical = [v for v in VALIDATORS if engine_at(height, v)._next_proposer_is_local(hs)]
    assert critical == [proposer_for(VALIDATORS, height + 1, 0)]
    assert critical[0] != proposer_for(VALIDATORS, height, 0)  # not this height's proposer, who built the block
