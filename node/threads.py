"""Which threads do the node's work, and at what CPU priority.

Block production and consensus run in asyncio's default executor, which the node replaces at start by one of its
own (:func:`dedicate_chain_executor`) that nothing else submits to: client calls have their own pool
(:mod:`node.rpc.budget`), so however many a client sends, the next block is never queued behind them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

logger = logging.getLogger(__name__)

CHAIN_WORKERS = 4  # build, import, commit and sync reads of one height never need more
CALL_NICE = 5  # client calls yield the shared cores to block production and consensus


def lower_thread_priority(increment: int) -> None:
    """Raise the calling thread's nice value by ``increment`` (Linux: the nice value is per thread)."""
    if not hasattr(os, "setpriority"):
        return
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + increment)
    except OSError:
        logger.debug("cannot lower the priority of thread %d", tid)


def dedicate_chain_executor() -> None:
    """Give the running loop's default executor (``asyncio.to_thread``) to chain work alone."""
    executor = ThreadPoolExecutor(max_workers=CHAIN_WORKERS, thread_name_prefix="chain")
    asyncio.get_running_loop().set_default_executor(executor)
