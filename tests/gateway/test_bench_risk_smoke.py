"""scripts/bench_risk.py runs end to end on a small book and prints one JSON object: every call the price move
implies is final on chain, none more, none twice. A smoke test: the timings themselves are not asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_risk_small_prints_every_figure() -> None:
    args = ["--repos", "6", "--members", "2", "--pairs-per-member", "1", "--quiet-seconds", "2", "--json"]
    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_risk.py"), *args],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-4000:]
    (line,) = completed.stdout.strip().splitlines()
    figures = json.loads(line)
    assert figures["open"]["opened"] == 6 and figures["live_repos"] == 6
    assert figures["expected_calls"] == 3  # pair 0 of 2 is the weak one: half the repos
    assert figures["calls_final"] == figures["calls_final_after_settling"] == figures["calls_sent"] == 3
    for key in ("all_calls_final_s", "service_cpu_us_per_repo", "gateway_cpu_us_per_repo_read", "valuation_alone_ms"):
        assert isinstance(figures[key], (int, float)), (key, figures)
    for key in ("quiet_cpu_by_process_s", "burst_cpu_by_process_s"):  # up's services apart from the node
        assert {"gateway", "node", "risk", "surveillance"} <= set(figures[key]), (key, figures[key])
