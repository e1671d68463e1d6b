"""Install trading and settlement into the app: routers under /v1, the hub, and the background workers
(relayer, indexer) that start with the app and resume from the database after a restart."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, FastAPI

from gateway.context import GatewayContext
from gateway.events.bus import EventBus
from gateway.settlement.hub import Hub
from gateway.settlement.market import Market, MarketSettings

logger = logging.getLogger(__name__)
THREADS = 256


def hub_from_settings(ctx: GatewayContext) -> Hub:
    settings = ctx.settings
    market_settings = MarketSettings()
    url = settings.chain_rpc_url
    key = market_settings.relayer_private_key or settings.chain_private_key
    engine = market_settings.repo_engine_address
    hub = Hub(chain_id=settings.chain_id, engine=engine, bus=EventBus())
    hub.extra["settle_window_seconds"] = market_settings.settle_window_seconds
    if url and url.startswith(("http://", "https://")) and engine and market_settings.price_oracle_address and key:
        market = Market.from_url(
            url,
            engine=engine,
            oracle=market_settings.price_oracle_address,
            private_key=key,
            rpc_token=settings.chain_rpc_token,
            settings=market_settings,
        )
        attach(hub, market, ctx)
    return hub


def attach(hub: Hub, market: Market, ctx: GatewayContext, *, start_block: int = 0) -> Hub:
    """Give the hub a chain: relayer and indexer over ``market``."""
    from gateway.indexer.service import Indexer
    from gateway.settlement.relayer import Relayer
    from gateway.settlement.service import FAILURE_HOOKS, HOOKS

    hub.market = market
    hub.engine = market.engine_address
    hub.chain_id = market.chain_id
    hub.bus = hub.bus or EventBus()
    hub.relayer = Relayer(
        market,
        ctx.sessions,
        ctx.keys,
        hooks=dict(HOOKS),
        failure_hooks=dict(FAILURE_HOOKS),
        read_sessions=ctx.read_sessions,
    )
    from gateway.events.webhooks import WebhookSender, enqueue_events
    from gateway.indexer.balances import BalanceFollower
    from gateway.indexer.prices import PriceFollower

    hub.extra["indexer"] = Indexer(
        market,
        ctx.sessions,
        bus=hub.bus,
        start_block=start_block,
        on_events=lambda published: enqueue_events(ctx.sessions, published),
    )
    hub.extra["balances"] = BalanceFollower(market, ctx.sessions)
    hub.extra["prices"] = PriceFollower(market, ctx.sessions, start_block=start_block)
    hub.extra["webhooks"] = WebhookSender(ctx.sessions, ctx.keys, allow_loopback=ctx.settings.webhook_allow_loopback)
    return hub


def routers() -> APIRouter:
    from gateway.custody.routes import router as custody_router
    from gateway.operator.prices import router as prices_router
    from gateway.operator.routes import router as operator_router
    from gateway.policy.routes import router as policy_router
    from gateway.positions.routes import router as positions_router
    from gateway.redemptions.routes import router as redemptions_router
    from gateway.settlement.routes import router as settlement_router
    from gateway.trading.routes import router as trading_router

    v1 = APIRouter(prefix="/v1")
    v1.include_router(trading_router)
    v1.include_router(policy_router)
    v1.include_router(settlement_router)
    v1.include_router(positions_router)
    v1.include_router(operator_router)
    v1.include_router(prices_router)
    v1.include_router(redemptions_router)
    v1.include_router(custody_router)
    try:
        from gateway.events.routes import router as events_router

        v1.include_router(events_router)
    except ImportError:  # pragma: no cover - events not installed
        pass
    return v1


def install(app: FastAPI, ctx: GatewayContext) -> None:
    app.include_router(routers())
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        hub = getattr(app.state, "hub", None)
        if not isinstance(hub, Hub):
            hub = hub_from_settings(ctx)
            app.state.hub = hub
        # Sync routes and their dependencies each take a worker thread; a request holding SQLite's write lock
        # must never wait for a thread that requests waiting for that lock occupy.
        import anyio.to_thread

        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, THREADS)
        stop = threading.Event()
        if ctx.settings.background_work:
            threads = start_workers(hub, stop)
        else:  # an HTTP worker: ``reponet gateway work`` runs them once for all workers
            hub.relayer = None  # nothing to wake here: the relayer polls the outbox, waiters poll the database
            threads = start_tail(hub, ctx, stop)
        try:
            async with inner(app) as state:
                yield state
        finally:
            stop.set()
            if hub.relayer is not None:
                hub.relayer.wake.set()
            for thread in threads:
                thread.join(timeout=5)

    app.router.lifespan_context = lifespan


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
