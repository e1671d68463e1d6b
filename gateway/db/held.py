"""A session whose commits a request can hold until its answer is known.

A request sent with an Idempotency-Key must leave either nothing behind or its work *and* its stored answer: a
crash between two transactions would lose the key, and the retry would do the work a second time. So while a
request holds the session, the route's ``commit()`` only marks a point (a SAVEPOINT after a flush); the one real
COMMIT is made by the HTTP layer together with the idempotency record and the audit entry
(``gateway.api.idempotency.settle``). What a route wrote after its last ``commit()`` is discarded, as a closed
session discards it; a ``commit()`` that follows no write really ends the (read) transaction, so a route that
commits to let another writer in still does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction


class HoldableSession(Session):
    """``Session`` with ``hold()``: until ``release_hold()``, ``commit()`` marks a savepoint instead."""

    _held = False
    _wrote = False  # the open transaction has written something
    _marked = False  # a route's commit() marked written work to keep
    _savepoint: SessionTransaction | None = None

    def hold(self) -> None:
        self._held = True

    @property
    def held(self) -> bool:
        return self._held

    @property
    def kept_work(self) -> bool:
        """A held commit marked written work: the final commit must keep it."""
        return self._marked

    def commit(self) -> None:
        if not self._held:
            super().commit()
            return
        if not self._wrote and not (self.new or self.dirty or self.deleted):
            super().commit()  # only reads so far: end the transaction (frees SQLite's write lock)
            return
        self.flush()
        self._marked = True
        if self._savepoint is not None and self._savepoint.is_active:
            self._savepoint.commit()
        self._savepoint = self.begin_nested()

    def rollback(self) -> None:
        """Held: undo what came after the last commit(), not what the route committed before."""
        if self._held and self._marked:
            self.discard_uncommitted()
            self._savepoint = self.begin_nested()
            return
        super().rollback()

    def discard_uncommitted(self) -> None:
        """Drop what was written after the route's last commit() (all of it when it never committed)."""
        if self._marked and self._savepoint is not None and self._savepoint.is_active:
            self._savepoint.rollback()
            self._savepoint = None
        elif not self._marked:
            super().rollback()

    def release_hold(self) -> None:
        """Back to plain commits (the caller then commits or closes)."""
        self._held = False
        self._savepoint = None


@event.listens_for(HoldableSession, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    if isinstance(session, HoldableSession):
        session._wrote = True


@event.listens_for(HoldableSession, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and isinstance(state.session, HoldableSession):
        state.session._wrote = True


@event.listens_for(HoldableSession, "after_transaction_end")
def _after_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None and isinstance(session, HoldableSession):
        session._wrote = False
        session._marked = False
        session._savepoint = None


def holds(session: Any) -> bool:
    return isinstance(session, HoldableSession) and session.held
