"""Deploy and wire RepoNet's system contracts on any Ethereum JSON-RPC endpoint.

Every transaction is signed locally by the deployer's key and sent raw, so the same code works against our node,
Anvil, Besu or py-evm through eth-tester. The deployer must be allowed to transact (on our node: the local
allowlist until ``AccountRules`` exists; :func:`deploy_system` makes it a system account there).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.types import TxParams, TxReceipt, Wei

from contracts.artifacts import load_artifact
from contracts.errors import decode_revert
from contracts.exceptions import DeploymentFailed

DEFAULT_PRICE_MAX_AGE = 24 * 3600


@dataclass(frozen=True)
class SystemAddresses:
    """Where the system contracts of one deployment live."""

    identity_registry: ChecksumAddress
    account_rules: ChecksumAddress
    price_oracle: ChecksumAddress
    repo_engine: ChecksumAddress
    repo_position: ChecksumAddress
    audit_anchor: ChecksumAddress

    def as_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


def _send(w3: Web3, account: LocalAccount, tx: TxParams, step: str) -> TxReceipt:
    """Sign ``tx`` with ``account``, send it raw and wait for a successful receipt."""
    tx = dict(tx)  # type: ignore[assignment]
    tx.setdefault("from", account.address)
    tx.setdefault("nonce", w3.eth.get_transaction_count(account.address, "pending"))
    tx.setdefault("chainId", w3.eth.chain_id)
    if "gas" not in tx:
        try:
            tx["gas"] = int(w3.eth.estimate_gas(tx) * 12 // 10) + 21_000
        except Exception as exc:  # a revert during estimation carries the reason: report it as this step's
            raise DeploymentFailed(step, _describe(exc)) from exc
    if "gasPrice" not in tx and "maxFeePerGas" not in tx:
        base_fee = int(w3.eth.get_block("latest").get("baseFeePerGas", 0))
        tx["maxPriorityFeePerGas"] = Wei(0)
        tx["maxFeePerGas"] = Wei(base_fee * 2)
    signed = account.sign_transaction(tx)  # type: ignore[arg-type]
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120, poll_latency=0.05)
    if receipt["status"] != 1:
        raise DeploymentFailed(step, f"transaction {tx_hash.hex()} reverted")
    return receipt


def _describe(exc: Exception) -> str:
    """The revert as a named custom error when the data is ours, else the client's own message."""
    data = getattr(exc, "data", None)
    message = str(exc.args[0]) if exc.args else ""
    if data is None and message.startswith(_PYEVM_REVERT):  # eth-tester shows the revert data as a bytes literal
        try:
            data = ast.literal_eval(message.removeprefix("execution reverted: "))
        except (ValueError, SyntaxError):
            data = None
    decoded = decode_revert(data) if isinstance(data, bytes | str) else None
    return decoded or str(exc)


_PYEVM_REVERT = "execution reverted: b"


def transact(w3: Web3, account: LocalAccount, fn: ContractFunction, step: str = "") -> TxReceipt:
    """Call a contract function as a signed transaction from ``account``; raise if it reverts."""
    tx: TxParams = {"from": account.address, "to": fn.address, "data": fn._encode_transaction_data()}
    return _send(w3, account, tx, step or fn.fn_name)


def deploy_contract(w3: Web3, account: LocalAccount, name: str, *args: Any) -> ChecksumAddress:
    """Deploy the committed artifact ``name`` with constructor ``args``; return its address."""
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    data = factory.constructor(*args).data_in_transaction
    receipt = _send(w3, account, {"data": data}, f"deploy {name}")
    address = receipt["contractAddress"]
    if address is None:
        raise DeploymentFailed(f"deploy {name}", "no contract address in receipt")
    return address


def contract(w3: Web3, name: str, address: str) -> Any:
    """A web3 contract object for the artifact ``name`` at ``address``."""
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact(name).abi)


def deploy_system(
    w3: Web3,
    deployer: LocalAccount,
    *,
    admin: str | None = None,
    price_max_age: int = DEFAULT_PRICE_MAX_AGE,
    system_accounts: Iterable[str] = (),
) -> SystemAddresses:
    """Deploy the registry, rules, oracle, engine (with its position NFT) and audit anchor, and wire them.

    The deployer holds every role during wiring; if ``admin`` differs, the admin role is granted to it too (the
    deployer keeps its roles so the operator can run day-to-day steps; revoke them separately if wanted). The
    engine becomes a registry system account (so it can hold escrow), and the deployer plus ``system_accounts``
    (relayer, validators) become AccountRules system accounts.
    """
    me = deployer.address
    registry = deploy_contract(w3, deployer, "IdentityRegistry", me)
    rules = deploy_contract(w3, deployer, "AccountRules", registry, me)
    oracle = deploy_contract(w3, deployer, "PriceOracle", me, price_max_age)
    engine = deploy_contract(w3, deployer, "RepoEngine", registry, oracle, me)
    anchor = deploy_contract(w3, deployer, "AuditAnchor", me)
    position = contract(w3, "RepoEngine", engine).functions.position().call()

    reg = contract(w3, "IdentityRegistry", registry)
    transact(w3, deployer, reg.functions.setSystemAccount(engine, True), "registry: engine is a system account")
    acc = contract(w3, "AccountRules", rules)
    for account in [me, *system_accounts]:
        transact(w3, deployer, acc.functions.setSystemAccount(Web3.to_checksum_address(account), True), "rules")
    if admin is not None and Web3.to_checksum_address(admin) != me:
        _grant_admin(w3, deployer, Web3.to_checksum_address(admin), registry, rules, oracle, engine, anchor)
    return SystemAddresses(
        identity_registry=registry,
        account_rules=rules,
        price_oracle=oracle,
        repo_engine=engine,
        repo_position=Web3.to_checksum_address(position),
        audit_anchor=anchor,
    )


def deploy_successor_engine(
    w3: Web3, deployer: LocalAccount, *, registry: str, oracle: str, predecessor: str
) -> ChecksumAddress:
    """Deploy a fixed engine that imports live repos from ``predecessor`` when both parties consent.

    contracts/UPGRADES.md. The deployer must hold the registry's admin role (a fresh deployment; after the hand-over
    these are ceremony calls behind the delay), and is the new engine's admin until it hands it over. Naming the
    successor on the old engine (``IRepoMigration.setSuccessor``) is the old engine's admin call.
    """
    engine = deploy_contract(w3, deployer, "RepoEngine", registry, oracle, deployer.address)
    reg = contract(w3, "IdentityRegistry", registry)
    transact(w3, deployer, reg.functions.setSystemAccount(engine, True), "registry: successor is a system account")
    migration = contract(w3, "IRepoMigration", engine)
    transact(w3, deployer, migration.functions.setPredecessor(predecessor), "successor: name the predecessor")
    return engine


def _grant_admin(w3: Web3, deployer: LocalAccount, admin: ChecksumAddress, *addresses: ChecksumAddress) -> None:
    names = ["IdentityRegistry", "AccountRules", "PriceOracle", "RepoEngine", "AuditAnchor"]
    for name, address in zip(names, addresses, strict=True):
        c = contract(w3, name, address)
        role = c.functions.DEFAULT_ADMIN_ROLE().call()
        transact(w3, deployer, c.functions.grantRole(role, admin), f"{name}: grant admin")


def deploy_cash_token(
    w3: Web3,
    deployer: LocalAccount,
    *,
    registry: str,
    name: str,
    symbol: str,
    currency: str,
    decimals: int,
) -> ChecksumAddress:
    """Deploy a CashToken (one per currency); the deployer holds its roles (issuer, pauser, compliance)."""
    return deploy_contract(w3, deployer, "CashToken", name, symbol, currency, decimals, registry, deployer.address)


def set_currency(w3: Web3, admin: LocalAccount, *, oracle: str, token: str, currency: str | None = None) -> None:
    """Name ``token``'s currency on the oracle: a cash token is listed as its own currency (repos may be opened in
    it only then); a bond names the cash token it is priced in, so that repos in other currencies value it through
    the FX pair. ``admin`` holds the oracle's admin role."""
    fn = contract(w3, "PriceOracle", oracle).functions.setCurrency(
        Web3.to_checksum_address(token), Web3.to_checksum_address(currency or token)
    )
    transact(w3, admin, fn, "oracle: currency")


def list_tokens(w3: Web3, admin: LocalAccount, *, engine: str, tokens: list[str]) -> None:
    """List ``tokens`` in the engine's token table: a repo may name a cash or collateral token only once the engine
    admin (``admin`` here) has listed it, so that members cannot fill the table with tokens of their own."""
    table = contract(w3, "IRepoMigration", engine)
    for token in tokens:
        address = Web3.to_checksum_address(token)
        if table.functions.tokenIndexOf(address).call() == 0:
            transact(w3, admin, table.functions.listToken(address), "engine: list token")


def deploy_bond_token(
    w3: Web3,
    deployer: LocalAccount,
    *,
    registry: str,
    name: str,
    symbol: str,
    isin: str,
    decimals: int,
    coupon_rate: int,
    maturity: int,
    issuer: str | None = None,
) -> ChecksumAddress:
    """Deploy a BondToken for one ISIN; the deployer holds its roles."""
    return deploy_contract(
        w3,
        deployer,
        "BondToken",
        name,
        symbol,
        isin,
        decimals,
        coupon_rate,
        maturity,
        issuer or deployer.address,
        registry,
        deployer.address,
    )
