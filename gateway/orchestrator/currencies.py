"""The network's currencies on chain: cash tokens in USD, EUR and GBP listed on the oracle, bonds named as priced
in USD, and the FX pairs (with their FX haircuts) through which a repo in one currency values collateral in another.

Kept apart from ``up`` so that the list and the rates live in one place; ``up`` calls :func:`wire_currencies` once
after the assets are deployed."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from gateway.datadir import TokenInfo
from gateway.ops.chain import PRICE_SCALE, send

CASH_TOKENS = (
    ("RepoNet USD deposit", TokenInfo(symbol="rUSD", address="", decimals=6, currency="USD")),
    ("RepoNet EUR deposit", TokenInfo(symbol="rEUR", address="", decimals=6, currency="EUR")),
    ("RepoNet GBP deposit", TokenInfo(symbol="rGBP", address="", decimals=6, currency="GBP")),
)


@dataclass(frozen=True)
class FxPair:
    """One FX pair as posted at start-up: units of ``quote`` per unit of ``base``, and the FX haircut (bps) taken
    from collateral in ``base`` valued in ``quote``."""

    base: str
    quote: str
    rate: Decimal
    haircut_bps: int


FX_PAIRS = (
    FxPair("USD", "EUR", Decimal("0.92"), 600),
    FxPair("EUR", "USD", Decimal("1.087"), 600),
    FxPair("USD", "GBP", Decimal("0.79"), 600),
    FxPair("GBP", "USD", Decimal("1.266"), 600),
)


def fx_raw(rate: Decimal, base_decimals: int, quote_decimals: int) -> int:
    """The oracle's 18-decimal smallest-unit ratio of one cash token in another."""
    return int(rate * Decimal(10) ** (quote_decimals - base_decimals) * PRICE_SCALE)


def wire_currencies(
    w3: Web3, operator: LocalAccount, feeder: LocalAccount, oracle: Any, cash: list[TokenInfo], bonds: list[TokenInfo]
) -> None:
    """List every cash token, price bonds in USD, post the FX pairs and set their haircuts (idempotent)."""
    o = oracle.functions
    by_ccy = {t.currency: t for t in cash}
    usd = by_ccy["USD"]
    for t in cash:
        if o.currencyOf(t.address).call() != Web3.to_checksum_address(t.address):
            send(w3, operator, o.setCurrency(t.address, t.address), f"oracle: list {t.symbol}")
    for b in bonds:
        if o.currencyOf(b.address).call() != Web3.to_checksum_address(usd.address):
            send(w3, operator, o.setCurrency(b.address, usd.address), f"oracle: {b.symbol} priced in USD")
    for p in FX_PAIRS:
        base, quote = by_ccy.get(p.base), by_ccy.get(p.quote)
        if base is None or quote is None:
            continue
        raw = fx_raw(p.rate, base.decimals, quote.decimals)
        send(w3, feeder, o.setPrice(base.address, quote.address, raw), f"oracle: {p.base}/{p.quote}")
        if o.fxTermsOf(base.address, quote.address).call()[2] != p.haircut_bps:
            send(w3, operator, o.setFxHaircut(base.address, quote.address, p.haircut_bps), "oracle: FX haircut")
