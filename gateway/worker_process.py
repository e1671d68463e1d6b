"""``reponet worker [KIND ...]``: the gateway's background work apart from the API, each kind under leader election
(``gateway.leader``), for a gateway of several API replicas.

Start it twice (or more, on any machine sharing the database) and each kind runs in exactly one process: the other
waits as a standby, tries the kind's lock every half second, and on winning it starts that kind's work, which
resumes from the database (the relayer from its durable steps, the indexer from its cursor, webhooks from their
delivery log, the event relay from the stream's newest entry). A leader whose lock is found lost stops everything
and exits with an error (its supervisor starts it again, as a standby); meanwhile its write transactions are
refused by the fence.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from gateway.config import Settings
from gateway.context import GatewayContext
from gateway.exit_status import ExitStatus
from gateway.leader import POLL_SECONDS, Election, WorkerKind, election_for, holder_name, install_fence
from gateway.settlement.hub import Hub

logger = logging.getLogger(__name__)
JOIN_SECONDS = 5.0


@runtime_checkable
class Loop(Protocol):
    """A worker of the hub: runs until its stop event is set."""

    def run(self, stop: threading.Event) -> Any: ...


@dataclass
class Running:
    """The threads of the kinds this process leads, and the event that stops them."""

    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def spawn(self, name: str, target: Callable[[threading.Event], Any]) -> None:
        thread = threading.Thread(target=target, args=(self.stop,), name=f"reponet-{name}", daemon=True)
        thread.start()
        self.threads.append(thread)


def start_kind(kind: WorkerKind, ctx: GatewayContext, hub: Hub, running: Running) -> list[str]:
    """Start ``kind``'s work in ``running``; returns the names of what started (empty: nothing configured)."""
    started: list[str] = []

    def spawn(name: str, target: Callable[[threading.Event], Any]) -> None:
        running.spawn(name, target)
        started.append(name)

    from gateway.settlement_records.bell import INDEXED, SETTLED
    from gateway.workers import start_webhooks_doorbell, waiters_announcer

    if kind is WorkerKind.RELAYER and hub.relayer is not None:
        hub.relayer.announce = waiters_announcer(ctx, SETTLED)
        spawn("relayer", hub.relayer.run)
    elif kind is WorkerKind.INDEXER:
        if (indexer := hub.extra.get("indexer")) is not None:
            indexer.announce = waiters_announcer(ctx, INDEXED)  # type: ignore[attr-defined]
        for name in ("indexer", "balances", "prices"):
            if isinstance(worker := hub.extra.get(name), Loop):
                spawn(name, worker.run)
        if ctx.settings.broker_url and hub.extra.get("indexer") is not None:
            from gateway.events.broker import connect
            from gateway.events.webhooks import enqueue_events
            from gateway.indexer.publish import EventPublisher

            publisher = EventPublisher(
                ctx.read_sessions,
                connect(ctx.settings.broker_url),
                ctx.settings.event_stream,
                on_events=lambda published: enqueue_events(ctx.sessions, published),
            )
            spawn("event-relay", publisher.run)
    elif kind is WorkerKind.WEBHOOKS and isinstance(webhooks := hub.extra.get("webhooks"), Loop):
        running.threads.extend(start_webhooks_doorbell(hub, ctx, running.stop))
        spawn("webhooks", webhooks.run)
    elif kind is WorkerKind.ANCHOR:
        spawn("anchor", lambda stop: asyncio.run(_periodic(ctx, hub, stop)))
    return started


async def _periodic(ctx: GatewayContext, hub: Hub, stop: threading.Event) -> None:
    """Audit anchoring and KYC maintenance, as the embedded gateway runs them, until ``stop``."""
    from gateway.app import _anchor_periodically, _maintain_periodically
    from gateway.chain.base import NullChain

    tasks = []
    if ctx.settings.anchor_interval_seconds > 0 and not isinstance(ctx.chain, NullChain):
        tasks.append(asyncio.create_task(_anchor_periodically(ctx, hub)))
    if ctx.settings.maintenance_interval_seconds > 0:
        tasks.append(asyncio.create_task(_maintain_periodically(ctx)))
    await asyncio.get_running_loop().run_in_executor(None, stop.wait)
    for task in tasks:
        task.cancel()


def _hub_when_the_node_answers(ctx: GatewayContext, stop: threading.Event) -> Hub | None:
    """The hub (its market asks the node for the chain id): a node still starting or out of reach is waited for
    with backoff, not a crash (a supervisor would give up on a worker that crashed in a loop)."""
    from gateway.chain.outage import Backoff, is_outage
    from gateway.workers import hub_from_settings

    backoff = Backoff()
    while not stop.is_set():
        try:
            return hub_from_settings(ctx)
        except Exception as exc:
            if not is_outage(exc):
                raise
            logger.warning("worker: the node is out of reach (%s); waiting for it", exc)
            stop.wait(backoff.next())
    return None  # stopped while waiting


def run_workers(settings: Settings, kinds: list[WorkerKind], *, stop: threading.Event | None = None) -> ExitStatus:
    """Stand for each of ``kinds`` until SIGTERM (or ``stop``); lead those won. Returns ERROR if a lock was lost."""
    from gateway.app import build_context
    from gateway.workers import wake_all

    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    ctx = build_context(settings)
    elections: list[Election] = [election_for(settings.database_url, settings.data_dir, k) for k in kinds]
    install_fence(ctx.engine, elections)
    hub = _hub_when_the_node_answers(ctx, stop)
    if hub is None:
        ctx.engine.dispose()
        ctx.read_engine.dispose()
        return ExitStatus.OK
    running = Running()
    status = ExitStatus.OK
    logger.warning("worker %s standing for %s", holder_name(), ", ".join(k.value for k in kinds))
    try:
        while not stop.is_set():
            for election in elections:
                if stop.is_set():  # stopping: take no lock another worker could have
                    break
                if election.leading:
                    if not election.held():
                        logger.error("lost the lead of %s: stopping this worker", election.kind.value)
                        status = ExitStatus.ERROR
                        stop.set()
                        break
                elif election.try_acquire():
                    started = start_kind(election.kind, ctx, hub, running)
                    logger.warning(
                        "leader of %s: %s", election.kind.value, ", ".join(started) or "nothing configured to run"
                    )
            stop.wait(POLL_SECONDS)
    finally:
        running.stop.set()
        wake_all(hub)
        for thread in running.threads:
            thread.join(timeout=JOIN_SECONDS)
        for election in elections:
            election.release()
        ctx.engine.dispose()
        ctx.read_engine.dispose()
    return status
