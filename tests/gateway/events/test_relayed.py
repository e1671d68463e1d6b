"""Messages relayed through the database (gateway.events.relayed): an announcement made where no stream client is
connected (the background process's indexer) reaches the streams another process serves, to the organizations it
names only, once, and in order; an announcer that relays does not publish on its own bus."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.db.migrate import upgrade
from gateway.db.session import make_engine, make_session_factory
from gateway.events import tailing as cursor
from gateway.events.bus import EventBus
from gateway.events.models import RelayedMessage
from gateway.events.relayed import RelayTail
from gateway.trading.announce import Announcer

SELLER, HOLDER, OTHER = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
NOW = datetime.now(UTC)


def test_a_relayed_announcement_reaches_another_process_stream_once_and_only_its_parties(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    writes = make_session_factory(make_engine(url))
    reads = make_session_factory(make_engine(url, read_only=True))
    with writes() as session:  # before the tail starts: not replayed
        Announcer(None, session, relay=True).send("instruction.expired", {"instruction_id": "old"}, {SELLER})
        session.commit()  # a relaying announcer writes in its caller's transaction

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        serving, background = EventBus(), EventBus()  # an HTTP worker's bus, and the background process's
        _, seller = serving.subscribe(SELLER)
        _, other = serving.subscribe(OTHER)
        _, local = background.subscribe(SELLER)
        tail = RelayTail(reads, serving)
        with writes() as session:
            announcer = Announcer(background, session, relay=True)
            for n in range(3):
                announcer.send("instruction.expired", {"instruction_id": f"i{n}"}, {SELLER, HOLDER})
                if n == 0:  # a row that cannot be read does not hold back the ones after it
                    session.add(RelayedMessage(event={"type": "x"}, organizations=["not an id"], created_at=NOW))
            session.commit()
        assert tail.run_once() == 4
        assert tail.run_once() == 0  # never twice
        await asyncio.sleep(0)
        drain = [[q.get_nowait() for _ in range(q.qsize())] for q in (seller, other, local)]
        return drain[0], drain[1], drain[2]

    seen, foreign, on_own_bus = asyncio.run(scenario())
    assert [e["data"]["instruction_id"] for e in seen] == ["i0", "i1", "i2"]
    assert {e["type"] for e in seen} == {"instruction.expired"} and all(e["event_id"] for e in seen)
    assert foreign == [] and on_own_bus == []
    with reads() as session:
        assert session.query(RelayedMessage).count() == 5


def test_an_id_committed_after_a_higher_one_is_still_passed_on(tmp_path: Path, monkeypatch: Any) -> None:
    """PostgreSQL hands out ids at insert: 3 can be visible before 2 commits. The tail asks for the skipped id until
    it comes (here it does), or for ``GAP_SECONDS`` (a rolled-back insert's id never does)."""
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    writes = make_session_factory(make_engine(url))
    reads = make_session_factory(make_engine(url, read_only=True))

    def row(row_id: int) -> RelayedMessage:
        event = {"type": "instruction.expired", "data": {"n": row_id}}
        return RelayedMessage(id=row_id, event=event, organizations=[str(SELLER)], created_at=NOW)

    async def scenario() -> list[int]:
        bus = EventBus()
        _, seller = bus.subscribe(SELLER)
        tail = RelayTail(reads, bus)
        for batch in ([1, 3, 6], [2], [4]):  # 2 and 4 commit late; 5 never does
            with writes() as session:
                session.add_all([row(i) for i in batch])
                session.commit()
            tail.run_once()
        real = time.monotonic
        monkeypatch.setattr(cursor.time, "monotonic", lambda: real() + cursor.GAP_SECONDS + 1)
        with writes() as session:
            session.add(row(5))  # later than awaited: it is left to the retention
            session.commit()
        assert tail.run_once() == 0
        await asyncio.sleep(0)
        return [seller.get_nowait()["data"]["n"] for _ in range(seller.qsize())]

    assert asyncio.run(scenario()) == [1, 3, 6, 2, 4]
