"""scripts/bench_gateway.py runs end to end in its quick mode and prints the JSON the issue asks for.

A smoke test of the benchmark script, not a timed test: the figures themselves are not asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
READS = ("mix", "positions", "repo", "trades", "balances", "settlements")


@pytest.mark.slow
def test_bench_gateway_quick_prints_one_json_object_with_every_figure() -> None:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_gateway.py"), "--quick", "--workers", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    lines = completed.stdout.strip().splitlines()
    assert len(lines) == 1, completed.stdout
    figures = json.loads(lines[0])["this_w2"]
    assert figures["gateway_processes"] >= 4  # gateway run, two HTTP workers, the background process
    for name in READS:
        read = figures[f"{name}_c10"]
        for key in ("rps", "p50_ms", "p99_ms", "errors", "gateway_cpu_ms", "node_cpu_ms"):
            assert isinstance(read[key], (int, float)), (name, key, read)
        assert read["requests"] > 0, (name, read)
    assert figures["healthz_c50"]["requests"] > 0
    # the opens wait for the relayer of another process: their long polls read the database
    for name in ("open_alone", "open_with_50_readers"):
        assert figures[name]["opens"] == 2 and figures[name]["errors"] == 0, figures[name]
        assert figures[name]["p99_ms"] >= figures[name]["p50_ms"] > 0
    assert figures["readers_during_opens"]["requests"] > 0
    assert "open_p99_ratio_under_load" in figures
    # the node's own count of the JSON-RPC calls an open cost (reponet_rpc_calls_total), the gateway's among them
    assert figures["open_alone"]["gateway_rpc_calls_per_open"] > 0
    assert figures["open_alone"]["rpc_calls_per_open"] >= figures["open_alone"]["gateway_rpc_calls_per_open"]
