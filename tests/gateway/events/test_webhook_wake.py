"""The webhook sender is rung, not only polled: a commit that queues deliveries announces it after the commit (in
this process, and through the doorbell of the process sending on this machine), and the sender wakes for the
retries it scheduled. With these, its idle tick is a second instead of 0.2 s."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
from sqlalchemy import select

from gateway.events import webhooks
from gateway.events.models import WebhookDelivery, WebhookEndpoint
from gateway.settlement.hub import Hub
from gateway.workers import start_webhooks_doorbell, wake_all, webhooks_announcer
from tests.gateway.conftest import World
from tests.gateway.events.test_webhooks import setup

LONG = 30.0  # the sender's tick in these tests: far longer than they wait, so only a ring or a retry moves it


def event(n: int) -> dict[str, object]:
    return {"id": n, "type": "repo.RepoOpened", "repo_id": 1, "data": {}, "at": "2026-01-01T00:00:00Z"}


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def endpoint(world: World) -> None:
    setup(world, httpx.MockTransport(lambda _: httpx.Response(200)))  # A's endpoint (its sender is not used)


def status(world: World) -> str:
    with world.ctx.read_sessions() as session:  # a new read each time: no write lock held while polling
        return session.scalars(select(WebhookDelivery.status)).one()


def queued(world: World) -> int:
    with world.ctx.read_sessions() as session:
        return len(session.scalars(select(WebhookDelivery.id)).all())


def test_a_commit_that_queues_deliveries_announces_it_after_the_commit(world: World) -> None:
    endpoint(world)
    announced: list[int] = []  # how many deliveries another connection sees at each announcement
    webhooks.announce_queued(world.ctx.sessions, lambda: announced.append(queued(world)))
    webhooks.enqueue_events(world.ctx.sessions, [(event(1), {world.orgs["b"]})])
    assert announced == []  # nothing queued: B has no endpoint
    # two events, each queued under a savepoint: one announcement, once both are committed
    webhooks.enqueue_events(world.ctx.sessions, [(event(5), {world.orgs["a"]}), (event(6), {world.orgs["a"]})])
    assert announced == [2]
    announced.clear()
    with world.ctx.sessions() as session:
        assert webhooks.enqueue_in(session, event(2), {world.orgs["a"]}, message_id="msg_2") == 1
        assert announced == []  # not before the commit: the sender would find nothing
        session.rollback()
    assert announced == []  # rolled back: nothing to send
    webhooks.enqueue_events(world.ctx.sessions, [(event(3), {world.orgs["a"]})])
    assert announced == [3]
    with world.ctx.sessions() as session:
        row = session.scalars(select(WebhookEndpoint)).one()
        webhooks.set_active(session, row, active=False, actor="test")
        assert announced == [3]
        webhooks.set_active(session, row, active=True, actor="test")  # what waited is due again
    assert announced == [3, 3]


def test_the_sender_sends_when_rung_and_at_the_retry_it_scheduled(world: World) -> None:
    endpoint(world)
    answers = iter([500, 200])
    received: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(next(answers, 200))

    sender = webhooks.WebhookSender(
        world.ctx.sessions, world.ctx.keys, client=httpx.Client(transport=httpx.MockTransport(handle)), base_backoff=0.3
    )
    sender.wake.rung_by_doorbell()
    sender.wake.seconds = LONG
    stop = threading.Event()
    thread = threading.Thread(target=sender.run, args=(stop,), daemon=True)
    thread.start()
    try:
        time.sleep(0.2)  # its first tick found nothing: it waits for a ring
        webhooks.announce_queued(world.ctx.sessions, sender.wake.ring)
        webhooks.enqueue_events(world.ctx.sessions, [(event(1), {world.orgs["a"]})])
        wait_for(lambda: len(received) >= 1)  # rung: sent now, answered 500
        wait_for(lambda: len(received) >= 2)  # the retry 0.3 s later, with no ring
        wait_for(lambda: status(world) == "delivered")
    finally:
        stop.set()
        wake_all(Hub(chain_id=1, engine=None, bus=None, extra={"webhooks": sender}))
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_a_sender_beside_http_workers_is_rung_through_its_doorbell(world: World) -> None:
    sender = webhooks.WebhookSender(world.ctx.sessions, world.ctx.keys)
    hub = Hub(chain_id=1, engine=None, bus=None, extra={"webhooks": sender})
    stop = threading.Event()
    threads = start_webhooks_doorbell(hub, world.ctx, stop)
    try:
        assert len(threads) == 1 and sender.wake.doorbell  # rung from now on: it polls seldom
        elsewhere = webhooks.WebhookSender(world.ctx.sessions, world.ctx.keys)  # an HTTP worker's, not running
        announce = webhooks_announcer(world.ctx, elsewhere)
        announce()  # the doorbell's socket was bound when it started
        assert sender.wake.event.wait(5)
        assert elsewhere.wake.event.is_set()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
