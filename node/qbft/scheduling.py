"""Where a validator's block executions run: at the normal CPU priority when they are on the chain's critical
path, at a lower one when they are not.

The block rate is set by one chain of work: the next height's proposer executes this height's proposal, then
builds its own block on it, and only then has anyone the next block to execute. The other validators execute the
same proposal only to vote on it. When validators share cores (a test network, a benchmark, a small deployment on
one host), a fair scheduler slows that chain down by sharing the next proposer's core with them: three executions
on two cores each take half as long again, and the next proposer's build then runs alone while the other core
idles. Running the executions that are off the critical path in a worker thread of lower priority (a higher nice
value; raising one's own nice value needs no privilege) lets the scheduler give the next proposer a core of its
own while the others fill the rest. Every execution still happens, with the same checks: only the order in which
the cores serve them changes, and on a host of its own a validator sees no difference.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from node.threads import lower_thread_priority

logger = logging.getLogger(__name__)

T = TypeVar("T")

BACKGROUND_NICE = 3  # CFS weight 655 against 1024 at nice 0: a lighter claim on a shared core, never a starved one


class ExecutionScheduler:
    """Runs block executions in worker threads: critical ones in asyncio's default executor, the others in one
    thread of lower priority (executions take the chain's build lock, so one thread loses nothing)."""

    def __init__(self, background_nice: int = BACKGROUND_NICE) -> None:
        self._background = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix="qbft-background-exec",
            initializer=lower_thread_priority,
            initargs=(background_nice,),
        )

    async def run(self, critical: bool, fn: Callable[..., T], *args: object) -> T:
        if critical:
            return await asyncio.to_thread(fn, *args)
        return await asyncio.get_running_loop().run_in_executor(self._background, fn, *args)

    def shutdown(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._background.shutdown(wait=False, cancel_futures=True)
