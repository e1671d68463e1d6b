"""The event tail: in an HTTP worker of a multi-worker gateway, where the indexer runs in another process, the
events it committed are read back from ``repo_events`` and published on this process's bus (the WebSocket
stream's source), in order, each to the organizations of its repo."""

from __future__ import annotations

import threading
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.events.bus import EventBus
from gateway.events.tailing import Wake, poll
from gateway.indexer import wire
from gateway.indexer.service import Indexer
from gateway.settlement_records.models import RepoEvent, RepoRecord

BATCH = 500
POLL_SECONDS = 0.1
RUNG_POLL_SECONDS = 1.0  # with a doorbell (gateway.events.tailing.Wake)


class EventTail:
    def __init__(self, sessions: sessionmaker[Session], bus: EventBus) -> None:
        self.sessions = sessions
        self.bus = bus
        self.wake = Wake(POLL_SECONDS, RUNG_POLL_SECONDS)
        with sessions() as session:
            self.last = int(session.scalar(select(func.max(RepoEvent.id))) or 0)  # only what comes from now on

    def run(self, stop: threading.Event) -> None:
        poll(self.run_once, stop, batch=BATCH, wake=self.wake, name="event tail")

    def run_once(self) -> int:
        with self.sessions() as session:
            rows = session.execute(
                select(RepoEvent, RepoRecord.seller_org_id, RepoRecord.holder_org_id)
                .outerjoin(RepoRecord, RepoRecord.repo_id == RepoEvent.repo_id)
                .where(RepoEvent.id > self.last)
                .order_by(RepoEvent.id)
                .limit(BATCH)
            ).all()
            units = wire.EventUnits(session)
            for event, seller, holder in rows:
                orgs: set[uuid.UUID] = {o for o in (seller, holder) if o is not None}
                if orgs:
                    self.bus.publish(Indexer.public(event, units), orgs)
                self.last = event.id
        return len(rows)
