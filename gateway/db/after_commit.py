"""Calling something once a session's writes are committed for good, to ring whoever reads them (the webhook sender,
the matching service's long poll). SQLAlchemy's ``after_commit`` also fires when a savepoint is released
(``begin_nested``; a held session's ``commit``, ``gateway.db.held``), while nothing is visible to other connections
yet: a ring then wakes a reader that finds nothing and waits for its next tick, and a ``once`` listener spent on it
never rings for the real commit."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

logger = logging.getLogger(__name__)
PENDING = "reponet.after_commit"  # ``Session.info`` key: key -> what to call after the root transaction commits


def call_after_commit(session: Session, key: str, call: Callable[[Session], None]) -> None:
    """``call(session)`` once after the transaction in progress commits at its root, nothing if it rolls back;
    several asks with one ``key`` in one transaction call it once."""
    pending: dict[str, Callable[[Session], None]] = session.info.setdefault(PENDING, {})
    pending[key] = call
    if not event.contains(session, "after_commit", _committed):
        event.listen(session, "after_commit", _committed)
        event.listen(session, "after_transaction_end", _ended)


def _committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the root transaction is still open
    for call in list(session.info.pop(PENDING, {}).values()):
        try:
            call(session)
        except Exception:  # the commit stands: a ring that failed leaves the reader to its poll
            logger.exception("after-commit call failed")


def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(PENDING, None)  # rolled back (after a commit, ``_committed`` took them already)


def announce_after_commit(session: Session, key: str) -> None:
    """Once the transaction in progress commits at its root, call what ``session.info[key]`` holds (set for every
    session of a factory with ``set_info``; nothing where none is set): who reads what it wrote is rung."""
    call_after_commit(session, key, _announce_of(key))


def _announce_of(key: str) -> Callable[[Session], None]:
    def announce(session: Session) -> None:
        call = session.info.get(key)
        if callable(call):
            call()

    return announce


def set_info(sessions: sessionmaker[Session], key: str, value: object) -> None:
    """Every session ``sessions`` makes from now on has ``info[key] = value``, beside what others set there (what a
    commit calls: ``gateway.events.webhooks.announce_queued``, ``gateway.matching.instructions.announce_queued``)."""
    sessions.configure(info={**sessions.kw.get("info", {}), key: value})
