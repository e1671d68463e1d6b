"""What the risk service shows members beyond chain events — exposure snapshots (``risk.exposure``), stress totals
(``risk.stress``) and notices (``risk.cure_reminder``, ``risk.call_lapsed``, ``risk.proposal``) — as rows every
process can read: each HTTP worker's tail (:class:`RiskTail`) puts new rows on its own bus, so a member's stream
shows them whichever worker it is connected to, and the webhooks a member subscribed get one delivery each,
queued in the same transaction. Rows are kept for ``RETENTION`` only: the stream is live, not a log (notices stay
in ``risk_notices``, exposure history in ``risk_exposure_points``)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from gateway.db.after_commit import announce_after_commit, set_info
from gateway.db.models import Base, UTCDateTime, utcnow
from gateway.events.bus import EventBus
from gateway.events.tailing import GapCursor, Wake, poll
from gateway.events.webhooks import enqueue_in

RETENTION = timedelta(hours=1)
BATCH = 500
POLL_SECONDS = 0.2
RUNG_POLL_SECONDS = 1.0  # with a doorbell (gateway.events.tailing.Wake)
ANNOUNCE = "reponet.risk.messages.announce"  # ``Session.info`` key: called after a commit that recorded messages


def announce_recorded(sessions: sessionmaker[Session], announce: Callable[[], None]) -> None:
    """Sessions made by ``sessions`` that commit risk messages call ``announce`` after the commit (``gateway.app``
    rings the tails of every HTTP worker on this machine)."""
    set_info(sessions, ANNOUNCE, announce)


class RiskMessage(Base):
    __tablename__ = "risk_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # the stream's and the webhook's event type
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def event_of(row: RiskMessage) -> dict[str, Any]:
    """The stream's shape: ``id`` null (not a chain event: ``since`` does not replay it)."""
    return {
        "type": row.kind,
        "id": None,
        "organization_id": str(row.organization_id),
        "at": int(row.created_at.timestamp()),
        **row.body,
    }


def record(session: Session, *, organization_id: uuid.UUID, kind: str, body: dict[str, Any]) -> RiskMessage:
    """A message for the member's stream and webhooks, in the caller's transaction (it commits)."""
    now = datetime.now(UTC)
    session.execute(delete(RiskMessage).where(RiskMessage.created_at < now - RETENTION))
    row = RiskMessage(organization_id=organization_id, kind=kind, body=body, created_at=now)
    session.add(row)
    session.flush()
    enqueue_in(session, event_of(row), {organization_id}, message_id=f"risk_{row.id}")
    announce_after_commit(session, ANNOUNCE)
    return row


def publish(bus: EventBus | None, row: RiskMessage) -> None:
    if bus is not None:
        bus.publish(event_of(row), {row.organization_id})


class RiskTail:
    """In an HTTP worker of several: risk messages any worker committed, put on this worker's bus in order."""

    def __init__(self, sessions: sessionmaker[Session], bus: EventBus) -> None:
        self.sessions = sessions
        self.bus = bus
        self.wake = Wake(POLL_SECONDS, RUNG_POLL_SECONDS)
        with sessions() as session:  # only what comes from now on; ids committed out of order too (GapCursor)
            self.cursor = GapCursor(int(session.scalar(select(func.max(RiskMessage.id))) or 0))

    def run_once(self) -> int:
        with self.sessions() as session:
            rows = session.scalars(
                select(RiskMessage).where(self.cursor.after(RiskMessage.id)).order_by(RiskMessage.id).limit(BATCH)
            ).all()
            for row in rows:
                publish(self.bus, row)
                self.cursor.passed(row.id)
        return len(rows)

    def run(self, stop: threading.Event) -> None:
        poll(self.run_once, stop, batch=BATCH, wake=self.wake, name="risk tail")
