"""JSON-RPC helpers shared by ``up``, ``demo`` and the operator CLI: connect, send signed, convert amounts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import TxReceipt, Wei

from contracts.deploy import contract, transact
from gateway.chain.connect import connect as rpc_connect

GAS_TOP_UP = 10**18  # what a new account gets on a chain that charges gas (Anvil), from the operator
PRICE_SCALE = 10**18


def connect(rpc_url: str, timeout: float = 30.0, token: str | None = None) -> Web3:
    return rpc_connect(rpc_url, timeout, token)


def send(w3: Web3, account: LocalAccount, fn: Any, step: str = "") -> TxReceipt:
    """Sign ``fn`` as ``account``, send it raw and wait for success (raises ``DeploymentFailed`` on revert)."""
    return transact(w3, account, fn, step)


def charges_gas(w3: Web3) -> bool:
    return int(w3.eth.get_block("latest").get("baseFeePerGas", 0)) > 0


def ensure_gas(w3: Web3, funder: LocalAccount, address: str, amount: int = GAS_TOP_UP) -> None:
    """On a chain with a base fee, give ``address`` native coin for gas (our node charges none)."""
    if not charges_gas(w3) or w3.eth.get_balance(Web3.to_checksum_address(address)) >= amount // 10:
        return
    tx: dict[str, Any] = {
        "to": Web3.to_checksum_address(address),
        "value": Wei(amount),
        "gas": 21_000,
        "nonce": w3.eth.get_transaction_count(funder.address, "pending"),
        "chainId": w3.eth.chain_id,
        "maxPriorityFeePerGas": Wei(0),
        "maxFeePerGas": Wei(int(w3.eth.get_block("latest").get("baseFeePerGas", 0)) * 2),
    }
    signed = funder.sign_transaction(tx)
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction), timeout=60)


def to_units(amount: str | Decimal, decimals: int) -> int:
    value = Decimal(str(amount)) * (Decimal(10) ** decimals)
    if value != value.to_integral_value():
        raise ValueError(f"{amount} has more than {decimals} decimals")
    if value < 0:
        raise ValueError("amounts are not negative")
    return int(value)


def from_units(units: int, decimals: int) -> str:
    return format(Decimal(units).scaleb(-decimals).quantize(Decimal(1).scaleb(-decimals)), "f")


def price_to_raw(percent_of_par: str | Decimal, bond_decimals: int, cash_decimals: int) -> int:
    """A bond price quoted in percent of par (98.5) as the oracle's 18-decimal smallest-unit ratio."""
    ratio = Decimal(str(percent_of_par)) / 100 * (Decimal(10) ** (cash_decimals - bond_decimals))
    return int(ratio * PRICE_SCALE)


def raw_to_price(raw: int, bond_decimals: int, cash_decimals: int) -> Decimal:
    return Decimal(raw) / PRICE_SCALE / (Decimal(10) ** (cash_decimals - bond_decimals)) * 100


def token(w3: Web3, name: str, address: str) -> Any:
    return contract(w3, name, address)


def send_tx(w3: Web3, account: LocalAccount, to: str, data: str, step: str) -> TxReceipt:
    """Sign and send a prepared call (``to``, ``data``) as ``account``; raise ``DeploymentFailed`` if it reverts."""
    from contracts.deploy import _describe  # the same revert decoding as every other step
    from contracts.exceptions import DeploymentFailed

    tx: dict[str, Any] = {"from": account.address, "to": Web3.to_checksum_address(to), "data": data}
    try:
        tx["gas"] = int(w3.eth.estimate_gas(tx) * 12 // 10) + 21_000  # type: ignore[arg-type]
    except Exception as exc:
        raise DeploymentFailed(step, _describe(exc)) from exc
    base_fee = int(w3.eth.get_block("latest").get("baseFeePerGas", 0))
    tx.update(
        nonce=w3.eth.get_transaction_count(account.address, "pending"),
        chainId=w3.eth.chain_id,
        maxPriorityFeePerGas=0,
        maxFeePerGas=base_fee * 2,
    )
    signed = account.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction), timeout=120, poll_latency=0.05
    )
    if receipt["status"] != 1:
        raise DeploymentFailed(step, f"transaction {receipt['transactionHash'].to_0x_hex()} reverted")
    return receipt
