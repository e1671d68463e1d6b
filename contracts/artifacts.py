"""Load the compiled contract artifacts committed under ``contracts/artifacts``.

They are produced by ``scripts/compile_contracts.py``; loading them needs neither Node.js nor a compiler.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from contracts.exceptions import ArtifactNotFound

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"


@dataclass(frozen=True)
class Artifact:
    """One compiled contract: what deployment and calls need."""

    name: str
    source_name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    sources_hash: str


@cache
def load_artifact(name: str) -> Artifact:
    """Return the artifact of contract ``name`` (e.g. ``"RepoEngine"``)."""
    path = ARTIFACTS_DIR / f"{name}.json"
    if not path.is_file():
        raise ArtifactNotFound(name)
    data = json.loads(path.read_text())
    return Artifact(
        name=data["contractName"],
        source_name=data["sourceName"],
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
        sources_hash=data["sourcesHash"],
    )


def artifact_names() -> list[str]:
    """Names of every committed artifact, interfaces included."""
    return sorted(p.stem for p in ARTIFACTS_DIR.glob("*.json") if p.name != "manifest.json")
