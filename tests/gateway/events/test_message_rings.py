"""Risk and relayed messages ring the HTTP workers' tails of them on this machine once committed
(``gateway.app.announce_commits``), on a doorbell of their own and with their topic: the tails poll only seldom
behind the ring, and a block indexed no longer wakes them (``gateway.workers.start_waiters_doorbell``). The ring
comes after the commit, with the row visible to another connection; a rollback rings nothing."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.events.models import RelayedMessage
from gateway.risk import messages
from gateway.settlement_records.bell import MESSAGES, RELAYED, RISK, Bell, Doorbell, bells_dir, ring_all
from gateway.trading.announce import Announcer
from tests.gateway.conftest import World

MARK = b"z"  # rung after the write: the doorbell reads in order, so anything the write rang comes before it
WAIT = 10.0


@pytest.fixture
def heard(world: World) -> Iterator[queue.Queue[tuple[bytes, int, int]]]:
    """Each ring the workers' message doorbell hears: its topic, and the risk and relayed rows another connection
    sees then."""
    got: queue.Queue[tuple[bytes, int, int]] = queue.Queue()

    def route(topic: bytes) -> None:
        with world.ctx.read_sessions() as session:
            risk = session.scalar(select(func.count()).select_from(messages.RiskMessage)) or 0
            relayed = session.scalar(select(func.count()).select_from(RelayedMessage)) or 0
        got.put((topic, risk, relayed))

    stop = threading.Event()
    assert Doorbell(bells_dir(world.ctx.settings.data_dir), MESSAGES, Bell(), route=route).start(stop) is not None
    yield got
    stop.set()


def _risk(world: World) -> Callable[[Session], None]:
    def write(session: Session) -> None:
        messages.record(session, organization_id=world.orgs["a"], kind="risk.exposure", body={"pairs": []})

    return write


def _relayed(world: World) -> Callable[[Session], None]:
    def write(session: Session) -> None:
        Announcer(None, session, relay=True).send("instruction.expired", {"instruction_id": "i"}, {world.orgs["a"]})

    return write


def _before_mark(world: World, heard: queue.Queue[tuple[bytes, int, int]]) -> list[tuple[bytes, int, int]]:
    ring_all(bells_dir(world.ctx.settings.data_dir), MESSAGES, MARK)
    rings = []
    while (ring := heard.get(timeout=WAIT))[0] != MARK:
        rings.append(ring)
    return rings


@pytest.mark.parametrize(("kind", "topic", "seen"), [("risk", RISK, (1, 0)), ("relayed", RELAYED, (0, 1))])
def test_a_committed_message_rings_its_tails_after_the_commit_and_a_rolled_back_one_rings_none(
    world: World, heard: queue.Queue[tuple[bytes, int, int]], kind: str, topic: bytes, seen: tuple[int, int]
) -> None:
    write = _risk(world) if kind == "risk" else _relayed(world)
    with world.ctx.sessions() as session:
        write(session)
        session.flush()
        assert _before_mark(world, heard) == []  # not before the commit: the tail would find nothing
        session.rollback()
        session.execute(select(1))
        session.commit()  # the next transaction's commit does not ring for what was rolled back
    assert _before_mark(world, heard) == []
    with world.ctx.sessions() as session:
        write(session)
        write(session)  # two in one transaction: one ring
        session.commit()
    assert _before_mark(world, heard) == [(topic, 2 * seen[0], 2 * seen[1])]
