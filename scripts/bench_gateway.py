#!/usr/bin/env python3
"""Benchmark the gateway as a user runs it: ``reponet up`` in a temporary data directory (node, contracts,
gateway over HTTPS), two members onboarded the way ``reponet demo`` does it, custodial wallets funded, then load
from separate client processes.

Measured in one run: GET requests per second with p50/p99 per read endpoint (positions, a repo, trades, balances,
settlements) and for their mix, at 10, 50 and 100 clients; repo opens (direct terms, both custodial signatures,
wait until final on chain) alone and with 50 concurrent readers of the mix; ``/healthz`` as the framework's
ceiling; the gateway's and the node's CPU milliseconds per request. Each figure is taken with the gateway at 1
and at 2 HTTP worker processes (``--workers``; REPONET_API_WORKERS).

``--vs DIR`` runs the same workload against a second checkout in the same run: that tree's own ``reponet up`` (its
``.venv``, its default workers) and its own onboarding code (``bench_members.py`` runs under its interpreter). All
networks are up at once and measured in turns, figure by figure (and the opens round by round), so that each figure
of each tree sees the same machine; then ``ratios_wN`` per figure both have (this tree over that one: GET/s, p50,
p99, opens/s) and ``slower_than_vs``, the figures where this tree did more than 10 % worse. Every read endpoint,
``/healthz`` and the opens exist in d2643c6 (the reference of issue 16), which has no ``--workers``.

    .venv/bin/python scripts/bench_gateway.py --json
    .venv/bin/python scripts/bench_gateway.py --vs /work/wt/ref-d26 --workers 2 --json
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.bench_load import LoadResult, OpenResult, open_load, read_load  # noqa: E402
from scripts.harness.gateway_up import Members, Network, loadavg  # noqa: E402

T = TypeVar("T")


def spawn_pool(nice: int = 0) -> Any:
    """The load generator's two processes, at ``nice`` (``--client-nice``): on this machine the clients take CPU
    from the node and the settlement process, which a member's clients elsewhere would not."""
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(
        max_workers=2, mp_context=multiprocessing.get_context("spawn"), initializer=os.nice, initargs=(nice,)
    )
    for f in [pool.submit(time.sleep, 0) for _ in range(2)]:
        f.result()  # the workers are up before any clock starts
    return pool


def measured(net: Network, run: Callable[[], T], count: Callable[[T], int]) -> tuple[T, dict[str, float]]:
    """``run()`` with the gateway's and the node's CPU milliseconds per request it made."""
    before = net.cpu_seconds()
    result = run()
    after = net.cpu_seconds()
    n = max(1, count(result))
    cpu = {f"{k}_cpu_ms": round((after[k] - before[k]) * 1000 / n, 2) for k in before}
    return result, {**cpu, "load_1m": loadavg()}


def read_paths(repo_id: int) -> dict[str, str]:
    return {
        "positions": "/v1/positions",
        "repo": f"/v1/repos/{repo_id}",
        "trades": "/v1/trades?limit=20",
        "balances": "/v1/balances",
        "settlements": "/v1/settlements",
    }


class Subject:
    """One checkout's network under measurement (``workers`` None: the checkout's default), its figures in ``out``.
    Several subjects are up at once and measured in turns, figure by figure, so that each figure of each sees the
    same machine: the cores are shared, and their load moves a figure by more than a change does."""

    def __init__(self, name: str, checkout: Path, args: argparse.Namespace, work: Path, workers: int | None) -> None:
        self.name, self.args = name, args
        self.net = Network(checkout, work / f"net-{checkout.name}-w{workers or 'default'}", workers)
        try:
            self.members = Members.onboard(checkout, self.net.data_dir)
        except BaseException:
            self.net.stop()
            raise
        self.paths = read_paths(self.members.repo_id)
        self.out: dict[str, Any] = {
            "checkout": str(checkout),
            "api_workers": workers,
            "gateway_processes": len(self.net.groups()["gateway"]),
            "clients": args.clients,
        }
        self.alone: list[OpenResult] = []
        self.loaded: list[OpenResult] = []
        self.readers: list[LoadResult] = []
        self.alone_cpu = dict.fromkeys(self.net.cpu_seconds(), 0.0)
        self.alone_rpc: dict[str, int] = {}
        self.loads: list[float] = []

    def reads(self, pool: Any, name: str, selected: list[str], clients: int, authenticated: bool = True) -> None:
        target, headers = self.members.target, self.members.ha if authenticated else {}
        result, cpu = measured(
            self.net,
            lambda: pool.submit(read_load, target, selected, headers, clients, self.args.seconds).result(),
            lambda r: sum(len(v) for v in r.latencies.values()),
        )
        self.out[name] = {**result.summary(), **cpu}

    def open_round(self, pool: Any, manager: Any, opens: int) -> None:
        """``opens`` alone, then as many under 50 readers of the mix."""
        m, args = self.members, self.args
        before, rpc_before = self.net.cpu_seconds(), self.net.rpc_calls()
        self.alone.append(pool.submit(open_load, m.target, m.terms, m.ha, m.hb, args.open_clients, opens).result())
        after, rpc_after = self.net.cpu_seconds(), self.net.rpc_calls()
        self.alone_cpu = {k: self.alone_cpu[k] + after[k] - before[k] for k in self.alone_cpu}
        for method, n in rpc_after.items():
            self.alone_rpc[method] = self.alone_rpc.get(method, 0) + n - rpc_before.get(method, 0)
        stop = manager.Event()
        readers = pool.submit(read_load, m.target, list(self.paths.values()), m.ha, 50, 3600.0, stop)
        time.sleep(1.0)  # the readers are at full speed before the first open
        try:  # CPU per open is not told apart from the readers' here: the figure is latency
            self.loaded.append(pool.submit(open_load, m.target, m.terms, m.ha, m.hb, args.open_clients, opens).result())
        finally:
            stop.set()
        self.readers.append(readers.result())
        self.loads.append(loadavg())

    def finish(self) -> dict[str, Any]:
        alone = OpenResult.merged(self.alone)
        per_open = max(1, len(alone.timings))
        out = self.out
        out["open_alone"] = {
            **alone.summary(),
            **{f"{k}_cpu_ms": round(v * 1000 / per_open, 2) for k, v in self.alone_cpu.items()},
            "rounds": len(self.alone),
            "load_1m": self.loads,
        }
        if self.alone_rpc:  # the node's JSON-RPC calls per open: all clients, and the gateway's (relayer included)
            out["open_alone"]["rpc_calls_per_open"] = round(sum(self.alone_rpc.values()) / per_open, 2)
            gateway = sum(v for k, v in self.alone_rpc.items() if k.startswith("gateway:"))
            out["open_alone"]["gateway_rpc_calls_per_open"] = round(gateway / per_open, 2)
            out["open_alone"]["rpc_calls_per_open_by_method"] = {
                k: round(v / per_open, 2) for k, v in sorted(self.alone_rpc.items(), key=lambda kv: -kv[1]) if v
            }
        out["open_with_50_readers"] = {**OpenResult.merged(self.loaded).summary(), "rounds": len(self.loaded)}
        out["readers_during_opens"] = LoadResult.merged(self.readers).summary()
        alone_p99, loaded_p99 = out["open_alone"]["p99_ms"], out["open_with_50_readers"]["p99_ms"]
        out["open_p99_ratio_under_load"] = round(loaded_p99 / alone_p99, 2) if alone_p99 else None
        return out


def bench(subjects: list[Subject], args: argparse.Namespace) -> None:
    """Every figure of every subject, in turns."""
    with spawn_pool(args.client_nice) as pool:
        for s in subjects:  # warm caches
            pool.submit(read_load, s.members.target, list(s.paths.values()), s.members.ha, 4, 0.5).result()
        for clients in args.clients:
            for name in ["mix", *read_paths(0)]:
                for s in subjects:
                    selected = list(s.paths.values()) if name == "mix" else [s.paths[name]]
                    s.reads(pool, f"{name}_c{clients}", selected, clients)
        for s in subjects:
            s.reads(pool, "healthz_c50", ["/healthz"], 50, authenticated=False)
        # Opens alone and opens under 50 readers, in turns (``--open-rounds``): on a shared machine the load of
        # the moment moves both figures, and their ratio is the measure.
        rounds = max(1, min(args.open_rounds, args.opens))
        with multiprocessing.get_context("spawn").Manager() as manager:
            for i in range(rounds):
                for s in subjects:
                    s.open_round(pool, manager, args.opens // rounds + (1 if i < args.opens % rounds else 0))


HIGHER_IS_BETTER = ("rps", "opens_per_s")
LOWER_IS_BETTER = ("p50_ms", "p99_ms")


def ratios(this: dict[str, Any], other: dict[str, Any]) -> dict[str, dict[str, float]]:
    """This run's figure over the other's, for each figure (a read endpoint, the mix, /healthz, opens) both have
    and each measure of it; above 1 is better for GET/s and opens/s, below 1 for latency."""
    out: dict[str, dict[str, float]] = {}
    for name, figures in this.items():
        theirs = other.get(name)
        if not isinstance(figures, dict) or not isinstance(theirs, dict) or name == "readers_during_opens":
            continue
        row = {
            key: round(figures[key] / theirs[key], 2)
            for key in HIGHER_IS_BETTER + LOWER_IS_BETTER
            if figures.get(key) and theirs.get(key)
        }
        if row:
            out[name] = row
    return out


def slower(figures: dict[str, dict[str, float]]) -> list[str]:
    """The figures where this tree did worse than the other by more than the run's noise (10 %): fewer GET/s or
    opens/s, or a higher p99."""
    return [
        f"{name} {key} x{row[key]}"
        for name, row in figures.items()
        for key in row
        if (key in HIGHER_IS_BETTER and row[key] < 0.9) or (key == "p99_ms" and row[key] > 1.1)
    ]


def flat(results: dict[str, Any]) -> Iterator[str]:
    for key, value in results.items():
        if isinstance(value, dict):
            figures = ", ".join(f"{k} {v}" for k, v in value.items() if k != "error_samples")
            yield f"  {key}: {figures}"
            for sample in value.get("error_samples", []):
                yield f"    error: {sample}"
        else:
            yield f"  {key}: {value}"


@contextmanager
def workdir(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    try:
        yield path
    finally:
        if not keep:
            subprocess.run(["rm", "-rf", str(path)], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 10 clients, 1 s per figure, 2 opens")
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 50, 100], help="reader counts")
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds per read figure")
    parser.add_argument("--opens", type=int, default=24, help="repo opens per open figure")
    parser.add_argument("--open-clients", type=int, default=4, help="concurrent clients opening repos")
    parser.add_argument(
        "--open-rounds", type=int, default=4, help="turns of opens alone and opens under readers the opens are split in"
    )
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="HTTP worker counts to measure this checkout with"
    )
    parser.add_argument(
        "--vs",
        "--reference",
        dest="vs",
        type=Path,
        default=None,
        help="also measure this checkout (its own .venv and defaults), in turns, and print this tree's ratios to it",
    )
    parser.add_argument(
        "--client-nice", type=int, default=0, help="niceness of the load generator's processes (default 0)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the data directories and logs")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.seconds, args.opens, args.open_clients = [10], 1.0, 2, 1
    logging.basicConfig(level=logging.ERROR)
    with workdir(args.keep) as work:
        subjects: list[Subject] = []
        try:
            if args.vs is not None:
                subjects.append(Subject("vs", args.vs.resolve(), args, work, None))
            for workers in args.workers:
                subjects.append(Subject(f"this_w{workers}", ROOT, args, work, workers))
            bench(subjects, args)
        finally:
            for s in subjects:
                s.net.stop()
        results: dict[str, Any] = {s.name: s.finish() for s in subjects}
        if args.vs is not None:
            for workers in args.workers:
                results[f"ratios_w{workers}"] = ratios(results[f"this_w{workers}"], results["vs"])
            results["slower_than_vs"] = {
                name: slower(figures) for name, figures in results.items() if name.startswith("ratios_w")
            }
    if args.json:
        print(json.dumps(results))
    else:
        for name, figures in results.items():
            print(f"{name}:")
            for line in flat(figures):
                print(line)
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    raise SystemExit(main())
