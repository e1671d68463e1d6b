"""The relay from the inbox to the event broker: run by the indexer's leader, it reads the events the indexer
committed to ``repo_events`` and appends them to the Redis Stream (``gateway.events.broker``) in id order, each with
the organizations of its repo.

It keeps no cursor of its own: the stream's newest entry says how far it got, so a new leader after a failover
resumes right after it (an event committed by the old leader but not yet published is published by the new one;
one published twice is dropped by the consumers, who go by id). An empty stream (new, or Redis lost its data)
starts at the newest event: clients reconnecting with ``since`` get older events from the database.

Webhooks: before a batch goes to the stream, ``on_events`` queues its deliveries (idempotent: one per endpoint and
event), so an event the old indexer leader committed but died before queueing is queued by the new leader's relay.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.events import broker
from gateway.events.broker import StreamEvent
from gateway.indexer import wire
from gateway.indexer.service import Indexer
from gateway.settlement_records.models import RepoEvent, RepoRecord

logger = logging.getLogger(__name__)
BATCH = 500
POLL_SECONDS = 0.05


class EventPublisher:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        client: Any,
        stream: str,
        *,
        on_events: Callable[[list[tuple[dict[str, Any], set[uuid.UUID]]]], Any] | None = None,
    ) -> None:
        self.sessions = sessions
        self.on_events = on_events
        self.client = client
        self.stream = stream
        self.last: int | None = None  # found at the first tick (the broker may be down at start)
        self.wake = threading.Event()

    def _resume_point(self) -> int:
        published = broker.last_published(self.client, self.stream)
        if published is not None:
            return published
        with self.sessions() as session:
            return int(session.scalar(select(func.max(RepoEvent.id))) or 0)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                published = self.run_once()
            except Exception as exc:
                logger.warning("event relay to the broker failed (%s); retrying", exc)
                published = 0
            if published < BATCH:
                self.wake.wait(POLL_SECONDS)
                self.wake.clear()

    def run_once(self) -> int:
        if self.last is None:
            self.last = self._resume_point()
            logger.info("event relay: publishing after event %d to %s", self.last, self.stream)
        with self.sessions() as session:
            rows = session.execute(
                select(RepoEvent, RepoRecord.seller_org_id, RepoRecord.holder_org_id)
                .outerjoin(RepoRecord, RepoRecord.repo_id == RepoEvent.repo_id)
                .where(RepoEvent.id > self.last)
                .order_by(RepoEvent.id)
                .limit(BATCH)
            ).all()
            units = wire.EventUnits(session)
            events = []
            for event, seller, holder in rows:
                orgs: frozenset[uuid.UUID] = frozenset(o for o in (seller, holder) if o is not None)
                events.append(StreamEvent(event_id=event.id, organizations=orgs, body=Indexer.public(event, units)))
        if events and self.on_events is not None:
            self.on_events([(e.body, set(e.organizations)) for e in events if e.organizations])
        if events:
            broker.publish(self.client, self.stream, events)
            self.last = events[-1].event_id
        return len(events)
