"""SQLite writers of one engine queue on a thread lock before ``BEGIN IMMEDIATE``, held until SQLite has
committed or rolled back: a waiting writer starts the moment the last one ends, instead of sleeping in SQLite's
growing busy-handler steps."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from sqlalchemy import text

from gateway.db.migrate import upgrade
from gateway.db.session import make_engine, make_session_factory, writer_lock


def _url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    return url


def test_the_lock_is_held_from_begin_to_commit_rollback_and_close(tmp_path: Path) -> None:
    url = _url(tmp_path)
    engine = make_engine(url)
    lock = writer_lock(engine)
    assert lock is not None and writer_lock(make_engine(url, read_only=True)) is None
    sessions = make_session_factory(engine)
    for end in ("commit", "rollback", "close"):
        session = sessions()
        assert not lock.locked()
        session.execute(text("SELECT 1"))
        assert lock.locked()
        getattr(session, end)()
        assert not lock.locked(), end
        session.close()
    engine.dispose()


def test_a_waiting_writer_starts_when_the_holder_commits(tmp_path: Path) -> None:
    engine = make_engine(_url(tmp_path))
    sessions = make_session_factory(engine)
    holder = sessions()
    holder.execute(text("UPDATE audit_head SET sequence = 41"))
    started: list[float] = []

    def second_writer() -> None:
        with sessions() as session:
            session.execute(text("UPDATE audit_head SET sequence = sequence + 1"))
            started.append(time.monotonic())
            session.commit()

    thread = threading.Thread(target=second_writer)
    thread.start()
    time.sleep(0.3)
    assert started == []  # queued behind the holder
    committed = time.monotonic()
    holder.commit()
    holder.close()
    thread.join(timeout=10)
    assert started and started[0] >= committed
    with sessions() as session:
        assert session.execute(text("SELECT sequence FROM audit_head")).scalar_one() == 42  # after the holder's write
    engine.dispose()


def test_a_failed_begin_gives_the_lock_back(tmp_path: Path) -> None:
    url = _url(tmp_path)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    other_process = sqlite3.connect(str(tmp_path / "gateway.db"), isolation_level=None)
    other_process.execute("PRAGMA busy_timeout=0")
    other_process.execute("BEGIN IMMEDIATE")
    pooled = engine.raw_connection()  # no transaction: the pool's one connection gives up quickly from now on
    pooled.cursor().execute("PRAGMA busy_timeout=50")
    pooled.close()
    session = sessions()
    try:
        try:
            session.execute(text("SELECT 1"))
        except Exception as exc:  # database is locked
            assert "locked" in str(exc)
        else:
            raise AssertionError("BEGIN IMMEDIATE should have met the other process's lock")
    finally:
        session.close()
        other_process.execute("ROLLBACK")
        other_process.close()
    lock = writer_lock(engine)
    assert lock is not None and not lock.locked()  # given back: the next writer is not stuck behind it
    with sessions() as session:
        session.execute(text("SELECT 1"))
        assert lock.locked()
    engine.dispose()
