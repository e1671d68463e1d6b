"""The event tail of an HTTP worker: events the indexer (another process) commits after the tail started are
published on this process's bus, in order, to the organizations of their repo only; earlier ones are not."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from gateway.db.migrate import upgrade
from gateway.db.session import make_engine, make_session_factory
from gateway.events.bus import EventBus
from gateway.indexer.tail import EventTail
from gateway.settlement_records.models import RepoEvent, RepoRecord

SELLER, HOLDER, OTHER = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def repo(repo_id: int) -> RepoRecord:
    wallet = "0x" + "11" * 20
    return RepoRecord(
        repo_id=repo_id, seller=wallet, buyer=wallet, holder=wallet, seller_org_id=SELLER, holder_org_id=HOLDER,
        cash_token=wallet, collateral_token=wallet, collateral_amount="1", purchase_price="1", rate="0",
        day_count_basis=360, haircut_bps=0, status="open", opened_at=0, maturity=0, period_start=0,
    )  # fmt: skip


def event(repo_id: int, log_index: int, name: str) -> RepoEvent:
    return RepoEvent(
        repo_id=repo_id, name=name, args={"repoId": str(repo_id)}, block_number=1, block_hash="0x" + "ab" * 32,
        block_time=0, log_index=log_index, tx_hash="0x" + "cd" * 32,
    )  # fmt: skip


def test_tail_publishes_new_events_to_their_organizations_in_order(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    writes = make_session_factory(make_engine(url))
    reads = make_session_factory(make_engine(url, read_only=True))
    with writes() as session:
        session.add_all([repo(1), event(1, 0, "RepoOpened")])
        session.commit()

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        bus = EventBus()
        _, seller = bus.subscribe(SELLER)
        _, other = bus.subscribe(OTHER)
        tail = EventTail(reads, bus)  # starts after the first event
        with writes() as session:
            session.add_all([event(1, 1, "MarginCalled"), event(1, 2, "MarginPosted")])
            session.commit()
        assert tail.run_once() == 2
        assert tail.run_once() == 0  # never twice
        await asyncio.sleep(0)
        got = [seller.get_nowait() for _ in range(seller.qsize())]
        return got, [other.get_nowait() for _ in range(other.qsize())]

    seen, foreign = asyncio.run(scenario())
    assert [e["type"] for e in seen] == ["repo.MarginCalled", "repo.MarginPosted"]
    assert foreign == []
