"""Least privilege on a chain deployed by ``reponet up``'s own steps (configure, deploy) on Anvil: each gateway key
holds only its role, none an admin; the operator holds nothing after the hand-over; the gateway's environment has
no admin key; and an admin action takes two owners and the delay (the ceremony, through :mod:`contracts.ceremony`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rich.console import Console
from web3 import Web3

from contracts.ceremony import Ceremony, Phase
from contracts.deploy import contract
from contracts.exceptions import DeploymentFailed
from contracts.governance import Governance, admin_powers, roles_held
from gateway.orchestrator.accounts import FALLBACK_ENV, GATEWAY_KEY_ENV, Purpose
from gateway.orchestrator.deployment import TRANSITIONAL_ROLES
from gateway.orchestrator.up import Up, UpConfig
from tests.e2e.chains import DEV_KEY, ChainProcess, free_port, start_chain

pytestmark = pytest.mark.timeout(300)
ADMIN_DELAY = 3600


@pytest.fixture(scope="module")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainProcess]:
    yield from start_chain("anvil", tmp_path_factory.mktemp("anvil"))


@pytest.fixture(scope="module")
def deployed(anvil: ChainProcess, tmp_path_factory: pytest.TempPathFactory) -> Up:
    config = UpConfig(
        data_dir=tmp_path_factory.mktemp("up") / "data",
        node_host=None,
        node_port=free_port(),
        gateway_host=None,
        gateway_port=free_port(),
        rpc_url=anvil.url,
        operator_key=DEV_KEY,
        validators=1,
        validators_given=False,
        block_time=0.5,
        chain_id=31337,
        admin_email="admin@example.org",
        admin_delay=ADMIN_DELAY,
    )
    up = Up(config, Console(quiet=True))
    up.configure()
    up.start_node()
    up.deploy()
    return up


def _w3(up: Up) -> Web3:
    return Web3(Web3.HTTPProvider(up.state.rpc_url))


def _governance(up: Up) -> Governance:
    c = up.state.contracts
    return Governance(
        admin_multisig=Web3.to_checksum_address(c["admin_multisig"]),
        admin_manager=Web3.to_checksum_address(c["admin_manager"]),
    )


def _planned(up: Up, address: str) -> set[tuple[str, str]]:
    return {(g.address.lower(), g.role) for g in up.deployment.grants() if g.holder.lower() == address.lower()}


def test_each_gateway_key_holds_only_its_roles_and_no_admin(deployed: Up) -> None:
    w3, targets = _w3(deployed), deployed.deployment.targets()
    accounts = deployed.ctx.accounts
    for purpose in Purpose:
        address = accounts[purpose].address
        held = {(r.address.lower(), r.role) for r in roles_held(w3, targets, address)}
        assert held == _planned(deployed, address), purpose
        assert admin_powers(w3, _governance(deployed), targets, address) == [], purpose
    # the roles a purpose exists for, whatever the transitional ones
    registry, oracle = deployed.state.contracts["identity_registry"], deployed.state.contracts["price_oracle"]
    assert (registry.lower(), "KYC_AGENT_ROLE") in _planned(deployed, accounts[Purpose.KYC_AGENT].address)
    assert (oracle.lower(), "FEEDER_ROLE") in _planned(deployed, accounts[Purpose.ORACLE_FEEDER].address)
    anchor = deployed.state.contracts["audit_anchor"].lower()
    assert (anchor, "ANCHOR_ROLE") in _planned(deployed, accounts[Purpose.ANCHOR].address)
    assert all(role != "DEFAULT_ADMIN_ROLE" for _, _, role in TRANSITIONAL_ROLES)


def test_the_operator_holds_nothing_after_the_hand_over(deployed: Up) -> None:
    w3, targets = _w3(deployed), deployed.deployment.targets()
    operator = deployed.ctx.accounts.operator.address
    assert roles_held(w3, targets, operator) == []
    assert admin_powers(w3, _governance(deployed), targets, operator) == []


def test_only_the_manager_is_admin_and_the_multisig_its_admin_with_the_delay(deployed: Up) -> None:
    w3, gov = _w3(deployed), _governance(deployed)
    for name, address in deployed.deployment.targets():
        assert contract(w3, name, address).functions.hasRole(b"\x00" * 32, gov.admin_manager).call(), name
    is_admin, delay = contract(w3, "AdminManager", gov.admin_manager).functions.hasRole(0, gov.admin_multisig).call()
    assert is_admin and delay == ADMIN_DELAY
    multisig = contract(w3, "AdminMultisig", gov.admin_multisig)
    assert multisig.functions.threshold().call() == 2
    assert multisig.functions.manager().call() == gov.admin_manager


def test_the_gateway_env_holds_each_purpose_key_and_no_admin_key(deployed: Up) -> None:
    env = deployed.gateway_env()
    accounts = deployed.ctx.accounts
    for purpose, name in GATEWAY_KEY_ENV.items():
        assert env[name] == "0x" + bytes(accounts[purpose].key).hex()
    assert env[FALLBACK_ENV] == env[GATEWAY_KEY_ENV[Purpose.KYC_AGENT]]
    values = {v.lower().removeprefix("0x") for v in env.values()}
    forbidden = [accounts.operator, accounts[Purpose.GUARDIAN], *accounts.owners]
    for account in forbidden:
        assert bytes(account.key).hex() not in values
    from eth_account import Account

    w3, targets, gov = _w3(deployed), deployed.deployment.targets(), _governance(deployed)
    for name, value in env.items():
        if name.endswith("_KEY") and name != "REPONET_MASTER_KEY_FILE":
            assert admin_powers(w3, gov, targets, Account.from_key(value).address) == [], name


def test_the_gateway_up_starts_gives_its_loopback_clients_their_keys_budgets(deployed: Up) -> None:
    """The demo, the web app and the risk, feed and surveillance services share loopback's address: its budget
    must cover each key's own budget, or the demo is refused with 429 while the services poll."""
    from gateway.config import Settings
    from gateway.orchestrator.launch import UP_RATE_LIMIT_IP

    def per_minute(limit: str) -> int:
        count, period = limit.split("/")
        assert period == "minute"
        return int(count)

    env = deployed.gateway_env()
    assert env["REPONET_RATE_LIMIT_IP"] == UP_RATE_LIMIT_IP
    loopback_clients = 5  # demo, web app, risk, feed, surveillance
    principal = Settings.model_fields["rate_limit_principal"].default
    assert per_minute(env["REPONET_RATE_LIMIT_IP"]) >= loopback_clients * per_minute(principal)


def _advance(anvil: ChainProcess, seconds: int) -> None:
    w3 = Web3(Web3.HTTPProvider(anvil.url))
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def test_a_role_grant_takes_two_owners_and_the_delay(deployed: Up, anvil: ChainProcess) -> None:
    w3, gov = _w3(deployed), _governance(deployed)
    alice, bob, _ = deployed.ctx.accounts.owners
    newcomer = Web3.to_checksum_address("0x" + "77" * 20)
    registry_address = deployed.state.contracts["identity_registry"]
    ceremony = Ceremony(w3, gov)
    registry = contract(w3, "IdentityRegistry", registry_address)
    role = registry.functions.KYC_AGENT_ROLE().call()
    target, data = ceremony.admin_call("IdentityRegistry", registry_address, "grantRole", role, newcomer)

    schedule = ceremony.propose_schedule(alice, target, data)
    with pytest.raises(DeploymentFailed, match="MultisigNotEnoughApprovals"):
        ceremony.execute(alice, schedule)  # one signature
    ceremony.approve(bob, schedule)
    ceremony.execute(bob, schedule)
    view = ceremony.view(schedule)
    assert view.phase is Phase.SCHEDULE and view.executed and view.ready_at > 0

    early = ceremony.propose_execute(alice, schedule)
    ceremony.approve(bob, early)
    with pytest.raises(DeploymentFailed, match="AccessManagerNotReady"):
        ceremony.execute(alice, early)  # two signatures, but before the delay
    assert not registry.functions.hasRole(role, newcomer).call()

    _advance(anvil, ADMIN_DELAY)
    ceremony.execute(alice, early)  # the same two approvals, after the delay
    assert registry.functions.hasRole(role, newcomer).call()
    assert ceremony.view(schedule).ready_at == 0  # consumed


def test_an_owner_alone_cannot_grant(deployed: Up) -> None:
    w3 = _w3(deployed)
    alice = deployed.ctx.accounts.owners[0]
    registry = contract(w3, "IdentityRegistry", deployed.state.contracts["identity_registry"])
    role = registry.functions.KYC_AGENT_ROLE().call()
    from contracts.deploy import transact

    with pytest.raises(DeploymentFailed, match="AccessControlUnauthorizedAccount"):
        transact(w3, alice, registry.functions.grantRole(role, alice.address), "grant")


def test_every_token_is_in_the_engines_table_before_any_repo(deployed: Up) -> None:
    """The deployment interns each cash token and bond in the engine's 16-bit token table, so that the first repo
    opened in a token, or the first substitution into a bond, does not pay the table's two fresh slots."""
    engine = contract(_w3(deployed), "IRepoMigration", deployed.state.contracts["repo_engine"])
    tokens = [*deployed.state.cash_tokens, *deployed.state.bonds]
    indices = [engine.functions.tokenIndexOf(t.address).call() for t in tokens]
    assert sorted(indices) == list(range(1, len(tokens) + 1)), indices
