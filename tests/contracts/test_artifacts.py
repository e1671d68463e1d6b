"""Committed artifacts are fresh: they match the sources on disk and a fresh compile, byte for byte."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from contracts.artifacts import ARTIFACTS_DIR, artifact_names, load_artifact
from contracts.exceptions import ArtifactNotFound

ROOT = Path(__file__).resolve().parents[2]
SYSTEM = ["IdentityRegistry", "AccountRules", "CashToken", "BondToken", "PriceOracle", "RepoEngine", "AuditAnchor"]


def _manifest() -> dict[str, object]:
    return json.loads((ARTIFACTS_DIR / "manifest.json").read_text())


def test_every_system_contract_has_a_deployable_artifact() -> None:
    for name in SYSTEM:
        artifact = load_artifact(name)
        assert artifact.bytecode.startswith("0x") and len(artifact.bytecode) > 2, name
        assert artifact.abi, name


def test_the_engines_abi_includes_what_its_fallback_serves() -> None:
    """Callers see the engine's own functions and its extensions' (IRepoMigration, IRepoGcSettlement,
    contracts/UPGRADES.md) at its address: the gateway's one engine ABI reaches all of them (it reads ``registry()``
    for the coupon route, and settles GC fills with ``settleGcFill``)."""
    engine = {(e["type"], e.get("name")) for e in load_artifact("RepoEngine").abi}
    for interface in ("IRepoMigration", "IRepoGcSettlement"):
        served = {(e["type"], e.get("name")) for e in load_artifact(interface).abi}
        assert served <= engine, interface
    assert {("function", "registry"), ("function", "open"), ("function", "settleGcFill")} <= engine


def test_unknown_artifact_raises() -> None:
    with pytest.raises(ArtifactNotFound):
        load_artifact("NoSuchContract")


def test_manifest_hashes_match_sources_on_disk() -> None:
    """Fast staleness check without Node.js: every source unit compiled in still hashes the same."""
    sources: dict[str, str] = _manifest()["sources"]  # type: ignore[assignment]
    for unit, digest in sources.items():
        path = ROOT / unit if (ROOT / unit).exists() else ROOT / "node_modules" / unit
        assert path.exists(), f"{unit} was compiled in but no longer exists"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"{unit} changed: recompile"
    on_disk = {p.relative_to(ROOT).as_posix() for p in (ROOT / "contracts" / "src").rglob("*.sol")}
    assert on_disk <= set(sources), f"not compiled: {sorted(on_disk - set(sources))}"


def test_artifacts_share_the_manifest_sources_hash() -> None:
    expected = _manifest()["sourcesHash"]
    assert {load_artifact(n).sources_hash for n in artifact_names()} == {expected}


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is needed to recompile (build tool only)")
def test_fresh_compile_matches_committed_artifacts() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "compile_contracts.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
