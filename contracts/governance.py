"""Least privilege on chain: a key per role, and every admin role behind a delay and more than one signature.

The deployer wires the system with every role (``deploy_system``), then :func:`deploy_governance` creates the
``AdminMultisig`` (M-of-N owners, at least two signatures) and the ``AdminManager`` (OpenZeppelin's AccessManager)
whose ``ADMIN_ROLE`` the multisig holds with an execution delay; :func:`grant_roles` gives each purpose key its one
role; :func:`hand_over` makes the manager the only ``DEFAULT_ADMIN_ROLE`` holder of every contract and has the
deployer renounce everything it held. Afterwards an admin action (grant, revoke, admin setting) is: two owners
approve ``manager.schedule(target, call)``, the delay passes, two owners approve ``manager.execute(target, call)``
(contracts/CEREMONY.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.types import Nonce, TxParams, Wei

from contracts.deploy import contract, deploy_contract, transact
from contracts.exceptions import DeploymentFailed

DEFAULT_ADMIN_ROLE = b"\x00" * 32
MANAGER_ADMIN_ROLE = 0  # AccessManager.ADMIN_ROLE
MIN_THRESHOLD = 2
ROLE_CALL_GAS = 200_000  # a grant, renounce or system-account switch needs under 60k; fixed so calls can be queued


@dataclass(frozen=True)
class Governance:
    """Where the admin multisig and the access manager of one deployment live."""

    admin_multisig: ChecksumAddress
    admin_manager: ChecksumAddress

    def as_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class RoleGrant:
    """One role of one contract for one holder; ``role`` is the contract's constant name (``"FEEDER_ROLE"``)."""

    contract: str  # artifact name
    address: str
    role: str
    holder: str


@dataclass(frozen=True)
class RoleHolders:
    """The account of each on-chain purpose; none of them is an admin."""

    kyc_agent: str  # registers identities and wallets, freezes (IdentityRegistry KYC agent and compliance)
    oracle_feeder: str  # posts prices
    issuer: str  # mints and burns cash and bonds
    relayer: str  # sends members' signed steps: a sender the node lets through, no contract role
    anchor: str  # anchors the audit log's head
    guardian: str  # pauses the engine and the tokens at once in an emergency (pausing moves no asset)


@dataclass(frozen=True)
class HeldRole:
    contract: str
    address: str
    role: str


def least_privilege_grants(
    system: Mapping[str, str], tokens: Sequence[tuple[str, str]], holders: RoleHolders
) -> list[RoleGrant]:
    """Each purpose's roles, and nothing else: the plan :func:`grant_roles` applies and tests check. ``tokens``
    are ``(artifact name, address)`` pairs (``CashToken``, ``BondToken``)."""
    grants = [
        RoleGrant("IdentityRegistry", system["identity_registry"], "KYC_AGENT_ROLE", holders.kyc_agent),
        RoleGrant("IdentityRegistry", system["identity_registry"], "COMPLIANCE_ROLE", holders.kyc_agent),
        RoleGrant("PriceOracle", system["price_oracle"], "FEEDER_ROLE", holders.oracle_feeder),
        RoleGrant("AuditAnchor", system["audit_anchor"], "ANCHOR_ROLE", holders.anchor),
        RoleGrant("RepoEngine", system["repo_engine"], "PAUSER_ROLE", holders.guardian),
    ]
    for name, token in tokens:
        grants += [
            RoleGrant(name, token, "ISSUER_ROLE", holders.issuer),
            RoleGrant(name, token, "PAUSER_ROLE", holders.guardian),
        ]
    return grants


def deploy_governance(
    w3: Web3, deployer: LocalAccount, *, owners: Sequence[str], threshold: int, admin_delay: int
) -> Governance:
    """Deploy the manager and the multisig (``threshold`` of ``owners``; its owner set changes only through the
    manager), the manager's admin with ``admin_delay`` seconds of execution delay. The deployer stays the manager's
    admin until :func:`hand_over`."""
    owner_addresses = [Web3.to_checksum_address(o) for o in owners]
    manager = deploy_contract(w3, deployer, "AdminManager", deployer.address)
    multisig = deploy_contract(w3, deployer, "AdminMultisig", owner_addresses, threshold, manager)
    mgr = contract(w3, "AdminManager", manager)
    transact(w3, deployer, mgr.functions.grantRole(MANAGER_ADMIN_ROLE, multisig, admin_delay), "manager: multisig")
    return Governance(admin_multisig=multisig, admin_manager=manager)


def grant_roles(w3: Web3, deployer: LocalAccount, grants: Iterable[RoleGrant]) -> None:
    """Grant every role of the plan that its holder does not hold yet (idempotent: a resumed run skips them)."""
    calls: list[tuple[Any, str]] = []
    for g in grants:
        c = contract(w3, g.contract, g.address)
        role = getattr(c.functions, g.role)().call()
        holder = Web3.to_checksum_address(g.holder)
        if not c.functions.hasRole(role, holder).call():
            calls.append((c.functions.grantRole(role, holder), f"{g.contract}: {g.role}"))
    send_in_order(w3, deployer, calls)


def allow_senders(w3: Web3, deployer: LocalAccount, account_rules: str, accounts: Iterable[str]) -> None:
    """Make ``accounts`` AccountRules system accounts (they may send transactions), before the hand-over makes
    that an admin action behind the delay."""
    rules = contract(w3, "AccountRules", account_rules)
    calls: list[tuple[Any, str]] = []
    for account in accounts:
        address = Web3.to_checksum_address(account)
        if not rules.functions.isSystemAccount(address).call():
            calls.append((rules.functions.setSystemAccount(address, True), "rules: system account"))
    send_in_order(w3, deployer, calls)


def admit_holders(w3: Web3, deployer: LocalAccount, identity_registry: str, accounts: Iterable[str]) -> None:
    """Make ``accounts`` IdentityRegistry system accounts (they may hold permissioned tokens without an identity,
    as the engine's escrow does), before the hand-over makes that an admin action behind the delay. The issuer
    needs it as the bonds' paying agent: it holds the coupon cash it pays through ``RepoEngine.payCoupon``."""
    registry = contract(w3, "IdentityRegistry", identity_registry)
    calls: list[tuple[Any, str]] = []
    for account in accounts:
        address = Web3.to_checksum_address(account)
        if not registry.functions.isSystemAccount(address).call():
            calls.append((registry.functions.setSystemAccount(address, True), "registry: system account"))
    send_in_order(w3, deployer, calls)


def hand_over(w3: Web3, deployer: LocalAccount, governance: Governance, targets: Iterable[tuple[str, str]]) -> None:
    """Make the manager the admin of every ``(artifact name, address)`` target, then renounce every role the
    deployer holds there and its admin role of the manager: afterwards the deployer key can administer nothing.
    Per contract the grant comes first and the deployer's admin role is renounced last (nonce order)."""
    manager = governance.admin_manager
    calls: list[tuple[Any, str]] = []
    for name, address in targets:
        c = contract(w3, name, address)
        if not c.functions.hasRole(DEFAULT_ADMIN_ROLE, manager).call():
            calls.append((c.functions.grantRole(DEFAULT_ADMIN_ROLE, manager), f"{name}: admin to manager"))
        roles = role_ids(c)
        for role_name, role in sorted(roles.items(), key=lambda item: item[1] == DEFAULT_ADMIN_ROLE):
            if c.functions.hasRole(role, deployer.address).call():
                calls.append((c.functions.renounceRole(role, deployer.address), f"{name}: renounce {role_name}"))
    mgr = contract(w3, "AdminManager", manager)
    if mgr.functions.hasRole(MANAGER_ADMIN_ROLE, deployer.address).call()[0]:
        calls.append((mgr.functions.renounceRole(MANAGER_ADMIN_ROLE, deployer.address), "manager: renounce"))
    send_in_order(w3, deployer, calls)


def send_in_order(w3: Web3, account: LocalAccount, calls: Sequence[tuple[Any, str]]) -> None:
    """Send ``calls`` as consecutive nonces without waiting between them (a few blocks instead of one block per
    call), then wait for every receipt; raise ``DeploymentFailed`` naming the first that reverted."""
    if not calls:
        return
    nonce = w3.eth.get_transaction_count(account.address, "pending")
    chain_id = w3.eth.chain_id
    max_fee = Wei(int(w3.eth.get_block("latest").get("baseFeePerGas", 0)) * 2)
    hashes = []
    for offset, (fn, _step) in enumerate(calls):
        tx: TxParams = {
            "from": account.address,
            "to": fn.address,
            "data": fn._encode_transaction_data(),
            "nonce": Nonce(nonce + offset),
            "chainId": chain_id,
            "gas": ROLE_CALL_GAS,
            "maxPriorityFeePerGas": Wei(0),
            "maxFeePerGas": max_fee,
        }
        hashes.append(w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction))  # type: ignore[arg-type]
    for tx_hash, (_fn, step) in zip(hashes, calls, strict=True):
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120, poll_latency=0.05)
        if receipt["status"] != 1:
            raise DeploymentFailed(step, f"transaction {tx_hash.hex()} reverted")


def role_ids(c: Any) -> dict[str, bytes]:
    """Every role constant of an AccessControl contract (``*_ROLE`` views without inputs), by name."""
    names = [
        item["name"]
        for item in c.abi
        if item.get("type") == "function" and item["name"].endswith("_ROLE") and not item.get("inputs")
    ]
    return {name: bytes(getattr(c.functions, name)().call()) for name in names}


def roles_held(w3: Web3, targets: Iterable[tuple[str, str]], account: str) -> list[HeldRole]:
    """Every role ``account`` holds on the targets (AccessControl has no enumeration: ask each known role)."""
    address = Web3.to_checksum_address(account)
    held: list[HeldRole] = []
    for name, target in targets:
        c = contract(w3, name, target)
        for role_name, role in role_ids(c).items():
            if c.functions.hasRole(role, address).call():
                held.append(HeldRole(contract=name, address=target, role=role_name))
    return held


def admin_powers(w3: Web3, governance: Governance, targets: Iterable[tuple[str, str]], account: str) -> list[str]:
    """What makes ``account`` an admin, if anything: a contract's ``DEFAULT_ADMIN_ROLE``, the manager's
    ``ADMIN_ROLE``, a seat among the multisig's owners. Empty for every purpose key."""
    address = Web3.to_checksum_address(account)
    powers = [
        f"{name} {target} DEFAULT_ADMIN_ROLE"
        for name, target in targets
        if contract(w3, name, target).functions.hasRole(DEFAULT_ADMIN_ROLE, address).call()
    ]
    if contract(w3, "AdminManager", governance.admin_manager).functions.hasRole(MANAGER_ADMIN_ROLE, address).call()[0]:
        powers.append("AdminManager ADMIN_ROLE")
    if contract(w3, "AdminMultisig", governance.admin_multisig).functions.isOwner(address).call():
        powers.append("AdminMultisig owner")
    return powers
