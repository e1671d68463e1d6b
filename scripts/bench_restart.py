#!/usr/bin/env python3
"""Restart time of reponet-node as the chain grows: no block is replayed at start-up, so it should stay flat.

Grows a dev chain with empty blocks to each checkpoint, stops the node, and times a restart (process start to the
first answered eth_getBlockByNumber("latest")), in wall time and in the node's own CPU seconds (which waiting for a
busy machine's cores does not inflate). Loopback only; every node it starts is stopped.

    python scripts/bench_restart.py [--blocks 10000] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.harness.cpu import cpu_seconds
from scripts.harness.node_process import start_node


def restart(data_dir: Path) -> dict[str, float]:
    """Wall seconds from process start to the first answer, and the node's CPU seconds by then."""
    started = time.monotonic()
    node = start_node(data_dir, "--log-level", "warning")
    try:
        node.call("eth_getBlockByNumber", "latest", True)
        wall = time.monotonic() - started
        return {"restart_s": wall, "restart_cpu_s": cpu_seconds([node.proc.pid])}
    finally:
        node.stop()


def grow(data_dir: Path, target: int) -> int:
    node = start_node(data_dir, "--block-time", "0", "--empty-blocks", "--log-level", "warning")
    try:
        while (height := int(node.call("eth_blockNumber"), 16)) < target:
            time.sleep(0.5)
        return height
    finally:
        node.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=10_000, help="final chain height (default 10000)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "node"
        rows.append({"blocks": 0, **restart(data_dir)})
        for target in sorted({args.blocks // 10, args.blocks}):
            height = grow(data_dir, target)
            db_bytes = sum(p.stat().st_size for p in data_dir.rglob("*") if p.is_file())
            rows.append({"blocks": height, **restart(data_dir), "data_mb": db_bytes / 1e6})
    if args.json:
        at_max = {"restart_s_at_max": rows[-1]["restart_s"], "restart_cpu_s_at_max": rows[-1]["restart_cpu_s"]}
        print(json.dumps({"restarts": rows, **at_max}))
    else:
        print(f"{'blocks':>8}  {'restart s':>9}  {'CPU s':>6}  {'data MB':>8}")
        for row in rows:
            wall, cpu, data_mb = row["restart_s"], row["restart_cpu_s"], row.get("data_mb", 0.0)
            print(f"{row['blocks']:>8}  {wall:>9.2f}  {cpu:>6.2f}  {data_mb:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
