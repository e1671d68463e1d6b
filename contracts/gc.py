"""GC order-book fills for Python callers (the matcher, tests): the basket a GC order signs, its hash, the least
collateral a fill must carry, and ``settleGcFill``'s arguments.

They must match ``contracts/src/RepoGcSettlement.sol``: a test compares each with the engine's own answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from contracts import eip712

BPS: Final = 10_000
PRICE_SCALE: Final = 10**18  # PriceOracle.PRICE_DECIMALS

_BASKET_ABI: Final = "(uint16,uint256,uint64,uint64,(address,uint16)[])"


@dataclass(frozen=True, slots=True)
class GcBond:
    """A bond the basket accepts (its token) and its haircut."""

    token: str
    haircut_bps: int


@dataclass(frozen=True, slots=True)
class GcBasket:
    """The eligible bonds and the standard terms every repo traded in the basket carries."""

    day_count_basis: int
    min_transfer_amount: int
    margin_cure_period: int
    grace_period: int
    bonds: tuple[GcBond, ...]

    def as_tuple(self) -> tuple[Any, ...]:
        """``IRepoGcSettlement.GcBasket`` as web3 and eth_abi take it."""
        return (
            self.day_count_basis,
            self.min_transfer_amount,
            self.margin_cure_period,
            self.grace_period,
            [(bond.token, bond.haircut_bps) for bond in self.bonds],
        )

    def hash(self) -> bytes:
        """What orders sign as ``basket``: keccak256 of the basket's ABI encoding (``gcBasketHash``)."""
        return keccak(encode([_BASKET_ABI], [self.as_tuple()]))


@dataclass(frozen=True, slots=True)
class GcFill:
    """What the matcher chose: ``amount`` of cash at ``rate`` against ``collateral_amount`` of ``bonds[bond]``."""

    amount: int
    rate: int
    bond: int
    collateral_amount: int

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.amount, self.rate, self.bond, self.collateral_amount)


def adjusted_value(amount: int, price: int, haircut_bps: int) -> int:
    """The haircut value of ``amount`` of a bond at ``price`` (cash units per bond unit, 18 decimals), rounded down
    as the oracle and the engine round it."""
    return amount * price // PRICE_SCALE * (BPS - haircut_bps) // BPS


def least_collateral(cash: int, price: int, haircut_bps: int) -> int:
    """The least amount of a bond whose haircut value covers ``cash``: the only collateral a fill may carry."""
    if cash <= 0 or price <= 0 or not 0 <= haircut_bps < BPS:
        raise ValueError("cash and price must be positive and the haircut below 100 %")
    guess = -(-cash * BPS * PRICE_SCALE // ((BPS - haircut_bps) * price))  # the exact quotient, rounded up
    while guess > 1 and adjusted_value(guess - 1, price, haircut_bps) >= cash:
        guess -= 1
    while adjusted_value(guess, price, haircut_bps) < cash:
        guess += 1
    return guess


def order_tuple(order: eip712.GcOrder) -> tuple[Any, ...]:
    """``IRepoGcSettlement.GcOrder`` as web3 takes it, in the EIP-712 field order."""
    return tuple(order[field["name"]] for field in eip712.GC_ORDER)  # type: ignore[literal-required]


def settle_args(
    lend: eip712.GcOrder,
    lend_sig: bytes,
    borrow: eip712.GcOrder,
    borrow_sig: bytes,
    basket: GcBasket,
    fill: GcFill,
) -> tuple[Any, ...]:
    """``settleGcFill``'s arguments, in order."""
    return (order_tuple(lend), lend_sig, order_tuple(borrow), borrow_sig, basket.as_tuple(), fill.as_tuple())
