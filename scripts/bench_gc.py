#!/usr/bin/env python3
"""GC order book matches settled on chain, end to end: ``reponet up`` (one node, its ``reponet match`` service), two
members onboarded by the demo's steps (``scripts/harness/gateway_up.py``), a basket listed and credit limits set.
Then matches arrive at ``--rate`` per second for ``--seconds``, open loop: each is Bank A's borrow order and Fund B's
crossing lend order (both custodial, each signed once through the custody door), and is timed from the lend order's
answer (the match is the matching service's next step) until the fill's repo is final (``GET /v1/gc/fills``
polled every ``--poll`` s: the figures carry that resolution).

Figures: p50/p99 match-to-final, matches settled per second, failures and errors, each process's CPU ms per match
(gateway, match, node, up), the load average; with ``--json`` one JSON object. The issue's target: match-to-final p99
under 1.5 s at 5 matches/s on one node. Every process is stopped on exit.

    .venv/bin/python scripts/bench_gc.py --json
    .venv/bin/python scripts/bench_gc.py --rate 2 --seconds 5      # shorter
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.bench_load import Client, percentile  # noqa: E402
from scripts.harness.gateway_up import Members, Network, loadavg  # noqa: E402

TARGET_P99_S = 1.5
RATE_SCALE = 10**18
SIZE_UNITS = 10_000 * 10**6  # each match: 10,000 of the demo's cash token (6 decimals)


@dataclass
class Result:
    rate: float
    seconds: float
    offered: int = 0
    settled: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    cpu_ms_per_match: dict[str, float] = field(default_factory=dict)
    load_average: float = 0.0

    def summary(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("latencies_s", "errors")}
        out["p50_s"] = round(percentile(self.latencies_s, 50), 3)
        out["p99_s"] = round(percentile(self.latencies_s, 99), 3)
        out["max_s"] = round(max(self.latencies_s, default=0.0), 3)
        out["settled_per_s"] = round(self.settled / self.seconds, 2) if self.seconds else 0.0
        out["errors"] = len(self.errors)
        out["first_errors"] = self.errors[:3]
        out["target_p99_s"] = TARGET_P99_S
        out["meets_target"] = self.settled == self.offered and out["p99_s"] < TARGET_P99_S
        return out


class Desk:
    """The two members' orders, over keep-alive HTTPS (one connection per thread)."""

    def __init__(self, m: Members, basket_id: str) -> None:
        self.m, self.basket_id = m, basket_id
        self.http = Client(m.target)

    def order(self, member: str, side: str, rate: str) -> str:
        headers = self.m.ha if member == "a" else self.m.hb
        body = {
            "client_order_id": f"bench-{uuid.uuid4().hex[:16]}",
            "wallet_id": self.m.custodial[member],
            "basket_id": self.basket_id,
            "tenor": "1W",
            "side": side,
            "tif": "limit",
            "rate": rate,
            "size_units": str(SIZE_UNITS),
        }
        status, answer = self.http.request("POST", "/v1/gc/orders", headers, body)
        if status != 201:
            raise RuntimeError(f"order {status}: {answer}")
        return str(answer["id"])


def prepare(network: Network, m: Members) -> str:
    """List a basket of the demo's first bond and give each member a credit limit toward the other."""
    from gateway.ops.network import OPS_USER
    from gateway.ops.network import Network as OpsNetwork

    ops_net = OpsNetwork(network.data_dir)
    ops = ops_net.session(OPS_USER)
    state = ops_net.state
    basket_id = f"GC-BENCH-{uuid.uuid4().hex[:6]}"
    ops.post(
        "/v1/gc/baskets",
        body={
            "basket_id": basket_id,
            "cash_token": state.cash_tokens[0].address,
            "min_transfer_amount": "0",
            "margin_cure_period_seconds": 3600,
            "grace_period_seconds": 3600,
            "bonds": [{"token": state.bonds[0].address, "haircut_bps": 200}],
        },
    )
    ops_net.close()
    client = Client(m.target)
    for member, other in (("a", "b"), ("b", "a")):
        body = {"counterparty_id": m.orgs[other], "limit_units": str(10**29)}
        status, answer = client.request("PUT", "/v1/gc/credit-limits", m.admins[member], body)
        if status != 200:
            raise RuntimeError(f"credit limit {status}: {answer}")
    return basket_id


def run(network: Network, m: Members, desk: Desk, rate: float, seconds: float, poll: float) -> Result:
    result = Result(rate=rate, seconds=seconds)
    entered: dict[str, float] = {}  # B's lend order id -> when its answer came
    lock = threading.Lock()
    stop = threading.Event()
    seen: set[int] = set()

    def watch() -> None:
        client = Client(m.target)
        while True:
            status, page = client.request("GET", "/v1/gc/fills?limit=200", m.hb)
            now = time.monotonic()
            if status == 200:
                for fill in page["data"]:
                    with lock:
                        started = entered.get(str(fill["order_id"]))
                    if started is None or fill["sequence"] in seen or fill["status"] == "settling":
                        continue
                    seen.add(fill["sequence"])
                    if fill["status"] == "settled":
                        result.settled += 1
                        result.latencies_s.append(now - started)
                    else:
                        result.failed += 1
            if stop.is_set() and (len(seen) >= len(entered) or now > deadline[0]):
                return
            time.sleep(poll)

    def one() -> None:
        try:
            desk.order("a", "borrow", str(4 * RATE_SCALE // 100))
            lend = desk.order("b", "lend", str(3 * RATE_SCALE // 100))
            with lock:
                entered[lend] = time.monotonic()
        except Exception as exc:  # a figure: counted and shown
            result.errors.append(str(exc)[:200])

    cpu_before = network.cpu_by_process()
    deadline = [float("inf")]  # set once every order is in: the fills' last chance to settle
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    threads: list[threading.Thread] = []
    start = time.monotonic()
    count = int(rate * seconds)
    for index in range(count):
        time.sleep(max(0.0, start + index / rate - time.monotonic()))
        thread = threading.Thread(target=one, daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(timeout=120)
    result.offered = len(entered)
    deadline[0] = time.monotonic() + 60
    stop.set()
    watcher.join(timeout=90)
    cpu_after = network.cpu_by_process()
    matches = max(1, result.settled)
    result.cpu_ms_per_match = {
        name: round((cpu_after.get(name, 0.0) - cpu_before.get(name, 0.0)) * 1000 / matches, 1)
        for name in sorted(cpu_after)
    }
    result.load_average = loadavg()
    return result


def _exit_on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=5.0, help="matches offered per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long they are offered")
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between reads of the fills (the resolution)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    with tempfile.TemporaryDirectory(prefix="bench-gc-") as tmp:
        network = Network(ROOT, Path(tmp) / "up")
        try:
            members = Members.onboard(ROOT, network.data_dir)
            desk = Desk(members, prepare(network, members))
            result = run(network, members, desk, args.rate, args.seconds, args.poll).summary()
        finally:
            network.stop()
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")
    return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
