#!/usr/bin/env python3
"""Restart time of reponet-node as the chain grows: no block is replayed at start-up, so it should stay flat.

Grows a dev chain with empty blocks to each checkpoint, stops the node, and times a restart (process start to the
first answered eth_getBlockByNumber("latest")). Loopback only; every node it starts is stopped.

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

from scripts.harness.node_process import start_node


def restart_seconds(data_dir: Path) -> float:
    started = time.monotonic()
    node = start_node(data_dir, "--log-level", "warning")
    try:
        node.call("eth_getBlockByNumber", "latest", True)
        return time.monotonic() - started
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
        rows.append({"blocks": 0, "restart_s": restart_seconds(data_dir)})
        for target in sorted({args.blocks // 10, args.blocks}):
            height = grow(data_dir, target)
            db_bytes = sum(p.stat().st_size for p in data_dir.rglob("*") if p.is_file())
            rows.append({"blocks": height, "restart_s": restart_seconds(data_dir), "data_mb": db_bytes / 1e6})
    if args.json:
        print(json.dumps({"restarts": rows, "restart_s_at_max": rows[-1]["restart_s"]}))
    else:
        print(f"{'blocks':>8}  {'restart s':>9}  {'data MB':>8}")
        for row in rows:
            print(f"{row['blocks']:>8}  {row['restart_s']:>9.2f}  {row.get('data_mb', 0.0):>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
