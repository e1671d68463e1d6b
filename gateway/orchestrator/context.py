"""What every step of ``reponet up`` shares: the flags, the data directory and its state, the supervisor, output,
and the small process and JSON-RPC helpers the steps call."""

from __future__ import annotations

import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from gateway.datadir import DataDir, UpState
from gateway.orchestrator.accounts import ChainAccounts
from gateway.orchestrator.exceptions import UpError
from gateway.orchestrator.supervisor import Supervisor

DEFAULT_CHAIN_ID = 1337
ADMIN_EMAIL = "admin@reponet.local"
DEFAULT_ADMIN_DELAY = 24 * 3600


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
    block_time: float | None  # None: the mode's default (nodes.SINGLE_NODE_BLOCK_TIME, NETWORK_BLOCK_TIME)
    chain_id: int
    admin_email: str
    rpc_token: str | None = None  # an external chain's JSON-RPC token; a managed node's come from its own key
    admin_delay: int = DEFAULT_ADMIN_DELAY  # seconds an admin action waits between scheduling and execution
    replicas: int = 0  # API replicas behind HAProxy, with workers apart (0: the embedded gateway): .replicas
    database_url: str | None = None  # with replicas: the PostgreSQL every process shares
    broker_url: str | None = None  # with replicas: the event broker (redis://)


class UpContext:
    """One run of ``up``: the steps (node, deployment, gateway) read and record through it."""

    def __init__(self, config: UpConfig, console: Console) -> None:
        self.config = config
        self.console = console
        self.dir = DataDir(config.data_dir)
        self.supervisor = Supervisor(self.dir.path / "run.json")
        self.first_run = not self.dir.exists()
        self.state = UpState() if self.first_run else self.dir.load()
        self.printouts: list[str] = []
        self._accounts: ChainAccounts | None = None

    @property
    def accounts(self) -> ChainAccounts:
        """The chain accounts, created in the secrets dir on first use (after ``configure`` made the dir)."""
        if self._accounts is None:
            self._accounts = ChainAccounts.load(self.dir, self.config.operator_key)
        return self._accounts

    def step(self, title: str, detail: str = "") -> None:
        self.console.print(f"[green]✓[/green] [bold]{title}[/bold]" + (f"  [dim]{detail}[/dim]" if detail else ""))

    def save(self, done: str | None = None) -> None:
        if done and done not in self.state.steps_done:
            self.state.steps_done.append(done)
        self.dir.save(self.state)

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        """A call to the managed node as its operator (the node requires a token; the operator's is in its dir)."""
        return rpc(self.state.rpc_url, method, params, self.dir.operator_rpc_token(self.state))


def binary(name: str) -> str:
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise UpError(f"{name} is not installed (run scripts/setup)")
    return found


def rpc(url: str, method: str, params: list[Any] | None = None, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
    answer = httpx.post(url, json=body, headers=headers, timeout=10).json()
    if "error" in answer:
        raise UpError(f"{method}: {answer['error'].get('message')}")
    return answer["result"]


def port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
