"""The app factory: ``create_app(settings)`` wires settings, database, keys, chain, limits and routers."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from gateway import __version__, heap
from gateway.api import openapi
from gateway.api.admission import ReadAdmission
from gateway.api.deps import Public
from gateway.api.errors import install_error_handlers
from gateway.api.middleware import BodySizeLimit, RequestGuard
from gateway.api.proxies import ForwardedFor
from gateway.api.responses import ChecksummedJSONResponse
from gateway.api.route_table import include_flat
from gateway.audit import service as audit_service
from gateway.audit.routes import AnchorQueue
from gateway.audit.routes import router as audit_router
from gateway.auth.routes import router as auth_router
from gateway.chain.base import ChainClient, NullChain
from gateway.clients.routes import router as clients_router
from gateway.config import Environment, KeyPurpose, Settings, get_settings
from gateway.context import GatewayContext
from gateway.db.session import make_engine, make_session_factory
from gateway.exceptions import Conflict
from gateway.keys.provider import KeyProvider, provider_from_settings
from gateway.kyc.routes import router as kyc_router
from gateway.members.routes import router as members_router
from gateway.ratelimit import RateLimiter
from gateway.screening.provider import KycProvider, provider_named
from gateway.screening.sanctions import SanctionsList
from gateway.settlement.hub import Hub
from gateway.wallets.routes import router as wallets_router

logger = logging.getLogger(__name__)
THREADS = 256  # worker threads for sync routes (see the lifespan)


class Health(BaseModel):
    status: str
    version: str


def chain_from_settings(settings: Settings) -> ChainClient:
    if not settings.chain_rpc_url:
        return NullChain()
    if settings.chain_rpc_url == "memory://":  # demos only: the validator refuses it in production
        from gateway.chain.memory import InMemoryChain

        return InMemoryChain()
    from gateway.chain.web3_client import Web3Chain

    kyc_agent_key = settings.key_for(KeyPurpose.KYC_AGENT)
    if not (kyc_agent_key and settings.identity_registry_address and settings.audit_anchor_address):
        raise ValueError(
            "a chain URL needs REPONET_KYC_AGENT_KEY (or REPONET_CHAIN_PRIVATE_KEY) and the contract addresses"
        )
    return Web3Chain.from_url(
        settings.chain_rpc_url,
        private_key=kyc_agent_key,
        identity_registry=settings.identity_registry_address,
        audit_anchor=settings.audit_anchor_address,
        rpc_token=settings.chain_rpc_token,
        anchor_key=settings.key_for(KeyPurpose.ANCHOR),
    )


def warn_shared_keys(settings: Settings) -> None:
    """Production with purposes sharing the chain key: one account's nonces from several senders, and one key
    holding every role. Each purpose should have its own key (``reponet up`` makes them)."""
    if settings.environment is not Environment.PRODUCTION or not settings.chain_rpc_url:
        return
    shared = settings.shared_key_purposes()
    if shared:
        logger.warning(
            "sending keys not set (their purposes share another key and its nonces: set each): %s",
            ", ".join(purpose.env for purpose in shared),
        )


def announce_commits(sessions: sessionmaker[Session], data_dir: Path) -> None:
    """Commits that others on this machine read ring them (``gateway.workers.start_waiters_doorbell``): queued
    matching instructions every HTTP worker, where the matching service's long poll may wait; relayed and risk
    messages every HTTP worker's tail of them, whichever process wrote them."""
    from gateway.events import relayed
    from gateway.matching import instructions
    from gateway.risk import messages
    from gateway.settlement_records.bell import INSTRUCTIONS, MESSAGES, RELAYED, RISK, bells_dir, ring_all

    directory = bells_dir(data_dir)
    instructions.announce_queued(sessions, lambda: ring_all(directory, INSTRUCTIONS))
    relayed.announce_recorded(sessions, lambda: ring_all(directory, MESSAGES, RELAYED))
    messages.announce_recorded(sessions, lambda: ring_all(directory, MESSAGES, RISK))


def build_context(
    settings: Settings,
    *,
    chain: ChainClient | None = None,
    keys: KeyProvider | None = None,
    sanctions: SanctionsList | None = None,
    kyc_provider: KycProvider | None = None,
) -> GatewayContext:
    warn_shared_keys(settings)
    engine = make_engine(settings.database_url)
    read_engine = make_engine(settings.database_url, read_only=True)
    if sanctions is None:
        if settings.sanctions_file is not None:
            sanctions = SanctionsList.from_csv(settings.sanctions_file, settings.sanctions_threshold)
        else:
            logger.warning("no sanctions list configured (REPONET_SANCTIONS_FILE): screening finds nothing")
            sanctions = SanctionsList([], settings.sanctions_threshold)
    sessions = make_session_factory(engine)
    announce_commits(sessions, settings.data_dir)
    return GatewayContext(
        settings=settings,
        engine=engine,
        read_engine=read_engine,
        sessions=sessions,
        read_sessions=make_session_factory(read_engine),
        keys=keys or provider_from_settings(settings),
        chain=chain or chain_from_settings(settings),
        limiter=RateLimiter(settings.rate_limit_storage_url, processes=settings.api_workers),
        sanctions=sanctions,
        kyc_provider=kyc_provider or provider_named(settings.kyc_provider),
    )


async def _anchor_periodically(ctx: GatewayContext, hub: Hub | None = None) -> None:
    """Anchor the audit head when it moved: through the outbox where a relayer sends the anchors (the anchoring
    account's steps, recorded as anchored when final), else with the chain client directly."""
    from gateway.settlement import registry

    interval = ctx.settings.anchor_interval_seconds
    while True:
        await asyncio.sleep(interval)
        outbox = registry.anchor_outbox(hub)
        try:
            with ctx.sessions() as session:
                if outbox is not None:
                    await run_in_threadpool(
                        functools.partial(
                            registry.anchor_head, session, outbox, actor="system:anchor", only_if_new=True
                        )
                    )
                    if hub is not None:
                        hub.notify()
                else:
                    await run_in_threadpool(audit_service.anchor_if_new, session, chain=ctx.chain)
        except Exception:
            logger.exception("periodic audit anchoring failed; retrying in %ss", interval)


def _anchor_queue(hub: Hub) -> AnchorQueue:
    """POST /v1/audit/anchor's outbox: the anchor queued where a relayer sends the anchors (None: the chain client
    anchors). Looked up at each call: a hub may be given its chain after the app started (tests)."""
    from gateway.audit.schemas import AnchorPublic
    from gateway.settlement import registry

    def queue(session: Session, actor: str) -> AnchorPublic | None:
        outbox = registry.anchor_outbox(hub)
        if outbox is None:
            return None
        queued = registry.anchor_head(session, outbox, actor=actor, only_if_new=False)
        if queued is None:
            raise Conflict("an anchor is still on its way to the chain")
        hub.notify()
        return AnchorPublic(
            sequence=queued.sequence,
            head_hash=queued.head_hash,
            tx_hash=None,
            anchored_at=None,
            settlement_id=queued.settlement.id,
        )

    return queue


async def _maintain_periodically(ctx: GatewayContext) -> None:
    from gateway.kyc.rescreen import reload_if_changed, rescreen_if_changed
    from gateway.kyc.upkeep import expire_lapsed, purge_stale

    interval = ctx.settings.maintenance_interval_seconds
    while True:
        try:
            with ctx.sessions() as session:
                lapsed = await run_in_threadpool(expire_lapsed, session)
                await run_in_threadpool(purge_stale, session)
            if lapsed:
                logger.info("KYC expired for %d members", len(lapsed))
        except Exception:
            logger.exception("KYC expiry check failed; retrying in %ss", interval)
        try:  # a changed sanctions list: every member and wallet screened again, hits on the audit chain
            await run_in_threadpool(reload_if_changed, ctx)
            with ctx.sessions() as session:
                await run_in_threadpool(rescreen_if_changed, ctx, session)
        except Exception:
            logger.exception("sanctions re-screening failed; retrying in %ss", interval)
        await asyncio.sleep(interval)


def domain_routers() -> list[APIRouter]:
    """Each domain's router, in the order a request tries them."""
    from gateway.custody.routes import router as custody_router
    from gateway.events.routes import router as events_router
    from gateway.key_routes import router as keys_router
    from gateway.leases.routes import router as leases_router
    from gateway.matching.order_routes import router as gc_orders_router
    from gateway.matching.routes import router as gc_router
    from gateway.matching.service_routes import router as gc_service_router
    from gateway.operator.coupons import router as coupons_router
    from gateway.operator.network_status import router as network_status_router
    from gateway.operator.price_history import router as price_history_router
    from gateway.operator.prices import router as prices_router
    from gateway.operator.routes import router as operator_router
    from gateway.policy.queue_routes import router as approvals_router
    from gateway.policy.routes import router as policy_router
    from gateway.positions.claims import router as claims_router
    from gateway.positions.routes import router as positions_router
    from gateway.redemptions.routes import router as redemptions_router
    from gateway.reporting.routes import router as reporting_router
    from gateway.risk.concentration_routes import router as risk_concentration_router
    from gateway.risk.cure_routes import router as risk_cure_router
    from gateway.risk.feeds.routes import router as risk_feed_router
    from gateway.risk.history_routes import router as risk_history_router
    from gateway.risk.proposal_routes import router as risk_proposal_router
    from gateway.risk.routes import router as risk_router
    from gateway.risk.stress_routes import router as risk_stress_router
    from gateway.settlement.routes import ROUTERS as SETTLEMENT_ROUTERS
    from gateway.signing.routes import router as signing_router
    from gateway.stream.routes import router as stream_router
    from gateway.surveillance.routes import router as surveillance_router
    from gateway.trading.routes import router as trading_router

    return [
        auth_router,
        members_router,
        clients_router,
        kyc_router,
        wallets_router,
        audit_router,
        trading_router,
        signing_router,
        policy_router,
        approvals_router,
        *SETTLEMENT_ROUTERS,
        positions_router,
        claims_router,
        operator_router,
        network_status_router,
        keys_router,
        prices_router,
        price_history_router,
        coupons_router,
        redemptions_router,
        custody_router,
        stream_router,
        events_router,
        risk_router,
        risk_stress_router,
        risk_history_router,
        risk_concentration_router,
        risk_cure_router,
        risk_proposal_router,
        risk_feed_router,
        surveillance_router,
        reporting_router,
        leases_router,
        gc_router,
        gc_orders_router,
        gc_service_router,
    ]


def routers() -> APIRouter:
    """Every route of the API, under /v1, in one flat list (gateway.api.route_table)."""
    v1 = APIRouter(prefix="/v1")
    for router in domain_routers():
        include_flat(v1, router)
    return v1


def _settling(app: FastAPI) -> bool:
    """Whether this process's relayer has settlements pending (reads then make room for it: gateway.api.admission)."""
    hub = getattr(app.state, "hub", None)
    relayer = hub.relayer if isinstance(hub, Hub) else None
    return relayer is not None and relayer.settling


def _start_threads(app: FastAPI, ctx: GatewayContext, stop: threading.Event) -> tuple[Hub, list[threading.Thread]]:
    """The hub (a test may have put its own on ``app.state``) and its workers: the relayer (outbox), the indexer
    (inbox), the balance follower and webhooks, or in an HTTP worker of several only the event tail (``reponet
    gateway work`` runs the workers once for all); and in either the tails of risk messages and relayed messages
    (gateway.risk.messages, gateway.events.relayed)."""
    from gateway.workers import (
        hub_from_settings,
        start_message_tails,
        start_tail,
        start_waiters_doorbell,
        start_workers,
    )

    hub = getattr(app.state, "hub", None)
    if not isinstance(hub, Hub):
        hub = app.state.hub = hub_from_settings(ctx)
    app.state.queue_anchor = _anchor_queue(hub)
    if ctx.settings.background_work:
        return hub, start_workers(hub, stop) + start_message_tails(hub, ctx, stop)
    hub.relayer = None  # the relayer runs in ``reponet gateway work``: rung through the doorbell (hub.notify)
    return hub, start_tail(hub, ctx, stop) + start_waiters_doorbell(hub, ctx, stop)


def create_app(settings: Settings | None = None, *, context: GatewayContext | None = None) -> FastAPI:
    settings = settings or (context.settings if context else get_settings())
    ctx = context or build_context(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """The one lifespan: worker threads, periodic tasks, and the database engines disposed of at the end."""
        # Sync routes and their dependencies each take a worker thread; a request holding SQLite's write lock
        # must never wait for a thread that requests waiting for that lock occupy.
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, THREADS)
        heap.freeze_once()
        stop = threading.Event()
        hub, threads = _start_threads(app, ctx, stop)
        tasks = []
        if not settings.background_work:  # an HTTP worker of several: ``reponet gateway work`` anchors and sweeps
            from gateway.processes import die_with_parent

            die_with_parent()
            os.nice(settings.api_nice)  # settlement work and the node come first under read load
        elif settings.anchor_interval_seconds > 0 and not isinstance(ctx.chain, NullChain):
            tasks.append(asyncio.create_task(_anchor_periodically(ctx, hub)))
        if settings.background_work and settings.maintenance_interval_seconds > 0:
            tasks.append(asyncio.create_task(_maintain_periodically(ctx)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            stop.set()
            from gateway.workers import wake_all

            wake_all(hub)  # a tail rung by the doorbell, a loop woken by new blocks: they wait on that, not ``stop``
            for thread in threads:
                thread.join(timeout=5)
            ctx.engine.dispose()
            ctx.read_engine.dispose()

    docs = settings.expose_docs
    app = FastAPI(
        title="RepoNet gateway",
        version=__version__,
        description="Members, authentication, KYC onboarding, wallets and keys, audit trail.",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
        default_response_class=ChecksummedJSONResponse,
    )
    app.state.ctx = ctx
    install_error_handlers(app)

    include_flat(app.router, routers())  # one flat list: gateway.api.route_table
    from gateway.web.routes import router as web_router

    include_flat(app.router, web_router)  # /app: the web app, same origin as the API

    @app.get("/health", response_model=Health, status_code=200, tags=["health"], dependencies=[Public])
    def health() -> Health:
        return Health(status="ok", version=__version__)

    def openapi_with_idempotency() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = openapi.complete(schema)
        return app.openapi_schema

    app.openapi = openapi_with_idempotency  # type: ignore[method-assign]
    app.add_middleware(RequestGuard, ctx=ctx)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=False,
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "X-API-Key"],
    )
    app.add_middleware(BodySizeLimit, limit=settings.max_request_bytes)
    app.add_middleware(  # before any work is done for a read
        ReadAdmission,
        limit=settings.read_concurrency,
        limit_writing=settings.read_concurrency_writing,
        settling=lambda: _settling(app),
    )
    from gateway.observability.routes import install as install_observability  # /healthz, /readyz, /metrics

    install_observability(app, ctx)
    if settings.trusted_proxies:  # outermost: every layer sees the client it resolves (no layer at all without)
        app.add_middleware(ForwardedFor, trusted=settings.trusted_proxies)
    return app
