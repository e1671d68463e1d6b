"""The event bus between processes (Redis Streams): the indexer leader's relay publishes committed events in order,
a new leader resumes after the stream's newest entry, replicas pass each event on once (a republished one is
dropped), read on after a lost connection, and a WebSocket client that moves to another replica with its cursor
misses nothing and gets nothing twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.db.models import Role
from gateway.db.session import make_engine, make_session_factory
from gateway.events import broker
from gateway.events.broker import BrokerTail, StreamEvent
from gateway.events.bus import EventBus
from gateway.indexer.publish import EventPublisher
from gateway.settlement_records.models import RepoEvent
from tests.gateway.conftest import World
from tests.gateway.events.test_event_tail import HOLDER, SELLER, event, repo
from tests.gateway.market import market_world

pytestmark = pytest.mark.redis
REDIS_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture
def stream() -> Iterator[str]:
    """A stream of this test's own on the machine's Redis, deleted after."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    name = f"test:events:{uuid.uuid4().hex}"
    yield name
    client.delete(name)
    client.close()


def drain(queue: asyncio.Queue[dict[str, Any]]) -> list[str]:
    return [queue.get_nowait()["type"] for _ in range(queue.qsize())]


def test_relay_resumes_after_failover_and_replicas_pass_each_event_once(any_db_url: str, stream: str) -> None:
    writes = make_session_factory(make_engine(any_db_url))
    reads = make_session_factory(make_engine(any_db_url, read_only=True))
    with writes() as session:
        session.add_all([repo(1), event(1, 0, "RepoOpened")])
        session.commit()
    client = broker.connect(REDIS_URL)
    leader = EventPublisher(reads, client, stream)
    assert leader.run_once() == 0  # a new stream starts at the newest event (older ones: replayed by cursor)

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        bus_a, bus_b = EventBus(), EventBus()
        _, seller_a = bus_a.subscribe(SELLER)
        _, holder_b = bus_b.subscribe(HOLDER)
        replica_a, replica_b = BrokerTail(REDIS_URL, stream, bus_a), BrokerTail(REDIS_URL, stream, bus_b)
        with writes() as session:
            session.add_all([event(1, 1, "MarginCalled"), event(1, 2, "MarginPosted")])
            session.commit()
        assert leader.run_once() == 2
        assert leader.run_once() == 0  # never twice
        with writes() as session:  # the old leader commits one more event and dies before relaying it
            session.add(event(1, 3, "RepoRepurchased"))
            session.commit()
            newest = session.query(RepoEvent).order_by(RepoEvent.id.desc()).first()
            assert newest is not None
        queued: list[tuple[dict[str, Any], set[uuid.UUID]]] = []  # webhook deliveries the successor queues
        successor = EventPublisher(reads, broker.connect(REDIS_URL), stream, on_events=queued.extend)
        assert successor.run_once() == 1  # resumed right after the stream's newest entry
        assert [(body["type"], orgs) for body, orgs in queued] == [("repo.RepoRepurchased", {SELLER, HOLDER})]
        # ... and one relayed twice (an old leader that was not dead after all) reaches nobody twice
        broker.publish(client, stream, [StreamEvent(newest.id, frozenset({SELLER, HOLDER}), {"type": "dup"})])
        replica_b.client.connection_pool.disconnect()  # a replica loses its connection: it reads on from its cursor
        assert replica_a.run_once(block_ms=100) == 3
        assert replica_b.run_once(block_ms=100) == 3
        assert replica_a.run_once(block_ms=10) == 0
        await asyncio.sleep(0)
        a_seen, b_seen = drain(seller_a), drain(holder_b)
        late = BrokerTail(REDIS_URL, stream, EventBus())  # a replica started now begins at the end
        return a_seen, b_seen, [str(late.run_once(block_ms=10))]

    a_seen, b_seen, late = asyncio.run(scenario())
    expected = ["repo.MarginCalled", "repo.MarginPosted", "repo.RepoRepurchased"]
    assert a_seen == expected and b_seen == expected
    assert late == ["0"]


@pytest.fixture
def world(tmp_path: Path, any_db_url: str) -> Iterator[World]:
    yield from market_world(tmp_path, any_db_url)


def _replica(world: World, stream: str) -> TestClient:
    """Another API replica on the same database: no background work, events from the broker."""
    settings = world.ctx.settings.model_copy(
        update={"background_work": False, "broker_url": REDIS_URL, "event_stream": stream, "api_nice": 0}
    )
    return TestClient(create_app(settings), base_url="https://gateway.test")


def test_websocket_client_moved_to_another_replica_misses_nothing(world: World, stream: str) -> None:
    member = world.user("a", Role.VIEWER, "av")
    org = world.orgs["a"]
    reads = world.ctx.read_sessions
    relay = EventPublisher(reads, broker.connect(REDIS_URL), stream)
    relay.run_once()
    record = repo(1)
    record.seller_org_id = record.holder_org_id = org
    with world.ctx.sessions() as session:
        session.add(record)
        session.commit()
    log = iter(range(100))

    def commit_and_relay(*names: str) -> None:
        with world.ctx.sessions() as session:
            session.add_all([event(1, next(log), name) for name in names])
            session.commit()
        relay.run_once()

    received: list[tuple[int, str]] = []
    with _replica(world, stream) as replica_a, _replica(world, stream) as replica_b:
        with replica_a.websocket_connect("/v1/stream", headers=member.headers) as ws:
            assert ws.receive_json()["type"] == "subscribed"
            commit_and_relay("RepoOpened", "MarginCalled")
            received += [(m["id"], m["type"]) for m in (ws.receive_json(), ws.receive_json())]
        commit_and_relay("MarginPosted")  # while the client is between replicas
        cursor = received[-1][0]
        with replica_b.websocket_connect(f"/v1/stream?since={cursor}", headers=member.headers) as ws:
            assert ws.receive_json()["type"] == "subscribed"
            received.append(((m := ws.receive_json())["id"], m["type"]))  # replayed from the database
            commit_and_relay("RepoRepurchased")
            received.append(((m := ws.receive_json())["id"], m["type"]))  # live, through the broker
    ids = [i for i, _ in received]
    assert [t for _, t in received] == [
        "repo.RepoOpened",
        "repo.MarginCalled",
        "repo.MarginPosted",
        "repo.RepoRepurchased",
    ]
    assert ids == sorted(set(ids))  # in order, none twice
