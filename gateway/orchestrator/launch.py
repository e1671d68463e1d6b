"""The gateway steps of ``reponet up``: its environment (chain keys by purpose, never an admin's), database and
operator users, the process itself, instruments listed for trading, and the operator users' TOTP enrolment."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.datadir import write_private
from gateway.ops.client import Credentials, Gateway, UserSession
from gateway.ops.network import AUTOMATION_FILE, COMPLIANCE_USER, OPS_USER
from gateway.orchestrator.banners import admin_banner
from gateway.orchestrator.context import UpContext
from gateway.orchestrator.nodes import NodeSteps
from gateway.orchestrator.supervisor import Child

OPERATOR_LEI_SEED = "RPNOPERATOR0000000"
GATEWAY_READY_SECONDS = 90.0
MAX_API_WORKERS = 2
# The per-address budget of the gateway ``reponet up`` starts: the demo, the web app and the risk, feed and
# surveillance services all reach it from loopback, so they share one address while each key keeps its own
# per-principal budget (120 a minute). The gateway's default (300 a minute, for one remote client) is less than
# those budgets added up, and the demo was refused with 429 while the services polled.
UP_RATE_LIMIT_IP = "1200/minute"


def default_api_workers(environ: Mapping[str, str] = os.environ) -> int:
    """HTTP workers of the gateway ``reponet up`` starts (``REPONET_API_WORKERS`` overrides). Its database is
    SQLite in WAL mode, where readers in every process never wait and the one writer at a time is mostly the
    background process (relayer, indexer), so reads scale with processes up to the cores; the workers run niced
    and settlement runs once, in its own process at normal priority, so reads cannot take the CPU the relayer and
    the node need. Rate limits must then be counted across the workers: ``reponet up`` keeps them in a shared
    memory-mapped file (``file://``, gateway.shared_counters) unless ``REPONET_RATE_LIMIT_STORAGE_URL`` names
    another shared store (Redis). With per-process ``memory://`` limits each worker would enforce only its share of
    every limit, and the sign-in limit (10 a minute per address) halved is tighter than onboarding a desk from one
    address: one worker then."""
    shared = not environ.get("REPONET_RATE_LIMIT_STORAGE_URL", "memory://").startswith("memory://")
    return max(1, min(MAX_API_WORKERS, os.cpu_count() or 1)) if shared else 1


def rate_limit_storage(data_dir: Path, environ: Mapping[str, str] = os.environ) -> str:
    """The gateway's rate-limit store under ``reponet up``: the operator's choice, else the shared file."""
    return environ.get("REPONET_RATE_LIMIT_STORAGE_URL") or f"file://{data_dir.resolve() / 'ratelimits.bin'}"


class GatewaySteps:
    def __init__(self, ctx: UpContext, nodes: NodeSteps) -> None:
        self.ctx = ctx
        self.nodes = nodes

    def gateway_env(self) -> dict[str, str]:
        ctx = self.ctx
        env = self._embedded_env()
        if ctx.config.replicas:
            from gateway.orchestrator.replicas import shared_env

            env.update(shared_env(ctx.config))
        return env

    def _embedded_env(self) -> dict[str, str]:
        ctx, s = self.ctx, self.ctx.state
        origin = f"{s.gateway_host}:{s.gateway_port}"
        return {
            "REPONET_ENVIRONMENT": "production",
            "REPONET_DATA_DIR": str(ctx.dir.gateway.resolve()),
            "REPONET_DATABASE_URL": ctx.dir.database_url,
            "REPONET_JWT_SECRET": ctx.dir.secret("jwt-secret"),
            "REPONET_MASTER_KEY_FILE": str((ctx.dir.secrets / "master-keys.json").resolve()),
            "REPONET_PUBLIC_ORIGIN": f"https://{origin}",
            "REPONET_SIWE_DOMAIN": origin,
            "REPONET_CHAIN_RPC_URL": s.rpc_url,
            **({"REPONET_CHAIN_RPC_TOKEN": token} if (token := self.nodes.gateway_rpc_token()) else {}),
            "REPONET_CHAIN_ID": str(s.chain_id),
            # a key per on-chain purpose (KYC agent, oracle feeder, issuer, relayer, anchor), none of them an admin
            **ctx.accounts.gateway_keys(),
            "REPONET_IDENTITY_REGISTRY_ADDRESS": s.contracts["identity_registry"],
            "REPONET_AUDIT_ANCHOR_ADDRESS": s.contracts["audit_anchor"],
            "REPONET_ANCHOR_INTERVAL_SECONDS": "5",
            # trading and settlement (Gateway II): the engine and the oracle
            "REPONET_REPO_ENGINE_ADDRESS": s.contracts["repo_engine"],
            "REPONET_PRICE_ORACLE_ADDRESS": s.contracts["price_oracle"],
            "REPONET_RATE_LIMIT_IP": os.environ.get("REPONET_RATE_LIMIT_IP", UP_RATE_LIMIT_IP),
            "REPONET_RATE_LIMIT_STORAGE_URL": (limits := rate_limit_storage(ctx.dir.gateway)),
            "REPONET_API_WORKERS": os.environ.get(
                "REPONET_API_WORKERS",
                str(default_api_workers({**os.environ, "REPONET_RATE_LIMIT_STORAGE_URL": limits})),
            ),
        }

    def prepare_gateway(self) -> None:
        from gateway.app import build_context
        from gateway.chain.base import NullChain
        from gateway.config import Settings
        from gateway.db.migrate import upgrade
        from gateway.db.models import Role
        from gateway.members.service import bootstrap_operator
        from gateway.members.validation import lei_with_check_digits

        ctx = self.ctx
        env = self.gateway_env()
        write_private(ctx.dir.env_file, "".join(f"{k}={v}\n" for k, v in env.items()))
        values: dict[str, Any] = {k.removeprefix("REPONET_").lower(): v for k, v in env.items()}
        settings = Settings(**values)
        upgrade(settings.database_url)
        if ctx.state.done("users"):
            ctx.step("gateway database", "migrated")
            return
        gw_ctx = build_context(settings, chain=NullChain())
        automation = ctx.dir.read_json_secret(AUTOMATION_FILE)
        lei = lei_with_check_digits(OPERATOR_LEI_SEED)
        people = [
            (ctx.config.admin_email, "Operator Admin", Role.OPERATOR_ADMIN, None),
            ("ops@reponet.local", "Operator automation (demo, CLI)", Role.OPERATOR_ADMIN, OPS_USER),
            ("compliance@reponet.local", "Compliance automation (demo, CLI)", Role.COMPLIANCE_OFFICER, COMPLIANCE_USER),
        ]
        try:
            for email, full_name, role, key in people:
                password = secrets.token_urlsafe(18)
                with gw_ctx.sessions() as session:
                    bootstrap_operator(
                        gw_ctx,
                        session,
                        name="RepoNet Operator",
                        lei=lei,
                        jurisdiction="GB",
                        email=email,
                        full_name=full_name,
                        password=password,
                        role=role,
                    )
                if key is None:
                    ctx.dir.secret("admin-initial-password", lambda p=password: p)
                    ctx.state.admin_email = email
                else:
                    automation[key] = Credentials(email=email, password=password).__dict__
            ctx.dir.write_json_secret(AUTOMATION_FILE, automation)
        finally:
            gw_ctx.engine.dispose()
        ctx.save("users")
        ctx.step("gateway database", f"migrated; operator admin {ctx.state.admin_email} and two service users")

    def start_gateway(self) -> Child:
        ctx, s = self.ctx, self.ctx.state
        child = ctx.supervisor.start(
            "gateway",
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "gateway",
                "run",
                "--host",
                s.gateway_host,
                "--port",
                str(s.gateway_port),
            ],
            ctx.dir.logs / "gateway.log",
            env={**os.environ, **self.gateway_env()},
        )

        def ready() -> bool:
            if not ctx.dir.tls_cert.exists():
                return False
            gw = Gateway(s.gateway_url, ctx.dir.tls_cert, timeout=5)
            try:
                gw.get("/readyz")
                return True
            finally:
                gw.close()

        ctx.supervisor.wait_until(child, ready, GATEWAY_READY_SECONDS, "HTTPS /readyz")
        ctx.step("gateway started", f"{s.gateway_url} (self-signed TLS {ctx.dir.tls_cert}), pid {child.process.pid}")
        return child

    def list_instruments(self) -> None:
        """List the cash token and the bonds for trading, once the gateway has the instruments endpoint."""
        ctx = self.ctx
        if ctx.state.done("instruments"):
            return
        from gateway.ops.network import Network

        net = Network(ctx.dir.path)
        try:
            paths = net.gateway.get("/openapi.json").get("paths", {})
            if "/v1/operator/instruments" not in paths:
                return
            ops = net.session(OPS_USER)
            listed = {str(i["address"]).lower() for i in ops.every("/v1/instruments")}
            for kind, tokens in (("cash", ctx.state.cash_tokens), ("bond", ctx.state.bonds)):
                for t in tokens:
                    if t.address.lower() not in listed:
                        ops.post("/v1/operator/instruments", body={"address": t.address, "kind": kind})
        finally:
            net.close()
        ctx.save("instruments")
        ctx.step(
            "instruments listed for trading", ", ".join(t.symbol for t in [*ctx.state.cash_tokens, *ctx.state.bonds])
        )

    def enroll(self) -> None:
        ctx = self.ctx
        if ctx.state.done("enrolled"):
            return
        gw = Gateway(ctx.state.gateway_url, ctx.dir.tls_cert)
        try:
            automation = ctx.dir.read_json_secret(AUTOMATION_FILE)
            for key in (OPS_USER, COMPLIANCE_USER):
                creds = Credentials(**automation[key])
                if creds.totp_secret and creds.refresh_token:
                    continue
                session = UserSession(gw, creds)
                session.enroll()
                session.confirm()
                automation[key] = creds.__dict__
                ctx.dir.write_json_secret(AUTOMATION_FILE, automation)
            password = ctx.dir.secret("admin-initial-password")
            enrollment = gw.post("/v1/auth/enroll", body={"email": ctx.state.admin_email, "password": password})
        finally:
            gw.close()
        ctx.save("enrolled")
        (ctx.dir.secrets / "admin-initial-password").unlink()
        ctx.step("operator admin created", "one-time password and TOTP enrolment below (shown once)")
        ctx.printouts.append(admin_banner(ctx.state, password, enrollment))
