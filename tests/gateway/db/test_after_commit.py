"""``call_after_commit``: after the root transaction commits, once per key; never for a released savepoint (its
writes are not visible to other connections yet) and never after a rollback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from gateway.db.after_commit import call_after_commit


def sessions(tmp_path: Path) -> sessionmaker[Session]:
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as connection:
        connection.execute(text("create table t (n integer)"))
    return sessionmaker(engine)


def test_after_the_root_commit_once_per_key_not_at_a_savepoint(tmp_path: Path) -> None:
    make = sessions(tmp_path)
    seen: list[tuple[str, int]] = []

    def count(key: str) -> Callable[[Session], None]:
        def call(_: Session) -> None:
            with make() as other:  # what another connection sees when it is called
                seen.append((key, int(other.scalar(text("select count(*) from t")) or 0)))

        return call

    with make() as session:
        for n in (1, 2):
            with session.begin_nested():  # as each queued webhook delivery is
                session.execute(text("insert into t values (:n)"), {"n": n})
                call_after_commit(session, "a", count("a"))
        call_after_commit(session, "b", count("b"))
        assert seen == []  # two savepoints released: nothing committed yet
        session.commit()
        assert seen == [("a", 2), ("b", 2)]  # once each, with both rows visible
        session.execute(text("insert into t values (3)"))
        call_after_commit(session, "a", count("a"))
        session.commit()  # a later transaction of the same session calls again
        assert seen == [("a", 2), ("b", 2), ("a", 3)]


def test_nothing_after_a_rollback_nor_at_the_next_commit(tmp_path: Path) -> None:
    make = sessions(tmp_path)
    calls: list[str] = []
    with make() as session:
        session.execute(text("insert into t values (1)"))
        call_after_commit(session, "a", lambda _: calls.append("a"))
        session.rollback()
        session.execute(text("insert into t values (2)"))
        session.commit()
    assert calls == []
