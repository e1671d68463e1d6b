"""The test-only ERC-1271 smart wallet (tests/contracts/fixtures/SmartWallet.sol), compiled once and deployed on a
``RepoSystem``: a contract signer for the engine's signature checks."""

from __future__ import annotations

from functools import cache
from typing import Any

from eth_account.signers.local import LocalAccount

from scripts.harness.repo_system import ROOT, RepoSystem


@cache
def smart_wallet_artifact() -> dict[str, Any]:
    """Compile the test-only ERC-1271 wallet once per session (Node.js is a test tool here)."""
    from scripts.compile_contracts import compile_sources

    out = compile_sources([ROOT / "tests" / "contracts" / "fixtures" / "SmartWallet.sol"])
    data = out["contracts"]["tests/contracts/fixtures/SmartWallet.sol"]["SmartWallet"]
    return {"abi": data["abi"], "bytecode": "0x" + data["evm"]["bytecode"]["object"]}


def deploy_smart_wallet(system: RepoSystem, owner: LocalAccount) -> Any:
    """Deploy the test ERC-1271 wallet owned by ``owner``'s key."""
    art = smart_wallet_artifact()
    factory = system.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    tx_hash = factory.constructor(owner.address).transact({"from": system.w3.eth.accounts[0]})
    address = system.w3.eth.wait_for_transaction_receipt(tx_hash)["contractAddress"]
    return system.w3.eth.contract(address=address, abi=art["abi"])
