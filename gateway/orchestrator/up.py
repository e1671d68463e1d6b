"""The steps of ``reponet up``, each skipped when the state file says it is done, then supervision.

The node and the gateway run as child processes (the gateway as ``python -m gateway.cli gateway run``): one
supervisor treats both alike (logs, readiness, crash report, ordered stop), the gateway keeps its own uvicorn
signal handling, and ``up`` itself never imports ``node`` or serves requests. The steps live by what they hold:
keys in :mod:`accounts`, the node in :mod:`nodes`, contracts and roles in :mod:`deployment`, the gateway process in
:mod:`launch`; this module checks the configuration and runs them in order.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

from gateway.datadir import UpState
from gateway.orchestrator.accounts import Purpose
from gateway.orchestrator.banners import admin_banner, qr_text, urls_banner
from gateway.orchestrator.context import (
    ADMIN_EMAIL,
    DEFAULT_ADMIN_DELAY,
    DEFAULT_CHAIN_ID,
    UpConfig,
    UpContext,
    port_free,
)
from gateway.orchestrator.deployment import Deployment
from gateway.orchestrator.exceptions import NotAvailable, UpError
from gateway.orchestrator.launch import GatewaySteps
from gateway.orchestrator.nodes import NodeSteps
from gateway.orchestrator.supervisor import Child, Supervisor

__all__ = [
    "ADMIN_EMAIL",
    "DEFAULT_ADMIN_DELAY",
    "DEFAULT_CHAIN_ID",
    "NotAvailable",
    "Up",
    "UpConfig",
    "UpError",
    "admin_banner",
    "qr_text",
    "urls_banner",
]


class Up:
    def __init__(self, config: UpConfig, console: Console) -> None:
        self.ctx = UpContext(config, console)
        self.nodes = NodeSteps(self.ctx)
        self.deployment = Deployment(self.ctx, self.nodes)
        self.gateway = GatewaySteps(self.ctx, self.nodes)

    @property
    def config(self) -> UpConfig:
        return self.ctx.config

    @property
    def state(self) -> UpState:
        return self.ctx.state

    @property
    def supervisor(self) -> Supervisor:
        return self.ctx.supervisor

    @property
    def printouts(self) -> list[str]:
        return self.ctx.printouts

    def configure(self) -> None:
        ctx = self.ctx
        c, s = ctx.config, ctx.state
        if ctx.first_run:
            s.managed_node = c.rpc_url is None
            s.chain_id = c.chain_id
            s.validators = c.validators if s.managed_node else 0
        elif c.rpc_url is not None and s.managed_node:
            raise UpError(f"{ctx.dir.path} runs its own node; --rpc-url needs a fresh --data-dir")
        elif c.validators_given and c.validators != s.validators:
            raise UpError(f"{ctx.dir.path} holds a {s.validators}-validator network; use a fresh --data-dir")
        if s.validators > 1:
            self.nodes.check_network_command()
        s.node_host = c.node_host or s.node_host
        s.node_port = c.node_port or s.node_port
        s.gateway_host = c.gateway_host or s.gateway_host
        s.gateway_port = c.gateway_port or s.gateway_port
        s.rpc_url = c.rpc_url or (f"http://{s.node_host}:{s.node_port}" if s.managed_node else s.rpc_url)
        for host in (s.node_host, s.gateway_host):
            if host not in ("127.0.0.1", "localhost", "::1"):
                raise UpError(f"{host}: reponet up listens on loopback only (put a proxy in front to publish)")
        ports = [(s.gateway_host, s.gateway_port)]
        if s.managed_node:
            ports += [(s.node_host, s.node_port + i) for i in range(max(1, s.validators))]
        if s.validators > 1:
            ports += [(s.node_host, s.node_port + 100 + i) for i in range(s.validators)]
        for host, port in ports:
            if not port_free(host, port):
                raise UpError(f"{host}:{port} is in use: is another `reponet up` running? (or choose other ports)")
        ctx.dir.create()
        s.operator_address = ctx.accounts.operator.address
        s.issuer_address = ctx.accounts[Purpose.ISSUER].address
        ctx.save()
        ctx.step("data directory", f"{ctx.dir.path.resolve()} ({'new' if ctx.first_run else 'resuming'})")

    def init_node(self) -> None:
        self.nodes.init_node()

    def start_node(self) -> Child | None:
        return self.nodes.start_node()

    def deploy(self) -> None:
        self.deployment.deploy()

    def permission(self) -> None:
        self.deployment.permission()

    def gateway_env(self) -> dict[str, str]:
        return self.gateway.gateway_env()

    def prepare_gateway(self) -> None:
        self.gateway.prepare_gateway()

    def start_gateway(self) -> Child:
        return self.gateway.start_gateway()

    def list_instruments(self) -> None:
        self.gateway.list_instruments()

    def enroll(self) -> None:
        self.gateway.enroll()

    def start_risk(self) -> Child:
        """The risk service beside the gateway, supervised like it (restarted on a crash; its state file keeps
        its call intents). Members add their API keys to ``risk/config.json``; it re-reads the file each tick."""
        from gateway.risk.cli import write_config

        ctx = self.ctx
        config = write_config(ctx.dir.path / "risk", gateway_url=ctx.state.gateway_url, ca_file=ctx.dir.tls_cert)
        return ctx.supervisor.start(
            "risk",
            [sys.executable, "-m", "gateway.cli", "risk", "--config", str(config), "--state",
             str(ctx.dir.path / "risk" / "risk.db")],
            ctx.dir.logs / "risk.log",
            env={**os.environ, **self.gateway_env()},
        )  # fmt: skip
