"""The hub and its background workers (relayer: the outbox; indexer: the inbox; balance follower; webhooks), built
from the gateway's one ``Settings`` and started by the app's lifespan (gateway.app) or ``reponet gateway work``
(gateway.background); each resumes from the database after a restart. It composes the outbox (settlement) with the
inbox (indexer) and webhooks (events), so it sits above those domains, just below the app."""

from __future__ import annotations

import logging
import threading
from typing import Any

from gateway.config import KeyPurpose
from gateway.context import GatewayContext
from gateway.events.bus import EventBus
from gateway.settlement.hub import Hub
from gateway.settlement.market import Market

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
        hooks={**HOOKS, **registry.HOOKS},
        failure_hooks={**FAILURE_HOOKS, **registry.FAILURE_HOOKS},
        read_sessions=ctx.read_sessions,
    )
    from gateway.events.webhooks import WebhookSender, enqueue_events
    from gateway.indexer.balances import BalanceFollower
    from gateway.indexer.prices import PriceFollower

    indexer = hub.extra["indexer"] = Indexer(
        market,
        ctx.sessions,
        bus=hub.bus,
        start_block=start_block,
        on_events=lambda published: enqueue_events(ctx.sessions, published),
    )
    hub.relayer.on_mined = indexer.wake.set
    hub.extra["balances"] = BalanceFollower(market, ctx.sessions)
    hub.extra["prices"] = PriceFollower(market, ctx.sessions, start_block=start_block)
    hub.extra["webhooks"] = WebhookSender(ctx.sessions, ctx.keys, allow_loopback=ctx.settings.webhook_allow_loopback)
    return hub


def start_tail(hub: Hub, ctx: GatewayContext, stop: threading.Event) -> list[threading.Thread]:
    """The WebSocket stream's events, read back from the database the indexer process writes."""
    from gateway.indexer.tail import EventTail

    if hub.bus is None:
        return []
    tail = EventTail(ctx.read_sessions, hub.bus)
    thread = threading.Thread(target=tail.run, args=(stop,), name="reponet-event-tail", daemon=True)
    thread.start()
    return [thread]


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
    return threads
