"""The data directory of ``reponet up``, shared by ``up``, the operator commands and the demo: layout, the resumable
state file, and secrets in owner-only files.

Layout (``./.reponet`` by default)::

    state.json            what has been done: addresses, ports, users (no secrets), mode 0600
    secrets/              mode 0700; every file in it mode 0600
      operator.key        deployer: wires the contracts, hands admin to the AdminManager, then holds no role
      kyc-agent.key       IdentityRegistry KYC agent and compliance (the gateway's; also its fallback chain key)
      oracle-feeder.key   PriceOracle feeder
      issuer.key          cash and bond issuer (mint, burn)
      relayer.key         the gateway's settlement relayer (a sender; no contract role of its own)
      anchor.key          AuditAnchor anchorer
      guardian.key        pauser of the engine and every token, for emergencies (kept by the operator)
      admin-owner-N.key   the 2-of-3 AdminMultisig's owners (move each to its own person: contracts/CEREMONY.md)
      validator.key       the node's sealing key (when ``up`` runs the node)
      node-password       the node keystore's password
      jwt-secret          the gateway's token-signing secret
      master-keys.json    the gateway's envelope master keys
      automation.json     the local operator service users (password, TOTP secret) the demo and CLI log in as
      sessions.json       their cached gateway tokens
    node/                 the node's data directory
    gateway/              the gateway's database and TLS certificate
    logs/                 node.log, gateway.log
    run.json              pids of the running ``up``, node and gateway (removed on a clean stop)
    gateway.env           REPONET_* settings, for ``reponet keys rotate`` / ``audit verify`` (``set -a; . gateway.env``)
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from gateway.config import up_database_url

DEFAULT_DATA_DIR = Path(".reponet")
STATE_VERSION = 1


class DataDirError(Exception):
    """The data directory is unusable (unreadable state, foreign layout)."""


@dataclass
class TokenInfo:
    symbol: str
    address: str
    decimals: int
    isin: str = ""
    currency: str = ""


@dataclass
class UpState:
    """Everything a later run (and ``demo``, the operator CLI) needs to find the network again; no secrets."""

    version: int = STATE_VERSION
    chain_id: int = 0
    rpc_url: str = ""
    managed_node: bool = True
    validators: int = 1  # >1: a local QBFT network (``reponet-node network``); 0: an external chain
    node_host: str = "127.0.0.1"
    node_port: int = 8545
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8443
    operator_address: str = ""
    issuer_address: str = ""
    relayer_address: str = ""
    admin_delay: int = 0  # seconds between scheduling and executing an admin action (AdminManager)
    contracts: dict[str, str] = field(default_factory=dict)
    cash_tokens: list[TokenInfo] = field(default_factory=list)
    bonds: list[TokenInfo] = field(default_factory=list)
    admin_email: str = ""
    steps_done: list[str] = field(default_factory=list)

    @property
    def gateway_url(self) -> str:
        return f"https://{self.gateway_host}:{self.gateway_port}"

    def done(self, step: str) -> bool:
        return step in self.steps_done

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UpState:
        data = dict(data)
        data["cash_tokens"] = [TokenInfo(**t) for t in data.get("cash_tokens", [])]
        data["bonds"] = [TokenInfo(**t) for t in data.get("bonds", [])]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    tmp.replace(path)


@dataclass(frozen=True)
class DataDir:
    path: Path

    @property
    def state_file(self) -> Path:
        return self.path / "state.json"

    @property
    def secrets(self) -> Path:
        return self.path / "secrets"

    @property
    def node(self) -> Path:
        return self.path / "node"

    @property
    def gateway(self) -> Path:
        return self.path / "gateway"

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def genesis(self) -> Path:
        return self.path / "genesis.json"

    def node_admin_token(self, state: UpState) -> Path:
        """The managed node's own operator token (a network shares one key: node 0's token works on every node)."""
        if state.validators > 1:
            return self.path / "network" / "node0" / "admin.token"
        return self.node / "admin.token"

    def node_token_key(self, state: UpState) -> Path:
        """The key that signs the managed node's JSON-RPC tokens."""
        if state.validators > 1:
            return self.path / "network" / "rpc-jwt.pem"
        return self.node / "rpc-jwt.pem"

    def operator_rpc_token(self, state: UpState) -> str | None:
        """The operator's JSON-RPC token for the managed node (None for an external chain or before it starts)."""
        if not state.managed_node:
            return None
        try:
            return self.node_admin_token(state).read_text().strip() or None
        except FileNotFoundError:
            return None

    @property
    def env_file(self) -> Path:
        return self.path / "gateway.env"

    @property
    def tls_cert(self) -> Path:
        return self.gateway / "tls" / "tls-cert.pem"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{(self.gateway / 'gateway.db').resolve()}"

    def gateway_database_url(self) -> str:
        """The database the gateway uses (:func:`gateway.config.up_database_url`)."""
        return up_database_url(self.path)

    def create(self) -> None:
        for folder, mode in ((self.path, 0o700), (self.secrets, 0o700), (self.gateway, 0o700), (self.logs, 0o700)):
            folder.mkdir(parents=True, exist_ok=True)
            os.chmod(folder, mode)

    def exists(self) -> bool:
        return self.state_file.exists()

    def load(self) -> UpState:
        try:
            return UpState.from_json(json.loads(self.state_file.read_text()))
        except FileNotFoundError:
            raise DataDirError(f"{self.path} has no network yet: run `reponet up` first") from None
        except (OSError, ValueError, TypeError) as exc:
            raise DataDirError(f"cannot read {self.state_file}: {exc}") from exc

    def save(self, state: UpState) -> None:
        write_private(self.state_file, json.dumps(asdict(state), indent=2) + "\n")

    # secrets -------------------------------------------------------------------------------------
    def secret(self, name: str, make: Any = None) -> str:
        """The secret ``name``, created by ``make()`` (default: 32 random bytes in hex) on first use."""
        path = self.secrets / name
        if path.exists():
            return path.read_text().strip()
        value = make() if make is not None else secrets.token_hex(32)
        write_private(path, value + "\n")
        return str(value)

    def has_secret(self, name: str) -> bool:
        return (self.secrets / name).exists()

    def account(self, name: str, private_key: str | None = None) -> LocalAccount:
        """The key ``<name>.key`` (given, or new), as an eth-account signer."""
        key = self.secret(f"{name}.key", lambda: private_key or "0x" + secrets.token_hex(32))
        signer: LocalAccount = Account.from_key(key)
        return signer

    def read_json_secret(self, name: str) -> dict[str, Any]:
        path = self.secrets / name
        if not path.exists():
            return {}
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}

    def write_json_secret(self, name: str, data: dict[str, Any]) -> None:
        write_private(self.secrets / name, json.dumps(data, indent=2) + "\n")
