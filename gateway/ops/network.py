"""A running network found from its ``reponet up`` data directory: gateway sessions, chain, keys."""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict
from functools import cached_property
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from gateway.datadir import DEFAULT_DATA_DIR, DataDir, UpState
from gateway.ops.chain import connect
from gateway.ops.client import Credentials, Gateway, UserSession

AUTOMATION_FILE = "automation.json"
# The local service users ``up`` creates for the demo and the operator CLI (their secrets live in the data dir).
OPS_USER = "ops"
COMPLIANCE_USER = "compliance"


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    """``--data-dir``, the flag by which ``up``, ``demo`` and the operator commands find the network."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"the network's data directory (default: {DEFAULT_DATA_DIR})",
    )


class Network:
    def __init__(self, data_dir: Path, gateway_url: str | None = None, rpc_url: str | None = None) -> None:
        self.dir = DataDir(data_dir)
        self.state: UpState = self.dir.load()
        self.gateway_url = gateway_url or self.state.gateway_url
        self.rpc_url = rpc_url or self.state.rpc_url

    @cached_property
    def gateway(self) -> Gateway:
        ca = self.dir.tls_cert if self.dir.tls_cert.exists() else None
        return Gateway(self.gateway_url, ca)

    @cached_property
    def rpc_token(self) -> str | None:
        """The operator's JSON-RPC token of the managed node (the ops commands run as the operator), or the
        environment's REPONET_CHAIN_RPC_TOKEN for an external chain."""
        return self.dir.operator_rpc_token(self.state) or os.environ.get("REPONET_CHAIN_RPC_TOKEN")

    @cached_property
    def w3(self) -> Web3:
        return connect(self.rpc_url, token=self.rpc_token)

    @property
    def operator(self) -> LocalAccount:
        return self.dir.account("operator")

    @property
    def issuer(self) -> LocalAccount:
        return self.dir.account("issuer")

    @property
    def feeder(self) -> LocalAccount:
        """The oracle feeder's key (FEEDER_ROLE only)."""
        return self.dir.account("oracle-feeder")

    def session(self, name: str) -> UserSession:
        """The automation user ``name`` (``ops`` or ``compliance``), its tokens cached in the data dir."""
        stored = self.dir.read_json_secret(AUTOMATION_FILE)
        if name not in stored:
            raise KeyError(f"no automation user {name!r} in {self.dir.secrets / AUTOMATION_FILE}")
        creds = Credentials(**stored[name])

        def save(changed: Credentials) -> None:
            data = self.dir.read_json_secret(AUTOMATION_FILE)
            data[name] = asdict(changed)
            self.dir.write_json_secret(AUTOMATION_FILE, data)

        return UserSession(self.gateway, creds, save)

    def close(self) -> None:
        if "gateway" in self.__dict__:
            self.gateway.close()

    def contract_address(self, name: str) -> str:
        return self.state.contracts[name]

    def describe(self) -> dict[str, Any]:
        return {"gateway": self.gateway_url, "rpc": self.rpc_url, "chain_id": self.state.chain_id}
