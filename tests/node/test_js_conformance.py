"""The JavaScript client-conformance suite (tests/node/js/conformance), run from the project's test command: ethers.js
v6 and viem, pinned in package-lock.json, against Anvil and `reponet-node dev` side by side under Node's own test
runner. A check that passes on Anvil and fails on our node fails this test; the report names every check."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.harness.chains import ROOT

SUITE = Path(__file__).resolve().parent / "js" / "conformance"
TIMEOUT_SECONDS = 540


def test_ethers_and_viem_against_anvil_and_our_node(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip(
            "Node.js is not installed: the JavaScript client suite needs it (scripts/setup installs the toolchain)"
        )
    for package in ("ethers", "viem", "@ethereumjs/mpt"):
        assert (ROOT / "node_modules" / package).is_dir(), f"{package} is missing: run npm ci (scripts/setup)"
    report = tmp_path / "report.json"
    env = {
        **os.environ,
        "CONFORMANCE_REPORT": str(report),
        "REPONET_NODE_CMD": json.dumps([sys.executable, "-m", "node.cli"]),
    }
    completed = subprocess.run(
        [node, "--test", "--test-reporter=tap", str(SUITE)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        cwd=ROOT,
        env=env,
    )
    outcomes = json.loads(report.read_text()) if report.exists() else []
    table = "\n".join(
        f"{'pass' if r['anvil']['ok'] else 'FAIL'} {'pass' if r['node']['ok'] else 'FAIL'}  {r['check']}"
        + ("" if r["node"]["ok"] else f"\n      ours: {r['node']['error'][:300]}")
        for r in outcomes
    )
    assert completed.returncode == 0, (
        f"anvil node  check\n{table}\n\n{completed.stdout[-6000:]}\n{completed.stderr[-3000:]}"
    )
    assert len(outcomes) >= 30, f"the suite ran only {len(outcomes)} checks:\n{completed.stdout[-4000:]}"
    regressions = [r["check"] for r in outcomes if r["anvil"]["ok"] and not r["node"]["ok"]]
    assert not regressions, f"pass on Anvil, fail on reponet-node: {regressions}\n{table}"
