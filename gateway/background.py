"""The gateway's background work as a process of its own (``reponet gateway work``), and the process plumbing of
a multi-worker ``gateway run``.

With several HTTP workers, the relayer, the indexer, the balance follower, webhooks, audit anchoring and KYC
maintenance must run exactly once: ``gateway run`` starts this process beside uvicorn's workers and stops it with
them. Both it and the workers die with ``gateway run`` (a parent-death signal), so a supervisor that restarts a
killed gateway never finds a second relayer still running.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading

from gateway import heap
from gateway.config import Settings
from gateway.processes import die_with_parent

logger = logging.getLogger(__name__)


def start_background_process() -> subprocess.Popen[bytes]:
    """``reponet gateway work`` as a child of this process, with this process's environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "gateway", "work"],
        env={**os.environ, "REPONET_BACKGROUND_WORK": "true"},
        preexec_fn=die_with_parent,
    )


def run_background(settings: Settings) -> None:
    """Relayer, indexer, balance follower and webhooks in threads; anchoring and KYC maintenance on an event loop;
    until SIGTERM or SIGINT."""
    from gateway.app import _anchor_periodically, _maintain_periodically, build_context
    from gateway.chain.base import NullChain
    from gateway.workers import (
        hub_from_settings,
        start_relayer_doorbell,
        start_webhooks_doorbell,
        start_workers,
        wake_all,
    )

    die_with_parent()
    ctx = build_context(settings)
    heap.freeze_once()
    hub = hub_from_settings(ctx)
    stop = threading.Event()
    threads = (
        start_workers(hub, stop) + start_relayer_doorbell(hub, ctx, stop) + start_webhooks_doorbell(hub, ctx, stop)
    )
    logger.info("background work running: %s", ", ".join(t.name for t in threads) or "nothing to do")

    async def main() -> None:
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, done.set)
        tasks = []
        if settings.anchor_interval_seconds > 0 and not isinstance(ctx.chain, NullChain):
            tasks.append(asyncio.create_task(_anchor_periodically(ctx, hub)))
        if settings.maintenance_interval_seconds > 0:
            tasks.append(asyncio.create_task(_maintain_periodically(ctx)))
        await done.wait()
        for task in tasks:
            task.cancel()

    try:
        asyncio.run(main())
    finally:
        stop.set()
        wake_all(hub)
        for thread in threads:
            thread.join(timeout=5)
        ctx.engine.dispose()
        ctx.read_engine.dispose()
