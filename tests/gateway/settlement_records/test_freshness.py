"""Reads wait for the indexer up to a bound, then answer 409: ``min_block`` is a promise, never ignored."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.settlement_records import freshness
from gateway.settlement_records.models import IndexerCursor


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    engine = create_engine(f"sqlite:///{tmp_path / 'f.db'}")
    IndexerCursor.__table__.create(engine)  # type: ignore[attr-defined]
    return sessionmaker(engine)


def _set(sessions: sessionmaker[Session], block: int) -> None:
    with sessions.begin() as session:
        row = session.get(IndexerCursor, freshness.CURSOR)
        if row is None:
            session.add(IndexerCursor(name=freshness.CURSOR, last_block=block))
        else:
            row.last_block = block


def test_no_min_block_answers_the_cursor(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        assert freshness.require_block(session, sessions, None) is None
    _set(sessions, 7)
    with sessions() as session:
        assert freshness.require_block(session, sessions, None) == 7
        assert freshness.require_block(session, sessions, 7) == 7


def test_behind_the_indexer_is_409_after_the_wait(sessions: sessionmaker[Session]) -> None:
    _set(sessions, 7)
    started = time.monotonic()
    with sessions() as session, pytest.raises(freshness.BlockNotIndexed) as refused:
        freshness.require_block(session, sessions, 8, timeout=0.2)
    assert time.monotonic() - started >= 0.2
    assert refused.value.status == 409 and refused.value.extra == {"as_of_block": 7, "min_block": 8}


def test_the_read_waits_for_the_indexer_to_catch_up(sessions: sessionmaker[Session]) -> None:
    _set(sessions, 7)
    catch_up = threading.Timer(0.1, _set, args=(sessions, 9))
    catch_up.start()
    try:
        with sessions() as session:
            assert freshness.require_block(session, sessions, 9, timeout=5) == 9
    finally:
        catch_up.cancel()
