#!/usr/bin/env python3
"""Finality and throughput of a 4-validator QBFT network on this machine (loopback, one process per node).

Workloads (`--workloads`, scripts/harness/bench_workloads.py): `value` (transfers of value 0, no code), `erc20` (a
token transfer: two storage writes and an event) and `open` (`RepoEngine.open` of the real engine with both parties'
EIP-712 signatures, after the system is deployed and two members funded over JSON-RPC). For each block period (the
knob, `--periods`):
  1. start a fresh 4-validator network (`reponet-node init --validators 4`, then `run` per node);
  2. for each workload in turn: at each offered load (`--rates` tx/s, or `--open-rates` opens/s; `--duration`
     seconds each) send pre-signed transactions one by one, round-robin to the four nodes, while a poller follows
     node 0's blocks: finality = submit -> the block holding the transaction is committed on node 0 (QBFT:
     committed means final, it is never reverted);
  3. then its saturation: `--count` (or `--open-count`) pre-signed transactions in JSON-RPC batches as fast as
     possible, spread over the nodes; tps = count / (last inclusion - first submit).
Then the same workloads, offered loads and saturation runs, from the same client (the saturation always sends from
CLIENTS threads with a connection each), against one `reponet-node dev` (single validator, same block period)
for the ratio. `--json` prints one JSON object: per workload (`workloads`) tps (4 validators, saturation),
single_node_tps, tps_ratio, finality p50/p99 at 50 tx/s (5 opens/s) for both and CPU ms per transaction of every
process; the first workload's figures also at the top level (as before workloads existed); all_included and every
row. Without `--json` the headline figures are also printed side by side. Each network row also says how many QBFT
round changes happened during it (a round change costs at least a round timeout, so it shows in the tail latency).
Each saturation row also says how much CPU each process (every node, the client) used during it, in ms per
transaction, and the machine's CPU utilisation over it (200% = both of two cores busy; the client and anything
else running on the machine count too): below the core count, the nodes waited on each other rather than on CPU.
Exit status 1 unless every transaction sent was found in a finalized block. Every child process is stopped on
exit. The client shares the machine's cores with the nodes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402
from eth_account.signers.local import LocalAccount  # noqa: E402
from eth_utils import keccak  # noqa: E402

from scripts.harness.bench_workloads import (  # noqa: E402
    WORKLOADS,
    Presigner,
    deploy_repo_world,
    erc20_workload,
    open_workload,
    value_workload,
)
from scripts.harness.chains import Rpc, start_node  # noqa: E402
from scripts.harness.cpu import CLOCK_TICKS, cpu_seconds  # noqa: E402
from scripts.harness.qbft_network import Network  # noqa: E402

CLIENTS = 4


def senders(count: int) -> list[LocalAccount]:
    return [Account.from_key(bytes([7]) * 31 + bytes([i + 1])) for i in range(count)]


TOKENS: dict[str, str] = {}  # node URL -> bearer token, for the nodes that require one


class Poller(threading.Thread):
    """Follows a node's new blocks; records when each transaction hash was first seen in a block."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.rpc = Rpc(url, timeout=10, token=TOKENS.get(url))
        self.seen: dict[str, float] = {}
        self.next = int(self.rpc.call("eth_blockNumber"), 16) + 1
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                head = int(self.rpc.call("eth_blockNumber"), 16)
                while self.next <= head:
                    block = self.rpc.call("eth_getBlockByNumber", hex(self.next), False)
                    now = time.monotonic()
                    for tx_hash in block["transactions"]:
                        self.seen.setdefault(tx_hash, now)
                    self.next += 1
            except Exception:  # a transient RPC error: poll again
                pass
            self._halt.wait(0.01)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)
        self.rpc.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def offered_load(
    urls: list[str], txs: list[tuple[str, str]], rate: float, poller: Poller, timeout: float
) -> dict[str, Any]:
    rpcs = [Rpc(u, timeout=10, token=TOKENS.get(u)) for u in urls]
    submitted: dict[str, float] = {}
    start = time.monotonic()
    try:
        for i, (raw, tx_hash) in enumerate(txs):
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            submitted[tx_hash] = time.monotonic()
            rpcs[i % len(rpcs)].call("eth_sendRawTransaction", raw)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(h in poller.seen for h in submitted):
            time.sleep(0.05)
    finally:
        for rpc in rpcs:
            rpc.close()
    latencies = [(poller.seen[h] - t) * 1000 for h, t in submitted.items() if h in poller.seen]
    included = [poller.seen[h] for h in submitted if h in poller.seen]
    span = (max(included) - start) if included else float("nan")
    return {
        "offered_tps": rate,
        "sent": len(submitted),
        "included": len(latencies),
        "finality_p50_ms": round(pct(latencies, 50), 1),
        "finality_p99_ms": round(pct(latencies, 99), 1),
        "finality_mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "achieved_tps": round(len(latencies) / span, 1) if latencies else 0.0,
    }


def machine_cpu() -> tuple[float, float]:
    """(busy CPU seconds of all cores, idle CPU seconds of all cores) so far, from /proc/stat."""
    try:
        values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / CLOCK_TICKS, idle / CLOCK_TICKS


class CpuMeter:
    """CPU used by named processes and by the whole machine between start() and stop()."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._start: dict[str, float] = {}
        self._machine = (0.0, 0.0)
        self._wall = 0.0

    def start(self) -> None:
        self._start = {name: cpu_seconds([pid]) for name, pid in self.pids.items()}
        self._machine = machine_cpu()
        self._wall = time.monotonic()

    def stop(self, count: int) -> dict[str, Any]:
        wall = time.monotonic() - self._wall
        busy, idle = machine_cpu()
        used = {name: cpu_seconds([pid]) - self._start[name] for name, pid in self.pids.items()}
        busy -= self._machine[0]
        idle -= self._machine[1]
        return {
            "cpu_ms_per_tx": {name: round(seconds * 1000 / count, 3) for name, seconds in used.items()},
            "cpu_percent": {name: round(100 * seconds / wall, 1) for name, seconds in used.items()},
            "machine_cpu_percent": round(100 * busy / wall, 1),
            "machine_idle_percent": round(100 * idle / wall, 1),
        }


def saturation(
    urls: list[str],
    txs: list[tuple[str, str]],
    poller: Poller,
    batch: int,
    timeout: float,
    pids: dict[str, int] | None = None,
) -> dict[str, Any]:
    # the same client for both runs: CLIENTS sending threads, each with its own connection (to one node each
    # for the network, all to the one node for the single validator)
    rpcs = [Rpc(urls[i % len(urls)], timeout=60, token=TOKENS.get(urls[i % len(urls)])) for i in range(CLIENTS)]
    meter = CpuMeter({**(pids or {}), "client": os.getpid()})
    meter.start()
    start = time.monotonic()
    errors = 0

    def send(part: list[tuple[str, str]], rpc: Rpc) -> None:
        nonlocal errors
        for i in range(0, len(part), batch):
            answers = rpc.raw([rpc.envelope("eth_sendRawTransaction", raw) for raw, _ in part[i : i + batch]])
            errors += sum(1 for a in answers if "error" in a)

    # each node gets whole sender streams, so a node never holds a nonce gap it cannot fill
    per_node: list[list[tuple[str, str]]] = [[] for _ in rpcs]
    for i, tx in enumerate(txs):
        per_node[(i % 32) % len(rpcs)].append(tx)
    threads = [threading.Thread(target=send, args=(part, rpc)) for part, rpc in zip(per_node, rpcs, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent_done = time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(h in poller.seen for _, h in txs):
        time.sleep(0.05)
    cpu = meter.stop(len(txs))
    for rpc in rpcs:
        rpc.close()
    included = [poller.seen[h] for _, h in txs if h in poller.seen]
    span = max(included) - start if included else float("nan")
    return {
        "count": len(txs),
        "included": len(included),
        "errors": errors,
        "submit_seconds": round(sent_done - start, 2),
        "tps": round(len(included) / span, 1) if included else 0.0,
        **cpu,
    }


def round_changes(net: Network) -> int:
    """Round timeouts so far, the most any validator saw (a round change costs at least a round timeout)."""
    return max(int(net.status(i)["roundChanges"]) for i in range(4))


def members() -> list[LocalAccount]:
    """The repo workload's operator, seller and buyer (allowlisted beside the senders)."""
    return [Account.from_key(keccak(text=f"reponet-bench-network-{role}")) for role in ("operator", "seller", "buyer")]


def prepare(name: str, url: str, chain_id: int, accounts: list[LocalAccount], nonces: dict[str, int]) -> Presigner:
    """Set a workload up on the chain behind ``url`` (see scripts/harness/bench_workloads.py)."""
    if name == "value":
        return value_workload(accounts, chain_id)
    rpc = Rpc(url, timeout=60, token=TOKENS.get(url))
    try:
        if name == "erc20":
            return erc20_workload(rpc, accounts, chain_id, nonces)
        operator, seller, buyer = members()
        world = deploy_repo_world(url, TOKENS.get(url), operator, seller, buyer)
        now = int(rpc.call("eth_getBlockByNumber", "latest", False)["timestamp"], 16)
        return open_workload(world, accounts, chain_id, now)
    finally:
        rpc.close()


def rates_of(args: argparse.Namespace, workload: str) -> list[float]:
    return list(args.open_rates if workload == "open" else args.rates)


def count_of(args: argparse.Namespace, workload: str) -> int:
    return int(args.open_count if workload == "open" else args.count)


def run_workloads(
    args: argparse.Namespace,
    urls: list[str],
    accounts: list[LocalAccount],
    period: float,
    pids: dict[str, int],
    rounds: Callable[[], int] | None,
    label: str,
) -> dict[str, Any]:
    """Every workload in turn on one running chain: its offered loads, then its saturation run."""
    chain_id = int(Rpc(urls[0], timeout=10, token=TOKENS.get(urls[0])).call("eth_chainId"), 16)
    nonces = {a.address: 0 for a in accounts}
    poller = Poller(urls[0])
    poller.start()
    out: dict[str, Any] = {}
    try:
        for workload in args.workloads:
            presign = prepare(workload, urls[0], chain_id, accounts, nonces)
            rows = []
            for rate in rates_of(args, workload):
                txs = presign(int(rate * args.duration), nonces)
                before = rounds() if rounds else 0
                row = offered_load(urls, txs, rate, poller, args.timeout)
                row.update(workload=workload, period_s=period)
                if rounds:
                    row["round_changes"] = rounds() - before
                rows.append(row)
                log(args, f"{label}, period {period}s, {workload} at {rate}/s: {row}")
            txs = presign(count_of(args, workload), nonces)
            before = rounds() if rounds else 0
            sat = saturation(urls, txs, poller, args.batch, args.timeout, pids)
            sat.update(workload=workload, period_s=period)
            if rounds:
                sat["round_changes"] = rounds() - before
            log(args, f"{label}, period {period}s, {workload} saturation: {sat}")
            out[workload] = {"loads": rows, "saturation": sat}
    finally:
        poller.stop()
    return out


def bench_network(args: argparse.Namespace, period: float, accounts: list[LocalAccount]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-qbft-") as tmp:
        net = Network(
            Path(tmp) / "net",
            validators=4,
            period=period,
            request_timeout=args.request_timeout,
            allow=tuple(a.address for a in [*accounts, *members()]),
            log_level="warning",
        )
        try:
            net.start()
            urls = [r.url for r in net.rpcs]
            TOKENS.update((url, net.token) for url in urls)  # network nodes require a JSON-RPC token
            pids = {f"node{i}": proc.pid for i, proc in net.procs.items()}
            out = run_workloads(args, urls, accounts, period, pids, lambda: round_changes(net), "4 validators")
            net.assert_no_fork([0, 1, 2, 3])
            return out
        finally:
            net.close()


def bench_single(args: argparse.Namespace, period: float, accounts: list[LocalAccount]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-single-") as tmp:
        backend = start_node(
            Path(tmp),
            extra_args=("--block-time", str(period), "--log-level", "warning"),
            allow=tuple(a.address for a in [*accounts, *members()]),
        )
        try:
            pids = {"node": backend.process.pid}
            return run_workloads(args, [backend.http_url], accounts, period, pids, None, "single node")
        finally:
            backend.stop()


def log(args: argparse.Namespace, message: str) -> None:
    print(message, file=sys.stderr if args.json else sys.stdout, flush=True)


def _exit_on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through every finally: child nodes are stopped


def headline(rows: list[dict[str, Any]], workload: str) -> dict[str, Any]:
    """The offered-load row nearest the headline rate (50 tx/s, or 5 opens/s)."""
    target = 5 if workload == "open" else 50
    return min(rows, key=lambda r: abs(r["offered_tps"] - target)) if rows else {}


def summarize(
    args: argparse.Namespace, runs: dict[float, dict[str, Any]], single: dict[str, Any] | None
) -> dict[str, Any]:
    first = runs[args.periods[0]]
    per_workload: dict[str, Any] = {}
    for workload in args.workloads:
        net, at = first[workload]["saturation"], headline(first[workload]["loads"], workload)
        figures: dict[str, Any] = {
            "tps": net["tps"],
            "finality_p50_ms": at.get("finality_p50_ms"),
            "finality_p99_ms": at.get("finality_p99_ms"),
            "finality_at_tps": at.get("offered_tps"),
            "cpu_ms_per_tx": net.get("cpu_ms_per_tx"),
        }
        if single is not None:
            one, one_at = single[workload]["saturation"], headline(single[workload]["loads"], workload)
            figures["single_node_tps"] = one["tps"]
            figures["tps_ratio"] = round(net["tps"] / one["tps"], 3) if one["tps"] else None
            figures["single_node_finality_p50_ms"] = one_at.get("finality_p50_ms")
            figures["single_node_finality_p99_ms"] = one_at.get("finality_p99_ms")
            figures["single_node_cpu_ms_per_tx"] = one.get("cpu_ms_per_tx")
        per_workload[workload] = figures
    main_workload = per_workload[args.workloads[0]]  # the top-level figures: the first workload (value by default)
    summary: dict[str, Any] = {
        "validators": 4,
        "machine_cores": os.cpu_count(),
        "load_1m": round(os.getloadavg()[0], 2),
        "block_period_s": args.periods[0],
        "workload": args.workloads[0],
        **{k: v for k, v in main_workload.items() if k != "cpu_ms_per_tx"},
        "workloads": per_workload,
    }
    checked = [r for run in runs.values() for w in run.values() for r in [*w["loads"], w["saturation"]]]
    if single is not None:
        checked += [r for w in single.values() for r in [*w["loads"], w["saturation"]]]
    # every transaction sent was found in a finalized block, none refused: otherwise the figures mean nothing
    summary["all_included"] = all(r["included"] == r.get("sent", r.get("count")) for r in checked) and not any(
        r.get("errors") for r in checked
    )
    summary["rows"] = [row for period in args.periods for w in runs[period].values() for row in w["loads"]]
    summary["saturation"] = [w["saturation"] for period in args.periods for w in runs[period].values()]
    if single is not None:
        summary["single_node_rows"] = [row for w in single.values() for row in w["loads"]]
        summary["single_node_saturation"] = [w["saturation"] for w in single.values()]
    return summary


def main(argv: list[str] | None = None) -> int:
    def floats(text: str) -> list[float]:
        return [float(x) for x in text.split(",")]

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--periods", type=floats, default=[0.25, 0.5], help="block periods in seconds (the knob)")
    parser.add_argument(
        "--workloads",
        type=lambda s: s.split(","),
        default=list(WORKLOADS),
        help=f"comma-separated, of {','.join(WORKLOADS)} (default all; the first gives the top-level figures)",
    )
    parser.add_argument("--rates", type=floats, default=[25.0, 50.0, 100.0], help="offered tx/s (value, erc20)")
    parser.add_argument("--open-rates", type=floats, default=[1.0, 5.0, 20.0], help="offered opens/s (open)")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per offered load")
    parser.add_argument("--count", type=int, default=2000, help="transfers for the saturation run (value, erc20)")
    parser.add_argument("--open-count", type=int, default=300, help="opens for the saturation run (open)")
    parser.add_argument("--batch", type=int, default=100, help="eth_sendRawTransaction per JSON-RPC batch")
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument("--request-timeout", type=float, default=2.0, help="QBFT round-0 timeout")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for inclusion per step")
    parser.add_argument("--no-single", action="store_true", help="skip the single-validator comparison")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    accounts = senders(args.senders)
    runs = {period: bench_network(args, period, accounts) for period in args.periods}
    single = None if args.no_single else bench_single(args, args.periods[0], accounts)
    summary = summarize(args, runs, single)
    if args.json:
        print(json.dumps(summary))
    else:
        print(json.dumps(summary, indent=2))
        print(side_by_side(summary))
    return 0 if summary["all_included"] else 1


def side_by_side(summary: dict[str, Any]) -> str:
    """The headline figures of each workload, both runs next to each other."""
    lines = [f"{'':44}{'4 validators':>16}{'single node':>16}{'ratio':>8}"]
    for workload, f in summary["workloads"].items():
        unit = "opens" if workload == "open" else "tx"
        lines.append(
            f"{workload + ' saturation ' + unit + '/s':44}{f['tps']:>16}{f.get('single_node_tps', '-'):>16}"
            f"{f.get('tps_ratio', '-'):>8}"
        )
        at = f"{workload} finality p50 / p99 at {f['finality_at_tps']}/s (ms)"
        one = f"{f.get('single_node_finality_p50_ms', '-')} / {f.get('single_node_finality_p99_ms', '-')}"
        lines.append(f"{at:44}{str(f['finality_p50_ms']) + ' / ' + str(f['finality_p99_ms']):>16}{one:>16}")
        cpu = ", ".join(f"{k} {v}" for k, v in (f.get("cpu_ms_per_tx") or {}).items())
        lines.append(f"  CPU ms per {unit} (4 validators): {cpu}; single node: {f.get('single_node_cpu_ms_per_tx')}")
    lines.append(
        f"block period {summary['block_period_s']} s, {summary['machine_cores']} cores, load {summary['load_1m']}, "
        f"all transactions finalized: {summary['all_included']}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
