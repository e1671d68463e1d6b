"""Stream messages from a process without stream clients, relayed through the database: the indexer's
``instruction.expired`` runs in ``reponet gateway work`` under ``reponet up``, while members' WebSocket streams are
served by the HTTP workers. The message is a row written in the announcing transaction; each process serving
streams tails the table (:class:`RelayTail`) and puts new rows on its own bus, in order. Rows are kept for
``RETENTION``: a stream is live, its ``since`` replays chain events only."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.db.after_commit import announce_after_commit, set_info
from gateway.events.bus import EventBus
from gateway.events.models import RelayedMessage
from gateway.events.tailing import GapCursor, Wake, poll

logger = logging.getLogger(__name__)
RETENTION = timedelta(hours=1)
BATCH = 500
POLL_SECONDS = 0.2
RUNG_POLL_SECONDS = 1.0  # with a doorbell (gateway.events.tailing.Wake)
ANNOUNCE = "reponet.relayed.announce"  # ``Session.info`` key: called after a commit that relayed messages


def announce_recorded(sessions: sessionmaker[Session], announce: Callable[[], None]) -> None:
    """Sessions made by ``sessions`` that commit relayed messages call ``announce`` after the commit (``gateway.app``
    rings the tails of every HTTP worker on this machine)."""
    set_info(sessions, ANNOUNCE, announce)


def record(session: Session, event: dict[str, Any], organizations: set[uuid.UUID]) -> None:
    """``event`` for the streams of ``organizations``, in the caller's transaction."""
    now = datetime.now(UTC)
    session.execute(delete(RelayedMessage).where(RelayedMessage.created_at < now - RETENTION))
    session.add(RelayedMessage(event=event, organizations=sorted(str(o) for o in organizations), created_at=now))
    announce_after_commit(session, ANNOUNCE)


class RelayTail:
    """In a process serving streams: relayed messages any process committed, on this process's bus in order (only
    those written after it started)."""

    def __init__(self, sessions: sessionmaker[Session], bus: EventBus) -> None:
        self.sessions = sessions
        self.bus = bus
        self.wake = Wake(POLL_SECONDS, RUNG_POLL_SECONDS)
        with sessions() as session:
            self.cursor = GapCursor(int(session.scalar(select(func.max(RelayedMessage.id))) or 0))

    def run_once(self) -> int:
        with self.sessions() as session:
            rows = session.scalars(
                select(RelayedMessage)
                .where(self.cursor.after(RelayedMessage.id))
                .order_by(RelayedMessage.id)
                .limit(BATCH)
            ).all()
            for row in rows:
                self.cursor.passed(row.id)  # first: a row that cannot be read must not hold back the ones after it
                try:
                    self.bus.publish(dict(row.event), {uuid.UUID(str(o)) for o in row.organizations})
                except (TypeError, ValueError) as exc:
                    logger.warning("relayed message %s not published: %s", row.id, exc)
        return len(rows)

    def run(self, stop: threading.Event) -> None:
        poll(self.run_once, stop, batch=BATCH, wake=self.wake, name="relayed messages' tail")
