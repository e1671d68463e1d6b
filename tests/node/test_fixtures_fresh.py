"""The committed test-contract JSON matches its Solidity source (rebuild: scripts/harness/fixtures/build.py)."""

from __future__ import annotations

import hashlib
import json

from scripts.harness.chains import FIXTURES


def test_contracts_json_is_built_from_the_current_source() -> None:
    data = json.loads((FIXTURES / "contracts.json").read_text())
    digest = hashlib.sha256((FIXTURES / "TestContracts.sol").read_bytes()).hexdigest()
    assert data["sourceSha256"] == digest, "run: .venv/bin/python scripts/harness/fixtures/build.py"
    assert set(data["contracts"]) == {"TestToken", "Reverter", "Heavy"}
    for artifact in data["contracts"].values():
        assert artifact["bytecode"].startswith("0x60") and len(artifact["deployedBytecode"]) > 100
