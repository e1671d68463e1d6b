#!/usr/bin/env python3
"""This checkout's node against another checkout's (e.g. a reference commit), in alternating runs of bench_node.py.

Why alternate: the machine is shared and its load moves by the minute, so two series run one after the other
compare the load as much as the code. Each pair runs both trees back to back, the order swapped every other pair,
and the one-minute load average is recorded with each pair. Each tree runs its own `scripts/bench_node.py` with
its own `.venv` (so its own node and dependencies); the other tree only needs a bench_node.py that takes the
forwarded flags (--count, --backends, ...) and --json. Runs are sequential, never in parallel.

    scripts/bench_node_vs.py --vs /path/to/other/tree --pairs 6 -- --count 800 --backends node
    scripts/bench_node.py --count 800 --backends node --vs /path/to/other/tree --pairs 6   # the same

Prints every pair (tx/s of the ERC-20 transfer and contract-mix workloads on the node, blocks, load), the medians,
the ratio of medians (this / other) and how many pairs each tree won; `--json` prints one JSON object instead.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = ("erc20", "mix")


@dataclass
class Run:
    tree: str  # "this" or "other"
    started: str  # UTC, ISO 8601
    load_1m: float  # one-minute load average when the run started
    tps: dict[str, float]  # workload -> node tx/s
    blocks: dict[str, int]  # workload -> blocks the workload took
    p50_ms: float | None
    failed: bool
    error: str = ""


@dataclass
class Pair:
    index: int
    first: str  # which tree ran first
    this: Run
    other: Run


@dataclass
class Summary:
    this_tree: str
    other_tree: str
    bench_args: list[str]
    pairs: list[Pair] = field(default_factory=list)
    median_this: dict[str, float] = field(default_factory=dict)
    median_other: dict[str, float] = field(default_factory=dict)
    ratio: dict[str, float] = field(default_factory=dict)  # median this / median other
    wins_this: dict[str, int] = field(default_factory=dict)  # pairs where this tree was faster
    wins_other: dict[str, int] = field(default_factory=dict)
    load_1m: list[float] = field(default_factory=list)


def python_of(tree: Path) -> str:
    venv = tree / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def run_once(tree: Path, label: str, bench_args: list[str], timeout: float) -> Run:
    """One `bench_node.py --json` of ``tree`` in its own interpreter; node tx/s and blocks per workload."""
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    load = round(os.getloadavg()[0], 2)
    command = [python_of(tree), str(tree / "scripts" / "bench_node.py"), *bench_args, "--json"]
    try:
        done = subprocess.run(command, cwd=tree, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return Run(label, started, load, {}, {}, None, True, f"timed out after {timeout:.0f} s")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return Run(label, started, load, {}, {}, None, True, done.stderr[-2000:] or f"exit {done.returncode}")
    report = json.loads(lines[-1])
    node = {r["workload"]: r for r in report["results"] if r["backend"] == "node"}
    return Run(
        tree=label,
        started=started,
        load_1m=load,
        tps={w: float(node[w]["tps"]) for w in WORKLOADS if w in node},
        blocks={w: int(node[w]["blocks"]) for w in WORKLOADS if w in node},
        p50_ms=report.get("p50_ms"),
        # bench_node exits 1 when a transaction was rejected, missing or failed: the figures are then not comparable
        failed=done.returncode != 0,
        error="" if done.returncode == 0 else done.stderr[-2000:],
    )


def compare(other: Path, pairs: int, bench_args: list[str], timeout: float = 900) -> Summary:
    summary = Summary(this_tree=str(ROOT), other_tree=str(other.resolve()), bench_args=bench_args)
    for index in range(pairs):
        order = ("this", "other") if index % 2 == 0 else ("other", "this")
        runs = {label: run_once(ROOT if label == "this" else other, label, bench_args, timeout) for label in order}
        pair = Pair(index=index + 1, first=order[0], this=runs["this"], other=runs["other"])
        summary.pairs.append(pair)
        summary.load_1m.append(pair.this.load_1m)
        summary.load_1m.append(pair.other.load_1m)
        sys.stderr.write(f"bench-vs: {pair_line(pair)}\n")
    good = [p for p in summary.pairs if not p.this.failed and not p.other.failed]
    for workload in WORKLOADS:
        this = [p.this.tps[workload] for p in good if workload in p.this.tps and workload in p.other.tps]
        that = [p.other.tps[workload] for p in good if workload in p.this.tps and workload in p.other.tps]
        if not this:
            continue
        summary.median_this[workload] = round(statistics.median(this), 1)
        summary.median_other[workload] = round(statistics.median(that), 1)
        summary.ratio[workload] = round(statistics.median(this) / statistics.median(that), 3)
        summary.wins_this[workload] = sum(1 for a, b in zip(this, that, strict=True) if a > b)
        summary.wins_other[workload] = sum(1 for a, b in zip(this, that, strict=True) if b > a)
    return summary


def pair_line(pair: Pair) -> str:
    parts = [f"pair {pair.index} ({pair.first} first)"]
    for run in (pair.this, pair.other):
        if run.failed:
            parts.append(f"{run.tree}: FAILED {run.error.strip().splitlines()[-1:] or ''}")
            continue
        figures = " ".join(f"{w} {run.tps.get(w, 0):7.1f} tx/s/{run.blocks.get(w, 0)} blk" for w in WORKLOADS)
        parts.append(f"{run.tree}: {figures} load {run.load_1m:.2f}")
    return " | ".join(parts)


def print_summary(summary: Summary) -> None:
    print(f"this:  {summary.this_tree}\nother: {summary.other_tree}\nbench_node.py {' '.join(summary.bench_args)}")
    for pair in summary.pairs:
        print(pair_line(pair))
    for workload in summary.ratio:
        this, other = summary.median_this[workload], summary.median_other[workload]
        wins = f"faster in pairs: this {summary.wins_this[workload]}, other {summary.wins_other[workload]}"
        print(f"{workload:<6} median this {this:7.1f}  other {other:7.1f}  ratio {summary.ratio[workload]:.3f}  {wins}")
    if summary.load_1m:
        print(f"load (1 min) from {min(summary.load_1m):.2f} to {max(summary.load_1m):.2f}")


def strip_own_flags(argv: list[str], flags: dict[str, bool]) -> list[str]:
    """``argv`` without the comparison's own flags (name -> whether it takes a value), ``--flag=value`` too."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in flags:
            skip = flags[name] and "=" not in arg
            continue
        kept.append(arg)
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vs", required=True, type=Path, help="the other checkout (with its own .venv)")
    parser.add_argument("--pairs", type=int, default=6, help="alternating pairs of runs (default 6)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per run (default 900)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("bench_args", nargs=argparse.REMAINDER, help="after --: flags for bench_node.py")
    args = parser.parse_args(argv)
    bench_args = [a for a in args.bench_args if a != "--"] or ["--count", "800", "--backends", "node"]
    return report(compare(args.vs, args.pairs, bench_args, args.timeout), args.json)


def report(summary: Summary, as_json: bool) -> int:
    if as_json:
        sys.stdout.write(json.dumps(asdict(summary)) + "\n")
    else:
        print_summary(summary)
    return 1 if any(p.this.failed or p.other.failed for p in summary.pairs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
