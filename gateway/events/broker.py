"""The event bus between processes: a Redis Stream (``REPONET_BROKER_URL=redis://…``, key ``REPONET_EVENT_STREAM``).

Why Redis Streams rather than NATS JetStream: the gateway's workers are threads with blocking database sessions,
and redis-py's blocking client (already pinned for the shared rate limits) reads a stream from such a thread with no
event loop of its own; one Redis serves both the rate limits and the events. The stream is durable in the sense the
replicas need: an entry stays (up to ``STREAM_MAXLEN``) after it is read, so a replica that lost its connection
reads on from its own cursor, and a new one starts at the end.

The database stays the record: ``repo_events`` is the outbox the indexer's leader relays into the stream in id
order (``gateway.indexer.publish``), and a WebSocket client's ``since`` cursor is a ``repo_events`` id, replayed from
the database by whichever replica it reconnects to; the stream only carries what happens after it subscribed.
Consumers drop any id at or below the last they passed on, so a relay that publishes again after a failover
duplicates nothing.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from gateway.events.bus import EventBus

logger = logging.getLogger(__name__)
STREAM_MAXLEN = 100_000  # entries kept (approximately): far more than any replica falls behind
READ_BLOCK_MS = 500
READ_COUNT = 500
RETRY_SECONDS = 0.5


@dataclass(frozen=True)
class StreamEvent:
    """One stream entry: a ``repo_events`` row as the WebSocket stream sends it, and the organizations it is for."""

    event_id: int
    organizations: frozenset[uuid.UUID]
    body: dict[str, Any]

    def fields(self) -> dict[str, str]:
        return {
            "id": str(self.event_id),
            "orgs": ",".join(sorted(str(o) for o in self.organizations)),
            "event": json.dumps(self.body, separators=(",", ":")),
        }

    @classmethod
    def parse(cls, fields: dict[bytes, bytes]) -> StreamEvent:
        orgs = fields.get(b"orgs", b"").decode()
        return cls(
            event_id=int(fields[b"id"]),
            organizations=frozenset(uuid.UUID(o) for o in orgs.split(",") if o),
            body=json.loads(fields[b"event"]),
        )


def connect(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3, health_check_interval=10)


def last_published(client: Any, stream: str) -> int | None:
    """The ``repo_events`` id of the stream's newest entry (None: an empty stream)."""
    entries = client.xrevrange(stream, count=1)
    if not entries:
        return None
    return int(entries[0][1][b"id"])


def publish(client: Any, stream: str, events: list[StreamEvent]) -> None:
    """Append ``events`` in order, in one round trip."""
    pipe = client.pipeline(transaction=False)
    for item in events:
        pipe.xadd(stream, item.fields(), maxlen=STREAM_MAXLEN, approximate=True)
    pipe.execute()


class BrokerTail:
    """In an API replica: reads the stream from where it stood at start and publishes each event on this process's
    bus (the WebSocket stream's source), each once, in order; after a lost connection it reads on from its cursor."""

    def __init__(self, url: str, stream: str, bus: EventBus) -> None:
        self.url = url
        self.stream = stream
        self.bus = bus
        self.client = connect(url)
        self.cursor = "$"
        self.last_event = 0
        self.ready = threading.Event()  # set once the start position is known (events after it are delivered)
        self._start()

    def _start(self) -> None:
        try:
            entries = self.client.xrevrange(self.stream, count=1)
        except Exception as exc:
            logger.warning("event broker %s unreachable at start (%s); retrying", self.url, exc)
            return
        if entries:
            self.cursor = entries[0][0].decode()
            self.last_event = int(entries[0][1][b"id"])
        else:
            self.cursor = "0-0"
        self.ready.set()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                if not self.ready.is_set():
                    self._start()
                    if not self.ready.is_set():
                        stop.wait(RETRY_SECONDS)
                        continue
                self.run_once()
            except Exception as exc:
                logger.warning("event broker read failed (%s); reading on from %s", exc, self.cursor)
                stop.wait(RETRY_SECONDS)

    def run_once(self, block_ms: int = READ_BLOCK_MS) -> int:
        answer = self.client.xread({self.stream: self.cursor}, count=READ_COUNT, block=block_ms)
        delivered = 0
        for _stream, entries in answer or []:
            for entry_id, fields in entries:
                self.cursor = entry_id.decode()
                item = StreamEvent.parse(fields)
                if item.event_id <= self.last_event:
                    continue  # published again by a new relay leader: already passed on
                self.last_event = item.event_id
                if item.organizations:
                    self.bus.publish(item.body, set(item.organizations))
                delivered += 1
        return delivered

    def reachable(self) -> bool:
        try:
            return bool(self.client.ping())
        except Exception:
            return False
