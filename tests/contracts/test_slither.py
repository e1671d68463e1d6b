"""Slither finds no high or medium issue in contracts/src that contracts/slither-triage.json does not justify.

Each justification is explained in contracts/SECURITY.md. A triage entry that no longer matches a finding fails too,
so the list cannot rot.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRIAGE = ROOT / "contracts" / "slither-triage.json"
FORGE = ROOT / "node_modules" / ".bin" / "forge"


def _subject(result: dict[str, object]) -> str:
    """The finding's subject as slither names it, e.g. ``RepoEngine.open(IRepoEngine.RepoTerms,bytes,bytes)``."""
    description = str(result["description"]).strip()
    return description.split(" (", 1)[0]


@pytest.mark.slow
@pytest.mark.skipif(not FORGE.exists(), reason="Foundry (npm @foundry-rs/forge) is needed: run scripts/setup")
def test_no_unjustified_high_or_medium_findings(tmp_path: Path) -> None:
    slither = shutil.which("slither", path=str(Path(sys.executable).parent))
    assert slither, "slither-analyzer is a dev dependency: run scripts/setup"
    out = tmp_path / "slither.json"
    # A build of its own, from scratch: stale build-info files from earlier builds would be analysed too.
    shutil.rmtree(ROOT / "build" / "slither", ignore_errors=True)
    env = {
        **os.environ,
        "PATH": f"{FORGE.parent}{os.pathsep}{os.environ['PATH']}",
        "FOUNDRY_OUT": "build/slither/out",
        "FOUNDRY_CACHE_PATH": "build/slither/cache",
    }
    proc = subprocess.run(
        [slither, ".", "--json", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=600
    )
    report = json.loads(out.read_text())
    assert report["success"], proc.stderr[-2000:]

    findings = sorted(
        (r["check"], _subject(r)) for r in report["results"].get("detectors", []) if r["impact"] in ("High", "Medium")
    )
    triage = json.loads(TRIAGE.read_text())
    justified = {(t["check"], t["subject"]) for t in triage}
    assert all(t["reason"].strip() for t in triage)
    unjustified = [f for f in findings if f not in justified]
    assert not unjustified, f"fix these or justify them in {TRIAGE.name} and SECURITY.md: {unjustified}"
    stale = justified - set(findings)
    assert not stale, f"triage entries that match no finding any more: {sorted(stale)}"
