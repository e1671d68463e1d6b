"""The lease's compare-and-set on both databases: renewals keep the token, a lapsed lease goes to the next holder
with the next token, a stale token fails the fence; and on PostgreSQL two replicas racing for one lapsed lease in
concurrent transactions: one wins, the other is refused (its conditional update matches no row)."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text, update

from gateway.db.models import utcnow
from gateway.db.session import make_engine, make_session_factory
from gateway.leases import service
from gateway.leases.exceptions import LeaseHeld, StaleLease
from gateway.leases.models import LeaseKind, ServiceLease
from tests.scale.stack import wait_until

KIND = LeaseKind.SURVEILLANCE


def test_compare_and_set_on_both_databases(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    sessions = make_session_factory(engine)
    org = uuid.uuid4()
    try:
        with sessions() as s:
            assert service.acquire(s, KIND, org, "one", 3).token == 1
            s.commit()
            assert service.acquire(s, KIND, org, "one", 3).token == 1
            s.commit()
            with pytest.raises(LeaseHeld):
                service.acquire(s, KIND, org, "two", 3)
            s.rollback()
            s.execute(update(ServiceLease).values(expires_at=utcnow() - timedelta(seconds=1)))
            s.commit()
            assert service.acquire(s, KIND, org, "two", 3).token == 2
            s.commit()
            service.check(s, KIND, org, 2)
            with pytest.raises(StaleLease):
                service.check(s, KIND, org, 1)
            s.rollback()
    finally:
        engine.dispose()


def test_two_replicas_racing_for_a_lapsed_lease_one_wins(any_db_url: str) -> None:
    if not any_db_url.startswith("postgresql"):
        pytest.skip("concurrent write transactions: SQLite serializes them on its one file lock")
    engine = make_engine(any_db_url)
    sessions = make_session_factory(engine)
    org = uuid.uuid4()
    try:
        with sessions() as s:
            service.acquire(s, KIND, org, "old", 3)
            s.execute(update(ServiceLease).values(expires_at=utcnow() - timedelta(seconds=1)))
            s.commit()
        outcome: list[BaseException | int] = []

        other, watcher = make_engine(any_db_url), make_engine(any_db_url)  # pools of their own: none waits on a's

        def replica_b() -> None:
            with make_session_factory(other)() as b:
                try:
                    outcome.append(service.acquire(b, KIND, org, "b", 3).token)
                    b.commit()
                except Exception as exc:  # the assertion below says which
                    outcome.append(exc)

        with sessions() as a:
            assert service.acquire(a, KIND, org, "a", 3).token == 2  # updated, not committed: the row is locked
            racer = threading.Thread(target=replica_b)
            racer.start()  # b read the lapsed row (token 1) and its update now waits on a's row lock
            # autocommit: each poll its own transaction, so pg_stat_activity is read afresh (one snapshot per
            # transaction otherwise: a first look before b waits would be all the test ever saw)
            with watcher.connect().execution_options(isolation_level="AUTOCOMMIT") as watch:
                waiting = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                wait_until("b's update waits on the row lock", lambda: outcome or watch.execute(waiting).scalar(), 30)
            a.commit()
        racer.join(timeout=30)
        other.dispose()
        watcher.dispose()
        assert len(outcome) == 1 and isinstance(outcome[0], LeaseHeld), outcome  # its token-1 update matched no row
    finally:
        engine.dispose()
