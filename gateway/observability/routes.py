"""``/healthz`` (the process answers), ``/readyz`` (database, chain and, when configured, the event broker reachable;
it names the instance, so a check through the balancer says which replica answered) and ``/metrics`` (Prometheus).

Each app gets its own metrics registry, so several apps in one process (tests) do not collide. Request metrics
are labelled by route template, never by raw path, to keep cardinality bounded.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import __version__
from gateway.api.deps import Public
from gateway.api.route_table import include_flat
from gateway.chain.base import NullChain
from gateway.chain.outage import reachability
from gateway.context import GatewayContext


class Check(BaseModel):
    ok: bool
    detail: str


class Readiness(BaseModel):
    status: str
    instance: str  # REPONET_INSTANCE_NAME (``replica-1`` under ``up --replicas``), else host:pid
    checks: dict[str, Check]


class Liveness(BaseModel):
    status: str
    version: str


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "reponet_gateway_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "reponet_gateway_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "reponet_gateway_http_requests_in_flight", "HTTP requests being served", registry=self.registry
        )
        self.ready = Gauge(
            "reponet_gateway_ready",
            "1 when the last readiness check passed, per check",
            ["check"],
            registry=self.registry,
        )
        # The alert pair for an outage: settlement waits (nothing fails) while the node is out of reach.
        unreachable = Gauge(
            "reponet_chain_unreachable",
            "1 while the node does not answer this process's JSON-RPC calls",
            registry=self.registry,
        )
        unreachable.set_function(lambda: 1.0 if reachability.unreachable else 0.0)
        silent = Gauge(
            "reponet_chain_seconds_since_answer",
            "seconds since the node last answered, while it does not (0 when it does)",
            registry=self.registry,
        )
        silent.set_function(reachability.seconds_since_answer)
        info = Gauge("reponet_gateway_info", "gateway build", ["version"], registry=self.registry)
        info.labels(version=__version__).set(1)


class MetricsMiddleware:
    """Pure ASGI: counts and times every HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.in_flight.dec()
            route = getattr(scope.get("route"), "path", "unmatched")
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(method=method, route=route, status=str(status)).inc()
            self.metrics.latency.labels(method=method, route=route).observe(time.perf_counter() - start)


def _check_database(ctx: GatewayContext) -> Check:
    try:
        with ctx.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return Check(ok=True, detail="reachable")
    except Exception as exc:
        return Check(ok=False, detail=f"{type(exc).__name__}")


def _check_chain(ctx: GatewayContext) -> Check:
    if isinstance(ctx.chain, NullChain):
        return Check(ok=True, detail="no chain configured")
    w3: Any = getattr(ctx.chain, "w3", None)
    if w3 is None:
        return Check(ok=True, detail=type(ctx.chain).__name__)
    try:
        return Check(ok=True, detail=f"head {int(w3.eth.block_number)}")
    except Exception as exc:
        return Check(ok=False, detail=f"{type(exc).__name__}")


class BrokerProbe:
    """A ping of the event broker (Redis), with one client kept per URL: a replica that cannot reach the broker
    would serve WebSocket clients no events and count rate limits nowhere, so the balancer should pass it by."""

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}

    def check(self, url: str) -> Check:
        import redis

        client = self._clients.get(url)
        if client is None:
            client = self._clients[url] = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.ping()
            return Check(ok=True, detail="reachable")
        except Exception as exc:
            return Check(ok=False, detail=f"{type(exc).__name__}")


def install(app: FastAPI, ctx: GatewayContext) -> None:
    """Add the three endpoints and the request metrics to ``app``."""
    metrics = Metrics()
    broker = BrokerProbe()
    instance = ctx.settings.instance_name or f"{socket.gethostname()}:{os.getpid()}"
    router = APIRouter(tags=["health"], dependencies=[Public])  # probes and scrapers: no credentials

    @router.get("/healthz", response_model=Liveness, status_code=200)
    async def healthz() -> Liveness:
        """Liveness: the process serves requests (answered on the event loop: no worker thread to wait for)."""
        return Liveness(status="ok", version=__version__)

    @router.get("/readyz", response_model=Readiness, status_code=200, responses={503: {"model": Readiness}})
    async def readyz(response: Response) -> Readiness:
        """Readiness: the database answers, the chain's JSON-RPC answers and, with a broker configured, the broker
        answers (503 otherwise)."""
        checks = {
            "database": await run_in_threadpool(_check_database, ctx),
            "chain": await run_in_threadpool(_check_chain, ctx),
        }
        if ctx.settings.broker_url:
            checks["broker"] = await run_in_threadpool(broker.check, ctx.settings.broker_url)
        for name, check in checks.items():
            metrics.ready.labels(check=name).set(1 if check.ok else 0)
        ok = all(c.ok for c in checks.values())
        response.status_code = 200 if ok else 503
        return Readiness(status="ready" if ok else "not ready", instance=instance, checks=checks)

    @router.get("/metrics", include_in_schema=False)
    def prometheus(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    include_flat(app.router, router)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
