"""A QBFT network of real `reponet-node` processes on loopback for the fault tests (and bench_network.py).

Each node is its own process (`reponet-node run --test-faults`), so a test can kill, stop and restart any of
them; `Network.close` stops every process it started. `Load` sends transfers at a steady rate from several
dev accounts and records which ones a node acknowledged.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_account import Account

from node.rpc.auth import ensure_private_key, issue_token
from scripts.harness.chains import Rpc, RpcError

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 60.0
PORT_IN_USE = 5  # reponet-node's exit status when a port it must bind is taken
PORT_RETRIES = 5


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block(count: int) -> int:
    """A base port such that base .. base+count-1 are free (RPC) and base+100 .. (p2p) too."""
    for _ in range(200):
        base = random.randrange(20_000, 55_000)
        if all(_free(base + i) and _free(base + 100 + i) for i in range(count)):
            return base
    raise RuntimeError("no free port block")


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (RpcError, OSError, ValueError):
            pass
        except Exception as exc:  # requests' connection errors while a node restarts
            if "Connection" not in type(exc).__name__:
                raise
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Network:
    def __init__(
        self,
        root: Path,
        validators: int = 4,
        rpc_nodes: int = 0,
        period: float = 0.25,
        request_timeout: float = 0.5,
        epoch_length: int = 30_000,
        allow: tuple[str, ...] = (),
        log_level: str = "info",
    ) -> None:
        self.root = root
        self.total = validators + rpc_nodes
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        env = {**os.environ, "REPONET_NODE_PASSWORD": "qbft-test-password"}
        self.env = env
        self.log_level = log_level
        self._init_args = (validators, rpc_nodes, period, request_timeout, epoch_length, allow)
        self._launched = False  # once a node has run, the network keeps its p2p ports
        self.rpcs = [Rpc("http://127.0.0.1:0", timeout=10) for _ in range(self.total)]  # ports read at start
        self._init()

    def _init(self) -> None:
        """``reponet-node init`` of the whole network. Each node's RPC binds port 0 and the port is read back from
        its log; the p2p ports are in the network's files, so a p2p port taken before the first start makes the
        network start again on other ports (see :meth:`start`)."""
        validators, rpc_nodes, period, request_timeout, epoch_length, allow = self._init_args
        if hasattr(self, "summary"):  # again, after a p2p port was taken: the root holds only this network
            for child in self.root.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        self.base = free_port_block(self.total + 2)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "node.cli",
                "init",
                "--validators",
                str(validators),
                "--rpc-nodes",
                str(rpc_nodes),
                "--data-dir",
                str(self.root),
                "--base-port",
                str(self.base),
                "--period",
                str(period),
                "--request-timeout",
                str(request_timeout),
                "--epoch-length",
                str(epoch_length),
                "--accounts",
                "8",
                "--log-level",
                "warning",
                *(["--allow", *allow] if allow else []),
            ],
            check=True,
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            timeout=120,
        )
        self.summary = json.loads((self.root / "network.json").read_text())
        self.accounts = json.loads((self.root / "dev-accounts.json").read_text())
        # one operator key for the network (as `reponet-node network` does): the tests act as its operator
        self.key_file = self.root / "rpc-jwt.pem"
        self.token = issue_token(
            ensure_private_key(self.key_file), subject="tests", permissions=["*:*"], lifetime_seconds=86400
        )
        for rpc in self.rpcs:
            rpc._session.headers["Authorization"] = f"Bearer {self.token}"

    def address(self, i: int) -> str:
        return str(self.summary["nodes"][i]["address"])

    def data_dir(self, i: int) -> Path:
        return self.root / f"node{i}"

    def start(self, *nodes: int, extra: tuple[str, ...] = ()) -> None:
        targets = list(nodes or range(self.total))
        for attempt in range(PORT_RETRIES):
            offsets = {i: self._spawn(i, extra) for i in targets}
            taken = [i for i in targets if not self._wait_listening(i, offsets[i])]
            if not taken:
                break
            for i in targets:  # a p2p port was taken by another process before the node bound it
                if i in self.procs:
                    self.stop(i)
            if attempt == PORT_RETRIES - 1:
                raise AssertionError(f"p2p ports stayed taken:\n{self.log_tail(taken[0])}")
            if not self._launched:
                self._init()  # nothing ran yet: the whole network moves to other ports
            else:
                time.sleep(0.5)  # a restarted node keeps its port: wait for it to be free again
        self._launched = True
        for i in targets:
            self._wait_ready(i)

    def _spawn(self, i: int, extra: tuple[str, ...]) -> int:
        """Start node ``i`` on RPC port 0; returns its log's length before, where its "listening on" line follows."""
        path = self.root / f"node{i}.log"
        offset = path.stat().st_size if path.exists() else 0
        log = open(path, "ab")
        self.procs[i] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "node.cli",
                "run",
                "--data-dir",
                str(self.data_dir(i)),
                "--rpc-port",
                "0",
                "--test-faults",
                "--rpc-jwt-key",
                str(self.key_file),
                "--log-level",
                self.log_level,
                *extra,
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return offset

    def _wait_listening(self, i: int, offset: int) -> bool:
        """Read node ``i``'s RPC port from its log; False if it exited because a port was in use."""
        proc = self.procs[i]
        path = self.root / f"node{i}.log"
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            with open(path, "rb") as log:
                log.seek(offset)
                text = log.read().decode(errors="replace")
            for line in text.splitlines():
                if line.startswith("listening on "):
                    self.rpcs[i].url = "http://127.0.0.1:" + line.rsplit(":", 1)[1].strip()
                    return True
            if proc.poll() is not None:
                with open(path, "rb") as log:
                    log.seek(offset)
                    text = log.read().decode(errors="replace")
                if proc.returncode == PORT_IN_USE or "address already in use" in text:
                    self.procs.pop(i)
                    return False
                raise RuntimeError(f"node {i} exited ({proc.returncode}):\n{self.log_tail(i)}")
            time.sleep(0.05)
        raise AssertionError(f"node {i} did not listen within {READY_TIMEOUT}s:\n{self.log_tail(i)}")

    def _wait_ready(self, i: int) -> None:
        proc = self.procs[i]

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"node {i} exited ({proc.returncode}):\n{self.log_tail(i)}")
            return self.rpcs[i].call("eth_chainId") is not None

        try:
            wait_until(ready, READY_TIMEOUT, f"node {i} RPC")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- node{i}.log ---\n{self.log_tail(i)}") from None

    def log_tail(self, i: int, lines: int = 40) -> str:
        path = self.root / f"node{i}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"

    def kill(self, i: int) -> None:
        proc = self.procs.pop(i)
        proc.kill()
        proc.wait(timeout=10)

    def stop(self, i: int) -> None:
        proc = self.procs.pop(i)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def close(self) -> None:
        for i in list(self.procs):
            self.stop(i)
        for rpc in self.rpcs:
            rpc.close()

    def admin(self, i: int, method: str, *params: Any) -> Any:
        token = (self.data_dir(i) / "admin.token").read_text().strip()
        rpc = self.rpcs[i]
        response = rpc._session.post(
            rpc.url, json=rpc.envelope(method, *params), headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).json()
        if "error" in response:
            raise RpcError(response["error"]["code"], response["error"]["message"])
        return response["result"]

    def head(self, i: int) -> int:
        return int(self.rpcs[i].call("eth_blockNumber"), 16)

    def block_hashes(self, i: int, upto: int | None = None) -> list[str]:
        last = self.head(i) if upto is None else upto
        batch = [self.rpcs[i].envelope("eth_getBlockByNumber", hex(n), False) for n in range(last + 1)]
        hashes = []
        for start in range(0, len(batch), 500):
            for response in self.rpcs[i].raw(batch[start : start + 500]):
                hashes.append(response["result"]["hash"])
        return hashes

    def transactions(self, i: int) -> list[str]:
        """Every transaction hash in node i's chain, in order (duplicates kept)."""
        out: list[str] = []
        last = self.head(i)
        batch = [self.rpcs[i].envelope("eth_getBlockByNumber", hex(n), False) for n in range(1, last + 1)]
        for start in range(0, len(batch), 500):
            for response in self.rpcs[i].raw(batch[start : start + 500]):
                out.extend(response["result"]["transactions"])
        return out

    def assert_no_fork(self, nodes: list[int]) -> int:
        """Every pair of nodes agrees on every height both have; returns the lowest head."""
        chains = {i: self.block_hashes(i) for i in nodes}
        for i in nodes:
            for j in nodes:
                common = min(len(chains[i]), len(chains[j]))
                assert chains[i][:common] == chains[j][:common], f"nodes {i} and {j} disagree (a fork)"
        return min(len(c) for c in chains.values()) - 1

    def faults(self, i: int, **settings: Any) -> Any:
        return self.rpcs[i].call("reponet_testFaults", settings)

    def status(self, i: int) -> dict[str, Any]:
        result: dict[str, Any] = self.rpcs[i].call("reponet_qbftStatus")
        return result


class Load:
    """Steady transfers at ``rate`` tx/s to the given nodes (round-robin over senders); records acknowledged
    hashes. A send that fails (node down) is retried with the same nonce on the next node."""

    def __init__(self, net: Network, targets: list[int], rate: float, senders: int = 4) -> None:
        self.net = net
        self.targets = targets
        self.rate = rate
        self.keys = [Account.from_key(a["private_key"]) for a in net.accounts[:senders]]
        self.nonces = [
            int(net.rpcs[targets[0]].call("eth_getTransactionCount", k.address, "pending"), 16) for k in self.keys
        ]
        self.acked: list[str] = []
        self.submitted_at: dict[str, float] = {}
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.chain_id = int(net.rpcs[targets[0]].call("eth_chainId"), 16)
        self._sessions = {t: Rpc(net.rpcs[t].url, timeout=5, token=net.token) for t in targets}

    def start(self) -> Load:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        for rpc in self._sessions.values():
            rpc.close()

    def _run(self) -> None:
        interval = 1.0 / self.rate
        sent = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            k = sent % len(self.keys)
            key = self.keys[k]
            tx = key.sign_transaction(
                {
                    "to": self.net.accounts[-1]["address"],
                    "value": 1,
                    "gas": 21_000,
                    "maxFeePerGas": 0,
                    "maxPriorityFeePerGas": 0,
                    "nonce": self.nonces[k],
                    "chainId": self.chain_id,
                    "type": 2,
                }
            )
            raw = "0x" + tx.raw_transaction.hex()
            for target in self.targets:
                try:
                    tx_hash = self._sessions[target].call("eth_sendRawTransaction", raw)
                except RpcError as exc:
                    self.errors.append(str(exc))
                    continue
                except Exception as exc:  # connection refused: node down, try the next target
                    self.errors.append(type(exc).__name__)
                    continue
                self.acked.append(tx_hash)
                self.submitted_at[tx_hash] = time.monotonic()
                self.nonces[k] += 1
                break
            sent += 1
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)


def assert_exactly_once(net: Network, node: int, acked: list[str], timeout: float = 60) -> None:
    """Every acknowledged transaction ends up in the chain exactly once."""
    wanted = set(acked)

    def all_in() -> bool:
        return wanted <= set(net.transactions(node))

    wait_until(all_in, timeout, "every acknowledged transaction in the chain", interval=0.5)
    txs = net.transactions(node)
    assert len(txs) == len(set(txs)), "a transaction is in the chain twice"
    assert wanted <= set(txs)
