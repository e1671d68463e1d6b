"""scripts/bench_node.py runs end to end with a tiny workload and prints the JSON the issue asks for.

A smoke test of the benchmark script, not a timed test: the figures themselves are not asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from scripts.harness.chains import ROOT


@pytest.mark.slow
def test_bench_script_prints_valid_json_with_a_tiny_count() -> None:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_node.py"), "--count", "12", "--mix-count", "8",
         "--senders", "3", "--batch", "5", "--timeout", "60", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-4000:]
    lines = completed.stdout.strip().splitlines()
    assert len(lines) == 1, completed.stdout
    summary = json.loads(lines[0])
    for key in ("node_tps", "anvil_tps", "pyevm_tps", "pyevm_engine_tps", "p50_ms", "p99_ms"):
        assert isinstance(summary[key], (int, float)) and summary[key] > 0, (key, summary)
    assert summary["p99_ms"] >= summary["p50_ms"]
    results = {(r["backend"], r["workload"]): r for r in summary["results"]}
    assert set(results) == {(b, w) for b in ("node", "anvil", "pyevm", "pyevm-engine") for w in ("erc20", "mix")}
    for result in results.values():
        expected = 12 if result["workload"] == "erc20" else 8
        assert result["txs"] == expected and result["failed"] == 0 and result["missing"] == 0, result
