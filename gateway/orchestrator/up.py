"""The steps of ``reponet up``, each skipped when the state file says it is done, then supervision.

The node and the gateway run as child processes (the gateway as ``python -m gateway.cli gateway run``): one
supervisor treats both alike (logs, readiness, crash report, ordered stop), the gateway keeps its own uvicorn
signal handling, and ``up`` itself never imports ``node`` or serves requests.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount
from rich.console import Console
from web3 import Web3

from gateway.ops.chain import connect, ensure_gas, price_to_raw, send
from gateway.ops.client import Credentials, Gateway, UserSession
from gateway.ops.network import AUTOMATION_FILE, COMPLIANCE_USER, OPS_USER
from gateway.orchestrator.state import DataDir, TokenInfo, UpState, write_private
from gateway.orchestrator.supervisor import Child, Supervisor

DEFAULT_CHAIN_ID = 1337
DEFAULT_GAS_LIMIT = 60_000_000
OPERATOR_LEI_SEED = "RPNOPERATOR0000000"
ADMIN_EMAIL = "admin@reponet.local"
CASH = TokenInfo(symbol="rUSD", address="", decimals=6, currency="USD")
BONDS = (
    ("RepoNet Govt 4.25% 2032", TokenInfo(symbol="GOV32", address="", decimals=6, isin="XS0000000132"), 425, 2032),
    ("RepoNet Corp 2.50% 2030", TokenInfo(symbol="CORP30", address="", decimals=6, isin="XS0000000230"), 250, 2030),
)
NODE_READY_SECONDS = 60.0
MAX_API_WORKERS = 2


def default_api_workers(environ: Mapping[str, str] = os.environ) -> int:
    """HTTP workers of the gateway ``reponet up`` starts (``REPONET_API_WORKERS`` overrides). Its database is
    SQLite in WAL mode, where readers in every process never wait and the one writer at a time is mostly the
    background process (relayer, indexer), so reads scale with processes up to the cores; the workers run niced
    and settlement runs once, in its own process at normal priority, so reads cannot take the CPU the relayer and
    the node need. What does not scale is in-memory rate limiting: each worker then gets only its share of every
    limit (gateway.ratelimit), and the sign-in limit (10 a minute per address) halved is tighter than onboarding a
    desk from one address. So: one worker per core, at most two, when the limits have a shared store
    (``REPONET_RATE_LIMIT_STORAGE_URL``, e.g. Redis); one worker otherwise."""
    shared = not environ.get("REPONET_RATE_LIMIT_STORAGE_URL", "memory://").startswith("memory://")
    return max(1, min(MAX_API_WORKERS, os.cpu_count() or 1)) if shared else 1


GATEWAY_READY_SECONDS = 90.0


class UpError(Exception):
    """A step failed in a way the user can fix (message says how)."""


class NotAvailable(UpError):
    """A requested feature has not landed yet."""


@dataclass(frozen=True)
class UpConfig:
    data_dir: Path
    node_host: str | None
    node_port: int | None
    gateway_host: str | None
    gateway_port: int | None
    rpc_url: str | None
    operator_key: str | None
    validators: int
    validators_given: bool
    block_time: float
    chain_id: int
    admin_email: str
    rpc_token: str | None = None  # an external chain's JSON-RPC token; a managed node's come from its own key


def _bin(name: str) -> str:
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise UpError(f"{name} is not installed (run scripts/setup)")
    return found


def _rpc(url: str, method: str, params: list[Any] | None = None, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
    answer = httpx.post(url, json=body, headers=headers, timeout=10).json()
    if "error" in answer:
        raise UpError(f"{method}: {answer['error'].get('message')}")
    return answer["result"]


class Up:
    def __init__(self, config: UpConfig, console: Console) -> None:
        self.config = config
        self.console = console
        self.dir = DataDir(config.data_dir)
        self.supervisor = Supervisor(self.dir.path / "run.json")
        self.first_run = not self.dir.exists()
        self.state = UpState() if self.first_run else self.dir.load()
        self._step = 0
        self.printouts: list[str] = []
        self._gateway_token: str | None = None

    # --- output -------------------------------------------------------------------------------------------------
    def step(self, title: str, detail: str = "") -> None:
        self._step += 1
        self.console.print(f"[green]✓[/green] [bold]{title}[/bold]" + (f"  [dim]{detail}[/dim]" if detail else ""))

    def save(self, done: str | None = None) -> None:
        if done and done not in self.state.steps_done:
            self.state.steps_done.append(done)
        self.dir.save(self.state)

    # --- configuration ------------------------------------------------------------------------------------------
    def configure(self) -> None:
        c, s = self.config, self.state
        if self.first_run:
            s.managed_node = c.rpc_url is None
            s.chain_id = c.chain_id
            s.validators = c.validators if s.managed_node else 0
        elif c.rpc_url is not None and s.managed_node:
            raise UpError(f"{self.dir.path} runs its own node; --rpc-url needs a fresh --data-dir")
        elif c.validators_given and c.validators != s.validators:
            raise UpError(f"{self.dir.path} holds a {s.validators}-validator network; use a fresh --data-dir")
        if s.validators > 1:
            self._check_network_command()
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
            if not _port_free(host, port):
                raise UpError(f"{host}:{port} is in use: is another `reponet up` running? (or choose other ports)")
        self.dir.create()
        self.operator = self.dir.account("operator", c.operator_key)
        self.issuer = self.dir.account("issuer")
        s.operator_address, s.issuer_address = self.operator.address, self.issuer.address
        self.save()
        self.step("data directory", f"{self.dir.path.resolve()} ({'new' if self.first_run else 'resuming'})")

    def _check_network_command(self) -> None:
        probe = subprocess.run([_bin("reponet-node"), "network", "--help"], capture_output=True, timeout=60)
        if probe.returncode != 0:
            raise NotAvailable(
                "--validators N needs `reponet-node network` (the QBFT issue), which this install does not have; "
                "run without --validators for a single-validator node"
            )

    # --- node ---------------------------------------------------------------------------------------------------
    def init_node(self) -> None:
        if not self.state.managed_node or self.state.validators > 1 or (self.dir.node / "chain.sqlite").exists():
            return  # a QBFT network is initialised by `reponet-node network` itself
        self.dir.secret("validator.key")  # created here, read by `reponet-node init` from its owner-only file
        self.dir.secret("node-password")
        genesis = {
            "config": {"chainId": self.state.chain_id, "qbft": {"blockperiodseconds": 1}},
            "gasLimit": hex(DEFAULT_GAS_LIMIT),
            "timestamp": hex(int(time.time())),
            "extraData": "0x",
            "alloc": {},
        }
        self.dir.genesis.write_text(json.dumps(genesis, indent=2) + "\n")
        result = subprocess.run(
            [
                _bin("reponet-node"),
                "init",
                "--data-dir",
                str(self.dir.node),
                "--genesis",
                str(self.dir.genesis),
                "--validator-key",
                str(self.dir.secrets / "validator.key"),
                "--password-file",
                str(self.dir.secrets / "node-password"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise UpError(f"reponet-node init failed ({result.returncode}): {result.stderr.strip()}")
        self.step("genesis and validator key", f"chain id {self.state.chain_id}, {self.dir.genesis}")

    def start_node(self) -> Child | None:
        s = self.state
        if not s.managed_node:
            w3 = connect(s.rpc_url, token=self.config.rpc_token)
            try:
                chain_id = w3.eth.chain_id
            except Exception as exc:
                raise UpError(f"cannot reach the chain at {s.rpc_url}: {exc}") from exc
            s.chain_id = chain_id
            self.save()
            self.step("using an existing chain", f"{s.rpc_url}, chain id {chain_id}")
            return None
        if s.validators > 1:
            return self._start_network()
        child = self.supervisor.start(
            "node",
            [
                _bin("reponet-node"),
                "run",
                "--data-dir",
                str(self.dir.node),
                "--password-file",
                str(self.dir.secrets / "node-password"),
                "--rpc-host",
                s.node_host,
                "--rpc-port",
                str(s.node_port),
                "--block-time",
                str(self.config.block_time),
                *self._system_senders(),
            ],
            self.dir.logs / "node.log",
        )
        self.supervisor.wait_until(
            child, lambda: self._rpc("eth_chainId") is not None, NODE_READY_SECONDS, "JSON-RPC eth_chainId"
        )
        head = int(self._rpc("eth_blockNumber"), 16)
        self.step("node started", f"JSON-RPC {s.rpc_url}, head {head}, pid {child.process.pid}")
        return child

    def _start_network(self) -> Child:
        s = self.state
        network_dir = self.dir.path / "network"
        argv = [
            _bin("reponet-node"),
            "network",
            "--data-dir",
            str(network_dir),
            "--validators",
            str(s.validators),
            "--base-port",
            str(s.node_port),
            "--rpc-host",
            s.node_host,
            "--chain-id",
            str(s.chain_id),
            "--accounts",
            "0",
            "--period",
            str(max(1.0, self.config.block_time)),
            *self._system_senders(),
        ]
        if not (network_dir / "network.json").exists():
            # Only at creation: on a resumed network, `network --allow` also globs node*.log (a node CLI bug),
            # and AccountRules governs anyway once permissioning is set.
            argv += ["--allow", self.operator.address, self.issuer.address]
        child = self.supervisor.start("network", argv, self.dir.logs / "network.log")

        def ready() -> bool:
            peers = int(self._rpc("net_peerCount"), 16)
            return peers >= s.validators - 1

        self.supervisor.wait_until(child, ready, NODE_READY_SECONDS * 2, "every validator peered")
        head = int(self._rpc("eth_blockNumber"), 16)
        urls = ", ".join(url for url, _ in self._admin_endpoints())
        self.step(
            f"QBFT network of {s.validators} validators started",
            f"JSON-RPC {urls}, head {head}, logs {network_dir}/node*.log",
        )
        return child

    def _rpc(self, method: str, params: list[Any] | None = None) -> Any:
        """A call to the managed node as its operator (the node requires a token; the operator's is in its dir)."""
        return _rpc(self.state.rpc_url, method, params, self.dir.operator_rpc_token(self.state))

    def _system_senders(self) -> list[str]:
        """The accounts whose transactions keep a reserved part of the node's pool: settlement never waits."""
        relayer = self.dir.account("relayer")
        return ["--txpool-system-senders", self.operator.address, self.issuer.address, relayer.address]

    def gateway_rpc_token(self) -> str | None:
        """A JSON-RPC token for the gateway: read and send, and the traces that explain a failed step; never
        administration. Minted at every start (30 days), from the managed node's token key."""
        if not self.state.managed_node:
            return self.config.rpc_token
        if self._gateway_token is None:
            result = subprocess.run(
                [
                    _bin("reponet-node"),
                    "token",
                    "issue",
                    "--key",
                    str(self.dir.node_token_key(self.state)),
                    "--subject",
                    "gateway",
                    "--methods",
                    "eth,net,web3,debug:traceTransaction",
                    "--expires",
                    "30d",
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            if result.returncode != 0:
                raise UpError(f"reponet-node token issue failed ({result.returncode}): {result.stderr.strip()}")
            self._gateway_token = result.stdout.strip()
        return self._gateway_token

    def _admin_endpoints(self) -> list[tuple[str, Path]]:
        """Every node's JSON-RPC URL and admin-token file (operator methods go to each node)."""
        s = self.state
        if s.validators <= 1:
            return [(s.rpc_url, self.dir.node / "admin.token")]
        network = json.loads((self.dir.path / "network" / "network.json").read_text())
        return [
            (f"http://{s.node_host}:{s.node_port + i}", self.dir.path / "network" / node["dir"] / "admin.token")
            for i, node in enumerate(network["nodes"])
        ]

    def _admin_all(self, method: str, params: list[Any]) -> None:
        for url, token_file in self._admin_endpoints():
            _rpc(url, method, params, token_file.read_text().strip())

    # --- contracts ----------------------------------------------------------------------------------------------
    def deploy(self) -> None:
        from contracts.deploy import contract, deploy_bond_token, deploy_cash_token, deploy_system

        s = self.state
        w3 = connect(s.rpc_url, timeout=120, token=self.dir.operator_rpc_token(s) or self.config.rpc_token)
        if s.managed_node and not s.done("permissioning"):
            for account in (self.operator, self.issuer):
                self._admin_all("reponet_addToAllowlist", [account.address])
        if not s.managed_node:
            if not self.config.operator_key and w3.eth.get_balance(self.operator.address) == 0 and _charges(w3):
                raise UpError("this chain charges gas: pass --operator-key with a funded key (e.g. Anvil's first)")
            ensure_gas(w3, self.operator, self.issuer.address)
        if not s.done("system"):
            addresses = deploy_system(w3, self.operator, system_accounts=[self.issuer.address])
            s.contracts = addresses.as_dict()
            self.save("system")
        if not s.done("assets"):
            registry = s.contracts["identity_registry"]
            if not s.cash_tokens:
                cash = TokenInfo(**{**CASH.__dict__})
                cash.address = deploy_cash_token(
                    w3,
                    self.issuer,
                    registry=registry,
                    name="RepoNet USD deposit",
                    symbol=cash.symbol,
                    currency=cash.currency,
                    decimals=cash.decimals,
                )
                s.cash_tokens = [cash]
                self.save()
            for name, template, coupon_bps, year in BONDS:
                if any(b.symbol == template.symbol for b in s.bonds):
                    continue
                bond = TokenInfo(**{**template.__dict__})
                maturity = int(time.mktime((year, 12, 7, 0, 0, 0, 0, 0, 0)))
                bond.address = deploy_bond_token(
                    w3,
                    self.issuer,
                    registry=registry,
                    name=name,
                    symbol=bond.symbol,
                    isin=bond.isin,
                    decimals=bond.decimals,
                    coupon_rate=coupon_bps * 10**14,
                    maturity=maturity,
                )
                s.bonds.append(bond)
                self.save()
            oracle = contract(w3, "PriceOracle", s.contracts["price_oracle"])
            feeder = oracle.functions.FEEDER_ROLE().call()
            if not oracle.functions.hasRole(feeder, self.issuer.address).call():
                send(w3, self.operator, oracle.functions.grantRole(feeder, self.issuer.address), "oracle: feeder")
            cash = s.cash_tokens[0]
            for bond in s.bonds:
                raw = price_to_raw("100", bond.decimals, cash.decimals)
                send(w3, self.issuer, oracle.functions.setPrice(bond.address, cash.address, raw), "initial price")
            self.save("assets")
        if not s.done("relayer"):
            self._wire_relayer(w3)
            self.save("relayer")
        names = ", ".join(f"{k}={v}" for k, v in s.contracts.items() if k in ("repo_engine", "identity_registry"))
        tokens = ", ".join(t.symbol for t in [*s.cash_tokens, *s.bonds])
        self.step("system contracts", f"{names}; tokens {tokens}")

    def _wire_relayer(self, w3: Web3) -> None:
        """The gateway's settlement relayer: its own key (own nonce sequence), a system account on the node,
        issuer and pauser of every token, price feeder, pauser of the engine."""
        from contracts.deploy import contract

        s, relayer = self.state, self.dir.account("relayer")
        s.relayer_address = relayer.address
        ensure_gas(w3, self.operator, relayer.address)
        rules = contract(w3, "AccountRules", s.contracts["account_rules"])
        if not rules.functions.isSystemAccount(relayer.address).call():
            send(w3, self.operator, rules.functions.setSystemAccount(relayer.address, True), "rules: relayer")
        grants: list[tuple[LocalAccount, Any, str]] = []
        for t in [*s.cash_tokens, *s.bonds]:
            token = contract(w3, "CashToken", t.address)
            grants += [(self.issuer, token, "ISSUER_ROLE"), (self.issuer, token, "PAUSER_ROLE")]
        grants.append((self.operator, contract(w3, "PriceOracle", s.contracts["price_oracle"]), "FEEDER_ROLE"))
        grants.append((self.operator, contract(w3, "RepoEngine", s.contracts["repo_engine"]), "PAUSER_ROLE"))
        for granter, target, role_name in grants:
            role = getattr(target.functions, role_name)().call()
            if not target.functions.hasRole(role, relayer.address).call():
                send(w3, granter, target.functions.grantRole(role, relayer.address), f"relayer: {role_name}")

    def permission(self) -> None:
        s = self.state
        if not s.managed_node:
            self.step(
                "node permissioning",
                "external chain: point its account permissioning at "
                f"AccountRules {s.contracts['account_rules']} yourself (Besu: "
                "--permissions-accounts-contract-enabled --permissions-accounts-contract-address)",
            )
            return
        rules = s.contracts["account_rules"]
        for url, token_file in self._admin_endpoints():
            current = _rpc(url, "reponet_permissioning", None, token_file.read_text().strip())
            if str(current.get("accountRules") or "").lower() != rules.lower():
                _rpc(url, "reponet_setAccountRules", [rules], token_file.read_text().strip())
        self.save("permissioning")
        nodes = len(self._admin_endpoints())
        self.step("node permissioning", f"{'every node asks' if nodes > 1 else 'asks'} AccountRules {rules}")

    # --- gateway ------------------------------------------------------------------------------------------------
    def gateway_env(self) -> dict[str, str]:
        s = self.state
        origin = f"{s.gateway_host}:{s.gateway_port}"
        return {
            "REPONET_ENVIRONMENT": "production",
            "REPONET_DATA_DIR": str(self.dir.gateway.resolve()),
            "REPONET_DATABASE_URL": self.dir.database_url,
            "REPONET_JWT_SECRET": self.dir.secret("jwt-secret"),
            "REPONET_MASTER_KEY_FILE": str((self.dir.secrets / "master-keys.json").resolve()),
            "REPONET_PUBLIC_ORIGIN": f"https://{origin}",
            "REPONET_SIWE_DOMAIN": origin,
            "REPONET_CHAIN_RPC_URL": s.rpc_url,
            **({"REPONET_CHAIN_RPC_TOKEN": token} if (token := self.gateway_rpc_token()) else {}),
            "REPONET_CHAIN_ID": str(s.chain_id),
            "REPONET_CHAIN_PRIVATE_KEY": self.dir.secret("operator.key"),
            "REPONET_IDENTITY_REGISTRY_ADDRESS": s.contracts["identity_registry"],
            "REPONET_AUDIT_ANCHOR_ADDRESS": s.contracts["audit_anchor"],
            "REPONET_ANCHOR_INTERVAL_SECONDS": "5",
            # trading and settlement (Gateway II): the engine, the oracle and the relayer's own key
            "REPONET_REPO_ENGINE_ADDRESS": s.contracts["repo_engine"],
            "REPONET_PRICE_ORACLE_ADDRESS": s.contracts["price_oracle"],
            "REPONET_RELAYER_PRIVATE_KEY": self.dir.secret("relayer.key"),
            "REPONET_API_WORKERS": os.environ.get("REPONET_API_WORKERS", str(default_api_workers())),
        }

    def prepare_gateway(self) -> None:
        from gateway.app import build_context
        from gateway.chain.base import NullChain
        from gateway.config import Settings
        from gateway.db.migrate import upgrade
        from gateway.db.models import Role
        from gateway.members.service import bootstrap_operator
        from gateway.members.validation import lei_with_check_digits

        env = self.gateway_env()
        write_private(self.dir.env_file, "".join(f"{k}={v}\n" for k, v in env.items()))
        values: dict[str, Any] = {k.removeprefix("REPONET_").lower(): v for k, v in env.items()}
        settings = Settings(**values)
        upgrade(settings.database_url)
        if self.state.done("users"):
            self.step("gateway database", "migrated")
            return
        ctx = build_context(settings, chain=NullChain())
        automation = self.dir.read_json_secret(AUTOMATION_FILE)
        lei = lei_with_check_digits(OPERATOR_LEI_SEED)
        people = [
            (self.config.admin_email, "Operator Admin", Role.OPERATOR_ADMIN, None),
            ("ops@reponet.local", "Operator automation (demo, CLI)", Role.OPERATOR_ADMIN, OPS_USER),
            ("compliance@reponet.local", "Compliance automation (demo, CLI)", Role.COMPLIANCE_OFFICER, COMPLIANCE_USER),
        ]
        try:
            for email, full_name, role, key in people:
                password = secrets.token_urlsafe(18)
                with ctx.sessions() as session:
                    bootstrap_operator(
                        ctx,
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
                    self.dir.secret("admin-initial-password", lambda p=password: p)
                    self.state.admin_email = email
                else:
                    automation[key] = Credentials(email=email, password=password).__dict__
            self.dir.write_json_secret(AUTOMATION_FILE, automation)
        finally:
            ctx.engine.dispose()
        self.save("users")
        self.step("gateway database", f"migrated; operator admin {self.state.admin_email} and two service users")

    def start_gateway(self) -> Child:
        s = self.state
        child = self.supervisor.start(
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
            self.dir.logs / "gateway.log",
            env={**os.environ, **self.gateway_env()},
        )

        def ready() -> bool:
            if not self.dir.tls_cert.exists():
                return False
            gw = Gateway(s.gateway_url, self.dir.tls_cert, timeout=5)
            try:
                gw.get("/readyz")
                return True
            finally:
                gw.close()

        self.supervisor.wait_until(child, ready, GATEWAY_READY_SECONDS, "HTTPS /readyz")
        self.step("gateway started", f"{s.gateway_url} (self-signed TLS {self.dir.tls_cert}), pid {child.process.pid}")
        return child

    def list_instruments(self) -> None:
        """List the cash token and the bonds for trading, once the gateway has the instruments endpoint."""
        if self.state.done("instruments"):
            return
        from gateway.ops.network import Network

        net = Network(self.dir.path)
        try:
            paths = net.gateway.get("/openapi.json").get("paths", {})
            if "/v1/operator/instruments" not in paths:
                return
            ops = net.session(OPS_USER)
            listed = {str(i["address"]).lower() for i in ops.get("/v1/instruments")}
            for kind, tokens in (("cash", self.state.cash_tokens), ("bond", self.state.bonds)):
                for t in tokens:
                    if t.address.lower() not in listed:
                        ops.post("/v1/operator/instruments", body={"address": t.address, "kind": kind})
        finally:
            net.close()
        self.save("instruments")
        self.step(
            "instruments listed for trading", ", ".join(t.symbol for t in [*self.state.cash_tokens, *self.state.bonds])
        )

    def enroll(self) -> None:
        if self.state.done("enrolled"):
            return
        gw = Gateway(self.state.gateway_url, self.dir.tls_cert)
        try:
            automation = self.dir.read_json_secret(AUTOMATION_FILE)
            for key in (OPS_USER, COMPLIANCE_USER):
                creds = Credentials(**automation[key])
                if creds.totp_secret and creds.refresh_token:
                    continue
                session = UserSession(gw, creds)
                session.enroll()
                session.confirm()
                automation[key] = creds.__dict__
                self.dir.write_json_secret(AUTOMATION_FILE, automation)
            password = self.dir.secret("admin-initial-password")
            enrollment = gw.post("/v1/auth/enroll", body={"email": self.state.admin_email, "password": password})
        finally:
            gw.close()
        self.save("enrolled")
        (self.dir.secrets / "admin-initial-password").unlink()
        self.step("operator admin created", "one-time password and TOTP enrolment below (shown once)")
        self.printouts.append(admin_banner(self.state, password, enrollment))


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _charges(w3: Web3) -> bool:
    return int(w3.eth.get_block("latest").get("baseFeePerGas", 0)) > 0


def qr_text(data: str) -> str:
    import qrcode

    qr = qrcode.QRCode(border=1)
    qr.add_data(data)
    out = io.StringIO()
    qr.print_ascii(out=out, invert=True)
    return out.getvalue()


def admin_banner(state: UpState, password: str, enrollment: dict[str, Any]) -> str:
    uri = enrollment["provisioning_uri"]
    codes = " ".join(enrollment.get("recovery_codes", []))
    return (
        f"Operator admin: {state.admin_email}\n"
        f"One-time password: {password}\n"
        f"TOTP secret: {enrollment['totp_secret']}\n"
        f"TOTP URI: {uri}\n"
        f"{qr_text(uri)}"
        f"Recovery codes: {codes}\n"
        "Scan the code with an authenticator app, then confirm the enrolment with a current code:\n"
        f"  curl --cacert <data-dir>/gateway/tls/tls-cert.pem -X POST {state.gateway_url}/v1/auth/enroll/confirm \\\n"
        "    -H 'Content-Type: application/json' \\\n"
        f'    -d \'{{"email": "{state.admin_email}", "password": "<one-time password>",'
        ' "totp_code": "123456"}\'\n'
        "and change the password (POST /v1/auth/password)."
    )


def urls_banner(state: UpState, data_dir: Path) -> str:
    s = state
    lines = [
        f"Gateway API   {s.gateway_url}  (OpenAPI docs {s.gateway_url}/docs; health /healthz, /readyz; /metrics)",
        f"JSON-RPC      {s.rpc_url}"
        + (
            f"  (node metrics http://{s.node_host}:{s.node_port}/metrics, with the operator token in node/admin.token)"
            if s.managed_node
            else ""
        ),
        f"Chain id      {s.chain_id}",
        "Contracts     " + ", ".join(f"{k} {v}" for k, v in s.contracts.items()),
        "Cash          " + ", ".join(f"{t.symbol} {t.address}" for t in s.cash_tokens),
        "Bonds         " + ", ".join(f"{t.symbol} ({t.isin}) {t.address}" for t in s.bonds),
        f"Data          {data_dir.resolve()}  (logs in logs/)",
        f"Next          reponet demo --data-dir {data_dir}    reponet status --data-dir {data_dir}",
    ]
    return "\n".join(lines)
