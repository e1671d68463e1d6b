#!/usr/bin/env python3
"""Compile contracts/src with solcjs (through scripts/solc) into deterministic, committed artifacts.

The running system loads these JSON files and needs no Node.js. Each artifact records the compiler version, the
exact settings and a hash of every source unit that went into it, so a test can tell when one is stale.

    python scripts/compile_contracts.py           # write contracts/artifacts/
    python scripts/compile_contracts.py --check   # exit 1 if the committed artifacts differ from a fresh build
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "contracts" / "src"
ARTIFACTS = ROOT / "contracts" / "artifacts"
SOLC = ROOT / "scripts" / "solc"
MANIFEST = "manifest.json"

SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "metadata": {"bytecodeHash": "ipfs"},
    "remappings": ["@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/"],
}
OUTPUTS = ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "devdoc", "userdoc"]
# A contract whose fallback serves interfaces' functions (by DELEGATECALL to extensions fixed at construction): its
# artifact's ABI is what callers see at its address, its own entries plus the interfaces' (contracts/UPGRADES.md).
SERVED_THROUGH_FALLBACK = {"RepoEngine": ("IRepoMigration", "IRepoGcSettlement")}


class CompileError(Exception):
    """solc reported errors, or could not be run."""


def unit_name(path: Path) -> str:
    """Source unit names are paths relative to the repository root, so builds are machine-independent."""
    return path.resolve().relative_to(ROOT).as_posix()


def resolve_unit(unit: str) -> Path:
    """Map a source unit name (ours, or an npm import such as @openzeppelin/...) to its file."""
    candidate = ROOT / unit
    if candidate.exists():
        return candidate
    return ROOT / "node_modules" / unit


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compile_sources(paths: list[Path]) -> dict[str, Any]:
    """Run solc --standard-json on the given files; return its parsed output or raise CompileError."""
    request = {
        "language": "Solidity",
        "sources": {unit_name(p): {"content": p.read_text()} for p in sorted(paths)},
        "settings": {**SETTINGS, "outputSelection": {"*": {"*": OUTPUTS}}},
    }
    try:
        proc = subprocess.run(
            [str(SOLC), "--standard-json"],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
    except FileNotFoundError as exc:  # node missing
        raise CompileError(f"cannot run {SOLC}: {exc}") from exc
    if proc.returncode != 0:
        raise CompileError(proc.stderr.strip() or f"solc exited with {proc.returncode}")
    output: dict[str, Any] = json.loads(proc.stdout)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors))
    return output


def compiler_version() -> str:
    out = subprocess.run([str(SOLC), "--version"], capture_output=True, text=True, check=True, cwd=ROOT)
    return out.stdout.strip().splitlines()[-1].removeprefix("Version: ")


def build_artifacts() -> dict[str, str]:
    """Compile every source under contracts/src; return {file name: JSON text} for the artifacts folder."""
    sources = sorted(SRC.rglob("*.sol"))
    if not sources:
        raise CompileError(f"no Solidity sources under {SRC}")
    output = compile_sources(sources)
    version = compiler_version()
    units = sorted(output["sources"])
    source_hashes = {unit: sha256_file(resolve_unit(unit)) for unit in units}
    sources_hash = hashlib.sha256(json.dumps(source_hashes, sort_keys=True).encode()).hexdigest()
    compiler = {"version": version, "settings": SETTINGS}

    abis = {name: data["abi"] for contracts in output["contracts"].values() for name, data in contracts.items()}
    files: dict[str, str] = {}
    for unit, contracts in sorted(output["contracts"].items()):
        if not unit.startswith("contracts/src/"):
            continue
        for name, data in sorted(contracts.items()):
            bytecode = data["evm"]["bytecode"]["object"]
            is_interface = not bytecode
            artifact = {
                "contractName": name,
                "sourceName": unit,
                "abi": _served_abi(name, data["abi"], abis),
                "bytecode": "0x" + bytecode,
                "deployedBytecode": "0x" + data["evm"]["deployedBytecode"]["object"],
                "kind": "interface" if is_interface else "contract",
                "compiler": compiler,
                "sourcesHash": sources_hash,
            }
            if f"{name}.json" in files:
                raise CompileError(f"two contracts named {name}: artifact names must be unique")
            files[f"{name}.json"] = json.dumps(artifact, indent=2, sort_keys=True) + "\n"
    manifest = {"compiler": compiler, "sources": source_hashes, "sourcesHash": sources_hash}
    files[MANIFEST] = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    return files


def _served_abi(name: str, abi: list[dict[str, Any]], abis: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """``name``'s ABI, with the entries of the interfaces its fallback serves (SERVED_THROUGH_FALLBACK) appended."""
    combined = list(abi)
    for served in SERVED_THROUGH_FALLBACK.get(name, ()):
        own = {(e["type"], e.get("name")) for e in combined}
        clash = [e.get("name") for e in abis[served] if (e["type"], e.get("name")) in own]
        if clash:
            raise CompileError(f"{name} declares {clash} that its fallback also serves from {served}")
        combined.extend(abis[served])
    return combined


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the committed artifacts; write nothing")
    args = parser.parse_args()
    try:
        files = build_artifacts()
    except CompileError as exc:
        print(f"compile failed:\n{exc}", file=sys.stderr)
        return 2
    existing = {p.name: p.read_text() for p in ARTIFACTS.glob("*.json")} if ARTIFACTS.exists() else {}
    if args.check:
        stale = sorted(n for n in set(files) | set(existing) if files.get(n) != existing.get(n))
        for name in stale:
            print(f"stale: contracts/artifacts/{name}")
        return 1 if stale else 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name in set(existing) - set(files):
        (ARTIFACTS / name).unlink()
    for name, text in files.items():
        (ARTIFACTS / name).write_text(text)
    print(f"wrote {len(files) - 1} artifacts to {ARTIFACTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
