"""``reponet governance`` on a chain deployed by ``up``'s own steps (Anvil): a role grant through the CLI takes two
owners and the delay; one owner's execute and an execute before the delay exit REVERTED, and change nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from web3 import Web3
from web3.exceptions import ContractCustomError

from contracts.deploy import contract
from gateway.cli import main
from gateway.exit_status import ExitStatus
from gateway.orchestrator.up import Up
from tests.e2e.chains import ChainProcess
from tests.gateway.orchestrator.test_least_privilege import ADMIN_DELAY, _advance, anvil, deployed

__all__ = ["anvil", "deployed"]  # module fixtures shared with the orchestrator's test
pytestmark = pytest.mark.timeout(300)


def _admin(up: Up, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main(["--json", "governance", *argv, "--data-dir", str(up.config.data_dir)])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out and out[-1].startswith("{") else out


def test_grant_through_the_cli_takes_two_owners_and_the_delay(
    deployed: Up, anvil: ChainProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    newcomer = "0x" + "88" * 20
    oracle = contract(Web3(Web3.HTTPProvider(anvil.url)), "PriceOracle", deployed.state.contracts["price_oracle"])
    role = oracle.functions.FEEDER_ROLE().call()

    grant = ("propose", "grant-role", "price_oracle", "FEEDER_ROLE", newcomer, "--owner", "1")
    code, first = _admin(deployed, capsys, *grant)
    assert code == ExitStatus.OK and first["phase"] == "schedule" and first["approvals"] == 1
    code, _ = _admin(deployed, capsys, "execute", str(first["id"]), "--owner", "1")
    assert code == ExitStatus.CHAIN_FAILED  # one signature
    assert _admin(deployed, capsys, "approve", str(first["id"]), "--owner", "2")[0] == ExitStatus.OK
    code, scheduled = _admin(deployed, capsys, "execute", str(first["id"]), "--owner", "2")
    assert code == ExitStatus.OK and scheduled["executed"] and scheduled["ready_at"] > 0

    code, second = _admin(deployed, capsys, "propose-execute", str(first["id"]), "--owner", "3")
    assert code == ExitStatus.OK and second["phase"] == "execute"
    assert _admin(deployed, capsys, "approve", str(second["id"]), "--owner", "1")[0] == ExitStatus.OK
    code, _ = _admin(deployed, capsys, "execute", str(second["id"]), "--owner", "1")
    assert code == ExitStatus.CHAIN_FAILED  # two signatures, before the delay
    assert not oracle.functions.hasRole(role, Web3.to_checksum_address(newcomer)).call()

    _advance(anvil, ADMIN_DELAY)
    code, done = _admin(deployed, capsys, "execute", str(second["id"]), "--owner", "1")
    assert code == ExitStatus.OK and done["executed"]
    assert oracle.functions.hasRole(role, Web3.to_checksum_address(newcomer)).call()
    code, held = _admin(deployed, capsys, "roles", newcomer)
    assert code == ExitStatus.OK and [r["role"] for r in held["roles"]] == ["FEEDER_ROLE"] and held["admin"] == []


def _through_the_delay(up: Up, anvil: ChainProcess, capsys: pytest.CaptureFixture[str], *propose: str) -> None:
    """One admin call from proposal to execution: owners 1 and 2 schedule it, the delay, owners 3 and 1 run it."""
    code, first = _admin(up, capsys, "propose", *propose, "--owner", "1")
    assert code == ExitStatus.OK, first
    assert _admin(up, capsys, "approve", str(first["id"]), "--owner", "2")[0] == ExitStatus.OK
    assert _admin(up, capsys, "execute", str(first["id"]), "--owner", "2")[0] == ExitStatus.OK
    code, second = _admin(up, capsys, "propose-execute", str(first["id"]), "--owner", "3")
    assert code == ExitStatus.OK
    assert _admin(up, capsys, "approve", str(second["id"]), "--owner", "1")[0] == ExitStatus.OK
    _advance(anvil, ADMIN_DELAY)
    code, done = _admin(up, capsys, "execute", str(second["id"]), "--owner", "1")
    assert code == ExitStatus.OK and done["executed"]


def test_a_new_instrument_is_listed_in_the_engine_through_the_ceremony(
    deployed: Up, anvil: ChainProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    """After the hand-over only the admin ceremony can admit a token to the engine's table (repos name only listed
    tokens), and the operator key that deployed it no longer can."""
    w3 = Web3(Web3.HTTPProvider(anvil.url))
    engine = contract(w3, "RepoEngine", deployed.state.contracts["repo_engine"])
    newcomer = Web3.to_checksum_address("0x" + "77" * 20)
    with pytest.raises(ContractCustomError):  # AccessControlUnauthorizedAccount
        engine.functions.listToken(newcomer).call({"from": deployed.ctx.accounts.operator.address})
    assert engine.functions.tokenIndexOf(newcomer).call() == 0

    _through_the_delay(deployed, anvil, capsys, "list-token", newcomer)
    assert engine.functions.tokenIndexOf(newcomer).call() > 0


def test_unknown_role_or_owner_is_a_usage_error(deployed: Up, capsys: pytest.CaptureFixture[str]) -> None:
    who = "0x" + "99" * 20
    assert _admin(deployed, capsys, "propose", "grant-role", "price_oracle", "NO_ROLE", who, "--owner", "1")[0] == (
        ExitStatus.USAGE
    )
    assert _admin(deployed, capsys, "propose", "add-owner", who, "--owner", "9")[0] == ExitStatus.USAGE
