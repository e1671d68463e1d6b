#!/usr/bin/env python3
"""Repo settlement end to end through the gateway, on ``reponet up --validators 4`` beside ``reponet up`` (one node).

Both are up at once (temporary data directories, two members onboarded by the demo's own steps, custodial wallets
funded: ``scripts/harness/gateway_up.py``) and measured in turns, figure by figure, so that each figure of each sees
the same machine. Figures, each for both:

- offered load: repo opens (direct terms, both custodial signatures, until final) arriving at ``--rates`` opens/s
  (default 1, 2, 5, 10, 20) for ``--seconds`` each, open loop (an open starts on time whether or not the earlier
  ones are final): p50/p99 open-to-final, achieved opens/s, errors;
- saturation: ``--saturation-clients`` clients opening back to back, ``--saturation-opens`` in all: opens/s;
- a lifecycle mix at ``--mix-rate`` steps/s: open-ended repos opened, and repurchased once final (the seller pays
  RP(now)); p50/p99 to final per kind;
- for every figure, each process's CPU milliseconds per open (or step): ``gateway``, ``up``, and ``node`` or
  ``node0``..``node3`` and ``network``; this client's too; the load average.

Prints a table, or with ``--json`` one JSON object (``validators_4``, ``single_node``, ``ratios``: 4 validators
over one node for achieved opens/s and p99). Every process is stopped on exit.

    .venv/bin/python scripts/bench_settlement.py --json
    .venv/bin/python scripts/bench_settlement.py --rates 1 5 --seconds 6 --saturation-opens 30   # shorter
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.bench_load import Client, open_load, open_one, percentile  # noqa: E402
from scripts.harness.gateway_up import Members, Network, loadavg  # noqa: E402

SETTLE_WAIT_CALLS = 3  # each /wait call is bounded at 60 s


@dataclass
class Steps:
    """Timed steps of one figure (ms to final, by kind), failures, and the wall time they took."""

    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, ms: float) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(ms)

    def fail(self, message: str) -> None:
        with self.lock:
            self.errors.append(message[:300])

    def done(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "steps": self.done(),
            "per_s": round(self.done() / self.seconds, 2) if self.seconds else 0.0,
            "errors": len(self.errors),
        }
        for kind, values in self.latencies.items():
            out[f"{kind}_p50_ms"] = round(percentile(values, 50), 1)
            out[f"{kind}_p99_ms"] = round(percentile(values, 99), 1)
        if self.errors:
            out["error_samples"] = self.errors[:3]
        return out


def wait_final(client: Client, settlement_id: str, headers: dict[str, str]) -> None:
    for _ in range(SETTLE_WAIT_CALLS):
        status, done = client.request("GET", f"/v1/settlements/{settlement_id}/wait?timeout=60", headers)
        if status != 200 or done["status"] != "pending":
            break
    if status != 200 or done["status"] != "final":
        raise RuntimeError(f"settlement {settlement_id}: {status} {done}")


def open_repo(client: Client, m: Members, terms: dict[str, Any]) -> int:
    """One open through the API until final (as bench_load.open_one), returning the repo's id."""
    status, trade = client.request("POST", "/v1/trades", m.ha, terms)
    if status != 201:
        raise RuntimeError(f"POST /v1/trades: {status} {trade}")
    signed: Any = None
    for headers in (m.ha, m.hb):
        status, signed = client.request("POST", f"/v1/trades/{trade['id']}/sign", headers)
        if status != 200:
            raise RuntimeError(f"sign: {status} {signed}")
    wait_final(client, signed["trade"]["settlement_id"], m.ha)
    status, opened = client.request("GET", f"/v1/trades/{trade['id']}", m.ha)
    if status != 200 or opened.get("repo_id") is None:
        raise RuntimeError(f"GET /v1/trades/{trade['id']}: {status} {opened}")
    return int(opened["repo_id"])


def repurchase(client: Client, m: Members, repo_id: int) -> None:
    status, submitted = client.request("POST", f"/v1/repos/{repo_id}/repurchase", m.ha)
    if status != 202 or not submitted.get("settlement"):
        raise RuntimeError(f"repurchase {repo_id}: {status} {submitted}")
    wait_final(client, submitted["settlement"]["id"], m.ha)


def paced(rate: float, seconds: float, step: Callable[[int], tuple[str, float]], result: Steps) -> None:
    """``step(i)`` started at i / rate seconds for ``seconds``, each on its own thread (open loop)."""
    count = max(1, int(rate * seconds))
    began = time.perf_counter()

    def run(i: int) -> None:
        delay = began + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        try:
            kind, ms = step(i)
            result.add(kind, ms)
        except (RuntimeError, OSError, http.client.HTTPException, KeyError, TypeError) as exc:
            result.fail(f"{type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(max_workers=count) as pool:
        list(pool.map(run, range(count)))
    result.seconds = time.perf_counter() - began


class Subject:
    """One ``reponet up`` under measurement, its figures in ``out``."""

    def __init__(self, name: str, work: Path, extra_args: tuple[str, ...]) -> None:
        self.name = name
        try:
            self.net = Network(ROOT, work / name, workers=None, extra_args=extra_args)
        except RuntimeError:  # `up` gives the gateway 90 s to be ready: on a loaded machine, try once more
            self.net = Network(ROOT, work / f"{name}-again", workers=None, extra_args=extra_args)
        try:
            self.members = Members.onboard(ROOT, self.net.data_dir)
        except BaseException:
            self.net.stop()
            raise
        self.client = Client(self.members.target)
        self.open_ended = {k: v for k, v in self.members.terms.items() if k != "tenor_seconds"}
        self.out: dict[str, Any] = {"processes": sorted(self.net.processes())}

    def measure(self, name: str, run: Callable[[], Steps]) -> None:
        before, own_before = self.net.cpu_by_process(), time.process_time()
        result = run()
        after, own = self.net.cpu_by_process(), time.process_time() - own_before
        n = max(1, result.done())
        cpu = {k: round((after[k] - before.get(k, 0.0)) * 1000 / n, 1) for k in after}
        cpu["client"] = round(own * 1000 / n, 1)
        self.out[name] = {**result.summary(), "cpu_ms_per_step": cpu, "load_1m": loadavg()}

    def offered(self, rate: float, seconds: float) -> Steps:
        result = Steps()

        def step(_: int) -> tuple[str, float]:
            return "open", open_one(self.client, self.members.terms, self.members.ha, self.members.hb)["total"]

        paced(rate, seconds, step, result)
        return result

    def saturation(self, clients: int, opens: int) -> Steps:
        m = self.members
        got = open_load(m.target, m.terms, m.ha, m.hb, clients, opens)
        result = Steps(seconds=got.seconds, errors=got.errors)
        result.latencies["open"] = [t["total"] for t in got.timings]
        return result

    def mix(self, rate: float, seconds: float) -> Steps:
        """Open-ended opens, and repurchases of those already final, alternating where one is ready."""
        result = Steps()
        ready: list[int] = []
        lock = threading.Lock()

        def step(i: int) -> tuple[str, float]:
            started = time.perf_counter()
            with lock:
                repo_id = ready.pop(0) if i % 2 and ready else None
            if repo_id is not None:
                repurchase(self.client, self.members, repo_id)
                return "repurchase", (time.perf_counter() - started) * 1000
            opened = open_repo(self.client, self.members, self.open_ended)
            with lock:
                ready.append(opened)
            return "open", (time.perf_counter() - started) * 1000

        paced(rate, seconds, step, result)
        return result


def ratios(four: dict[str, Any], one: dict[str, Any]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name, figures in four.items():
        theirs = one.get(name)
        if not isinstance(figures, dict) or not isinstance(theirs, dict):
            continue
        row = {k: round(figures[k] / theirs[k], 2) for k in ("per_s", "open_p50_ms", "open_p99_ms") if theirs.get(k)}
        if row and all(figures.get(k) for k in row):
            out[name] = row
    return out


def table(results: dict[str, Any]) -> str:
    lines = [f"{'figure':<14}{'network':<14}{'per s':>7}{'p50 ms':>9}{'p99 ms':>9}{'err':>5}  CPU ms per open/step"]
    four, one = results["validators_4"], results["single_node"]
    for name in [k for k in four if isinstance(four[k], dict)]:
        for label, figures in (("4 validators", four[name]), ("single node", one.get(name, {}))):
            if not figures:
                continue
            cpu = ", ".join(f"{k} {v}" for k, v in figures["cpu_ms_per_step"].items() if v)
            p50 = figures.get("open_p50_ms", "-")
            p99 = figures.get("open_p99_ms", "-")
            lines.append(f"{name:<14}{label:<14}{figures['per_s']:>7}{p50:>9}{p99:>9}{figures['errors']:>5}  {cpu}")
            if "repurchase_p50_ms" in figures:
                repurchases = f"{figures['repurchase_p50_ms']} / {figures['repurchase_p99_ms']}"
                lines.append(f"{'':<28}repurchase p50 / p99 ms {repurchases}")
    lines.append(f"ratios (4 validators / single node): {json.dumps(results['ratios'])}")
    return "\n".join(lines)


def _exit_on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through every finally: both networks are stopped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--rates", type=float, nargs="+", default=[1, 2, 5, 10, 20], help="offered opens/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per offered load")
    parser.add_argument("--saturation-clients", type=int, default=16, help="clients opening back to back")
    parser.add_argument("--saturation-opens", type=int, default=80, help="opens in the saturation figure")
    parser.add_argument("--mix-rate", type=float, default=4.0, help="lifecycle steps/s (0: no mix)")
    parser.add_argument("--validators", type=int, default=4, help="validators of the network (default 4)")
    parser.add_argument("--no-single", action="store_true", help="skip the single node")
    parser.add_argument(
        "--block-time",
        type=float,
        default=None,
        help="seconds between blocks of both chains (default: up's, 1 s on the network and 0.5 s on one node)",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    logging.basicConfig(level=logging.ERROR)
    subjects: list[Subject] = []
    with tempfile.TemporaryDirectory(prefix="bench-settlement-") as tmp:
        try:
            period = ("--block-time", str(args.block_time)) if args.block_time else ()
            subjects.append(Subject("validators_4", Path(tmp), ("--validators", str(args.validators), *period)))
            if not args.no_single:
                subjects.append(Subject("single_node", Path(tmp), period))
            for rate in args.rates:
                for s in subjects:
                    s.measure(f"offered_{rate:g}", lambda s=s, rate=rate: s.offered(rate, args.seconds))
            for s in subjects:
                s.measure("saturation", lambda s=s: s.saturation(args.saturation_clients, args.saturation_opens))
            if args.mix_rate > 0:
                for s in subjects:
                    s.measure("mix", lambda s=s: s.mix(args.mix_rate, args.seconds))
        finally:
            for s in subjects:
                s.net.stop()
    results: dict[str, Any] = {s.name: s.out for s in subjects}
    results.setdefault("single_node", {})
    results["ratios"] = ratios(results["validators_4"], results["single_node"])
    results["machine_cores"] = os.cpu_count()
    print(json.dumps(results) if args.json else table(results))
    return 0 if not any(f.get("errors") for s in subjects for f in s.out.values() if isinstance(f, dict)) else 1


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    raise SystemExit(main())
