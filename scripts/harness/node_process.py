"""Real ``reponet-node`` processes for the node's unit tests, and a minimal JSON-RPC client."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_abi.abi import encode
from eth_account import Account
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

NODE = [sys.executable, "-m", "node.cli"]
DEV_KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
]
CHAIN_ID = 1337


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RpcFailure(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.error = error
        self.code = error.get("code")


@dataclass
class NodeProcess:
    data_dir: Path
    port: int
    proc: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    token: str | None = None  # sent as a bearer token unless a request brings its own Authorization

    def operator_token(self) -> str:
        """The node's own operator token (``admin.token``, written at every start)."""
        return (self.data_dir / "admin.token").read_text().strip()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def post(self, payload: Any, headers: dict[str, str] | None = None, raw: bytes | None = None) -> Any:
        body = raw if raw is not None else json.dumps(payload).encode()
        auth = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json", **auth, **(headers or {})}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            if error.code != 401:
                raise
            text = error.read()  # the JSON-RPC error of an unauthenticated request
        return json.loads(text) if text else None

    def call(self, method: str, *params: Any, headers: dict[str, str] | None = None) -> Any:
        response = self.post({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, headers)
        if "error" in response:
            raise RpcFailure(response["error"])
        return response["result"]

    def wait_receipt(self, tx_hash: str, timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            receipt = self.call("eth_getTransactionReceipt", tx_hash)
            if receipt is not None:
                return receipt  # type: ignore[no-any-return]
            time.sleep(0.05)
        raise TimeoutError(tx_hash)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def start_node(
    data_dir: Path,
    *extra: str,
    command: str = "dev",
    port: int | None = None,
    env: dict[str, str] | None = None,
    wait: bool = True,
) -> NodeProcess:
    """Start a node; without ``port`` it binds port 0 and the port is read back from its "listening on" line, so
    two tests never race for a port picked free."""
    port = port or 0
    args = [*NODE, command, "--data-dir", str(data_dir), "--rpc-port", str(port), *extra]
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=Path(__file__).resolve().parents[2],
    )
    node = NodeProcess(data_dir, port, proc)
    if not wait:
        return node
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("node exited:\n" + "".join(node.output))
        node.output.append(line)
        if line.startswith("listening on"):
            import threading

            node.port = int(line.rsplit(":", 1)[1])
            if command == "run":  # authentication is on: the tests act as the node's operator
                node.token = node.operator_token()

            def pump() -> None:
                assert proc.stdout is not None
                for rest in proc.stdout:
                    node.output.append(rest)

            threading.Thread(target=pump, daemon=True).start()
            return node
    raise TimeoutError("node did not start")


def sign(key: str, **fields: Any) -> str:
    tx = {"chainId": CHAIN_ID, "gas": 100_000, "maxFeePerGas": 0, "maxPriorityFeePerGas": 0, "value": 0, **fields}
    if tx.get("to") is None:
        tx.pop("to", None)
    else:
        tx["to"] = to_checksum_address(tx["to"])
    if "gasPrice" in fields:
        tx.pop("maxFeePerGas")
        tx.pop("maxPriorityFeePerGas")
    return "0x" + bytes(Account.sign_transaction(tx, key).raw_transaction).hex()


def address_of(key: str) -> str:
    return str(Account.from_key(key).address)


def calldata(signature: str, types: list[str], values: list[Any]) -> str:
    return "0x" + (keccak(text=signature)[:4] + encode(types, values)).hex()


def deploy(node: NodeProcess, key: str, bytecode: str, args: bytes = b"", nonce: int | None = None) -> str:
    if nonce is None:
        nonce = int(node.call("eth_getTransactionCount", address_of(key), "pending"), 16)
    tx_hash = node.call(
        "eth_sendRawTransaction", sign(key, nonce=nonce, gas=2_000_000, to=None, data=bytecode + args.hex())
    )
    receipt = node.wait_receipt(tx_hash)
    assert receipt["status"] == "0x1", receipt
    return str(receipt["contractAddress"])
