"""The steps of ``reponet up``, each skipped when the state file says it is done, then supervision.

The node and the gateway run as child processes (the gateway as ``python -m gateway.cli gateway run``): one
supervisor treats both alike (logs, readiness, crash report, ordered stop), the gateway keeps its own uvicorn
signal handling, and ``up`` itself never imports ``node`` or serves requests. The steps live by what they hold:
keys in :mod:`accounts`, the node in :mod:`nodes`, contracts and roles in :mod:`deployment`, the gateway process in
:mod:`launch`; this module checks the configuration and runs them in order.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

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


# Each tick reads a member's repos, agreements and calls due with that member's key: three requests, so a tick
# every 2 s stays under the gateway's per-key limit (rate_limit_principal, 120 a minute) with room for the calls.
RISK_INTERVAL_SECONDS = 2.0
# the surveillance service's idle poll of the feed: every request from the services on this host counts against the
# gateway's per-address budget (launch.UP_RATE_LIMIT_IP), which the demo and the other services share
SURVEILLANCE_INTERVAL_SECONDS = 2.0


def instance_state(state: Path, instance: int) -> Path:
    """The state file of a service's ``instance`` (1: the file itself; 2: ``risk-2.db`` beside ``risk.db``)."""
    return state if instance == 1 else state.with_name(f"{state.stem}-{instance}{state.suffix}")


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
        if c.replicas:
            from gateway.orchestrator.replicas import check_config

            check_config(c)
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
        if self.config.replicas:
            from gateway.orchestrator.replicas import ReplicaSteps

            return ReplicaSteps(self.ctx, self.gateway_env()).start()
        return self.gateway.start_gateway()

    def list_instruments(self) -> None:
        self.gateway.list_instruments()

    def enroll(self) -> None:
        self.gateway.enroll()

    def _service(self, name: str, argv: list[str], state: Path | None = None) -> Child:
        """A service process, supervised; with ``--replicas`` a second beside it (same command, its own state file
        ``<state>-2``, since two processes writing one SQLite file would share intents and cursors): the gateway's
        lease for its kind (``/v1/leases``) lets one act, the other stands by and takes over. A new leader
        re-derives what is due from the gateway and sends it with the same Idempotency-Keys, so nothing is sent
        twice for want of the other's file."""
        ctx, env = self.ctx, {**os.environ, **self.gateway_env()}
        child = ctx.supervisor.start(name, [*argv, *(["--state", str(state)] if state else [])],
                                     ctx.dir.logs / f"{name}.log", env=env)  # fmt: skip
        if self.config.replicas:
            second = [*argv, *(["--state", str(instance_state(state, 2))] if state else [])]
            standby = ctx.supervisor.start(f"{name}-2", second, ctx.dir.logs / f"{name}-2.log", env=env)
            pids = f"pids {child.process.pid} and {standby.process.pid}"
            ctx.step(f"{name} started twice", f"{pids}: one leads (its lease at the gateway), the other stands by")
        return child

    def _grant_once(self, config: Path, grant: Callable[[Session], object]) -> None:
        """Issues a service its API key on first run only: ``grant`` writes the key into ``config`` (a JSON file
        with ``api_key``) through the gateway's database; later runs find the key there and reuse it."""
        from gateway.db.session import make_engine, make_session_factory

        if json.loads(config.read_text()).get("api_key"):
            return
        engine = make_engine(self.ctx.dir.gateway_database_url())
        try:
            with make_session_factory(engine)() as session:
                grant(session)
        finally:
            engine.dispose()

    def start_surveillance(self) -> Child:
        """The surveillance service beside the gateway, supervised like it (its state file keeps the feed cursor
        and unsent alerts, so a restart resumes). Its key (``surveillance:feed`` and ``surveillance:alert`` on
        the operator's organization, under the compliance service user's name) is granted here on first run."""
        from gateway.surveillance.cli import write_config
        from gateway.surveillance.grant import grant

        ctx = self.ctx
        directory = ctx.dir.path / "surveillance"
        config = write_config(directory, gateway_url=ctx.state.gateway_url, ca_file=ctx.dir.tls_cert)
        self._grant_once(
            config,
            lambda session: grant(session, config_path=config, officer_email="compliance@reponet.local", days=365),
        )
        return self._service(
            "surveillance",
            [sys.executable, "-m", "gateway.cli", "surveillance", "run", "--config", str(config),
             "--models", str(directory / "models"), "--interval", str(SURVEILLANCE_INTERVAL_SECONDS)],
            directory / "surveillance.db",
        )  # fmt: skip

    def start_match(self) -> Child:
        """The GC matching service beside the gateway (``reponet match run``), under its own operator key (scope
        ``matching:run`` only, made once under the operator automation user). It keeps no state: on a restart it
        replays the gateway's instructions and rebuilds the same book (a second one under ``--replicas`` answers the
        same, and the gateway records each answer once)."""
        from gateway.matching.cli import grant, write_config
        from gateway.ops.network import AUTOMATION_FILE, OPS_USER

        ctx = self.ctx
        config = write_config(ctx.dir.path / "match", gateway_url=ctx.state.gateway_url, ca_file=ctx.dir.tls_cert)

        def match_grant(session: Session) -> None:
            email = ctx.dir.read_json_secret(AUTOMATION_FILE)[OPS_USER]["email"]
            grant(session, config_path=config, operator_email=email, days=365)

        self._grant_once(config, match_grant)
        return self._service("match", [sys.executable, "-m", "gateway.cli", "match", "run", "--config", str(config)])

    def start_risk(self) -> Child:
        """The risk service beside the gateway, supervised like it (restarted on a crash; its state file keeps
        its call intents). Members add their API keys to ``risk/config.json``; it re-reads the file each tick."""
        from gateway.risk.cli import write_config

        ctx = self.ctx
        config = write_config(ctx.dir.path / "risk", gateway_url=ctx.state.gateway_url, ca_file=ctx.dir.tls_cert)
        return self._service(
            "risk",
            [sys.executable, "-m", "gateway.cli", "risk", "--config", str(config),
             "--interval", str(RISK_INTERVAL_SECONDS)],
            ctx.dir.path / "risk" / "risk.db",
        )  # fmt: skip

    def start_feed(self) -> Child:
        """The price feed beside the risk service (``reponet risk feed``): its CSV drop directory
        ``risk/prices/`` and the manual entries, posting under its own operator key (scope ``prices:feed`` only,
        made once under the operator automation user). A price dropped there alone moves the oracle, and the risk
        service calls the margin it implies."""
        from gateway.ops.network import AUTOMATION_FILE, OPS_USER
        from gateway.risk.feeds.cli import write_feed_config
        from gateway.risk.feeds.grant import grant_feed

        ctx = self.ctx
        config = write_feed_config(ctx.dir.path / "risk", gateway_url=ctx.state.gateway_url, ca_file=ctx.dir.tls_cert)

        def feed_grant(session: Session) -> None:
            email = ctx.dir.read_json_secret(AUTOMATION_FILE)[OPS_USER]["email"]
            grant_feed(session, config_path=config, operator_email=email, days=365)

        self._grant_once(config, feed_grant)
        child = self._service(
            "feed",
            [sys.executable, "-m", "gateway.cli", "risk", "feed", "--config", str(config), "--interval",
             str(RISK_INTERVAL_SECONDS)],
        )  # fmt: skip
        ctx.step("price feed started", f"drop CSV prices into {ctx.dir.path / 'risk' / 'prices'}")
        return child
