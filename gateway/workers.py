"""The hub and its background workers (relayer: the outbox; indexer: the inbox; balance follower; webhooks), built
from the gateway's one ``Settings`` and started by the app's lifespan (gateway.app) or ``reponet gateway work``
(gateway.background); each resumes from the database after a restart. It composes the outbox (settlement) with the
inbox (indexer) and webhooks (events), so it sits above those domains, just below the app."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from gateway.config import KeyPurpose
from gateway.context import GatewayContext
from gateway.events.bus import EventBus
from gateway.events.tailing import Wake
from gateway.settlement.hub import Hub
from gateway.settlement.market import Market

if TYPE_CHECKING:
    from gateway.events.webhooks import WebhookSender

logger = logging.getLogger(__name__)


def hub_from_settings(ctx: GatewayContext) -> Hub:
    """The hub of a configured gateway: a market (relayer, indexer) when the engine and the oracle are set."""
    settings = ctx.settings
    url = settings.chain_rpc_url
    engine = settings.repo_engine_address
    hub = Hub(chain_id=settings.chain_id, engine=engine, bus=EventBus())
    hub.extra["settle_window_seconds"] = settings.settle_window_seconds
    key = settings.key_for(KeyPurpose.RELAYER)
    if url and url.startswith(("http://", "https://")) and engine and settings.price_oracle_address and key:
        attach(hub, Market.from_settings(settings), ctx)
    return hub


def attach(hub: Hub, market: Market, ctx: GatewayContext, *, start_block: int = 0) -> Hub:
    """Give the hub a chain: relayer and indexer over ``market``."""
    from gateway.indexer.service import Indexer
    from gateway.matching import settle as gc_settle
    from gateway.settlement import registry
    from gateway.settlement.relay_loop import Relayer
    from gateway.settlement.service import FAILURE_HOOKS, HOOKS

    hub.market = market
    hub.engine = market.engine_address
    hub.chain_id = market.chain_id
    hub.bus = hub.bus or EventBus()
    hub.relayer = Relayer(
        market,
        ctx.sessions,
        ctx.keys,
        hooks={**HOOKS, **registry.HOOKS, **gc_settle.HOOKS},
        failure_hooks={**FAILURE_HOOKS, **registry.FAILURE_HOOKS, **gc_settle.FAILURE_HOOKS},
        read_sessions=ctx.read_sessions,
    )
    from gateway.events.webhooks import WebhookSender, announce_queued, enqueue_events
    from gateway.indexer.balances import BalanceFollower
    from gateway.indexer.prices import PriceFollower

    indexer = hub.extra["indexer"] = Indexer(
        market,
        ctx.sessions,
        bus=hub.bus,
        start_block=start_block,
        on_events=lambda published: enqueue_events(ctx.sessions, published),
        read_sessions=ctx.read_sessions,
    )
    hub.relayer.on_mined = indexer.wake.set
    hub.extra["balances"] = BalanceFollower(market, ctx.sessions)
    hub.extra["prices"] = PriceFollower(market, ctx.sessions, start_block=start_block)
    sender = hub.extra["webhooks"] = WebhookSender(
        ctx.sessions, ctx.keys, allow_loopback=ctx.settings.webhook_allow_loopback
    )
    announce_queued(ctx.sessions, webhooks_announcer(ctx, sender))
    return hub


def start_tail(hub: Hub, ctx: GatewayContext, stop: threading.Event) -> list[threading.Thread]:
    """The WebSocket stream's events, read from the event broker when there is one (API replicas), else back from
    the database the indexer process writes."""
    from gateway.events.broker import BrokerTail
    from gateway.indexer.tail import EventTail
    from gateway.settlement_records.bell import INDEXED

    if hub.bus is None:
        return []
    url = ctx.settings.broker_url
    tail: BrokerTail | EventTail = (
        BrokerTail(url, ctx.settings.event_stream, hub.bus) if url else EventTail(ctx.read_sessions, hub.bus)
    )
    if isinstance(tail, EventTail):
        tail.wake.topic = INDEXED  # rung when a block is indexed
        tail_wakes(hub).append(tail.wake)
    thread = threading.Thread(target=tail.run, args=(stop,), name="reponet-event-tail", daemon=True)
    thread.start()
    return [thread, *start_message_tails(hub, ctx, stop)]


def tail_wakes(hub: Hub) -> list[Wake]:
    """The wakes of this process's tails (``gateway.events.tailing``): rung by its doorbell, and at shutdown."""
    found = hub.extra.setdefault("tail_wakes", [])
    return cast(list[Wake], found)


def start_message_tails(hub: Hub, ctx: GatewayContext, stop: threading.Event) -> list[threading.Thread]:
    """Risk messages (exposure, stress, notices) and messages relayed by the background process (an instruction's
    expiry) on this process's bus, whichever process wrote them."""
    from gateway.events.relayed import RelayTail
    from gateway.risk.messages import RiskTail
    from gateway.settlement_records.bell import RELAYED, RISK

    if hub.bus is None:
        return []
    threads = []
    for name, tail, topic in (
        ("risk", RiskTail(ctx.read_sessions, hub.bus), RISK),
        ("relay", RelayTail(ctx.read_sessions, hub.bus), RELAYED),
    ):
        tail.wake.topic = topic  # rung when its rows are committed on this machine (``gateway.app.announce_commits``)
        tail_wakes(hub).append(tail.wake)
        thread = threading.Thread(target=tail.run, args=(stop,), name=f"reponet-{name}-tail", daemon=True)
        thread.start()
        threads.append(thread)
    return threads


def start_workers(hub: Hub, stop: threading.Event) -> list[threading.Thread]:
    threads: list[threading.Thread] = []
    workers: list[tuple[str, Any]] = []
    if hub.relayer is not None:
        workers.append(("relayer", hub.relayer))
    indexer = hub.extra.get("indexer")
    if indexer is not None:
        workers.append(("indexer", indexer))
    for name in ("balances", "prices"):
        follower = hub.extra.get(name)
        if follower is not None:
            workers.append((name, follower))
    webhooks = hub.extra.get("webhooks")
    if webhooks is not None:
        workers.append(("webhooks", webhooks))
    for name, worker in workers:
        thread = threading.Thread(target=worker.run, args=(stop,), name=f"reponet-{name}", daemon=True)
        thread.start()
        threads.append(thread)
    return threads + follow_heads(hub, stop)


def follow_heads(hub: Hub, stop: threading.Event) -> list[threading.Thread]:
    """Where the relayer and the indexer run: the node's pushed heads (``gateway.chain.heads``) stand in for their
    ``eth_blockNumber`` on every tick, and a new block wakes them and the followers at once (which, while subscribed,
    then tick only once a second in between)."""
    from gateway.chain.heads import HeadWatcher, websocket_url

    market, relayer = hub.market, hub.relayer
    if market is None or relayer is None:  # no settlement in this process: nothing to wake
        return []
    url = websocket_url(market.settings.chain_rpc_url or "")
    if url is None:
        return []
    watcher = HeadWatcher(url, token=market.settings.chain_rpc_token)
    wakes = block_wakes(hub)

    def wake_on_block(_head: object) -> None:
        for wake in wakes:
            wake.set()

    watcher.listeners.append(wake_on_block)
    market.heads = watcher
    return [watcher.start(stop)]


def block_wakes(hub: Hub) -> list[threading.Event]:
    """The wakes of this process's loops that wait for new blocks: the relayer, the indexer and the followers."""
    loops = [hub.relayer, *(hub.extra.get(name) for name in ("indexer", "balances", "prices"))]
    return [wake for loop in loops if isinstance(wake := getattr(loop, "wake", None), threading.Event)]


def wake_all(hub: Hub) -> None:
    """At shutdown, after ``stop`` is set: loops waiting on a wake (a block, a ring) return now, not at their tick."""
    for event in block_wakes(hub):
        event.set()
    sender_wake = getattr(hub.extra.get("webhooks"), "wake", None)
    for wake in [*tail_wakes(hub), *([sender_wake] if isinstance(sender_wake, Wake) else [])]:
        wake.ring()


def webhooks_announcer(ctx: GatewayContext, sender: WebhookSender) -> Callable[[], None]:
    """What a commit that queued deliveries calls: the sender of this process (where it runs here) and the one
    listening on this machine's webhooks doorbell (``reponet gateway work``, a replica's worker process) send now."""
    from gateway.settlement_records.bell import WEBHOOKS, bells_dir, ring_all

    directory = bells_dir(ctx.settings.data_dir)

    def announce() -> None:
        sender.wake.ring()
        ring_all(directory, WEBHOOKS)

    return announce


def start_webhooks_doorbell(hub: Hub, ctx: GatewayContext, stop: threading.Event) -> list[threading.Thread]:
    """Where the webhook sender runs beside HTTP workers: their commits that queue deliveries ring it through this
    doorbell, and on one machine (``one_machine``) it then polls seldom (``gateway.events.tailing.Wake``)."""
    from gateway.settlement_records.bell import WEBHOOKS, Bell, Doorbell, bells_dir

    wake = getattr(hub.extra.get("webhooks"), "wake", None)
    if not isinstance(wake, Wake):
        return []
    thread = Doorbell(bells_dir(ctx.settings.data_dir), WEBHOOKS, Bell(), also=wake.ring).start(stop)
    if thread is None:
        return []
    if one_machine(ctx):
        wake.rung_by_doorbell()
    return [thread]


def one_machine(ctx: GatewayContext) -> bool:
    """Every writer is on this machine, so this machine's doorbells reach them all and the polls behind them may be
    slow: on SQLite (a database file is not shared across hosts). On PostgreSQL a replica elsewhere may write, and
    what it writes is found only by a poll."""
    return ctx.settings.database_url.startswith("sqlite")


def waiters_announcer(ctx: GatewayContext, topic: bytes) -> Callable[[], None]:
    """Ring the waiters' doorbells of the HTTP workers sharing this data directory (``…/wait`` and their tails)
    about ``topic``: a settlement ended, or a block indexed; workers on other hosts are not reached and poll."""
    from gateway.settlement_records.bell import WAITERS, bells_dir, ring_all

    directory = bells_dir(ctx.settings.data_dir)
    return lambda: ring_all(directory, WAITERS, topic)


def start_relayer_doorbell(hub: Hub, ctx: GatewayContext, stop: threading.Event) -> list[threading.Thread]:
    """In ``reponet gateway work`` beside several HTTP workers: an HTTP worker that queues a settlement rings the
    relayer here, and the relayer and the indexer ring every worker's waiters (``gateway.settlement_records.bell``);
    the relayer's and the waiters' polls remain, longer, behind the rings."""
    from gateway.settlement_records.bell import INDEXED, RELAYER, SETTLED, Bell, Doorbell, bells_dir

    if hub.relayer is None:
        return []
    directory = bells_dir(ctx.settings.data_dir)
    hub.relayer.announce = waiters_announcer(ctx, SETTLED)
    indexer = hub.extra.get("indexer")
    if indexer is not None:
        indexer.announce = waiters_announcer(ctx, INDEXED)  # type: ignore[attr-defined]
    thread = Doorbell(directory, RELAYER, Bell(), also=hub.relayer.wake.set).start(stop)
    return [] if thread is None else [thread]


def start_waiters_doorbell(hub: Hub, ctx: GatewayContext, stop: threading.Event) -> list[threading.Thread]:
    """In an HTTP worker of several: ``hub.notify`` rings the background process's relayer, and its rings (a
    settlement ended, a block indexed) wake this worker's ``…/wait`` requests, a block its chain event tail too;
    commits of relayed or risk messages anywhere on this machine wake their tail through a second doorbell
    (``gateway.app.announce_commits``), and a third wakes the matching service's long poll here when another
    process queued an instruction. The tails poll seldom only when both of theirs listen."""
    from gateway.matching.instructions import QUEUED, RUNG_HERE
    from gateway.settlement_records.bell import (
        ANY,
        INDEXED,
        INSTRUCTIONS,
        MESSAGES,
        SETTLED,
        WAITERS,
        Bell,
        Doorbell,
        bells_dir,
    )

    directory = bells_dir(ctx.settings.data_dir)
    bell = Bell()
    wakes = tail_wakes(hub)

    def route(topic: bytes) -> None:  # ``…/wait`` hears of ends and blocks; each tail of its own table's rows
        if topic in (ANY, SETTLED, INDEXED):
            bell.ring()
        for wake in wakes:
            if topic == ANY or wake.topic in (None, topic):
                wake.ring()

    thread = Doorbell(directory, WAITERS, bell, route=route).start(stop)
    if thread is None:
        return []
    hub.extra["waiters_bell"] = bell
    hub.extra["doorbells"] = directory
    threads = [thread]
    messages = Doorbell(directory, MESSAGES, bell, route=route).start(stop)  # relayed and risk messages' tails
    if messages is not None:
        threads.append(messages)
        for wake in wakes:
            wake.rung_by_doorbell()
    instructions = Doorbell(directory, INSTRUCTIONS, QUEUED).start(stop)  # the matching service's long poll
    if instructions is not None:
        threads.append(instructions)
        hub.extra[RUNG_HERE] = one_machine(ctx)
    return threads
