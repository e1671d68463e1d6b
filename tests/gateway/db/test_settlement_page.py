"""A page of settlements is answered with its steps read in one query, and says exactly what the single view
says for each settlement (steps in order, none mixed between settlements)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event

from gateway.db.migrate import upgrade
from gateway.db.session import make_engine, make_session_factory
from gateway.settlement.views import settlement_public, settlements_public
from gateway.settlement_records.models import ChainStep, Settlement


def test_settlement_page_matches_single_views_in_two_queries(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        rows = [Settlement(kind="open", requested_by="user:x") for _ in range(5)]
        session.add_all(rows)
        session.flush()
        for n, settlement in enumerate(rows):
            for seq in reversed(range(n % 3 + 1)):  # inserted out of order
                session.add(
                    ChainStep(settlement_id=settlement.id, seq=seq, label=f"step {seq}", sender="0x" + "11" * 20,
                              to="0x" + "22" * 20, data="0x")
                )  # fmt: skip
        session.commit()
        statements: list[str] = []

        def record(*args: object) -> None:
            if str(args[2]).startswith("SELECT"):
                statements.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", record)
        page = settlements_public(session, rows)
        assert len(statements) == 1
        assert page == [settlement_public(session, s) for s in rows]
        assert [len(p.steps) for p in page] == [1, 2, 3, 1, 2]
        assert all([s.seq for s in p.steps] == sorted(s.seq for s in p.steps) for p in page)
    assert settlements_public(sessions(), []) == []
