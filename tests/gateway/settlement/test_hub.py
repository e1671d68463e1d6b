"""Which bell a ``…/wait`` listens to (``gateway.settlement.hub``). In an HTTP worker of several the relayer and the
indexer run in the background process and are heard through the worker's doorbell; the worker keeps an
``Indexer`` of its own only for ``reconcile``, which never runs and never rings. Waiting on that one left every
``/wait`` whose block was indexed after its settlement ended to its 0.25 s poll."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.context import GatewayContext
from gateway.events.tailing import Wake, poll
from gateway.settlement.hub import Hub, ended_bell, indexed_bell
from gateway.settlement_records import freshness
from gateway.settlement_records.bell import (
    ANY,
    INDEXED,
    MESSAGES,
    RELAYED,
    RISK,
    SETTLED,
    WAITERS,
    Bell,
    bells_dir,
    ring_all,
)
from gateway.settlement_records.models import IndexerCursor
from gateway.workers import start_waiters_doorbell

LONG = 30.0  # the poll behind the rings, here longer than any test may wait: passing means a ring woke the waiter


def worker_ctx(data_dir: Path) -> GatewayContext:
    """What the doorbells read of a worker's context: its data directory, and its database (SQLite: one machine)."""
    settings = SimpleNamespace(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'gateway.db'}")
    return cast(GatewayContext, SimpleNamespace(settings=settings))


def worker_hub(data_dir: Path, stop: threading.Event) -> Hub:
    """A hub as ``gateway.app`` leaves it in an HTTP worker of several: no relayer, an idle indexer, a doorbell."""
    hub = Hub(chain_id=1, engine=None)
    hub.extra["indexer"] = SimpleNamespace(bell=Bell())  # kept for reconcile; its loop is never started here
    assert start_waiters_doorbell(hub, worker_ctx(data_dir), stop)
    return hub


def test_a_worker_of_several_waits_for_the_index_on_its_doorbell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(freshness, "BELL_POLL_SECONDS", LONG)
    engine = create_engine(f"sqlite:///{tmp_path / 'f.db'}")
    IndexerCursor.__table__.create(engine)  # type: ignore[attr-defined]
    sessions: sessionmaker[Session] = sessionmaker(engine)
    stop = threading.Event()
    hub = worker_hub(tmp_path, stop)

    def background_indexer() -> None:  # another process's indexer: its cursor moves, then it rings the waiters
        with sessions.begin() as session:
            session.add(IndexerCursor(name=freshness.CURSOR, last_block=9))
        ring_all(bells_dir(tmp_path), WAITERS)

    async def wait() -> int | None:
        threading.Timer(0.05, background_indexer).start()
        return await freshness.wait_until_indexed_async(sessions, 9, timeout=LONG, bell=indexed_bell(hub))

    try:
        began = time.monotonic()
        assert asyncio.run(wait()) == 9
        assert time.monotonic() - began < LONG / 2
    finally:
        stop.set()


def test_a_process_that_runs_the_indexer_listens_to_its_own_bells() -> None:
    own = Bell()
    hub = Hub(chain_id=1, engine=None)
    hub.extra["indexer"] = SimpleNamespace(bell=own)
    assert indexed_bell(hub) is own
    relayer = SimpleNamespace(bell=Bell())
    hub.relayer = relayer  # type: ignore[assignment]
    assert ended_bell(hub) is relayer.bell
    assert indexed_bell(Hub(chain_id=1, engine=None)) is None  # no indexer anywhere: polls only


def test_a_worker_of_several_hears_a_settlement_end_on_its_doorbell(tmp_path: Path) -> None:
    stop = threading.Event()
    try:
        hub = worker_hub(tmp_path, stop)
        assert ended_bell(hub) is indexed_bell(hub) is hub.extra["waiters_bell"]
    finally:
        stop.set()


def test_a_worker_of_severals_tails_read_at_the_doorbells_ring_and_otherwise_poll_seldom(tmp_path: Path) -> None:
    """An idle HTTP worker's tails (chain events, relayed and risk messages) used to read the database 10 + 5 + 5
    times a second; rung by the doorbell that tells ``…/wait`` of a block indexed, they poll only as a fallback."""
    stop = threading.Event()
    wakes = [Wake(0.1, LONG) for _ in range(3)]
    hub = Hub(chain_id=1, engine=None)
    hub.extra["tail_wakes"] = wakes
    try:
        assert start_waiters_doorbell(hub, worker_ctx(tmp_path), stop)
        assert all(w.seconds == LONG and not w.event.is_set() for w in wakes)
        ring_all(bells_dir(tmp_path), WAITERS)  # the background process indexed a block
        assert all(w.event.wait(LONG / 2) for w in wakes)
    finally:
        stop.set()


def test_a_ring_wakes_only_the_readers_its_topic_concerns(tmp_path: Path) -> None:
    """Under load every block indexed rang all three tails, and the risk and relayed message tails read for nothing
    (a fifth of a busy worker's CPU): a ring's topic now says whose rows were committed."""
    stop = threading.Event()
    events, risk, relayed = (Wake(0.1, LONG, topic=topic) for topic in (INDEXED, RISK, RELAYED))
    marker = Wake(0.1, LONG, topic=b"z")  # rung after each ring: the doorbell reads in order, so that one is handled
    hub = Hub(chain_id=1, engine=None)
    hub.extra["tail_wakes"] = [events, risk, relayed, marker]
    expected = {  # (doorbell, topic): whether ``…/wait`` hears it, the tails it wakes
        (WAITERS, SETTLED): (True, []),  # the relayer
        (WAITERS, INDEXED): (True, [events]),  # the indexer
        (MESSAGES, RISK): (False, [risk]),  # a commit (gateway.app.announce_commits)
        (MESSAGES, RELAYED): (False, [relayed]),
        (WAITERS, ANY): (True, [events, risk, relayed]),  # a ring without a topic, as before
    }
    try:
        assert len(start_waiters_doorbell(hub, worker_ctx(tmp_path), stop)) == 3
        for (name, topic), (bell, woken) in expected.items():
            heard = threading.Event()
            hub.extra["waiters_bell"].ring = heard.set  # type: ignore[attr-defined]
            for wake in (events, risk, relayed, marker):
                wake.event.clear()
            ring_all(bells_dir(tmp_path), name, topic)
            ring_all(bells_dir(tmp_path), name, b"z")
            assert marker.event.wait(LONG / 2)
            assert heard.is_set() is bell, topic
            assert [w for w in (events, risk, relayed) if w.event.is_set()] == woken, topic
    finally:
        stop.set()


def test_a_rung_tail_reads_at_once_and_not_before(tmp_path: Path) -> None:
    stop, ticked = threading.Event(), threading.Semaphore(0)
    reads: list[float] = []

    def tick() -> int:
        reads.append(time.monotonic())
        ticked.release()
        return 0

    wake = Wake(0.1, LONG)
    wake.rung_by_doorbell()
    thread = threading.Thread(target=poll, args=(tick,), kwargs={"stop": stop, "batch": 1, "wake": wake, "name": "t"})
    thread.start()
    try:
        assert ticked.acquire(timeout=LONG / 2)  # the first read
        assert not ticked.acquire(timeout=0.3)  # nothing rang: no read for the fallback's length
        wake.ring()
        assert ticked.acquire(timeout=LONG / 2)  # rung: read again at once
        assert len(reads) == 2
    finally:
        stop.set()
        wake.ring()
        thread.join(timeout=LONG)
    assert not thread.is_alive()
