#!/usr/bin/env python3
"""Do reads starve writes? A permitted transaction's inclusion latency while worst-case calls are in flight.

For each code tree (this checkout, and with ``--reference DIR`` another one, e.g. ``git archive`` of an older
commit, run the same way in the same session), start ``reponet-node dev`` with a block time of ``--block-time``,
then for 0, 10 and 50 attackers (``--attackers``): each attacker is its own client (its own 127.0.0.x source
address) sending, back to back, ``eth_call {"data": "0x5b600056", "gas": "0x5b8d80"}`` (an endless loop, the
issue's worst case); meanwhile one honest sender sends ``--txs`` transfers one after another, each timed from
``eth_sendRawTransaction`` to the first poll that sees its receipt. Target: inclusion within 2 block times.

Prints one row per (tree, attackers): p50 and max inclusion latency in seconds and in block times, and how many
attack calls were answered (and how many refused by the node's budgets); ``--json`` prints the rows as JSON.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_account import Account

ROOT = Path(__file__).resolve().parents[1]
WORST_CALL = {"data": "0x5b600056", "gas": "0x5b8d80"}
CHAIN_ID = 1337
GAVE_UP = 60.0  # seconds: a transaction not included by then counts as this


@dataclass
class Row:
    tree: str
    attackers: int
    txs: int
    p50_s: float
    max_s: float
    p50_blocks: float
    max_blocks: float
    attack_answers: int
    attack_refused: int


class Client:
    """JSON-RPC over one keep-alive connection from a chosen loopback source address."""

    def __init__(self, port: int, source: str = "127.0.0.1") -> None:
        self.port = port
        self.source = source
        self._conn: http.client.HTTPConnection | None = None

    def call(self, method: str, params: list[Any], timeout: float = 120) -> dict[str, Any]:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=timeout, source_address=(self.source, 0)
            )
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        try:
            self._conn.request("POST", "/", body, {"Content-Type": "application/json"})
            return dict(json.loads(self._conn.getresponse().read()))
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_node(tree: Path, data_dir: Path, block_time: float) -> tuple[subprocess.Popen[str], int]:
    port = free_port()  # the reference tree may not report a port it was given as 0
    env = {**os.environ, "PYTHONPATH": str(tree)}
    args = [sys.executable, "-m", "node.cli", "dev", "--data-dir", str(data_dir), "--rpc-port", str(port)]
    proc = subprocess.Popen(
        [*args, "--block-time", str(block_time)],
        cwd=tree,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"node in {tree} exited")
        if line.startswith("listening on"):
            threading.Thread(target=lambda: [None for _ in proc.stdout or ()], daemon=True).start()
            return proc, port
    proc.kill()
    raise TimeoutError("node did not start")


def attack(port: int, source: str, stop: threading.Event, tally: dict[str, int], lock: threading.Lock) -> None:
    client = Client(port, source)
    while not stop.is_set():
        try:
            answer = client.call("eth_call", [WORST_CALL, "latest"])
        except (OSError, http.client.HTTPException):
            continue
        with lock:
            tally["answers"] += 1
            if answer.get("error", {}).get("code") == -32005:
                tally["refused"] += 1
    client.close()


def include_one(client: Client, key: str, to: str, nonce: int) -> float:
    signed = Account.sign_transaction(
        {"chainId": CHAIN_ID, "nonce": nonce, "to": to, "value": 1, "gas": 21_000, "gasPrice": 0}, key
    )
    started = time.monotonic()
    sent = client.call("eth_sendRawTransaction", ["0x" + bytes(signed.raw_transaction).hex()])
    if "error" in sent:
        raise RuntimeError(f"transaction refused: {sent['error']}")
    while time.monotonic() - started < GAVE_UP:
        if client.call("eth_getTransactionReceipt", [sent["result"]]).get("result"):
            return time.monotonic() - started
        time.sleep(0.02)
    return GAVE_UP


def measure(tree: Path, name: str, attackers: int, txs: int, block_time: float) -> Row:
    with tempfile.TemporaryDirectory(prefix="bench-rpc-isolation-") as tmp:
        proc, port = start_node(tree, Path(tmp) / "data", block_time)
        stop = threading.Event()
        tally = {"answers": 0, "refused": 0}
        lock = threading.Lock()
        threads = [
            threading.Thread(target=attack, args=(port, f"127.0.0.{10 + i}", stop, tally, lock), daemon=True)
            for i in range(attackers)
        ]
        try:
            for thread in threads:
                thread.start()
            accounts = json.loads((Path(tmp) / "data" / "dev-accounts.json").read_text())
            key, to = accounts[1]["private_key"], accounts[2]["address"]
            client = Client(port)
            time.sleep(2.0 if attackers else 0.0)  # let the attack fill the node before measuring
            nonce = int(client.call("eth_getTransactionCount", [accounts[1]["address"], "pending"])["result"], 16)
            latencies = [include_one(client, key, to, nonce + i) for i in range(txs)]
            client.close()
        finally:
            stop.set()
            proc.kill()
            proc.wait(timeout=30)
            for thread in threads:
                thread.join(timeout=1)
    p50, worst = statistics.median(latencies), max(latencies)
    return Row(
        name,
        attackers,
        txs,
        round(p50, 3),
        round(worst, 3),
        round(p50 / block_time, 2),
        round(worst / block_time, 2),
        tally["answers"],
        tally["refused"],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", type=Path, help="another code tree to run the same way, side by side")
    parser.add_argument("--attackers", type=int, nargs="+", default=[0, 10, 50])
    parser.add_argument("--txs", type=int, default=5)
    parser.add_argument("--block-time", type=float, default=0.5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    trees = [("this", ROOT)] + ([("reference", args.reference.resolve())] if args.reference else [])
    rows = [measure(tree, name, n, args.txs, args.block_time) for n in args.attackers for name, tree in trees]
    if args.json:
        print(json.dumps({"block_time_s": args.block_time, "rows": [asdict(r) for r in rows]}, indent=2))
        return 0
    print(f"block time {args.block_time} s; inclusion of a permitted transfer while worst-case calls are in flight")
    head = ("tree", "attackers", "p50 s", "max s", "p50 blk", "max blk", "calls", "refused")
    print(f"{head[0]:<10} " + " ".join(f"{h:>{w}}" for h, w in zip(head[1:], (9, 7, 7, 8, 8, 6, 8), strict=True)))
    for r in rows:
        print(
            f"{r.tree:<10} {r.attackers:>9} {r.p50_s:>7.3f} {r.max_s:>7.3f} {r.p50_blocks:>8.2f} {r.max_blocks:>8.2f}"
            f" {r.attack_answers:>6} {r.attack_refused:>8}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
