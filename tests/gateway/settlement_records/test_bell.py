"""Bells and doorbells (``gateway.settlement_records.bell``): a waiter wakes at the ring, not at its next poll; a
ring across processes goes over a Unix datagram socket and never blocks or fails the ringer."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.settlement_records import freshness
from gateway.settlement_records.bell import Bell, Doorbell, ring_all, rung
from gateway.settlement_records.models import IndexerCursor

LONG = 30.0  # a poll interval no test may wait out: passing in much less means the ring woke the waiter


def test_a_ring_from_a_worker_thread_wakes_a_listening_coroutine() -> None:
    bell = Bell()

    async def wait() -> float:
        began = time.monotonic()
        with bell.listening() as ring:
            threading.Thread(target=bell.ring).start()
            await rung(ring, LONG)
            assert ring.is_set()
        return time.monotonic() - began

    assert asyncio.run(wait()) < LONG / 2


def test_a_ring_before_the_wait_is_not_lost() -> None:
    bell = Bell()

    async def wait() -> bool:
        with bell.listening() as ring:
            bell.ring()  # between the check and the wait
            await rung(ring, LONG)
            return ring.is_set()

    assert asyncio.run(wait())


def test_the_wait_for_the_indexer_answers_at_the_ring(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'f.db'}")
    IndexerCursor.__table__.create(engine)  # type: ignore[attr-defined]
    sessions: sessionmaker[Session] = sessionmaker(engine)
    bell = Bell()

    def index() -> None:
        with sessions.begin() as session:
            session.add(IndexerCursor(name=freshness.CURSOR, last_block=9))
        bell.ring()

    async def wait() -> int | None:
        threading.Timer(0.05, index).start()
        return await freshness.wait_until_indexed_async(sessions, 9, timeout=LONG, poll=LONG, bell=bell)

    began = time.monotonic()
    assert asyncio.run(wait()) == 9
    assert time.monotonic() - began < LONG / 2


def test_a_doorbell_rings_across_processes_and_ringing_nobody_is_harmless(tmp_path: Path) -> None:
    stop, heard = threading.Event(), threading.Event()
    doorbell = Doorbell(tmp_path / "bells", "relayer", Bell(), also=heard.set)
    thread = doorbell.start(stop)
    assert thread is not None
    try:
        ring_all(tmp_path / "bells", "waiters")  # another name: not this listener
        ring_all(tmp_path / "nowhere", "relayer")  # no directory: nothing happens
        assert not heard.is_set()
        ring_all(tmp_path / "bells", "relayer")
        assert heard.wait(LONG)
    finally:
        stop.set()
        thread.join(timeout=LONG)
    assert not doorbell.path.exists()  # the listener removes its socket when it stops
    (tmp_path / "bells" / "relayer-1").touch()  # a stale file of a dead process
    ring_all(tmp_path / "bells", "relayer")


def test_a_doorbell_hands_each_topic_to_its_route_and_outlives_a_ring_that_failed(tmp_path: Path) -> None:
    stop, topics = threading.Event(), queue.Queue[bytes]()

    def route(topic: bytes) -> None:
        topics.put(topic)
        if topic == b"x":
            raise RuntimeError("a reader could not be woken")

    thread = Doorbell(tmp_path / "bells", "waiters", Bell(), route=route).start(stop)
    assert thread is not None
    try:
        ring_all(tmp_path / "bells", "waiters", b"x")
        ring_all(tmp_path / "bells", "waiters", b"i")
        assert [topics.get(timeout=LONG), topics.get(timeout=LONG)] == [b"x", b"i"]  # still listening
        ring_all(tmp_path / "bells", "waiters")
        assert topics.get(timeout=LONG) == b"\x01"  # no topic: anything
    finally:
        stop.set()
        thread.join(timeout=LONG)


def test_a_doorbell_path_too_long_for_a_socket_means_polling_only(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 120)
    assert Doorbell(deep, "waiters", Bell()).start(threading.Event()) is None


@pytest.mark.parametrize("name", ["relayer", "waiters"])
def test_ringing_never_blocks_on_a_listener_that_does_not_read(tmp_path: Path, name: str) -> None:
    import socket

    path = tmp_path / f"{name}-7"
    deaf = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    deaf.bind(str(path))
    try:
        began = time.monotonic()
        for _ in range(2_000):  # far past its receive buffer
            ring_all(tmp_path, name)
        assert time.monotonic() - began < LONG
    finally:
        deaf.close()
